package handlers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
	"parley/internal/pgtest"
	"parley/internal/sse"
	"parley/store"
)

const testPassword = "correct horse"

// testServer is the real handler stack on a real database (a SQLite file,
// or PostgreSQL), served by httptest over real TCP.
type testServer struct {
	t    *testing.T
	cfg  handlers.Config
	path string
	st   *store.Store
	app  *handlers.App
	srv  *httptest.Server
	log  *testLog
}

// testBackendEnv names the variable that chooses the backend the tests
// run on: "postgres" runs them on a throwaway PostgreSQL cluster (pgtest),
// anything else on SQLite files. `make test` runs them on both.
const testBackendEnv = "PARLEY_TEST_DB"

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func onPostgres() bool { return os.Getenv(testBackendEnv) == "postgres" }

// sqliteOnly skips a test that checks what only SQLite has, and says why.
func sqliteOnly(t *testing.T, why string) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite only: " + why)
	}
}

// newTestServer serves a new, empty database: a SQLite file in the test's
// temporary directory, or a PostgreSQL database of its own.
func newTestServer(t *testing.T, cfg handlers.Config) *testServer {
	t.Helper()
	if onPostgres() {
		return newTestServerOn(t, cfg, pgtest.URL(t))
	}
	return newTestServerOn(t, cfg, filepath.Join(t.TempDir(), "parley.db"))
}

// newTestServerOn serves the database db: a SQLite file, or a PostgreSQL
// URL that several test servers may share.
func newTestServerOn(t *testing.T, cfg handlers.Config, db string) *testServer {
	t.Helper()
	ts := &testServer{t: t, cfg: cfg, path: db, log: &testLog{t: t}}
	ts.start()
	t.Cleanup(func() {
		ts.stop()
		ts.log.close()
	})
	return ts
}

func (ts *testServer) start() {
	ts.t.Helper()
	st, err := store.Open(context.Background(), ts.path)
	if err != nil {
		ts.t.Fatal(err)
	}
	ts.st = st
	ts.app = handlers.New(ts.cfg, st, slog.New(slog.NewTextHandler(ts.log, nil)))
	ts.srv = httptest.NewUnstartedServer(ts.app.Handler())
	ts.srv.Config.ErrorLog = slog.NewLogLogger(slog.NewTextHandler(ts.log, nil), slog.LevelWarn)
	ts.srv.Start()
}

func (ts *testServer) stop() {
	if ts.srv == nil {
		return
	}
	ts.app.Shutdown()
	ts.srv.Close()
	ts.st.Close()
	ts.srv = nil
}

// restart closes everything and opens it again on the same file.
func (ts *testServer) restart() {
	ts.t.Helper()
	ts.stop()
	ts.start()
}

// seedPeople makes n accounts named prefix-000 on, each signed in once,
// and returns their session tokens.
func (ts *testServer) seedPeople(prefix string, n int) []string {
	ts.t.Helper()
	ctx := context.Background()
	handles := make([]string, n)
	for i := range handles {
		handles[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	users, err := ts.st.SeedUsers(ctx, handles, testPassword)
	if err != nil {
		ts.t.Fatal(err)
	}
	tokens, err := handlers.SeedSessions(ctx, ts.st, users, time.Hour)
	if err != nil {
		ts.t.Fatal(err)
	}
	return tokens
}

// countMessages counts the stored messages of a kind.
func (ts *testServer) countMessages(kind string) int {
	ts.t.Helper()
	var n int
	if err := ts.st.DB.QueryRow(`SELECT count(*) FROM messages WHERE kind = $1`, kind).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func (ts *testServer) countUsers() int {
	ts.t.Helper()
	var n int
	if err := ts.st.DB.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// testLog sends the server's log to the test log until the test ends.
type testLog struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (l *testLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.done {
		l.t.Logf("server: %s", strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (l *testLog) close() {
	l.mu.Lock()
	l.done = true
	l.mu.Unlock()
}

// client is one browser: a cookie jar, and redirects are not followed so
// that a 303 can be asserted.
type client struct {
	t  *testing.T
	ts *testServer
	hc *http.Client
}

func (ts *testServer) newClient() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: ts.t, ts: ts, hc: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       30 * time.Second,
	}}
}

// response is a finished response with its body read.
type response struct {
	*http.Response
	body string
}

func (r *response) doc(t *testing.T) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// wantStatus fails the test unless the status is want.
func (r *response) wantStatus(t *testing.T, want int) *response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status = %d; want %d\n%.600s", r.Request.Method, r.Request.URL.Path, r.StatusCode, want, r.body)
	}
	return r
}

// wantRedirect fails the test unless the answer is 303 to location.
func (r *response) wantRedirect(t *testing.T, location string) {
	t.Helper()
	r.wantStatus(t, http.StatusSeeOther)
	if got := r.Header.Get("Location"); got != location {
		t.Fatalf("%s %s: Location = %q; want %q", r.Request.Method, r.Request.URL.Path, got, location)
	}
}

// wantError fails the test unless the page shows a visible error.
func (r *response) wantError(t *testing.T, status int) string {
	t.Helper()
	r.wantStatus(t, status)
	e := r.doc(t).Find(`.error[role="alert"]`)
	if e.Length() == 0 || strings.TrimSpace(e.Text()) == "" {
		t.Fatalf("no visible .error[role=alert] in\n%.800s", r.body)
	}
	return strings.TrimSpace(e.Text())
}

// header pairs: "Name", "value", ...
func (c *client) do(method, path string, body io.Reader, header ...string) *response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.ts.srv.URL+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &response{Response: resp, body: string(b)}
}

func (c *client) get(path string, header ...string) *response {
	c.t.Helper()
	return c.do(http.MethodGet, path, nil, header...)
}

func (c *client) post(path string, form url.Values, header ...string) *response {
	c.t.Helper()
	return c.do(http.MethodPost, path, strings.NewReader(form.Encode()), header...)
}

func (c *client) register(handle string) *client {
	c.t.Helper()
	c.post("/register", url.Values{"handle": {handle}, "password": {testPassword}}).wantRedirect(c.t, "/")
	return c
}

func (c *client) login(handle string) *response {
	c.t.Helper()
	return c.post("/login", url.Values{"handle": {handle}, "password": {testPassword}})
}

// say posts a message the way a browser without JavaScript does.
func (c *client) say(room, body string) {
	c.t.Helper()
	c.post("/rooms/"+room+"/messages", url.Values{"body": {body}}).wantRedirect(c.t, "/rooms/"+room)
}

// token returns the session token the client holds, or "".
func (c *client) token() string {
	u, _ := url.Parse(c.ts.srv.URL)
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "parley_session" {
			return ck.Value
		}
	}
	return ""
}

