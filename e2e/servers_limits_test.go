package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"parley/internal/pgtest"
)

// The sign-in limit counts across servers: ten failed sign-ins for one
// handle, split between two servers on one PostgreSQL database, refuse
// the eleventh on either, with a Retry-After; another handle still signs
// in.
func TestServersSignInLimit(t *testing.T) {
	db := pgtest.URL(t)
	a, b := startServerOn(t, db), startServerOn(t, db)
	newClient(t, a).register("ann")
	newClient(t, b).register("bob")

	c := newClient(t, a)
	for i := range 10 {
		c.srv = []*server{a, b}[i%2]
		c.postForm("/login", url.Values{"handle": {"ann"}, "password": {"wrong " + strconv.Itoa(i)}}, http.StatusUnauthorized)
	}
	for _, s := range []*server{a, b} {
		c.srv = s
		resp, err := c.hc.PostForm(s.URL+"/login", url.Values{"handle": {"ann"}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("11th sign-in on %s: status %d; want 429", s.URL, resp.StatusCode)
		}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || secs < 1 || secs > 15*60 {
			t.Errorf("Retry-After = %q; want 1 to 900 seconds", resp.Header.Get("Retry-After"))
		}
	}
	bob := newClient(t, b)
	bob.postForm("/login", url.Values{"handle": {"bob"}, "password": {password}}, http.StatusSeeOther)
}
