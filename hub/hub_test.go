package hub

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/sse"
)

// newTestHub starts a hub that is closed when the test ends.
func newTestHub(t *testing.T, cfg Config) *Hub {
	t.Helper()
	h := New(cfg)
	t.Cleanup(h.Close)
	return h
}

// tcpPair returns the two ends of a real loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return server, client
}

// attach subscribes a stream, attaches a fresh connection and returns a
// reader of what the client end receives.
func attach(t *testing.T, h *Hub, room, token string, userID int64) (*Sub, *events) {
	t.Helper()
	s, err := h.Subscribe(room, token, userID, "")
	if err != nil {
		t.Fatal(err)
	}
	server, client := tcpPair(t)
	if err := s.Attach(server); err != nil {
		t.Fatal(err)
	}
	return s, readEvents(client)
}

// events collects what a client receives, in order.
type events struct {
	ch   chan sse.Event
	done chan struct{} // closed when the stream ended
	err  error
}

func readEvents(r io.Reader) *events {
	e := &events{ch: make(chan sse.Event, 100000), done: make(chan struct{})}
	go func() {
		defer close(e.done)
		rd := sse.NewReader(r)
		for {
			ev, err := rd.Next()
			if err != nil {
				e.err = err
				return
			}
			e.ch <- ev
		}
	}()
	return e
}

func (e *events) next(t *testing.T) sse.Event {
	t.Helper()
	select {
	case ev := <-e.ch:
		return ev
	case <-e.done:
		select {
		case ev := <-e.ch:
			return ev
		default:
		}
		t.Fatalf("stream ended (%v); want another event", e.err)
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return sse.Event{}
}

func (e *events) waitEnd(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-e.done:
	case <-time.After(within):
		t.Fatalf("stream still open after %v", within)
	}
}

func msgFrame(id int64) Frame {
	return Encode(id, "message", []byte("<li id=\"msg-"+strconv.FormatInt(id, 10)+"\">m</li>"))
}

func TestEncode(t *testing.T) {
	tests := []struct {
		name  string
		id    int64
		event string
		data  string
		want  string
	}{
		{"OK", 7, "message", "<p>hi</p>", "id: 7\nevent: message\ndata: <p>hi</p>\n\n"},
		{"NoID", 0, "presence", "<ul></ul>", "event: presence\ndata: <ul></ul>\n\n"},
		{"LF", 1, "message", "a\nb", "id: 1\nevent: message\ndata: a\ndata: b\n\n"},
		{"CR", 1, "message", "a\rb", "id: 1\nevent: message\ndata: a\ndata: b\n\n"},
		{"CRLF", 1, "message", "a\r\nb", "id: 1\nevent: message\ndata: a\ndata: b\n\n"},
		{"Injection", 2, "message", "x\r\n\r\nevent: evil\ndata: y", "id: 2\nevent: message\ndata: x\ndata: \ndata: event: evil\ndata: data: y\n\n"},
		{"Empty", 3, "message", "", "id: 3\nevent: message\ndata: \n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(Encode(tt.id, tt.event, []byte(tt.data)).Data); got != tt.want {
				t.Errorf("Encode = %q; want %q", got, tt.want)
			}
		})
	}
}

// FuzzEncode checks that any data, framed, parses back as exactly one event
// of the given type and id, carrying the data with its line ends as LF.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", "a", "a\nb", "a\r\nb", "\r\r\n\n", "x\r\n\r\nevent: x\ndata: y\nid: 9", ": c\n\n", "retry: 1\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		frame := Encode(42, "message", []byte(data))
		r := sse.NewReader(strings.NewReader(string(frame.Data)))
		ev, err := r.Next()
		if err != nil {
			t.Fatalf("parse %q: %v", frame.Data, err)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(data, "\r\n", "\n"), "\r", "\n")
		if ev.Type != "message" || ev.ID != "42" || ev.Data != want {
			t.Fatalf("event = %+v; want message 42 with %q", ev, want)
		}
		if ev, err := r.Next(); err != io.EOF {
			t.Fatalf("second event %+v (err %v); want end of stream", ev, err)
		}
	})
}

