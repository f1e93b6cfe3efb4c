package handlers_test

import (
	"database/sql"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"parley/handlers"
	"parley/hub"
	"parley/store"
)

// pinConnection makes the server use a single database connection, so that
// a per-connection fault injected through it reaches every request.
func pinConnection(t *testing.T, ts *testServer) {
	t.Helper()
	ts.st.DB.SetMaxOpenConns(1)
	ts.st.DB.SetMaxIdleConns(1)
}

func (ts *testServer) exec(q string) {
	ts.t.Helper()
	if _, err := ts.st.DB.Exec(q); err != nil {
		ts.t.Fatal(err)
	}
}

// wantUnavailable checks the friendly 503 page.
func wantUnavailable(t *testing.T, r *response) {
	t.Helper()
	msg := r.wantError(t, http.StatusServiceUnavailable)
	if !strings.Contains(msg, "try again") || r.Header.Get("Retry-After") == "" {
		t.Errorf("503 says %q, Retry-After %q; want a friendly message and a Retry-After", msg, r.Header.Get("Retry-After"))
	}
	if strings.Contains(strings.ToLower(r.body), "sqlite") {
		t.Error("database error text reached the browser")
	}
}

func TestDatabaseReadOnly(t *testing.T) {
	sqliteOnly(t, "PRAGMA query_only makes the file read-only")
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	c.say("general", "before")
	pinConnection(t, ts)
	ts.exec("PRAGMA query_only = 1")
	before := ts.countMessages("text")
	wantUnavailable(t, c.post("/rooms/general/messages", url.Values{"body": {"while read-only"}}))
	c.get("/rooms/general").wantStatus(t, http.StatusOK) // reading still works
	if n := ts.countMessages("text"); n != before {
		t.Errorf("%d messages; want %d", n, before)
	}
	ts.exec("PRAGMA query_only = 0")
	c.say("general", "after") // recovered by itself
}

func TestDatabaseFull(t *testing.T) {
	sqliteOnly(t, "PRAGMA max_page_count fills the file")
	ts := newTestServer(t, handlers.Config{Limits: handlers.Limits{PostsPerSecond: 1000, PostBurst: 1000}})
	c := ts.newClient().register("Ann")
	pinConnection(t, ts)
	var pages int
	if err := ts.st.DB.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		t.Fatal(err)
	}
	ts.exec(fmt.Sprintf("PRAGMA max_page_count = %d", pages+2))
	big := strings.Repeat("x", 3990)
	acked := ts.countMessages("text")
	full := false
	for i := 0; i < 100 && !full; i++ {
		r := c.post("/rooms/general/messages", url.Values{"body": {fmt.Sprint(i, big)}})
		switch r.StatusCode {
		case http.StatusSeeOther:
			acked++
		case http.StatusServiceUnavailable:
			wantUnavailable(t, r)
			full = true
		default:
			t.Fatalf("status %d; want 303 or 503", r.StatusCode)
		}
	}
	if !full {
		t.Fatal("the disk never filled")
	}
	if n := ts.countMessages("text"); n != acked {
		t.Errorf("%d messages stored; want the %d acknowledged", n, acked)
	}
	ts.exec("PRAGMA max_page_count = 1000000000")
	c.say("general", "space again")
	if got, _ := ts.st.IntegrityCheck(t.Context()); got != "ok" {
		t.Errorf("integrity check = %q", got)
	}
}

func TestClientGoneMidRequest(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	u, _ := url.Parse(ts.srv.URL)
	before := ts.countMessages("text")
	for range 20 {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		// Promise a body and hang up halfway through it.
		fmt.Fprintf(conn, "POST /rooms/general/messages HTTP/1.1\r\nHost: %s\r\nCookie: parley_session=%s\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nbody=half", u.Host, c.token())
		conn.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if n := ts.countMessages("text"); n != before {
		t.Errorf("%d messages stored from cut-off requests; want none", n-before)
	}
	c.say("general", "still fine")
}

func TestManyStreamsThatNeverRead(t *testing.T) {
	cfg := fastConfig()
	cfg.Hub = hub.Config{SlowTimeout: 500 * time.Millisecond, SendBuffer: 8 << 10, MaxPerSession: 1000}
	ts := newTestServer(t, cfg)
	c := ts.newClient().register("Ann")
	watcher := ts.newClient().register("Bob").open(events)
	u, _ := url.Parse(ts.srv.URL)
	const idle = 1000
	var conns []net.Conn
	for range idle {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: parley_session=%s\r\n\r\n", events, u.Host, c.token())
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); ts.app.Streams() < idle+1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open; want %d", ts.app.Streams(), idle+1)
		}
		time.Sleep(10 * time.Millisecond)
	}
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heapBefore := ms.HeapAlloc

	big := strings.Repeat("y", 3990)
	start := time.Now()
	for i := range 100 {
		c.say("general", fmt.Sprint(i, big))
	}
	for range 100 {
		watcher.nextText()
	}
	t.Logf("100 messages of 4 KB reached the reader past %d idle streams in %v", idle, time.Since(start))
	for deadline := time.Now().Add(5 * time.Second); ts.app.Streams() > 1; {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams still open; want the ones that never read dropped", ts.app.Streams())
		}
		time.Sleep(20 * time.Millisecond)
	}
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if grown := int64(ms.HeapAlloc) - int64(heapBefore); grown > 8<<20 {
		t.Errorf("heap grew by %d bytes; want it bounded once the idle streams are gone", grown)
	}
}

func TestDatabaseLocked(t *testing.T) {
	sqliteOnly(t, "another program holds the file's write lock")
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	// Another program holds the write lock past the busy timeout.
	other, err := sql.Open("sqlite", store.DSN(ts.path))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	before := ts.countMessages("text")
	wantUnavailable(t, c.post("/rooms/general/messages", url.Values{"body": {"while locked"}}))
	c.get("/rooms/general").wantStatus(t, http.StatusOK)
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	c.say("general", "unlocked")
	if n := ts.countMessages("text"); n != before+1 {
		t.Errorf("%d messages; want %d", n, before+1)
	}
}
