package handlers_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/handlers"
)

// sessionCookie returns the parley_session cookie a response sets.
func sessionCookie(t *testing.T, r *response) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookies() {
		if c.Name == "parley_session" {
			return c
		}
	}
	t.Fatalf("%s %s set no parley_session cookie; Set-Cookie: %q", r.Request.Method, r.Request.URL.Path, r.Header.Values("Set-Cookie"))
	return nil
}

func TestRegister(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{})
		c := ts.newClient()
		r := c.post("/register", url.Values{"handle": {"Ann"}, "password": {testPassword}})
		r.wantRedirect(t, "/")
		ck := sessionCookie(t, r)
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
			t.Errorf("cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, not Secure", ck)
		}
		c.get("/").wantRedirect(t, "/rooms/general")
		page := c.get("/rooms/general").wantStatus(t, http.StatusOK)
		if v := page.doc(t).Find("#rename-handle").AttrOr("value", ""); v != "Ann" {
			t.Errorf("room page shows handle %q; want Ann", v)
		}
	})

	t.Run("SecureCookies", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{SecureCookies: true})
		r := ts.newClient().post("/register", url.Values{"handle": {"Ann"}, "password": {testPassword}})
		if ck := sessionCookie(t, r); !ck.Secure {
			t.Errorf("cookie = %+v; want Secure", ck)
		}
		if r.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no Strict-Transport-Security header with secure cookies")
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{})
		tests := []struct {
			name, handle, password string
		}{
			{"EmptyHandle", "", testPassword},
			{"ShortHandle", "a", testPassword},
			{"LongHandle", strings.Repeat("a", 33), testPassword},
			{"Space", "ann smith", testPassword},
			{"NonASCII", "änn", testPassword},
			{"Markup", "<b>ann", testPassword},
			{"At", "ann@example", testPassword},
			{"ShortPassword", "ann", "1234567"},
			{"LongPassword", "ann", strings.Repeat("p", 257)},
			{"EmptyPassword", "ann", ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := ts.newClient()
				r := c.post("/register", url.Values{"handle": {tt.handle}, "password": {tt.password}})
				r.wantError(t, http.StatusUnprocessableEntity)
				d := r.doc(t)
				if got := d.Find(`input[name="handle"]`).AttrOr("value", ""); got != tt.handle {
					t.Errorf("handle field = %q; want what was typed, %q", got, tt.handle)
				}
				if tt.password != "" && strings.Contains(r.body, tt.password) {
					t.Error("the page repeats the password")
				}
				if c.signedIn() {
					t.Error("a failed registration signed the client in")
				}
			})
		}
		if n := ts.countUsers(); n != 0 {
			t.Errorf("%d users stored; want none", n)
		}
	})

	t.Run("Boundaries", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{})
		for _, c := range []struct{ handle, password string }{
			{"ab", strings.Repeat("p", 8)},
			{strings.Repeat("z", 32), strings.Repeat("p", 256)},
			{"A.b-c_9", testPassword},
		} {
			ts.newClient().post("/register", url.Values{"handle": {c.handle}, "password": {c.password}}).wantRedirect(t, "/")
		}
	})

	t.Run("Taken", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{})
		ts.newClient().register("Ann")
		c := ts.newClient()
		msg := c.post("/register", url.Values{"handle": {"ann"}, "password": {"other password"}}).wantError(t, http.StatusConflict)
		if !strings.Contains(msg, "taken") {
			t.Errorf("error %q; want it to say the handle is taken", msg)
		}
		if n := ts.countUsers(); n != 1 || c.signedIn() {
			t.Errorf("users = %d, signed in = %v; want 1 and false", n, c.signedIn())
		}
	})

	t.Run("Race", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{})
		handles := []string{"Racer", "racer", "RACER", "rAcEr"}
		statuses := make([]int, len(handles))
		var wg sync.WaitGroup
		for i, h := range handles {
			c := ts.newClient()
			wg.Go(func() {
				statuses[i] = c.post("/register", url.Values{"handle": {h}, "password": {testPassword}}).StatusCode
			})
		}
		wg.Wait()
		won := 0
		for _, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				won++
			case http.StatusConflict:
			default:
				t.Errorf("status %d; want 303 or 409", s)
			}
		}
		if won != 1 || ts.countUsers() != 1 {
			t.Errorf("%d registrations won, %d users; want 1 and 1", won, ts.countUsers())
		}
	})

	t.Run("Throttled", func(t *testing.T) {
		ts := newTestServer(t, handlers.Config{Limits: handlers.Limits{RegistrationsPerHour: 2}})
		ts.newClient().register("one")
		ts.newClient().register("two")
		r := ts.newClient().post("/register", url.Values{"handle": {"three"}, "password": {testPassword}})
		r.wantError(t, http.StatusTooManyRequests)
		if r.Header.Get("Retry-After") == "" {
			t.Error("no Retry-After header")
		}
		if n := ts.countUsers(); n != 2 {
			t.Errorf("%d users; want 2", n)
		}
	})
}

