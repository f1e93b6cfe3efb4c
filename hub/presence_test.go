package hub

import (
	"testing"
	"time"
)

func presenceFrame(list string) Frame { return Encode(0, "presence", []byte(list)) }

// A stream never gets two online lists within the gap: lists set in
// between are merged into the newest, which arrives once the gap has
// passed; a stream that had none for a while gets a new list at once.
func TestPresenceGap(t *testing.T) {
	const gap = 300 * time.Millisecond
	h := newTestHub(t, Config{PresenceGap: gap})
	s, ev := attach(t, h, "general", "tok", 1)

	if _, ok := s.StartPresence(); ok {
		t.Fatal("StartPresence gave a list before any was set")
	}
	start := time.Now()
	for _, list := range []string{"a", "a b", "a b c"} {
		h.SetPresence("general", presenceFrame(list))
	}
	e := ev.next(t)
	if waited := time.Since(start); waited < gap {
		t.Errorf("a list came %v after the stream's first one; want at least %v", waited, gap)
	}
	if e.Type != "presence" || e.Data != "a b c" {
		t.Fatalf("got %s %q; want the newest list, a b c", e.Type, e.Data)
	}

	// Well after the gap, a new list goes out at once.
	time.Sleep(gap + 50*time.Millisecond)
	sent := time.Now()
	h.SetPresence("general", presenceFrame("a"))
	if e := ev.next(t); e.Data != "a" {
		t.Fatalf("got %q; want a", e.Data)
	}
	if d := time.Since(sent); d > gap/2 {
		t.Errorf("a list after a quiet spell took %v", d)
	}

	// Nothing more: the merged lists are not sent after all.
	h.Publish("general", Encode(7, "message", []byte("end")))
	if e := ev.next(t); e.Type != "message" {
		t.Fatalf("got %s %q after the last list; want the message", e.Type, e.Data)
	}
}

// A stream being started takes the newest list from StartPresence; lists
// set before that are not queued for it, and one set just after waits for
// the gap.
func TestStartPresence(t *testing.T) {
	const gap = 300 * time.Millisecond
	h := newTestHub(t, Config{PresenceGap: gap})
	if _, ev := attach(t, h, "general", "first", 1); ev == nil {
		t.Fatal("no stream")
	}
	h.SetPresence("general", presenceFrame("a"))

	s, err := h.Subscribe("general", "tok", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	h.SetPresence("general", presenceFrame("a b")) // while the stream is being started
	f, ok := s.StartPresence()
	if !ok || string(f.Data) != string(presenceFrame("a b").Data) {
		t.Fatalf("StartPresence = %q, %v; want the newest list", f.Data, ok)
	}
	start := time.Now()
	h.SetPresence("general", presenceFrame("a b c"))
	server, client := tcpPair(t)
	ev := readEvents(client)
	if err := s.Attach(server); err != nil {
		t.Fatal(err)
	}
	e := ev.next(t)
	if e.Data != "a b c" {
		t.Fatalf("got %q; want only the list set after the start, a b c", e.Data)
	}
	if waited := time.Since(start); waited < gap-10*time.Millisecond {
		t.Errorf("the list came %v after the start; want the gap, %v", waited, gap)
	}
}
