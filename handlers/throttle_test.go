package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"parley/handlers"
	"parley/internal/pgtest"
)

// On PostgreSQL the sign-in and registration limits count in the
// database: two servers on one database refuse together what one would
// refuse alone, with the same 429 and Retry-After.
func TestSignInLimitsAcrossServers(t *testing.T) {
	db, err := pgtest.Own(t).NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg := handlers.Config{Limits: handlers.Limits{LoginFailures: 4, AddressFailures: 12, RegistrationsPerHour: 3}}
	servers := []*testServer{newTestServerOn(t, cfg, db), newTestServerOn(t, cfg, db)}
	// on returns a new client of the i-th request's server, A and B in turn.
	on := func(i int) *client { return servers[i%2].newClient() }
	throttled := func(r *response, why string, most time.Duration) {
		t.Helper()
		msg := r.wantError(t, http.StatusTooManyRequests)
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || time.Duration(s)*time.Second > most {
			t.Errorf("Retry-After = %q; want 1 to %v in seconds", r.Header.Get("Retry-After"), most.Seconds())
		}
		if !strings.Contains(msg, why) {
			t.Errorf("error %q; want it to say %q", msg, why)
		}
	}
	fail := func(i int, handle string) {
		t.Helper()
		on(i).post("/login", url.Values{"handle": {handle}, "password": {"wrong password"}}).wantStatus(t, http.StatusUnauthorized)
	}

	for i, h := range []string{"ann", "bob", "cy"} {
		on(i).register(h)
	}
	throttled(on(3).post("/register", url.Values{"handle": {"dee"}, "password": {testPassword}}),
		"Too many new accounts", time.Hour/3)

	// A sign-in forgets the handle's failures, on every server.
	for i := range 3 {
		fail(i, "bob")
	}
	on(1).login("bob").wantRedirect(t, "/")
	for i := range 3 {
		fail(i, "bob")
	}
	on(0).login("bob").wantRedirect(t, "/")

	// Four failures for one handle, split between the servers, lock it on both.
	for i := range 4 {
		fail(i, "ann")
	}
	for i := range 2 {
		throttled(on(i).login("ann"), "for this handle", 15*time.Minute)
	}
	on(1).login("cy").wantRedirect(t, "/")

	// Twelve failures from one address, for any handles, lock the address.
	fail(0, "nobody1")
	fail(1, "nobody2")
	throttled(on(1).login("cy"), "from your network", 15*time.Minute/12)
	throttled(on(0).login("cy"), "from your network", 15*time.Minute/12)
}