func TestLogin(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	ts.newClient().register("Ann")

	t.Run("OK", func(t *testing.T) {
		c := ts.newClient()
		r := c.login("aNN")
		r.wantRedirect(t, "/")
		if ck := sessionCookie(t, r); !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie = %+v", ck)
		}
		c.get("/rooms/general").wantStatus(t, http.StatusOK)
	})

	t.Run("Failures", func(t *testing.T) {
		tests := []struct {
			name, handle, password string
			status                 int
		}{
			{"WrongPassword", "Ann", "wrong password", http.StatusUnauthorized},
			{"UnknownHandle", "nobody", testPassword, http.StatusUnauthorized},
			{"Empty", "", "", http.StatusUnprocessableEntity},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := ts.newClient()
				r := c.post("/login", url.Values{"handle": {tt.handle}, "password": {tt.password}})
				r.wantError(t, tt.status)
				if got := r.doc(t).Find(`input[name="handle"]`).AttrOr("value", ""); got != tt.handle {
					t.Errorf("handle field = %q; want %q", got, tt.handle)
				}
				if c.signedIn() {
					t.Error("a failed sign-in signed the client in")
				}
			})
		}
	})

	t.Run("RenewsToken", func(t *testing.T) {
		c := ts.newClient()
		c.login("Ann").wantRedirect(t, "/")
		first := c.token()
		c.login("Ann").wantRedirect(t, "/")
		second := c.token()
		if first == "" || first == second {
			t.Fatalf("tokens %q then %q; want a new token at sign-in", first, second)
		}
		if c.withToken(first).signedIn() {
			t.Error("the token from before the new sign-in still works")
		}
		if !c.signedIn() {
			t.Error("the new token does not work")
		}
	})
}

func TestLoginThrottle(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	ts.newClient().register("Ann")
	ts.newClient().register("Bob")
	c := ts.newClient()
	for i := range 10 {
		r := c.post("/login", url.Values{"handle": {"ann"}, "password": {"wrong " + strconv.Itoa(i)}})
		r.wantStatus(t, http.StatusUnauthorized)
	}
	r := c.login("Ann")
	msg := r.wantError(t, http.StatusTooManyRequests)
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 15*60 {
		t.Errorf("Retry-After = %q; want seconds until the window passes", r.Header.Get("Retry-After"))
	}
	if !strings.Contains(msg, "Try again") {
		t.Errorf("error %q; want it to say when to try again", msg)
	}
	if c.signedIn() {
		t.Error("a throttled sign-in signed the client in")
	}
	ts.newClient().login("Bob").wantRedirect(t, "/")
}

func TestLogout(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient().register("Ann")
	old := c.token()
	r := c.post("/logout", nil)
	r.wantRedirect(t, "/login")
	if ck := sessionCookie(t, r); ck.Value == old {
		t.Errorf("logout kept token %q; want it renewed", old)
	}
	if c.signedIn() || c.withToken(old).signedIn() {
		t.Error("still signed in after logout")
	}
	notice := c.get("/login").wantStatus(t, http.StatusOK).doc(t).Find(".notice").Text()
	if !strings.Contains(notice, "signed out") {
		t.Errorf("login page notice %q; want it to say the user signed out", notice)
	}
	c.post("/logout", nil).wantRedirect(t, "/login") // signed out already: harmless
}

func TestLogoutEverywhere(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	a := ts.newClient().register("Ann")
	b := ts.newClient()
	b.login("Ann").wantRedirect(t, "/")
	other := ts.newClient().register("Bob")
	a.post("/logout", url.Values{"everywhere": {"1"}}).wantRedirect(t, "/login")
	if a.signedIn() || b.signedIn() {
		t.Error("a session of the account is still signed in")
	}
	if !other.signedIn() {
		t.Error("another account was signed out")
	}
}