func TestPublish(t *testing.T) {
	t.Run("FanOut", func(t *testing.T) {
		h := newTestHub(t, Config{})
		var clients []*events
		for i := range 20 {
			_, ev := attach(t, h, "general", fmt.Sprint("tok", i%4), int64(i%4+1))
			clients = append(clients, ev)
		}
		_, other := attach(t, h, "elsewhere", "tok9", 9)
		for id := int64(1); id <= 100; id++ {
			h.Publish("general", msgFrame(id))
		}
		h.Publish("elsewhere", msgFrame(1000))
		for i, c := range clients {
			for id := int64(1); id <= 100; id++ {
				if ev := c.next(t); ev.ID != strconv.FormatInt(id, 10) {
					t.Fatalf("client %d got id %s; want %d", i, ev.ID, id)
				}
			}
		}
		if ev := other.next(t); ev.ID != "1000" {
			t.Fatalf("other room got id %s; want 1000", ev.ID)
		}
	})

	t.Run("SkipsReplayed", func(t *testing.T) {
		h := newTestHub(t, Config{})
		s, err := h.Subscribe("general", "tok", 1, "")
		if err != nil {
			t.Fatal(err)
		}
		// Frames published while the caller replays wait; those the replay
		// covered are dropped at attach, the rest are delivered once.
		for id := int64(1); id <= 6; id++ {
			h.Publish("general", msgFrame(id))
		}
		s.Replayed(4)
		server, client := tcpPair(t)
		if err := s.Attach(server); err != nil {
			t.Fatal(err)
		}
		ev := readEvents(client)
		h.Publish("general", msgFrame(6)) // a late duplicate
		h.Publish("general", msgFrame(7))
		for _, want := range []string{"5", "6", "7"} {
			if got := ev.next(t); got.ID != want {
				t.Fatalf("got id %s; want %s", got.ID, want)
			}
		}
	})

	t.Run("KeepsUnnumberedFrames", func(t *testing.T) {
		h := newTestHub(t, Config{})
		_, ev := attach(t, h, "general", "tok", 1)
		h.Publish("general", msgFrame(3))
		h.Publish("general", Encode(0, "presence", []byte("<ul></ul>")))
		h.Publish("general", msgFrame(4))
		for _, want := range []string{"message", "presence", "message"} {
			if got := ev.next(t); got.Type != want {
				t.Fatalf("got %s; want %s", got.Type, want)
			}
		}
	})
}

