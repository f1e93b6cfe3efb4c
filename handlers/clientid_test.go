package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
)

// formClientID returns the composer's hidden client_id in d.
func formClientID(t *testing.T, d *goquery.Document) string {
	t.Helper()
	in := d.Find(`form#composer input[type="hidden"][name="client_id"]`)
	if in.Length() != 1 || in.AttrOr("value", "") == "" {
		t.Fatalf("the composer has %d client_id fields (value %q); want one with a value", in.Length(), in.AttrOr("value", ""))
	}
	return in.AttrOr("value", "")
}

// send posts body with client id as the composer does, without JavaScript
// or, with header "HX-Request", "true", through htmx.
func (c *client) send(room, body, clientID string, header ...string) *response {
	c.t.Helper()
	return c.post("/rooms/"+room+"/messages", url.Values{"body": {body}, "client_id": {clientID}}, header...)
}

// countClientID counts the messages stored with a client id.
func (ts *testServer) countClientID(clientID string) int {
	ts.t.Helper()
	var n int
	if err := ts.st.DB.QueryRow(`SELECT count(*) FROM messages WHERE client_id = $1`, clientID).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

func TestClientIDField(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	c := ts.newClient().register("Ann")
	seen := map[string]bool{}
	fresh := func(id string) {
		t.Helper()
		if seen[id] {
			t.Fatalf("client id %q given out twice", id)
		}
		seen[id] = true
	}
	for range 3 {
		fresh(formClientID(t, c.get("/rooms/general").wantStatus(t, http.StatusOK).doc(t)))
	}
	// The composer that comes back after an htmx post carries a new one.
	id := formClientID(t, c.get("/rooms/general").doc(t))
	fresh(id)
	r := c.send("general", "hi", id, "HX-Request", "true").wantStatus(t, http.StatusOK)
	fresh(formClientID(t, r.doc(t)))
	// A refused form keeps its client id: nothing was stored with it.
	r = c.send("general", " ", id+"x", "HX-Request", "true")
	r.wantError(t, http.StatusUnprocessableEntity)
	if got := formClientID(t, r.doc(t)); got != id+"x" {
		t.Errorf("refused form carries client id %q; want the one it was sent with", got)
	}
}

func TestSendTwiceStoresOnce(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	ann.post("/rooms", url.Values{"name": {"random"}}).wantRedirect(t, "/rooms/random")

	t.Run("WithoutJavaScript", func(t *testing.T) {
		s := bob.open(events)
		if m := s.nextMessage(); !m.system || m.body != "Bob joined" {
			t.Fatalf("stream began with %+v; want Bob's join notice", m) // it comes on its own time
		}
		id := formClientID(t, ann.get("/rooms/general").doc(t))
		ann.send("general", "once", id).wantRedirect(t, "/rooms/general")
		ann.send("general", "once", id).wantRedirect(t, "/rooms/general")
		if n := ts.countClientID(id); n != 1 {
			t.Errorf("%d messages stored; want 1", n)
		}
		if m := s.nextText(); m.body != "once" {
			t.Errorf("stream carried %+v; want the message", m)
		}
		s.quiet(300 * time.Millisecond)
		msgs := ann.get("/rooms/general").doc(t).Find("#messages .message:not(.system) .body")
		if n := msgs.FilterFunction(func(_ int, s *goquery.Selection) bool { return s.Text() == "once" }).Length(); n != 1 {
			t.Errorf("the page shows the message %d times; want once", n)
		}
	})

	t.Run("HTMX", func(t *testing.T) {
		id := formClientID(t, ann.get("/rooms/general").doc(t))
		for range 2 {
			r := ann.send("general", "once via htmx", id, "HX-Request", "true").wantStatus(t, http.StatusOK)
			if strings.Contains(r.body, "<html") || r.doc(t).Find("form#composer").Length() != 1 {
				t.Fatalf("htmx answer %q; want only the composer", r.body)
			}
		}
		if n := ts.countClientID(id); n != 1 {
			t.Errorf("%d messages stored; want 1", n)
		}
	})

	t.Run("Racing", func(t *testing.T) {
		// Twenty resubmits at once: one message, and every one of them is
		// answered as a first post would be.
		id := formClientID(t, ann.get("/rooms/general").doc(t))
		form := url.Values{"body": {"raced"}, "client_id": {id}}.Encode()
		statuses := make([]int, 20)
		var wg sync.WaitGroup
		for i := range statuses {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, ts.srv.URL+"/rooms/general/messages", strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if resp, err := ann.hc.Do(req); err == nil {
					statuses[i] = resp.StatusCode
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		for i, st := range statuses {
			if st != http.StatusSeeOther {
				t.Errorf("post %d: status %d; want 303", i, st)
			}
		}
		if n := ts.countClientID(id); n != 1 {
			t.Errorf("%d messages stored; want exactly 1", n)
		}
	})

	t.Run("OtherUserOrRoom", func(t *testing.T) {
		const id = "shared-id"
		ann.send("general", "from ann", id).wantRedirect(t, "/rooms/general")
		bob.send("general", "from bob", id).wantRedirect(t, "/rooms/general")
		ann.send("random", "in random", id).wantRedirect(t, "/rooms/random")
		if n := ts.countClientID(id); n != 3 {
			t.Errorf("%d messages stored; want 3: another user or another room is another message", n)
		}
	})

	t.Run("WithoutClientID", func(t *testing.T) {
		before := ts.countMessages("text")
		ann.say("general", "no id")
		ann.say("general", "no id")
		if n := ts.countMessages("text") - before; n != 2 {
			t.Errorf("%d messages stored; want 2", n)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		before := ts.countMessages("text")
		for _, id := range []string{"", "has space", "a.b", "é", "<script>", strings.Repeat("k", 65)} {
			r := ann.send("general", "hi", id)
			r.wantError(t, http.StatusUnprocessableEntity)
			if got := formClientID(t, r.doc(t)); got == id {
				t.Errorf("the refused form kept the invalid client id %q", id)
			}
			ann.send("general", "hi", id, "HX-Request", "true").wantError(t, http.StatusUnprocessableEntity)
		}
		ann.send("general", "hi", strings.Repeat("k", 64)).wantRedirect(t, "/rooms/general")
		if n := ts.countMessages("text") - before; n != 1 {
			t.Errorf("%d messages stored; want only the one with a valid client id", n)
		}
	})
}

// TestSendTwiceThrottled: a repeat of a stored message is answered as the
// first was even when the account is over its post rate.
func TestSendTwiceThrottled(t *testing.T) {
	ts := newTestServer(t, handlers.Config{Limits: handlers.Limits{PostsPerSecond: 0.01, PostBurst: 1}})
	c := ts.newClient().register("Ann")
	c.send("general", "one", "first").wantRedirect(t, "/rooms/general")
	c.send("general", "one", "first").wantRedirect(t, "/rooms/general")
	c.send("general", "one", "first", "HX-Request", "true").wantStatus(t, http.StatusOK)
	c.send("general", "two", "second").wantError(t, http.StatusTooManyRequests)
	if n := ts.countMessages("text"); n != 1 {
		t.Errorf("%d messages stored; want 1", n)
	}
}
