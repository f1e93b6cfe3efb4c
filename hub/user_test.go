package hub

import (
	"testing"
	"time"
)

// A person's own frames reach each of their streams, whatever the room,
// and nobody else's.
func TestPublishUser(t *testing.T) {
	h := newTestHub(t, Config{})
	_, annGeneral := attach(t, h, "general", "ann-1", 1)
	_, annDev := attach(t, h, "dev", "ann-2", 1)
	_, bob := attach(t, h, "general", "bob", 2)

	h.PublishUser(1, Encode(0, "rooms", []byte("ann's rooms")))
	h.Publish("general", Encode(5, "message", []byte("hello")))
	for name, ev := range map[string]*events{"general": annGeneral, "dev": annDev} {
		if e := ev.next(t); e.Type != "rooms" || e.Data != "ann's rooms" {
			t.Errorf("ann's %s stream got %s %q; want her rooms", name, e.Type, e.Data)
		}
	}
	if e := bob.next(t); e.Type != "message" {
		t.Errorf("bob's stream got %s %q first; want only the room's message", e.Type, e.Data)
	}
	if !h.UserOnline(1) || h.UserOnline(3) {
		t.Error("UserOnline is wrong")
	}
}

// EndUserRoom ends one person's streams of one room and no other.
func TestEndUserRoom(t *testing.T) {
	h := newTestHub(t, Config{})
	_, annSecret := attach(t, h, "secret", "ann-1", 1)
	_, annGeneral := attach(t, h, "general", "ann-2", 1)
	_, bobSecret := attach(t, h, "secret", "bob", 2)

	h.EndUserRoom(1, "secret")
	select {
	case <-annSecret.done:
	case <-time.After(2 * time.Second):
		t.Fatal("ann's stream of the room she left did not end within 2 s")
	}
	h.Publish("secret", Encode(7, "message", []byte("still here")))
	h.Publish("general", Encode(8, "message", []byte("hi")))
	if e := bobSecret.next(t); e.Data != "still here" {
		t.Errorf("bob got %q", e.Data)
	}
	if e := annGeneral.next(t); e.Data != "hi" {
		t.Errorf("ann's other stream got %q", e.Data)
	}
}