// slowAndHealthy subscribes two streams to general: "slow", whose socket
// buffers hold about 4 KiB each way and whose client never reads, and
// "fast", whose client reads all it gets.
func slowAndHealthy(t *testing.T, h *Hub) (slow *Sub, healthy *events) {
	t.Helper()
	slow, err := h.Subscribe("general", "slow", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	server, client := tcpPair(t)
	server.(*net.TCPConn).SetWriteBuffer(4096)
	client.(*net.TCPConn).SetReadBuffer(4096)
	if err := slow.Attach(server); err != nil {
		t.Fatal(err)
	}
	_, healthy = attach(t, h, "general", "fast", 2)
	return slow, healthy
}

func TestSlowClient(t *testing.T) {
	h := newTestHub(t, Config{SlowTimeout: 300 * time.Millisecond, MaxQueue: 1 << 20})
	slow, healthy := slowAndHealthy(t, h)

	big := strings.Repeat("x", 16<<10)
	const n = 400 // 6.4 MiB: far more than the slow client's socket holds
	start := time.Now()
	for id := int64(1); id <= n; id++ {
		h.Publish("general", Encode(id, "message", []byte(big)))
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("publishing took %v; a client that does not read must not slow the publisher", d)
	}
	for id := int64(1); id <= n; id++ {
		if ev := healthy.next(t); ev.ID != strconv.FormatInt(id, 10) {
			t.Fatalf("healthy client got id %s; want %d", ev.ID, id)
		}
	}
	select {
	case <-slow.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("slow client still subscribed after 5s; want it dropped after SlowTimeout")
	}
	if got := h.Streams(); got != 1 {
		t.Errorf("Streams = %d; want 1", got)
	}
}

func TestBurstKeepsHealthyClient(t *testing.T) {
	// A burst larger than any count-based limit would allow still reaches
	// a client that reads: the rule is time, not count.
	h := newTestHub(t, Config{SlowTimeout: 2 * time.Second})
	s, ev := attach(t, h, "general", "tok", 1)
	for id := int64(1); id <= 5000; id++ {
		h.Publish("general", msgFrame(id))
	}
	for id := int64(1); id <= 5000; id++ {
		if got := ev.next(t); got.ID != strconv.FormatInt(id, 10) {
			t.Fatalf("got id %s; want %d", got.ID, id)
		}
	}
	select {
	case <-s.Done():
		t.Fatal("healthy client was dropped by a burst")
	default:
	}
}

func TestMaxQueue(t *testing.T) {
	h := newTestHub(t, Config{MaxQueue: 10})
	s, err := h.Subscribe("general", "tok", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 11; id++ {
		h.Publish("general", msgFrame(id))
	}
	server, client := tcpPair(t)
	s.Attach(server)
	readEvents(client).waitEnd(t, 3*time.Second)
}

func TestEndSessions(t *testing.T) {
	h := newTestHub(t, Config{})
	_, a1 := attach(t, h, "general", "alice", 1)
	_, a2 := attach(t, h, "other", "alice", 1)
	_, b := attach(t, h, "general", "bob", 2)

	start := time.Now()
	h.EndSessions("alice")
	for _, a := range []*events{a1, a2} {
		if ev := a.next(t); ev.Type != "logout" {
			t.Errorf("got %q event; want logout", ev.Type)
		}
		a.waitEnd(t, 2*time.Second)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("streams ended after %v; want within 2s", d)
	}
	h.Publish("general", msgFrame(1))
	if ev := b.next(t); ev.ID != "1" {
		t.Errorf("other session got %+v; want message 1", ev)
	}
	if got := h.SessionStreams("alice"); got != 0 {
		t.Errorf("SessionStreams(alice) = %d; want 0", got)
	}
}

func TestLimits(t *testing.T) {
	h := newTestHub(t, Config{MaxPerSession: 2, MaxStreams: 3})
	for range 2 {
		if _, err := h.Subscribe("general", "a", 1, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Subscribe("general", "a", 1, ""); err != ErrSessionLimit {
		t.Errorf("third stream of a session: err = %v; want ErrSessionLimit", err)
	}
	if _, err := h.Subscribe("general", "b", 2, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Subscribe("general", "c", 3, ""); err != ErrServerLimit {
		t.Errorf("fourth stream: err = %v; want ErrServerLimit", err)
	}
}

// recorder is an Observer that logs its calls.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) Entered(room string, id int64, _ string) {
	r.add(fmt.Sprintf("enter %s %d", room, id))
}
func (r *recorder) Left(room string, id, _ int64) { r.add(fmt.Sprintf("leave %s %d", room, id)) }
func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) get() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.calls, ", ")
}

func TestObserver(t *testing.T) {
	rec := &recorder{}
	h := newTestHub(t, Config{Observer: rec})
	s1, _ := h.Subscribe("general", "a", 1, "")
	s2, _ := h.Subscribe("general", "b", 1, "") // the same user in a second tab
	s3, _ := h.Subscribe("general", "c", 2, "")
	s1.Abandon()
	s2.Abandon()
	s3.Abandon()
	want := "enter general 1, enter general 2, leave general 1, leave general 2"
	if got := rec.get(); got != want {
		t.Errorf("calls = %q; want %q", got, want)
	}
}

func TestPeerClosed(t *testing.T) {
	h := newTestHub(t, Config{ReapEvery: 50 * time.Millisecond})
	s, err := h.Subscribe("general", "tok", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	server, client := tcpPair(t)
	s.Attach(server)
	client.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("stream of a closed client still open after 5s")
	}
}

func TestClose(t *testing.T) {
	h := New(Config{})
	_, ev := attach(t, h, "general", "tok", 1)
	h.Publish("general", msgFrame(1))
	h.Close()
	if got := ev.next(t); got.ID != "1" {
		t.Errorf("got %+v; want the queued message before the end", got)
	}
	ev.waitEnd(t, time.Second)
	if _, err := h.Subscribe("general", "tok", 1, ""); err != ErrClosed {
		t.Errorf("Subscribe after Close: err = %v; want ErrClosed", err)
	}
	h.Close() // a second call returns
}

func TestServe(t *testing.T) {
	h := newTestHub(t, Config{})
	s, err := h.Subscribe("general", "tok", 1, "")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	bw := bufio.NewWriter(pw)
	go func() {
		s.Serve(t.Context(), bw, bw.Flush, func(time.Time) error { return nil })
		pw.Close()
	}()
	ev := readEvents(pr)
	h.Publish("general", msgFrame(1))
	if got := ev.next(t); got.ID != "1" {
		t.Fatalf("got %+v; want message 1", got)
	}
	h.EndSessions("tok")
	if got := ev.next(t); got.Type != "logout" {
		t.Fatalf("got %+v; want logout", got)
	}
	ev.waitEnd(t, 2*time.Second)
}