func TestRename(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	ts.newClient().register("Bob")
	c := ts.newClient().register("Ann")
	referer := ts.srv.URL + "/rooms/general"

	t.Run("OK", func(t *testing.T) {
		c.post("/profile", url.Values{"handle": {"Annie"}}, "Referer", referer).wantRedirect(t, "/rooms/general")
		page := c.get("/rooms/general").doc(t)
		if v := page.Find("#rename-handle").AttrOr("value", ""); v != "Annie" {
			t.Errorf("handle shown = %q; want Annie", v)
		}
		if got := page.Find(".message.system .body").Last().Text(); got != "Ann is now Annie" {
			t.Errorf("last notice %q; want the rename notice", got)
		}
		c.say("general", "hello")
		if got := c.get("/rooms/general").doc(t).Find(".message .author").Last().Text(); got != "Annie" {
			t.Errorf("author of a later message = %q; want Annie", got)
		}
	})

	t.Run("NoReferer", func(t *testing.T) {
		c.post("/profile", url.Values{"handle": {"Annie2"}}).wantRedirect(t, "/")
	})

	t.Run("HTMX", func(t *testing.T) {
		r := c.post("/profile", url.Values{"handle": {"Annie3"}}, "HX-Request", "true", "Referer", referer)
		r.wantStatus(t, http.StatusOK)
		if strings.Contains(r.body, "<html") || r.doc(t).Find("#identity #rename-handle").AttrOr("value", "") != "Annie3" {
			t.Errorf("htmx rename answered %q; want the identity fragment with the new handle", r.body)
		}
	})

	t.Run("Taken", func(t *testing.T) {
		c.post("/profile", url.Values{"handle": {"bob"}}, "Referer", referer).wantError(t, http.StatusConflict)
	})

	t.Run("Invalid", func(t *testing.T) {
		r := c.post("/profile", url.Values{"handle": {"no spaces"}}, "Referer", referer)
		r.wantError(t, http.StatusUnprocessableEntity)
		if v := r.doc(t).Find("#rename-handle").AttrOr("value", ""); v != "no spaces" {
			t.Errorf("rename field = %q; want the typed value", v)
		}
		if v := c.get("/rooms/general").doc(t).Find("#rename-handle").AttrOr("value", ""); v != "Annie3" {
			t.Errorf("handle = %q after a failed rename; want Annie3", v)
		}
	})
}

func TestRequireUser(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	c := ts.newClient()
	c.get("/").wantRedirect(t, "/login")
	c.get("/rooms/general").wantRedirect(t, "/login")
	c.post("/rooms/general/messages", url.Values{"body": {"hi"}}).wantRedirect(t, "/login")
	c.post("/profile", url.Values{"handle": {"x"}}).wantRedirect(t, "/login")
	c.get("/rooms/general/events").wantStatus(t, http.StatusUnauthorized)
	if n := ts.countMessages("text"); n != 0 {
		t.Errorf("%d messages stored; want none", n)
	}
}

func TestLoginThrottleByAddress(t *testing.T) {
	ts := newTestServer(t, handlers.Config{Limits: handlers.Limits{AddressFailures: 5}})
	ts.newClient().register("Ann")
	c := ts.newClient()
	for i := range 5 {
		// Different handles each time: the handle limit never trips.
		c.post("/login", url.Values{"handle": {"guess" + strconv.Itoa(i)}, "password": {"wrong password"}}).wantStatus(t, http.StatusUnauthorized)
	}
	r := c.login("Ann")
	r.wantError(t, http.StatusTooManyRequests)
	if r.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestSessionExpiry(t *testing.T) {
	ts := newTestServer(t, handlers.Config{SessionIdle: time.Hour, SessionLifetime: 3 * time.Hour})
	start := time.Now()
	clock := start
	ts.st.Now = func() time.Time { return clock }
	c := ts.newClient().register("Ann")

	clock = start.Add(50 * time.Minute)
	if !c.signedIn() { // and the activity is recorded
		t.Fatal("signed out before the idle time")
	}
	clock = start.Add(100 * time.Minute)
	if !c.signedIn() {
		t.Fatal("signed out though active within the idle time")
	}
	clock = start.Add(100*time.Minute + 61*time.Minute)
	if c.signedIn() {
		t.Error("still signed in after an hour idle")
	}

	clock = start
	d := ts.newClient().register("Bob")
	for _, m := range []int{50, 100, 150, 175, 185} {
		clock = start.Add(time.Duration(m) * time.Minute)
		if got, want := d.signedIn(), m < 180; got != want {
			t.Errorf("at %d minutes, active all along: signed in = %v; want %v", m, got, want)
		}
	}
}
