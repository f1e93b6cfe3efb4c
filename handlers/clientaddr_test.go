package handlers_test

import (
	"bytes"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"parley/handlers"
)

// lockedBuffer is a request log the test can read.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestClientAddress checks, through the real stack, which address the
// registration limit (2 an hour here) and the request log count: the
// test client's peer is 127.0.0.1, which may or may not be a trusted
// proxy, and each request claims a client in X-Forwarded-For.
func TestClientAddress(t *testing.T) {
	register := func(ts *testServer, handle, xff string) *response {
		return ts.newClient().post("/register", url.Values{"handle": {handle}, "password": {testPassword}},
			"X-Forwarded-For", xff)
	}
	// signUps registers handle-1, handle-2, ... from each claimed client
	// in turn and returns the statuses.
	signUps := func(ts *testServer, xffs ...string) []int {
		var got []int
		for i, xff := range xffs {
			got = append(got, register(ts, "person"+string(rune('a'+i)), xff).StatusCode)
		}
		return got
	}
	start := func(t *testing.T, trusted string) (*testServer, *lockedBuffer) {
		log := &lockedBuffer{}
		p, err := handlers.ParseProxies(trusted)
		if err != nil {
			t.Fatal(err)
		}
		ts := newTestServer(t, handlers.Config{
			Limits:         handlers.Limits{RegistrationsPerHour: 2},
			TrustedProxies: p,
			RequestLog:     log,
		})
		return ts, log
	}
	const ok, refused = http.StatusSeeOther, http.StatusTooManyRequests

	for _, tc := range []struct{ name, trusted string }{
		{"NoProxies", ""},
		{"UntrustedPeer", "192.0.2.0/24, 2001:db8::/32"},
	} {
		t.Run(tc.name+"SpoofIgnored", func(t *testing.T) {
			ts, log := start(t, tc.trusted)
			got := signUps(ts, "203.0.113.1", "203.0.113.2", "203.0.113.3")
			if want := []int{ok, ok, refused}; !slices.Equal(got, want) {
				t.Errorf("statuses %v; want %v: X-Forwarded-For was believed", got, want)
			}
			ts.app.Shutdown() // writes the request log
			lines := requestLines(log.String(), "/register")
			if len(lines) != 3 {
				t.Fatalf("%d request lines for /register; want 3:\n%s", len(lines), log.String())
			}
			for _, l := range lines {
				if !strings.Contains(l, " remote=127.0.0.1") {
					t.Errorf("log line %q; want remote=127.0.0.1", l)
				}
			}
		})
	}

	t.Run("TrustedProxy", func(t *testing.T) {
		ts, log := start(t, "127.0.0.1")
		// Two people behind the proxy: each gets the limit of two. The
		// third claims to be the first but added a hop the proxy appended
		// after: the right-most untrusted entry counts.
		got := signUps(ts, "203.0.113.1", "203.0.113.1", "203.0.113.1",
			"198.51.100.9", "203.0.113.1, 198.51.100.9", "198.51.100.9, 127.0.0.1")
		if want := []int{ok, ok, refused, ok, ok, refused}; !slices.Equal(got, want) {
			t.Errorf("statuses %v; want %v", got, want)
		}
		ts.app.Shutdown()
		lines := requestLines(log.String(), "/register")
		if len(lines) != 6 {
			t.Fatalf("%d request lines for /register; want 6:\n%s", len(lines), log.String())
		}
		for i, want := range []string{"203.0.113.1", "203.0.113.1", "203.0.113.1", "198.51.100.9", "198.51.100.9", "198.51.100.9"} {
			if !strings.HasSuffix(lines[i], " remote="+want) {
				t.Errorf("log line %d %q; want remote=%s", i, lines[i], want)
			}
		}
	})
}

// requestLines returns the request log's lines for path, in order.
func requestLines(log, path string) []string {
	var out []string
	for l := range strings.Lines(log) {
		if strings.Contains(l, " msg=request ") && strings.Contains(l, " path="+path+" ") {
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
	}
	return out
}
