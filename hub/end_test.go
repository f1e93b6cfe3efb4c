package hub

import (
	"testing"
	"time"
)

// EndAll ends every stream without a logout; new streams still open.
func TestEndAll(t *testing.T) {
	h := newTestHub(t, Config{})
	_, a := attach(t, h, "general", "alice", 1)
	_, b := attach(t, h, "other", "bob", 2)

	if n := h.EndAll(); n != 2 {
		t.Errorf("EndAll ended %d streams; want 2", n)
	}
	for _, ev := range []*events{a, b} {
		ev.waitEnd(t, 2*time.Second)
	}
	_, c := attach(t, h, "general", "alice", 1)
	h.Publish("general", msgFrame(1))
	if ev := c.next(t); ev.ID != "1" {
		t.Errorf("a stream opened after EndAll got %+v; want message 1", ev)
	}
}
