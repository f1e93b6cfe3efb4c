package e2e

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// shown is a message as a page shows it.
type shown struct {
	ID     int64  `json:"id"`
	DomID  string `json:"domID"`
	Author string `json:"author"`
	Body   string `json:"body"`
	System bool   `json:"system"`
}

// shownJS lists the page's messages through the contract's hooks.
const shownJS = `Array.from(document.querySelectorAll("#messages > li[data-id]")).map(function (li) {
  var a = li.querySelector(".author"), b = li.querySelector(".body");
  return {id: Number(li.dataset.id), domID: li.id, author: a ? a.textContent : "",
    body: b ? b.textContent : "", system: li.classList.contains("system")};
})`

// messages returns the messages the page shows, in page order.
func (tb *tab) messages() []shown {
	tb.t.Helper()
	return eval[[]shown](tb, shownJS)
}

// jsString quotes s for JavaScript.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// countJS counts the page's messages whose body is exactly body.
func countJS(body string) string {
	return fmt.Sprintf(`Array.from(document.querySelectorAll("#messages .body")).filter(function (b) {
  return b.textContent === %s;
}).length`, jsString(body))
}

// waitMessage waits until the page shows a message with this body.
func (tb *tab) waitMessage(body string, timeout time.Duration) {
	tb.t.Helper()
	tb.waitJS(timeout, countJS(body)+" > 0", fmt.Sprintf("show message %q", body))
}

// count returns how many messages with this body the page shows.
func (tb *tab) count(body string) int {
	tb.t.Helper()
	return eval[int](tb, countJS(body))
}

// waitOnline waits until the page's online list shows handle.
func (tb *tab) waitOnline(handle string, timeout time.Duration) {
	tb.t.Helper()
	tb.waitJS(timeout, `Array.from(document.querySelectorAll("#online li")).some(function (li) {
  return li.textContent.trim() === `+jsString(handle)+`; })`, handle+" in the online list")
}

// compose types text into the composer; "\n" in text is Shift+Enter, a new
// line. It does not send.
func (tb *tab) compose(text string) {
	tb.t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			tb.key("\r", chromedp.ModifierShift)
		}
		if line != "" {
			tb.do(chromedp.SendKeys(chromedp.ID("body"), line))
		}
	}
}

// send types a message, presses Enter and waits for the composer to come
// back from the server empty, ready for the next message.
func (tb *tab) send(text string) {
	tb.t.Helper()
	tb.compose(text)
	tb.pressEnter()
	tb.waitJS(deliveryLimit, `document.getElementById("body").value === "" && !document.getElementById("body").readOnly`,
		"send the message and empty the composer")
}

var servedIDRE = regexp.MustCompile(`<li id="msg-(\d+)"`)

// servedIDs returns the message ids of a room page as the server sent it.
func servedIDs(html string) []int64 {
	var ids []int64
	for _, m := range servedIDRE.FindAllStringSubmatch(html, -1) {
		id, _ := strconv.ParseInt(m[1], 10, 64)
		ids = append(ids, id)
	}
	return ids
}

func ids(ms []shown) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// checkSameAsServed fails unless the page shows exactly the messages the
// server now serves for the room, in the same order: none missing, none
// twice.
func (tb *tab) checkSameAsServed(c *client, room string) {
	tb.t.Helper()
	want := servedIDs(c.get("/rooms/"+room, 200))
	got := ids(tb.messages())
	if !slices.Equal(got, want) {
		tb.t.Errorf("%s shows messages %v; the server has %v", tb.name, got, want)
	}
}
