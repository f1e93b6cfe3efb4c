package handlers_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
	"parley/hub"
	"parley/internal/sse"
	"parley/store"
)

const events = "/rooms/general/events"

// fastConfig makes presence and limits quick enough for tests.
func fastConfig() handlers.Config {
	return handlers.Config{
		LeaveGrace: 200 * time.Millisecond,
		Limits:     handlers.Limits{PostsPerSecond: 1000, PostBurst: 1000},
	}
}

// lastID returns the id of the newest message in the room.
func lastID(t *testing.T, c *client) int64 {
	t.Helper()
	v := c.get("/rooms/general").doc(t).Find("#app").AttrOr("data-last-id", "")
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("data-last-id = %q", v)
	}
	return id
}

func TestStreamStart(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	s := c.open(events)
	if ct := s.resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q; want text/event-stream", ct)
	}
	if cc := s.resp.Header.Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("Cache-Control = %q; want no-cache", cc)
	}
	// The online list comes at once, before anyone posts anything.
	if ev := s.next("presence"); !strings.Contains(ev.Data, "<ul") {
		t.Errorf("presence data %q; want the list's HTML", ev.Data)
	}
}

func TestStreamRejects(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	ts.newClient().get(events).wantStatus(t, http.StatusUnauthorized)
	c.get("/rooms/nowhere/events").wantStatus(t, http.StatusNotFound)
	c.get(events, "Last-Event-ID", "seven").wantStatus(t, http.StatusBadRequest)
	c.get(events+"?last_event_id=-1").wantStatus(t, http.StatusBadRequest)
}

func TestStreamLive(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	sa, sb := ann.open(events), bob.open(events)
	start := time.Now()
	ann.post("/rooms/general/messages", url.Values{"body": {"hello <b>Bob</b>"}}, "HX-Request", "true").wantStatus(t, http.StatusOK)
	for name, s := range map[string]*stream{"ann": sa, "bob": sb} {
		m := s.nextText()
		if m.author != "Ann" || m.body != "hello <b>Bob</b>" {
			t.Errorf("%s got %+v; want Ann's message as text", name, m)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("delivery took %v; want under 1s", d)
	}
	t.Logf("delivered to 2 users in %v", time.Since(start))
}

func TestStreamResume(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	for i := range 5 {
		c.say("general", fmt.Sprint("m", i))
	}
	last := lastID(t, c)
	want := func(s *stream, ids ...int64) {
		t.Helper()
		for _, id := range ids {
			if m := s.nextMessage(); m.id != id {
				t.Fatalf("got message %d; want %d", m.id, id)
			}
		}
	}
	t.Run("Header", func(t *testing.T) {
		s := c.open(events, "Last-Event-ID", strconv.FormatInt(last-2, 10))
		want(s, last-1, last)
	})
	t.Run("Query", func(t *testing.T) {
		s := c.open(events + "?last_event_id=" + strconv.FormatInt(last-3, 10))
		want(s, last-2, last-1, last)
	})
	t.Run("LaterWins", func(t *testing.T) {
		s := c.open(events+"?last_event_id=0", "Last-Event-ID", strconv.FormatInt(last-1, 10))
		want(s, last)
	})
	t.Run("ThenLive", func(t *testing.T) {
		s := c.open(events, "Last-Event-ID", strconv.FormatInt(last, 10))
		c.say("general", "live")
		m := s.nextText()
		if m.id <= last || m.body != "live" {
			t.Fatalf("got %+v; want the live message after %d", m, last)
		}
	})
	t.Run("Everything", func(t *testing.T) {
		s := c.open(events + "?last_event_id=0")
		prev := int64(0)
		for n := 0; n < 6; {
			m := s.nextMessage()
			if m.id <= prev {
				t.Fatalf("id %d after %d", m.id, prev)
			}
			prev = m.id
			if !m.system {
				n++
			}
		}
	})
}

func TestStreamResumeAcrossRestart(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	c.say("general", "before")
	s := c.open(events, "Last-Event-ID", strconv.FormatInt(lastID(t, c), 10))
	ts.restart()
	s.waitEnd(2 * time.Second)
	cursor := lastID(t, c)
	c.say("general", "while away")
	s = c.open(events, "Last-Event-ID", strconv.FormatInt(cursor, 10))
	if m := s.nextText(); m.body != "while away" {
		t.Errorf("got %+v; want the message posted after the restart", m)
	}
}

func TestStreamManyPosters(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	const posters, each, subscribers = 20, 50, 20
	var clients []*client
	for i := range posters {
		clients = append(clients, ts.newClient().register(fmt.Sprint("poster", i)))
	}
	var streams []*stream
	for i := range subscribers {
		streams = append(streams, clients[i%posters].open(events))
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			for j := range each {
				r := c.post("/rooms/general/messages", url.Values{"body": {fmt.Sprint("n", j)}}, "HX-Request", "true")
				if r.StatusCode != http.StatusOK {
					t.Errorf("post: status %d", r.StatusCode)
				}
			}
		})
	}
	wg.Wait()
	want := ts.countMessages("text")
	if want != posters*each {
		t.Fatalf("%d messages stored; want %d", want, posters*each)
	}
	for i, s := range streams {
		seen := map[int64]bool{}
		prev := int64(0)
		for len(seen) < want {
			m := s.nextMessage()
			if m.id <= prev {
				t.Fatalf("subscriber %d: id %d after %d; want strictly increasing", i, m.id, prev)
			}
			prev = m.id
			if !m.system {
				seen[m.id] = true
			}
		}
	}
}

