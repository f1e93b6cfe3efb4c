package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
)

func TestHealthz(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	r := ts.newClient().get("/healthz").wantStatus(t, http.StatusOK)
	if r.body != "ok" {
		t.Errorf("body = %q; want ok", r.body)
	}
}

func TestRoomPage(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	for i := range 55 {
		c.say("general", fmt.Sprint("message ", i))
	}
	d := c.get("/rooms/general").wantStatus(t, http.StatusOK).doc(t)
	msgs := d.Find("#messages [data-id]:not(.system)")
	if msgs.Length() != 50 {
		t.Fatalf("%d messages on the page; want 50", msgs.Length())
	}
	prev := int64(0)
	for i := range msgs.Length() {
		m := msgs.Eq(i)
		id, _ := strconv.ParseInt(m.AttrOr("data-id", ""), 10, 64)
		if id <= prev || m.AttrOr("id", "") != "msg-"+strconv.FormatInt(id, 10) {
			t.Fatalf("message %d: id=%q data-id=%q after %d; want increasing with id msg-{data-id}", i, m.AttrOr("id", ""), m.AttrOr("data-id", ""), prev)
		}
		prev = id
		if got, want := m.Find(".body").Text(), fmt.Sprint("message ", i+5); got != want {
			t.Errorf("message %d body = %q; want %q", i, got, want)
		}
		if got := m.Find(".author").Text(); got != "Ann" {
			t.Errorf("message %d author = %q; want Ann", i, got)
		}
	}
	if d.Find(`form#composer textarea[name="body"]`).Length() != 1 {
		t.Error("no message form")
	}
	if d.Find("#online").Length() != 1 {
		t.Error("no online list")
	}
}

func TestUnknownRoom(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	for _, path := range []string{"/rooms/nowhere", "/rooms/General", "/rooms/" + strings.Repeat("a", 33), "/rooms/a_b"} {
		c.get(path).wantStatus(t, http.StatusNotFound)
	}
	c.post("/rooms/nowhere/messages", url.Values{"body": {"hi"}}).wantStatus(t, http.StatusNotFound)
	c.get("/rooms/nowhere/events").wantStatus(t, http.StatusNotFound)
	if n := ts.countMessages("text"); n != 0 {
		t.Errorf("%d messages stored; want none", n)
	}
}

func TestCreateRoom(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	c.post("/rooms", url.Values{"name": {"random"}}).wantRedirect(t, "/rooms/random")
	c.get("/rooms/random").wantStatus(t, http.StatusOK)
	c.post("/rooms", url.Values{"name": {"random"}}).wantRedirect(t, "/rooms/random")
	r := c.post("/rooms", url.Values{"name": {"no spaces"}}, "Referer", ts.srv.URL+"/rooms/random")
	r.wantError(t, http.StatusUnprocessableEntity)
	d := r.doc(t)
	if v := d.Find("#new-room-name").AttrOr("value", ""); v != "no spaces" {
		t.Errorf("room name field = %q; want what was typed", v)
	}
	if d.Find("#identity[open]").Length() != 1 {
		t.Error("the menu with the failed form is closed")
	}
	if got := d.Find(".room-name").Text(); !strings.Contains(got, "random") {
		t.Errorf("re-rendered room %q; want the room the form came from", got)
	}
	c.post("/rooms", url.Values{"name": {"Mixed-Case"}}).wantRedirect(t, "/rooms/mixed-case")
	if n := c.get("/rooms/random").doc(t).Find(".rooms a").Length(); n != 3 {
		t.Errorf("%d rooms listed; want general, mixed-case and random", n)
	}
}

