package hub

import (
	"io"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// latencies collects what the hub reports to ObserveFanout.
type latencies struct {
	mu  sync.Mutex
	got []time.Duration
}

func (l *latencies) observe(d time.Duration) {
	l.mu.Lock()
	l.got = append(l.got, d)
	l.mu.Unlock()
}

// wait returns the first n observations, failing after 5 s.
func (l *latencies) wait(t *testing.T, n int) []time.Duration {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		l.mu.Lock()
		got := append([]time.Duration(nil), l.got...)
		l.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d fan-out observations after 5s; want %d", len(got), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// committedFrame is a message frame committed ago.
func committedFrame(id int64, ago time.Duration) Frame {
	f := msgFrame(id)
	f.Committed = time.Now().Add(-ago).UnixNano()
	return f
}

func TestFanoutObserved(t *testing.T) {
	var l latencies
	h := newTestHub(t, Config{ObserveFanout: l.observe})
	var streams []*events
	for i := range 3 {
		_, ev := attach(t, h, "general", "tok"+strconv.Itoa(i), int64(i))
		streams = append(streams, ev)
	}
	const ago = 100 * time.Millisecond
	h.Publish("nobody-here", committedFrame(1, ago))
	for id := int64(2); id <= 21; id++ {
		h.Publish("general", committedFrame(id, ago))
	}
	h.Publish("general", msgFrame(22)) // no commit time: not measured
	for _, ev := range streams {
		for id := 2; id <= 22; id++ {
			if got := ev.next(t); got.ID != strconv.Itoa(id) {
				t.Fatalf("got id %s; want %d", got.ID, id)
			}
		}
	}
	got := l.wait(t, 20)
	time.Sleep(50 * time.Millisecond)
	if n := len(l.wait(t, 20)); n != 20 {
		t.Errorf("%d observations; want 20 (one per measured message with readers)", n)
	}
	for _, d := range got {
		if d < ago || d > ago+3*time.Second {
			t.Errorf("fan-out latency %v; want at least %v (since commit) and not seconds more", d, ago)
		}
	}
}

func TestFanoutWaitsForLastCopy(t *testing.T) {
	// A client that stops reading holds its copies until it is dropped:
	// the messages it held are done only then, not when the healthy
	// stream got them.
	var l latencies
	const slowTimeout = 400 * time.Millisecond
	h := newTestHub(t, Config{SlowTimeout: slowTimeout, MaxQueue: 1 << 20, ObserveFanout: l.observe})
	slow, healthy := slowAndHealthy(t, h)

	big := strings.Repeat("x", 16<<10)
	const n = 100
	// All committed at once, before the slow socket can fill: the last
	// message's slow copy is dropped at least SlowTimeout after that.
	committed := time.Now().UnixNano()
	for id := int64(1); id <= n; id++ {
		f := Encode(id, "message", []byte(big))
		f.Committed = committed
		h.Publish("general", f)
	}
	for id := 1; id <= n; id++ {
		if ev := healthy.next(t); ev.ID != strconv.Itoa(id) {
			t.Fatalf("healthy client got id %s; want %d", ev.ID, id)
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow client still subscribed after 5s")
	}
	got := l.wait(t, n)
	if d := got[n-1]; d < slowTimeout {
		t.Errorf("last message's fan-out latency %v; want at least SlowTimeout %v (its slow copy)", d, slowTimeout)
	}
	if s := h.Stats(); s.SlowDropped != 1 || s.Streams != 1 {
		t.Errorf("Stats = %+v; want 1 stream open, 1 slow stream dropped", s)
	}
}

func TestStatsCountsOverflow(t *testing.T) {
	h := newTestHub(t, Config{MaxQueue: 10})
	if _, err := h.Subscribe("general", "tok", 1, ""); err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 11; id++ {
		h.Publish("general", msgFrame(id))
	}
	if got := h.Stats().SlowDropped; got != 1 {
		t.Errorf("SlowDropped = %d; want 1 (a queue overflowed)", got)
	}
}

// servedStream subscribes a stream to general that Serve delivers into a
// pipe, whose every write waits for the test to read it, and returns the
// stream and the pipe's reading end.
func servedStream(t *testing.T, h *Hub) (*Sub, *io.PipeReader) {
	t.Helper()
	s, err := h.Subscribe("general", "h2", 2, "")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	serve(t, s, pw)
	return s, pr
}

// serve starts delivering s through w from a goroutine of its own, as the
// HTTP/2 path does, and returns once it delivers.
func serve(t *testing.T, s *Sub, w io.WriteCloser) {
	t.Helper()
	go func() {
		s.Serve(t.Context(), w, func() error { return nil }, func(time.Time) error { return nil })
		w.Close()
	}()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		s.mu.Lock()
		started := s.notify != nil && s.st == open
		s.mu.Unlock()
		if started {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("Serve did not start within 5s")
		}
	}
}

func TestFanoutWaitsForServe(t *testing.T) {
	var l latencies
	h := newTestHub(t, Config{ObserveFanout: l.observe})
	_, taken := attach(t, h, "general", "taken", 1)
	_, pr := servedStream(t, h)

	h.Publish("general", committedFrame(1, 0))
	taken.next(t)
	const hold = 200 * time.Millisecond
	time.Sleep(hold)
	l.mu.Lock()
	early := len(l.got)
	l.mu.Unlock()
	if early != 0 {
		t.Fatalf("%d observations while the served stream's copy was unwritten; want 0", early)
	}
	if got := readEvents(pr).next(t); got.ID != "1" {
		t.Fatalf("served stream got %+v; want message 1", got)
	}
	if d := l.wait(t, 1)[0]; d < hold {
		t.Errorf("fan-out latency %v; want at least %v (until the served copy was written)", d, hold)
	}
}

func TestFanoutServeDropped(t *testing.T) {
	// Copies a served stream never writes (its client went away) are
	// counted off too: later messages are not held up behind them.
	var l latencies
	h := newTestHub(t, Config{ObserveFanout: l.observe})
	_, taken := attach(t, h, "general", "taken", 1)
	s, pr := servedStream(t, h)
	h.Publish("general", committedFrame(1, 0)) // its write blocks: nobody reads
	h.Publish("general", committedFrame(2, 0)) // queued behind it
	pr.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("served stream still open 5s after its reader went away")
	}
	h.Publish("general", committedFrame(3, 0))
	for id := 1; id <= 3; id++ {
		taken.next(t)
	}
	if got := len(l.wait(t, 3)); got != 3 {
		t.Errorf("%d observations; want 3", got)
	}
}