func TestStreamInjection(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	s := c.open(events)
	for _, body := range []string{
		"a\r\n\r\nevent: x\ndata: y",
		"b\revent: logout\rdata: z",
		"c\n\nid: 999999\n\nretry: 1",
		"d\r\ndata: <script>alert(1)</script>",
	} {
		c.say("general", body)
		if m := s.nextText(); m.body != body {
			t.Errorf("body = %q; want %q", m.body, body)
		}
	}
	c.say("general", "after")
	if m := s.nextText(); m.body != "after" {
		t.Errorf("got %+v; want the next message intact", m)
	}
}

func TestStreamLogout(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	a1, a2 := ann.open(events), ann.open(events)
	b := bob.open(events)
	start := time.Now()
	ann.post("/logout", nil).wantRedirect(t, "/login")
	for _, s := range []*stream{a1, a2} {
		s.next("logout")
		s.waitEnd(2 * time.Second)
	}
	t.Logf("streams ended %v after logout", time.Since(start))
	bob.say("general", "still here")
	if m := b.nextText(); m.body != "still here" {
		t.Errorf("bob got %+v", m)
	}
	ann.get(events).wantStatus(t, http.StatusUnauthorized)
}

func TestStreamLogoutEverywhere(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	tab := ts.newClient().register("Ann")
	phone := ts.newClient()
	phone.login("Ann").wantRedirect(t, "/")
	s := phone.open(events)
	tab.post("/logout", url.Values{"everywhere": {"1"}}).wantRedirect(t, "/login")
	s.next("logout")
	s.waitEnd(2 * time.Second)
}

func TestStreamBackstop(t *testing.T) {
	// A session revoked behind the hub's back (another server, a database
	// edit) still ends its streams at the next heartbeat.
	cfg := fastConfig()
	cfg.Hub = hub.Config{Heartbeat: 100 * time.Millisecond}
	ts := newTestServer(t, cfg)
	c := ts.newClient().register("Ann")
	s := c.open(events)
	if _, err := ts.st.DB.Exec(`DELETE FROM logins`); err != nil {
		t.Fatal(err)
	}
	s.next("logout")
	s.waitEnd(2 * time.Second)
}

func TestStreamSessionLimit(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	for range 16 {
		c.open(events)
	}
	r := c.get(events)
	r.wantStatus(t, http.StatusTooManyRequests)
	ts.newClient().register("Bob").open(events)
}

func TestStreamShutdown(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	s := c.open(events)
	done := make(chan struct{})
	go func() { ts.app.Shutdown(); close(done) }()
	s.waitEnd(3 * time.Second)
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("Shutdown did not return")
	}
}

