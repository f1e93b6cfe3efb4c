package hub

import (
	"testing"
	"time"
)

func TestEndSessionsMatching(t *testing.T) {
	h := newTestHub(t, Config{})
	_, a := attach(t, h, "general", "alice", 1)
	_, b := attach(t, h, "general", "bob", 2)

	h.EndSessionsMatching(func(token string) bool { return token == "alice" })
	if ev := a.next(t); ev.Type != "logout" {
		t.Errorf("got %q event; want logout", ev.Type)
	}
	a.waitEnd(t, 2*time.Second)
	h.Publish("general", msgFrame(1))
	if ev := b.next(t); ev.ID != "1" {
		t.Errorf("the other session got %+v; want message 1", ev)
	}
	if got := h.SessionStreams("alice"); got != 0 {
		t.Errorf("SessionStreams(alice) = %d; want 0", got)
	}
}
