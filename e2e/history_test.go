package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// seedHistory posts n numbered messages to general as a new person and
// returns that person.
func seedHistory(t *testing.T, srv *server, n int) *client {
	t.Helper()
	c := newClient(t, srv)
	c.register("archivist")
	for i := range n {
		c.say("general", fmt.Sprintf("history %d: the release plan, step %d", i, i))
	}
	return c
}

// firstShown is the oldest message on the page and where it is on the
// screen.
type firstShown struct {
	ID  int64   `json:"id"`
	Top float64 `json:"top"`
}

// scrollTopJS scrolls the list to its top and, before anything can
// answer that, measures the oldest message shown.
const scrollTopJS = `(function () {
  document.getElementById("scroller").scrollTop = 0;
  var li = document.querySelector("#messages > li[data-id]");
  return {id: Number(li.dataset.id), top: li.getBoundingClientRect().top};
})()`

// TestScrollUpLoadsOlder: reaching the top of the list loads the older
// messages in place, page after page, and what the reader sees does not
// move; with JavaScript off the rel=prev link leads to the older page.
func TestScrollUpLoadsOlder(t *testing.T) {
	srv := startServer(t)
	seedHistory(t, srv, 130)
	tb := newPerson(t, srv, "reader")
	tb.register("reader")
	tb.waitJS(deliveryLimit, `document.querySelectorAll("#messages > li.system").length === 1`, "show the reader's join notice")
	if n := len(tb.messages()); n != 51 {
		t.Fatalf("the room shows %d messages; want the latest 50 and a notice", n)
	}
	for loaded := 0; tb.has(`#older a[rel="prev"]`); loaded++ {
		if loaded == 5 {
			t.Fatal("still older messages after 5 loads")
		}
		before := len(tb.messages())
		was := eval[firstShown](tb, scrollTopJS)
		tb.waitJS(actionTimeout, fmt.Sprintf(`document.querySelectorAll("#messages > li[data-id]").length > %d`, before),
			"load older messages at the top")
		if got := eval[float64](tb, fmt.Sprintf(`document.getElementById("msg-%d").getBoundingClientRect().top`, was.ID)); got < was.Top-2 || got > was.Top+2 {
			t.Errorf("load %d: the message at the top moved from %v to %v px", loaded, was.Top, got)
		}
	}
	ms := tb.messages()
	if len(ms) != 131 || !strings.HasPrefix(ms[0].Body, "history 0:") {
		t.Errorf("after scrolling to the start the page shows %d messages from %q; want 131 from history 0", len(ms), ms[0].Body)
	}
	for i := 1; i < len(ms); i++ {
		if ms[i].ID <= ms[i-1].ID {
			t.Fatalf("messages out of order: %d after %d", ms[i].ID, ms[i-1].ID)
		}
	}
	checkTimes(tb)

	noJS := newPerson(t, srv, "reader-no-js", withoutJS())
	noJS.signIn("reader")
	noJS.clickAndLoad(`a[rel="prev"]`)
	if loc := noJS.location(); !strings.HasPrefix(loc, "/rooms/general?before=") {
		t.Fatalf("the older link led to %s", loc)
	}
	if got := noJS.text(".history-end"); !strings.Contains(got, "older messages") {
		t.Errorf("a page of older messages says %q; want it to say so", got)
	}
	noJS.clickAndLoad(`a[rel="next"]`)
	if loc := noJS.location(); !strings.HasPrefix(loc, "/rooms/general?after=") {
		t.Errorf("the newer link led to %s", loc)
	}
}

// TestSearchOpensMessage: a word typed with no accent in the header's
// search box finds the message with one; its result opens the message in
// its room, highlighted and scrolled into view, among older messages.
func TestSearchOpensMessage(t *testing.T) {
	srv := startServer(t)
	c := seedHistory(t, srv, 40)
	c.say("general", "Décision: we deploy on Friday")
	for i := range 80 {
		c.say("general", fmt.Sprintf("later chatter %d", i))
	}
	tb := newPerson(t, srv, "seeker")
	tb.register("seeker")
	tb.do(chromedp.SendKeys(chromedp.ID("search-box-q"), "decision deploy"))
	tb.clickAndLoad(`.search-box button[type="submit"]`)
	if loc := tb.location(); loc != "/search?q=decision+deploy" {
		t.Errorf("the search box led to %s", loc)
	}
	if got := tb.text(".result .body"); got != "Décision: we deploy on Friday" {
		t.Fatalf("result %q", got)
	}
	tb.clickAndLoad(".result a.open")
	loc := tb.location()
	u, err := url.Parse(loc)
	if err != nil || u.Path != "/rooms/general" || u.Query().Get("around") == "" {
		t.Fatalf("the result opened %s", loc)
	}
	target := "msg-" + u.Query().Get("around")
	if u.Fragment != target {
		t.Errorf("the result's link has fragment %q; want %q", u.Fragment, target)
	}
	tb.waitJS(actionTimeout, `(function () {
  var el = document.getElementById(`+jsString(target)+`), s = document.getElementById("scroller");
  var r = el.getBoundingClientRect(), v = s.getBoundingClientRect();
  return el.classList.contains("target") && r.top >= v.top && r.bottom <= v.bottom;
})()`, "show the message found, highlighted, in view")
	if tb.has(`#app[data-sse-connect]`) {
		t.Error("a page of older messages opened the event stream")
	}
	if !tb.has(`a[rel="next"]`) || !tb.has(`.history-end a[href="/rooms/general"]`) {
		t.Error("the page around the message does not link to newer messages and the latest")
	}
}

// historyPages returns the history and search pages as served, for the
// markup judge.
func historyPages(t *testing.T, c *client) map[string]string {
	t.Helper()
	latest := servedIDs(c.get("/rooms/general", http.StatusOK))
	mid := latest[len(latest)/2]
	return map[string]string{
		"room-before":    c.get(fmt.Sprint("/rooms/general?before=", mid), http.StatusOK),
		"room-around":    c.get(fmt.Sprint("/rooms/general?around=", mid), http.StatusOK),
		"search-form":    c.get("/search", http.StatusOK),
		"search-results": c.get("/search?q=the", http.StatusOK),
		"search-none":    c.get("/search?q=zebra", http.StatusOK),
		"search-bad":     c.get("/search?q=the&before=x", http.StatusBadRequest),
	}
}