func TestSlowSubscriber(t *testing.T) {
	cfg := fastConfig()
	cfg.Hub = hub.Config{SlowTimeout: 500 * time.Millisecond, SendBuffer: 8 << 10}
	ts := newTestServer(t, cfg)
	c := ts.newClient().register("Ann")
	fast := c.open(events)

	// A client that asks for the stream and never reads a byte.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	u, _ := url.Parse(ts.srv.URL)
	conn, err := d.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nCookie: parley_session=%s\r\n\r\n", events, u.Host, c.token())
	for ts.app.Streams() < 2 {
		time.Sleep(10 * time.Millisecond)
	}

	body := strings.Repeat("x", 4000)
	u0 := lastID(t, c)
	const n = 200
	start := time.Now()
	for range n {
		if _, err := ts.st.CreateMessage(context.Background(), store.Message{Room: "general", UserID: 1, Author: "Ann", Body: body}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		if m := fast.nextText(); m.id <= u0 {
			t.Fatalf("message %d: id %d", i, m.id)
		}
	}
	t.Logf("%d messages of 4 KB reached the reading client in %v", n, time.Since(start))
	deadline := time.Now().Add(5 * time.Second)
	for ts.app.Streams() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d streams open; want the one that never reads dropped", ts.app.Streams())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestStreamHTTP2(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	// The same handler over HTTP/2, where a connection cannot be taken over.
	srv := httptest.NewUnstartedServer(ts.app.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := srv.Client()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	c := ts.newClient().register("Ann")
	get := func(path string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Cookie", "parley_session="+c.token())
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get(events)
	defer resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != http.StatusOK {
		t.Fatalf("proto %s status %d; want HTTP/2 200", resp.Proto, resp.StatusCode)
	}
	r := sse.NewReader(bufio.NewReader(resp.Body))
	c.say("general", "over h2")
	for {
		ev, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "message" && !parseMessage(t, ev).system {
			if m := parseMessage(t, ev); m.body != "over h2" {
				t.Fatalf("got %+v", m)
			}
			break
		}
	}
	c.post("/logout", nil)
	for {
		ev, err := r.Next()
		if err == io.EOF || err != nil && strings.Contains(err.Error(), "stream") {
			t.Fatal("stream ended without a logout event")
		}
		if err != nil {
			t.Fatal(err)
		}
		if ev.Type == "logout" {
			break
		}
	}
	if _, err := r.Next(); err == nil {
		t.Fatal("stream continues after logout")
	}
}

func TestPresence(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	sa := ann.open(events)
	if m := sa.nextMessage(); !m.system || m.body != "Ann joined" {
		t.Fatalf("got %+v; want Ann's join notice", m)
	}
	online := func(s *stream, want ...string) {
		t.Helper()
		deadline := time.After(3 * time.Second)
		for {
			select {
			case <-deadline:
				t.Fatalf("online list never became %v", want)
			default:
			}
			ev := s.next("presence")
			d := parseList(t, ev.Data)
			t.Logf("presence %v (want %v)", d, want)
			if slices.Equal(d, want) {
				return
			}
		}
	}
	online(sa, "Ann")
	sb1, sb2 := bob.open(events), bob.open(events) // two tabs count once
	online(sa, "Ann", "Bob")
	if m := sa.nextMessage(); m.body != "Bob joined" {
		t.Fatalf("got %+v; want Bob's join notice", m)
	}

	bob.post("/profile", url.Values{"handle": {"Robert"}}, "Referer", ts.srv.URL+"/rooms/general").wantRedirect(t, "/rooms/general")
	online(sa, "Ann", "Robert")
	if m := sa.nextMessage(); m.body != "Bob is now Robert" {
		t.Fatalf("got %+v; want the rename notice", m)
	}

	sb1.close()
	sa.quiet(400 * time.Millisecond) // one tab left: nothing to announce
	sb2.close()
	online(sa, "Ann")
	if m := sa.nextMessage(); m.body != "Robert left" {
		t.Fatalf("got %+v; want the leave notice", m)
	}
	bob.open(events)
	if m := sa.nextMessage(); m.body != "Robert is back" {
		t.Fatalf("got %+v; want the is-back notice", m)
	}
	if n := ts.countMessages(store.KindJoin); n != 2 {
		t.Errorf("%d join notices stored; want 2", n)
	}
}

func TestPresenceReloadIsQuiet(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	watcher := ts.newClient().register("Bob").open(events)
	s := ann.open(events)
	for m := watcher.nextMessage(); m.body != "Ann joined"; m = watcher.nextMessage() {
	}
	s.close()
	ann.open(events) // a reload: back well within the grace period
	watcher.quiet(500 * time.Millisecond)
}

// parseList returns the handles of an online list's HTML.
func parseList(t *testing.T, html string) []string {
	t.Helper()
	r := &response{body: html}
	var out []string
	r.doc(t).Find("li:not(.none)").Each(func(_ int, s *goquery.Selection) { out = append(out, s.Text()) })
	return out
}
