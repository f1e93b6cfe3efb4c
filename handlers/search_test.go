package handlers_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
)

// results returns the search results of a page: data-id, data-room,
// author, body text and the link of each.
type shownResult struct {
	id, room, author, body, link string
	marks                        []string
}

func searchResults(d *goquery.Document) []shownResult {
	var rs []shownResult
	d.Find(".result").Each(func(_ int, s *goquery.Selection) {
		r := shownResult{
			id: s.AttrOr("data-id", ""), room: s.AttrOr("data-room", ""),
			author: s.Find(".author").Text(), body: s.Find(".body").Text(),
			link: s.Find(`a[href*="around="]`).AttrOr("href", ""),
		}
		s.Find(".body mark").Each(func(_ int, m *goquery.Selection) { r.marks = append(r.marks, m.Text()) })
		rs = append(rs, r)
	})
	return rs
}

func (c *client) search(query string) *goquery.Document {
	c.t.Helper()
	return c.get("/search?"+query).wantStatus(c.t, http.StatusOK).doc(c.t)
}

func TestSearch(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	ann := ts.newClient().register("Ann")
	ann.post("/rooms", url.Values{"name": {"ops"}}).wantRedirect(t, "/rooms/ops")
	ann.say("general", "Lunch at the Café?")
	cafe := ts.lastMessageID()
	ann.say("ops", "The deployment is done")
	deploy := ts.lastMessageID()
	ann.say("general", "Careful: <b>not bold</b> & <script>alert(1)</script>")
	tags := ts.lastMessageID()

	t.Run("Accents", func(t *testing.T) {
		rs := searchResults(ann.search("q=cafe"))
		if len(rs) != 1 || rs[0].id != fmt.Sprint(cafe) {
			t.Fatalf("results %+v; want message %d", rs, cafe)
		}
		r := rs[0]
		if r.room != "general" || r.author != "Ann" || r.body != "Lunch at the Café?" || fmt.Sprint(r.marks) != "[Café]" {
			t.Errorf("result %+v; want room general, author Ann, the body with Café in <mark>", r)
		}
		if want := fmt.Sprintf("/rooms/general?around=%d#msg-%d", cafe, cafe); r.link != want {
			t.Errorf("link %q; want %q", r.link, want)
		}
	})
	t.Run("Prefix", func(t *testing.T) {
		rs := searchResults(ann.search("q=deploy"))
		if len(rs) != 1 || rs[0].id != fmt.Sprint(deploy) || rs[0].room != "ops" || fmt.Sprint(rs[0].marks) != "[deployment]" {
			t.Errorf("results %+v; want message %d in ops with deployment marked", rs, deploy)
		}
	})
	t.Run("Escaped", func(t *testing.T) {
		r := ann.get("/search?q=bold").wantStatus(t, http.StatusOK)
		d := r.doc(t)
		rs := searchResults(d)
		if len(rs) != 1 || rs[0].id != fmt.Sprint(tags) {
			t.Fatalf("results %+v; want message %d", rs, tags)
		}
		if want := "Careful: <b>not bold</b> & <script>alert(1)</script>"; rs[0].body != want {
			t.Errorf("body text %q; want %q", rs[0].body, want)
		}
		if d.Find(".result .body b, .result .body script").Length() != 0 {
			t.Error("markup of a message body became elements")
		}
	})
	t.Run("Room", func(t *testing.T) {
		if rs := searchResults(ann.search("q=the&room=ops")); len(rs) != 1 || rs[0].room != "ops" {
			t.Errorf("results %+v; want only the message of ops", rs)
		}
		ann.get("/search?q=the&room=nowhere").wantStatus(t, http.StatusNotFound)
		ann.get("/search?q=the&room=No%20Such").wantStatus(t, http.StatusNotFound)
	})
	t.Run("EmptyQuery", func(t *testing.T) {
		for _, q := range []string{"", "q=", "q=%20%20"} {
			d := ann.search(q)
			if d.Find(`form[action="/search"] input[name="q"]`).Length() == 0 {
				t.Errorf("%q: no search form", q)
			}
			if d.Find(".results-section").Length() != 0 {
				t.Errorf("%q: shows results; want the form alone", q)
			}
		}
	})
	t.Run("BadBefore", func(t *testing.T) {
		for _, q := range []string{"before=0", "before=x", "before=-3"} {
			ann.get("/search?q=the&"+q).wantStatus(t, http.StatusBadRequest)
		}
	})
	t.Run("SignedOut", func(t *testing.T) {
		ts.newClient().get("/search?q=cafe").wantRedirect(t, "/login")
	})
	t.Run("SearchBoxOnRoomPage", func(t *testing.T) {
		d := ann.get("/rooms/ops").wantStatus(t, http.StatusOK).doc(t)
		if d.Find(`header form[action="/search"][method="get"] input[name="q"]`).Length() != 1 {
			t.Error("no search form in the room page's header")
		}
	})
}

func TestSearchPages(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	ann := ts.newClient().register("Ann")
	for i := range 45 {
		ann.say("general", fmt.Sprint("status report ", i))
	}
	var bodies []string
	next := "q=report"
	for pages := 0; next != ""; pages++ {
		if pages == 3 {
			t.Fatal("more than 3 pages for 45 results")
		}
		d := ann.search(next)
		rs := searchResults(d)
		if len(rs) > 20 {
			t.Fatalf("%d results on a page; want at most 20", len(rs))
		}
		for _, r := range rs {
			bodies = append(bodies, r.body)
		}
		next = ""
		if href, ok := d.Find(`a[rel="next"]`).Attr("href"); ok {
			u, err := url.Parse(href)
			if err != nil || u.Path != "/search" {
				t.Fatalf("rel=next %q", href)
			}
			next = u.RawQuery
		}
	}
	if len(bodies) != 45 || bodies[0] != "status report 44" || bodies[44] != "status report 0" {
		t.Errorf("%d results from %q to %q; want 45, newest first", len(bodies), bodies[0], bodies[len(bodies)-1])
	}
}

// TestSearchHostile: whatever the query, the answer is a page (or a 4xx),
// never a server error.
func TestSearchHostile(t *testing.T) {
	ts := newTestServer(t, handlers.Config{})
	ann := ts.newClient().register("Ann")
	ann.say("general", `a "quoted" NEAR(thing) with * and - and : in it`)
	for _, q := range []string{`"`, `""`, `*`, `a*`, `NEAR(`, `NEAR(a b, 2)`, `-`, `-a`, `:`, `body:a`, `a AND`, `OR`, `NOT a`,
		`(`, `)`, `^a`, `{a}`, `+`, strings.Repeat("é", 4000), strings.Repeat("!@#$%^&*()", 100), "\x00", "a\x00b",
		strings.Repeat("w ", 2000), "\ue000x\ue001"} {
		r := ann.get("/search?q=" + url.QueryEscape(q))
		if r.StatusCode >= 500 {
			t.Errorf("q %.30q: status %d", q, r.StatusCode)
		}
	}
	for _, raw := range []string{"q=%FF%FE", "q=%C3", "q=%ED%A0%80", "q=a%00", "q=%", "q=%zz", "q=a&q=b"} {
		r := ann.get("/search?" + raw)
		if r.StatusCode >= 500 {
			t.Errorf("%s: status %d", raw, r.StatusCode)
		}
	}
	if rs := searchResults(ann.search("q=" + url.QueryEscape(`"quoted" NEAR( *`))); len(rs) != 1 {
		t.Errorf("%d results for the words of the message; want 1", len(rs))
	}
}