func TestPostMessage(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")

	t.Run("PostRedirectGet", func(t *testing.T) {
		c.post("/rooms/general/messages", url.Values{"body": {"  hello  "}}).wantRedirect(t, "/rooms/general")
		last := c.get("/rooms/general").doc(t).Find("#messages .message:not(.system)").Last()
		if got := last.Find(".body").Text(); got != "hello" {
			t.Errorf("body = %q; want the trimmed text", got)
		}
	})

	t.Run("HTMX", func(t *testing.T) {
		r := c.post("/rooms/general/messages", url.Values{"body": {"via htmx"}}, "HX-Request", "true")
		r.wantStatus(t, http.StatusOK)
		d := r.doc(t)
		if strings.Contains(r.body, "<html") || d.Find("form#composer").Length() != 1 {
			t.Fatalf("htmx answer %q; want only the composer", r.body)
		}
		if v := d.Find("#composer textarea").Text(); v != "" {
			t.Errorf("composer holds %q; want it cleared", v)
		}
	})

	t.Run("Escaped", func(t *testing.T) {
		body := `<script>alert("x")</script><img src=x onerror=alert(1)>`
		c.say("general", body)
		d := c.get("/rooms/general").doc(t)
		last := d.Find("#messages .message:not(.system)").Last()
		if got := last.Find(".body").Text(); got != body {
			t.Errorf("body text = %q; want %q", got, body)
		}
		if n := d.Find("#messages script, #messages img").Length(); n != 0 {
			t.Errorf("%d script or img elements in the messages; want none", n)
		}
	})

	t.Run("Boundary", func(t *testing.T) {
		c.say("general", strings.Repeat("é", 4000))
	})

	t.Run("Invalid", func(t *testing.T) {
		before := ts.countMessages("text")
		tests := []struct {
			name, body string
		}{
			{"Empty", ""},
			{"Spaces", " \t\r\n "},
			{"TooLong", strings.Repeat("é", 4001)},
			{"NotUTF8", "bad \xff\xfe"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.post("/rooms/general/messages", url.Values{"body": {tt.body}})
				r.wantError(t, http.StatusUnprocessableEntity)
				if r.doc(t).Find("form#composer").Length() != 1 {
					t.Error("the form is not re-rendered")
				}
				hx := c.post("/rooms/general/messages", url.Values{"body": {tt.body}}, "HX-Request", "true")
				hx.wantError(t, http.StatusUnprocessableEntity)
			})
		}
		if n := ts.countMessages("text"); n != before {
			t.Errorf("%d messages stored; want %d", n, before)
		}
	})

	t.Run("TooLarge", func(t *testing.T) {
		before := ts.countMessages("text")
		r := c.post("/rooms/general/messages", url.Values{"body": {strings.Repeat("a", 1<<20)}})
		r.wantStatus(t, http.StatusRequestEntityTooLarge)
		if n := ts.countMessages("text"); n != before {
			t.Errorf("%d messages stored; want %d", n, before)
		}
	})

	t.Run("Throttled", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{Limits: handlers.Limits{PostsPerSecond: 1, PostBurst: 2}})
		c := ts.newClient().register("Flood")
		c.say("general", "one")
		c.say("general", "two")
		r := c.post("/rooms/general/messages", url.Values{"body": {"three"}})
		r.wantError(t, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After")
		}
	})
}

func TestCrossOrigin(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"CrossSite", []string{"Sec-Fetch-Site", "cross-site"}, http.StatusForbidden},
		{"SameSiteOtherOrigin", []string{"Sec-Fetch-Site", "same-site"}, http.StatusForbidden},
		{"ForeignOrigin", []string{"Origin", "http://evil.example"}, http.StatusForbidden},
		{"SameOrigin", []string{"Sec-Fetch-Site", "same-origin", "Origin", ts.srv.URL}, http.StatusSeeOther},
		{"OwnOrigin", []string{"Origin", ts.srv.URL}, http.StatusSeeOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ts.countMessages("text")
			r := c.post("/rooms/general/messages", url.Values{"body": {"from " + tt.name}}, tt.header...)
			r.wantStatus(t, tt.status)
			stored := ts.countMessages("text") - before
			if want := map[bool]int{true: 0, false: 1}[tt.status == http.StatusForbidden]; stored != want {
				t.Errorf("%d messages stored; want %d", stored, want)
			}
		})
	}
	for _, path := range []string{"/logout", "/profile", "/login", "/register"} {
		c.post(path, url.Values{"handle": {"x"}}, "Sec-Fetch-Site", "cross-site").wantStatus(t, http.StatusForbidden)
	}
	if !c.signedIn() {
		t.Error("a refused cross-site logout signed the user out")
	}
}

func TestSecurityHeaders(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	pages := []string{"/login", "/register", "/rooms/general", "/rooms/nowhere"}
	for _, path := range append(pages, "/healthz", "/assets/parley.css", "/", "/rooms/general/events?last_event_id=0") {
		t.Run(path, func(t *testing.T) {
			var r *response
			if strings.HasSuffix(path, "=0") {
				s := c.open(path)
				r = &response{Response: s.resp}
			} else {
				r = c.get(path)
			}
			if got := r.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q; want nosniff", got)
			}
			if got := r.Header.Get("Referrer-Policy"); got == "" {
				t.Error("no Referrer-Policy")
			}
		})
	}
	for _, path := range pages {
		csp := c.get(path).Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows unsafe code", path, csp)
		}
	}
}

func TestAssets(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient()
	d := c.get("/login").doc(t)
	href, ok := d.Find(`link[rel="stylesheet"]`).Attr("href")
	if !ok || !strings.Contains(href, "?v=") {
		t.Fatalf("stylesheet href %q; want a versioned asset URL", href)
	}
	r := c.get(href).wantStatus(t, http.StatusOK)
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("Cache-Control = %q; want a long-lived cache", cc)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Errorf("Content-Type = %q", ct)
	}
	for _, src := range d.Find("script[src]").Map(func(_ int, s *goquery.Selection) string { return s.AttrOr("src", "") }) {
		if !strings.HasPrefix(src, "/assets/") {
			t.Errorf("script from %q; want only our own assets", src)
		}
		c.get(src).wantStatus(t, http.StatusOK)
	}
	c.get("/assets/nope.js").wantStatus(t, http.StatusNotFound)
	c.get("/favicon.ico").wantStatus(t, http.StatusMovedPermanently)
}

func TestRestart(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	c.say("general", "before the restart")
	ts.restart()
	d := c.get("/rooms/general").wantStatus(t, http.StatusOK).doc(t)
	if got := d.Find("#messages .message:not(.system) .body").Last().Text(); got != "before the restart" {
		t.Errorf("last message %q; want the one from before the restart", got)
	}
	c.say("general", "after the restart")
}