// withToken returns a new client holding the given session token.
func (c *client) withToken(token string) *client {
	other := c.ts.newClient()
	u, _ := url.Parse(c.ts.srv.URL)
	other.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "parley_session", Value: token, Path: "/"}})
	return other
}

// signedIn reports whether the client's session is signed in.
func (c *client) signedIn() bool {
	c.t.Helper()
	r := c.get("/")
	return r.StatusCode == http.StatusSeeOther && r.Header.Get("Location") != "/login"
}

// stream is an open event stream, parsed as a browser would.
type stream struct {
	t       *testing.T
	resp    *http.Response
	events  chan sse.Event
	pending []sse.Event // received, not yet taken by next
	done    chan struct{}
	err     error
	cancel  context.CancelFunc
}

// open opens an event stream and checks that it starts at once.
func (c *client) open(path string, header ...string) *stream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.ts.srv.URL+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	hc := *c.hc
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		cancel()
		c.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		c.t.Fatalf("GET %s: status = %d; want 200: %s", path, resp.StatusCode, b)
	}
	s := &stream{t: c.t, resp: resp, events: make(chan sse.Event, 10000), done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(s.done)
		r := sse.NewReader(resp.Body)
		for {
			ev, err := r.Next()
			if err != nil {
				s.err = err
				return
			}
			s.events <- ev
		}
	}()
	c.t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next returns the first event of type typ not yet taken. Events of other
// types stay for later calls.
func (s *stream) next(typ string) sse.Event {
	s.t.Helper()
	for i, ev := range s.pending {
		if ev.Type == typ {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return ev
		}
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case ev := <-s.events:
			if ev.Type == typ {
				return ev
			}
			s.pending = append(s.pending, ev)
		case <-s.done:
			select {
			case ev := <-s.events:
				if ev.Type == typ {
					return ev
				}
				s.pending = append(s.pending, ev)
				continue
			default:
			}
			s.t.Fatalf("stream ended (%v) while waiting for a %s event", s.err, typ)
		case <-timeout:
			s.t.Fatalf("no %s event within 5s", typ)
		}
	}
}

// message is a message event with its HTML parsed.
type message struct {
	id     int64
	author string
	body   string
	system bool
}

func parseMessage(t *testing.T, ev sse.Event) message {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	if err != nil {
		t.Fatal(err)
	}
	li := d.Find("[data-id]")
	if li.Length() != 1 {
		t.Fatalf("message event holds %d elements with data-id; want 1: %q", li.Length(), ev.Data)
	}
	id, _ := strconv.ParseInt(li.AttrOr("data-id", ""), 10, 64)
	if li.AttrOr("id", "") != "msg-"+ev.ID || strconv.FormatInt(id, 10) != ev.ID {
		t.Fatalf("event id %s carries element id=%q data-id=%q", ev.ID, li.AttrOr("id", ""), li.AttrOr("data-id", ""))
	}
	return message{
		id:     id,
		author: li.Find(".author").Text(),
		body:   li.Find(".body").Text(),
		system: li.HasClass("system"),
	}
}

// nextMessage returns the next message event.
func (s *stream) nextMessage() message {
	s.t.Helper()
	return parseMessage(s.t, s.next("message"))
}

// nextText returns the next message a user wrote, skipping notices.
func (s *stream) nextText() message {
	s.t.Helper()
	for {
		if m := s.nextMessage(); !m.system {
			return m
		}
	}
}

// waitEnd fails the test unless the stream ends within d.
func (s *stream) waitEnd(d time.Duration) {
	s.t.Helper()
	select {
	case <-s.done:
	case <-time.After(d):
		s.t.Fatalf("stream still open after %v", d)
	}
}

// quiet fails the test if the stream ends or carries a message within d.
func (s *stream) quiet(d time.Duration) {
	s.t.Helper()
	for _, ev := range s.pending {
		if ev.Type == "message" {
			s.t.Fatalf("unexpected message %s", ev.Data)
		}
	}
	deadline := time.After(d)
	for {
		select {
		case ev := <-s.events:
			if ev.Type == "message" {
				s.t.Fatalf("unexpected message %s", ev.Data)
			}
			s.pending = append(s.pending, ev)
		case <-s.done:
			s.t.Fatalf("stream ended: %v", s.err)
		case <-deadline:
			return
		}
	}
}
