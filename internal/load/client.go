package load

import "time"

// ClientConfig says where the streams go.
type ClientConfig struct {
	// Addr is the server's host:port (an IP address).
	Addr string
	// Path is the event stream's path, such as /rooms/general/events.
	// Empty means raw mode: no HTTP request, the bytes received are the
	// event stream itself.
	Path string
	// Pollers is the number of epoll loops (default 1).
	Pollers int
	// MaxDialing bounds the connections being set up at once, per poller
	// (default 256), so the server's accept queue never overflows.
	MaxDialing int
}

// Target is one stream to open: its path (the client's when empty) and
// its session cookie.
type Target struct {
	Path, Cookie string
}

// ConnectResult tells how opening a batch of streams went.
type ConnectResult struct {
	Opened  int
	Failed  map[string]int // by reason, such as "status 429"
	Elapsed time.Duration  // from the first connect to the last stream's response head
	Setup   Latencies      // per stream, from connect to response head
}

// WaveResult is what the streams saw of one wave.
type WaveResult struct {
	Streams  int   // streams open when the wave began
	Copies   int64 // copies received (first copies only)
	Expected int64 // acknowledged messages times Streams
	Lost     int64 // acknowledged messages a stream did not receive
	Dup      int64 // copies received more than once
	OutOfOrd int64 // messages whose id was not above the stream's previous one
	Dropped  int   // streams the server ended during the wave
	Stale    int64 // tagged copies of another wave
	Latency  Latencies
}

// PresenceResult tells how much of the online list the open streams
// received: per stream, the bytes and the number of presence events.
type PresenceResult struct {
	Streams              int
	BytesP50, BytesMax   int64
	EventsP50, EventsMax int
}
