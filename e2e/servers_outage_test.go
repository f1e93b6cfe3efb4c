package e2e

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/internal/pgtest"
	"parley/internal/sse"
)

// While PostgreSQL is down, a server answers what needs the database with
// 503 and a Retry-After, says so at /healthz, and ends its streams; once
// PostgreSQL is back it serves again without a restart, and a stream
// resumes from the last message it saw.
func TestServersDatabaseOutage(t *testing.T) {
	pg := pgtest.Own(t) // stopped below: a cluster of this test's own
	db, err := pg.NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := startServerOn(t, db)
	ann := newClient(t, s)
	ann.register("ann")
	events := ann.stream("/rooms/general/events", "")
	ann.say("general", "before the outage")
	first := events.waitFor(t, "before the outage", 10*time.Second)

	if err := pg.Pause(); err != nil {
		t.Fatal(err)
	}
	paused := time.Now()
	unavailable := func(method, path string, form url.Values) {
		t.Helper()
		c := ann
		if path == "/login" {
			c = newClient(t, s)
		}
		status, header, _ := c.send(method, path, form)
		if status != http.StatusServiceUnavailable {
			t.Errorf("%s %s with the database down: status %d; want 503", method, path, status)
		}
		if secs, err := strconv.Atoi(header.Get("Retry-After")); err != nil || secs < 1 {
			t.Errorf("%s %s with the database down: Retry-After %q; want seconds", method, path, header.Get("Retry-After"))
		}
	}
	unavailable(http.MethodGet, "/rooms/general", nil)
	unavailable(http.MethodPost, "/rooms/general/messages", url.Values{"body": {"lost?"}})
	unavailable(http.MethodPost, "/login", url.Values{"handle": {"ann"}, "password": {password}})
	if status, _, _ := ann.send(http.MethodGet, "/healthz", nil); status == http.StatusOK {
		t.Errorf("/healthz with the database down: status 200; want an error")
	}
	events.waitEnd(t, 10*time.Second)
	t.Logf("the stream ended %v after PostgreSQL stopped", time.Since(paused).Round(time.Millisecond))

	if err := pg.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed := time.Now()
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, body := ann.send(http.MethodGet, "/healthz", nil)
		if status == http.StatusOK && strings.TrimSpace(body) == "ok" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d %q 30 s after the database came back", status, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("/healthz answered ok %v after PostgreSQL was back", time.Since(resumed).Round(time.Millisecond))
	ann.get("/rooms/general", http.StatusOK)
	ann.say("general", "after the outage")
	again := ann.stream("/rooms/general/events", first.ID)
	ev := again.next(t, 10*time.Second)
	for ev.Type != "message" || !strings.Contains(ev.Data, "outage") {
		ev = again.next(t, 10*time.Second)
	}
	if !strings.Contains(ev.Data, "after the outage") {
		t.Fatalf("resumed stream's first message: %q; want the one posted after the outage", ev.Data)
	}
	if body := ann.get("/rooms/general", http.StatusOK); strings.Contains(body, "lost?") {
		t.Error("the post refused during the outage was stored")
	}
}

// eventStream is an event stream being read by a goroutine of its own.
type eventStream struct {
	events chan sse.Event
	body   io.Closer
}

// stream opens path's event stream, from lastID when not empty.
func (c *client) stream(path, lastID string) *eventStream {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.srv.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		c.t.Fatalf("GET %s: status %d; want 200", path, resp.StatusCode)
	}
	es := &eventStream{events: make(chan sse.Event, 100), body: resp.Body}
	go func() {
		defer close(es.events)
		r := sse.NewReader(resp.Body)
		for {
			ev, err := r.Next()
			if err != nil {
				return
			}
			es.events <- ev
		}
	}()
	c.t.Cleanup(func() { resp.Body.Close() })
	return es
}

// next returns the stream's next event, failing after d.
func (es *eventStream) next(t *testing.T, d time.Duration) sse.Event {
	t.Helper()
	select {
	case ev, ok := <-es.events:
		if !ok {
			t.Fatal("the stream ended; want an event")
		}
		return ev
	case <-time.After(d):
		t.Fatalf("no event within %v", d)
	}
	return sse.Event{}
}

// waitFor returns the first event whose data holds text, failing after d.
func (es *eventStream) waitFor(t *testing.T, text string, d time.Duration) sse.Event {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ev := es.next(t, time.Until(deadline))
		if strings.Contains(ev.Data, text) {
			return ev
		}
	}
}

// waitEnd fails unless the server ends the stream within d.
func (es *eventStream) waitEnd(t *testing.T, d time.Duration) {
	t.Helper()
	timeout := time.After(d)
	for {
		select {
		case _, ok := <-es.events:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("the stream still open %v after the database went down", d)
		}
	}
}
