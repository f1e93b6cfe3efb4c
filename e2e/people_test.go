package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// register creates an account through the form and checks that it lands
// in the room.
func (tb *tab) register(handle string) {
	tb.t.Helper()
	tb.goTo("/register")
	tb.submit("form.card", map[string]string{"handle": handle, "password": password})
	tb.wantLocation("/rooms/general")
}

// signIn signs in through the form and checks that it lands in the room.
func (tb *tab) signIn(handle string) {
	tb.t.Helper()
	tb.goTo("/login")
	tb.submit("form.card", map[string]string{"handle": handle, "password": password})
	tb.wantLocation("/rooms/general")
}

func (tb *tab) wantLocation(path string) {
	tb.t.Helper()
	if got := tb.location(); got != path {
		tb.t.Fatalf("%s: at %s; want %s", tb.name, got, path)
	}
}

// follow opens the room's event stream for the client and keeps it open
// until the test ends, so the server counts the client as online.
func (c *client) follow(room string) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+"/rooms/"+room+"/events", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("open stream: status = %d; want 200", resp.StatusCode)
	}
	c.t.Cleanup(func() {
		cancel()
		resp.Body.Close()
	})
}

// seedConversation fills #general with a short team conversation: three
// people online, links, several lines, one person writing twice in a row.
func seedConversation(t *testing.T, srv *server) {
	t.Helper()
	people := map[string]*client{}
	for _, h := range []string{"maya", "jonas", "priya"} {
		c := newClient(t, srv)
		c.register(h)
		people[h] = c
	}
	people["jonas"].follow("general")
	people["priya"].follow("general")
	time.Sleep(100 * time.Millisecond) // let the join notices come first
	for _, m := range []struct{ who, body string }{
		{"maya", "Morning! The release notes draft is up: https://example.com/notes/v2.3"},
		{"jonas", "Nice. Two things:\n1. the migration step needs a rollback note\n2. can we link the benchmark results?"},
		{"maya", "Good catch, adding both now."},
		{"priya", "The benchmark table is in the README: https://example.com/parley#benchmarks"},
		{"jonas", "Measured on the two-core box?"},
		{"priya", "Yes: the server on one core, the load on the other."},
		{"maya", "Then we ship after lunch."},
	} {
		people[m.who].say("general", m.body)
	}
	seedChanges(t, people)
}

// seedChanges edits, reacts to and deletes some of the conversation's
// messages, so that the room shows each kind of change: jonas's question
// edited, two reactions to the last message (one of them maya's), and a
// message deleted.
func seedChanges(t *testing.T, people map[string]*client) {
	t.Helper()
	ids := servedIDs(people["maya"].get("/rooms/general", http.StatusOK))
	if len(ids) < 7 {
		t.Fatalf("the conversation has %d messages; want 7", len(ids))
	}
	msg := func(id int64, action string) string { return fmt.Sprintf("/rooms/general/messages/%d/%s", id, action) }
	last, question := ids[len(ids)-1], ids[len(ids)-3]
	people["jonas"].postForm(msg(question, "edit"), url.Values{"body": {"Measured on the two-core box, I hope?"}}, http.StatusSeeOther)
	people["priya"].postForm(msg(last, "reactions"), url.Values{"emoji": {"🎉"}}, http.StatusSeeOther)
	people["maya"].postForm(msg(last, "reactions"), url.Values{"emoji": {"🎉"}}, http.StatusSeeOther)
	people["jonas"].postForm(msg(last, "reactions"), url.Values{"emoji": {"👍🏽"}}, http.StatusSeeOther)
	people["maya"].say("general", "Oops, wrong room.")
	ids = servedIDs(people["maya"].get("/rooms/general", http.StatusOK))
	people["maya"].postForm(msg(ids[len(ids)-1], "delete"), url.Values{}, http.StatusSeeOther)
}
