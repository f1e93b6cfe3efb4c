package e2e

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// deliveryLimit is how soon a message must reach another person's page.
const deliveryLimit = 2 * time.Second

// wantFormError checks that the form shows an error next to its fields,
// announced as an alert, that mentions want, and that field (when not
// empty) is marked invalid and has the focus.
func (tb *tab) wantFormError(want, field string) {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.CSS(`form.card > .error[role="alert"]`)))
	if got := tb.text(`form.card > .error[role="alert"]`); !strings.Contains(got, want) {
		tb.t.Errorf("%s: form error %q; want it to mention %q", tb.name, got, want)
	}
	if field == "" {
		return
	}
	if !tb.has(`form.card [name="` + field + `"][aria-invalid="true"]`) {
		tb.t.Errorf("%s: field %s is not marked aria-invalid", tb.name, field)
	}
	if got := eval[string](tb, `document.activeElement.name || ""`); got != field {
		tb.t.Errorf("%s: focus on %q; want the field in error, %q", tb.name, got, field)
	}
}

// TestFormErrors: registration and sign-in errors show next to the form,
// keep what was typed (never the password), and sign nobody in.
func TestFormErrors(t *testing.T) {
	srv := startServer(t)
	newClient(t, srv).register("dora")
	tb := newPerson(t, srv, "visitor")
	tb.allow("status of 4", "HTTP 401", "HTTP 409", "HTTP 422")

	tb.goTo("/register")
	for _, try := range []struct{ handle, password, wantError, field string }{
		{"no spaces", password, "handle may use only", "handle"},
		{"valid", "short", "at least 8", "password"},
		{"DORA", password, "taken", "handle"}, // handles are the same in any case
	} {
		tb.submit("form.card", map[string]string{"handle": try.handle, "password": try.password})
		tb.wantFormError(try.wantError, try.field)
		tb.wantLocation("/register")
		if got := run(tb, chromedp.Value(chromedp.ID("handle"))); got != try.handle {
			t.Errorf("handle field after the error = %q; want what was typed, %q", got, try.handle)
		}
	}

	tb.goTo("/login")
	tb.submit("form.card", map[string]string{"handle": "dora", "password": "not the password"})
	tb.wantFormError("Wrong handle or password", "")
	if got := run(tb, chromedp.Value(chromedp.ID("password"))); got != "" {
		t.Errorf("password field after a failed sign-in = %q; want it empty", got)
	}
	if got := eval[string](tb, `document.activeElement.id`); got != "password" {
		t.Errorf("focus after a failed sign-in on %q; want the password", got)
	}

	tb.goTo("/")
	tb.wantLocation("/login") // still signed out
}

// twoInRoom starts a server where ann and bob, each in a browser of their
// own, have registered and see each other online in #general.
func twoInRoom(t *testing.T) (*server, *tab, *tab) {
	t.Helper()
	srv := startServer(t)
	ann := newPerson(t, srv, "ann")
	bob := newPerson(t, srv, "bob")
	ann.register("ann")
	bob.register("bob")
	ann.waitOnline("bob", deliveryLimit)
	bob.waitOnline("ann", deliveryLimit)
	return srv, ann, bob
}

// TestLiveChat: two people in two browsers chat live, with new lines,
// links and markup; the room scrolls with the conversation; a reload shows
// the same history; a rename reaches the other person's online list.
func TestLiveChat(t *testing.T) {
	srv, ann, bob := twoInRoom(t)

	// Enter sends; the other person sees it at once, the sender once.
	const hello = "Hello Bob, this is live."
	eval[chromedp.Void](ann, sendingRecorder) // also marks the page: it must never reload

	ann.do(chromedp.Focus(chromedp.ID("body")))
	ann.compose(hello)
	start := time.Now()
	ann.pressEnter()
	bob.waitMessage(hello, deliveryLimit)
	t.Logf("delivered to the other browser in %v", time.Since(start).Round(time.Millisecond))
	ann.waitMessage(hello, deliveryLimit)
	ann.waitJS(deliveryLimit, `document.getElementById("body").value === "" && document.activeElement.id === "body"`,
		"clear the composer and keep the focus in it")
	if got := eval[map[string]any](ann, `window.__sending || {}`); got["button"] != true || got["readOnly"] != true || got["busy"] != "true" {
		t.Errorf("while sending, the composer was %v; want the button disabled, the text read-only and aria-busy", got)
	}
	if eval[bool](ann, `document.querySelector("#composer button").disabled || document.getElementById("body").readOnly`) {
		t.Error("after sending, the composer is still disabled")
	}
	time.Sleep(300 * time.Millisecond) // time for a duplicate to show, if one came
	if n := ann.count(hello); n != 1 {
		t.Errorf("the sender shows the message %d times; want 1", n)
	}
	if n := bob.count(hello); n != 1 {
		t.Errorf("the other person shows the message %d times; want 1", n)
	}

	// Shift+Enter keeps a new line; links are links, markup is text.
	const multi = "first line\nsecond line"
	ann.send(multi)
	bob.waitMessage(multi, deliveryLimit)
	const rich = "Docs: https://example.com/guide?a=1&b=2. <b>Not bold</b>"
	ann.send(rich)
	bob.waitMessage(rich, deliveryLimit)
	link := eval[map[string]string](bob, `(function () {
  var a = document.querySelector("#messages li:last-child .body a");
  return a ? {href: a.getAttribute("href"), rel: a.rel, text: a.textContent} : {};
})()`)
	if link["href"] != "https://example.com/guide?a=1&b=2" || link["rel"] != "noopener noreferrer nofollow ugc" || link["text"] != link["href"] {
		t.Errorf("link in the message = %v; want href https://example.com/guide?a=1&b=2 with rel noopener noreferrer nofollow ugc", link)
	}
	if bob.has("#messages .body b") {
		t.Error("markup in a message body became an element")
	}
	// A message the server refuses comes back with the reason, the text
	// kept and the focus in it.
	ann.allow("HTTP 422", "status of 422")
	long := strings.Repeat("é", 4001)
	eval[chromedp.Void](ann, `document.getElementById("body").value = `+jsString(long))
	ann.do(chromedp.Focus(chromedp.ID("body")))
	ann.pressEnter()
	ann.waitJS(deliveryLimit, `((document.getElementById("body-error") || {}).textContent || "").indexOf("at most 4000") >= 0`,
		"say why the message was refused")
	if got := eval[string](ann, `document.getElementById("body").value`); got != long {
		t.Errorf("after a refused message the composer holds %d characters (%.20q…); want the %d typed",
			len([]rune(got)), got, len([]rune(long)))
	}
	ann.waitJS(deliveryLimit, `document.activeElement.id === "body"`, "keep the focus in the composer")
	eval[chromedp.Void](ann, `document.getElementById("body").value = ""`)
	if !eval[bool](ann, `"__sending" in window`) {
		t.Error("the sender's page reloaded: a message went out as a plain form post")
	}

	checkTimes(bob)
	bob.checkLayoutShift("while messages arrived")
	if !bob.has(`#scroller[role="log"] #messages`) || !bob.has(`#status[role="status"]`) {
		t.Error("new messages and the connection state are not in live regions for screen readers")
	}

	// The live page equals a fresh load of the room: same messages, same order.
	before := bob.messages()
	bob.do(chromedp.Reload())
	after := bob.messages()
	if !slices.Equal(before, after) {
		t.Errorf("after a reload the room shows\n%v\nbefore it showed\n%v", after, before)
	}
	if !slices.IsSortedFunc(after, func(a, b shown) int { return int(a.ID - b.ID) }) {
		t.Errorf("messages are not in id order: %v", ids(after))
	}
	for _, m := range after {
		if m.DomID != fmt.Sprintf("msg-%d", m.ID) || m.System != (m.Author == "") {
			t.Errorf("message hooks wrong: %+v", m)
		}
	}

	checkScrolling(t, srv, bob)

	// Rename: the other person's online list shows the new handle.
	ann.do(chromedp.Click(chromedp.ID("account-toggle")),
		chromedp.WaitVisible(chromedp.ID("rename-handle")),
		chromedp.Clear(chromedp.ID("rename-handle")),
		chromedp.SendKeys(chromedp.ID("rename-handle"), "annabel"),
		chromedp.Click(chromedp.CSS("#identity button[type=submit]")))
	bob.waitOnline("annabel", deliveryLimit)
	bob.waitJS(deliveryLimit, `!Array.from(document.querySelectorAll("#online li")).some(function (li) {
  return li.textContent.trim() === "ann"; })`, "drop the old handle from the online list")
	ann.waitJS(deliveryLimit, `document.querySelector("#identity .account-name").textContent === "annabel"`,
		"show the new handle in the header")
}

// sendingRecorder notes the composer's state as its request goes out.
const sendingRecorder = `document.addEventListener("htmx:beforeSend", function (e) {
  if (e.detail.elt.id !== "composer") return;
  window.__sending = {button: e.detail.elt.querySelector("button[type=submit]").disabled,
    readOnly: document.getElementById("body").readOnly, busy: e.detail.elt.getAttribute("aria-busy")};
})`

// checkTimes checks the message times: machine-readable UTC in datetime,
// shown in the reader's time zone with the full date on hover.
func checkTimes(tb *tab) {
	tb.t.Helper()
	bad := eval[[]string](tb, `Array.from(document.querySelectorAll("#messages time")).filter(function (t) {
  return !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(t.getAttribute("datetime")) || t.dataset.local !== "1" ||
    t.textContent.trim() === "" || t.title === "";
}).map(function (t) { return t.outerHTML; })`)
	for _, b := range bad {
		tb.t.Errorf("%s: message time not machine-readable or not localised: %s", tb.name, b)
	}
}

// checkScrolling: a reader at the newest message stays there as messages
// arrive; a reader who scrolled up stays put and is offered a way down.
func checkScrolling(t *testing.T, srv *server, reader *tab) {
	t.Helper()
	cy := newClient(t, srv)
	cy.register("cy")
	for i := range 30 {
		cy.say("general", fmt.Sprintf("filler %d", i))
	}
	reader.waitMessage("filler 29", deliveryLimit)
	atBottom := `(function () { var s = document.getElementById("scroller");
  return s.scrollHeight - s.scrollTop - s.clientHeight < 2; })()`
	reader.waitJS(deliveryLimit, atBottom, "stay scrolled to the newest message")
	reader.checkLayoutShift("when the list began to scroll")
	if eval[bool](reader, `document.getElementById("scroller").scrollHeight <= document.getElementById("scroller").clientHeight`) {
		t.Fatal("the message list does not overflow; the scrolling check needs more messages")
	}

	eval[chromedp.Void](reader, `document.getElementById("scroller").scrollTop = 0`)
	time.Sleep(100 * time.Millisecond)
	cy.say("general", "while you read older messages")
	reader.waitMessage("while you read older messages", deliveryLimit)
	if top := eval[float64](reader, `document.getElementById("scroller").scrollTop`); top != 0 {
		t.Errorf("a new message moved the reader who had scrolled up to %v", top)
	}
	reader.do(chromedp.WaitVisible(chromedp.ID("jump")), chromedp.Click(chromedp.ID("jump")))
	reader.waitJS(deliveryLimit, atBottom, "scroll down after a click on the new-messages button")
	reader.do(chromedp.WaitNotVisible(chromedp.ID("jump")))
}

// cursor is where a stream request asks to resume: the later of its
// Last-Event-ID header and its last_event_id query.
func (r request) cursor() int64 {
	var c int64
	if u, err := url.Parse(r.URL); err == nil {
		c, _ = strconv.ParseInt(u.Query().Get("last_event_id"), 10, 64)
	}
	if h, err := strconv.ParseInt(r.LastEventID, 10, 64); err == nil {
		c = max(c, h)
	}
	return c
}

// TestServerRestart: the server stops and starts again on the same port
// and database while two people have the room open. Both pages say they
// are reconnecting, reconnect by themselves, resume from where they were,
// and show a message posted meanwhile exactly once.
func TestServerRestart(t *testing.T) {
	srv, ann, bob := twoInRoom(t)
	for _, tb := range []*tab{ann, bob} {
		tb.allow(streamDownProblems...)
	}

	cy := newClient(t, srv)
	cy.register("cy")
	for i := range 3 {
		cy.say("general", fmt.Sprintf("before the restart %d", i))
	}
	for _, tb := range []*tab{ann, bob} {
		tb.waitMessage("before the restart 2", deliveryLimit)
	}
	last := ids(ann.messages())
	cursorBefore := last[len(last)-1]

	srv.stop()
	for _, tb := range []*tab{ann, bob} {
		tb.waitJS(5*time.Second, `document.getElementById("status").textContent === "Reconnecting…"`,
			"say it is reconnecting")
	}
	// A message typed while the server is down is not lost: the page says
	// it was not sent and keeps the text to send again.
	const retried = "typed while the server was down"
	ann.allow("htmx:sendError", "htmx:afterRequest") // htmx logs a failed request with console.error
	ann.compose(retried)
	ann.pressEnter()
	ann.waitJS(5*time.Second, `((document.getElementById("body-error") || {}).textContent || "").indexOf("Not sent") === 0`,
		"say the message was not sent")
	if got := run(ann, chromedp.Value(chromedp.ID("body"))); got != retried {
		t.Errorf("after a failed send the composer holds %q; want the text kept", got)
	}
	time.Sleep(time.Second) // the browsers try, and fail, to reconnect
	srv.start()
	const meanwhile = "posted while you were reconnecting"
	cy.say("general", meanwhile)
	ann.pressEnter()

	for _, tb := range []*tab{ann, bob} {
		tb.waitMessage(meanwhile, 20*time.Second)
		tb.waitJS(5*time.Second, `document.getElementById("status").textContent === ""`,
			"clear the reconnecting state")
	}
	time.Sleep(300 * time.Millisecond)
	for _, tb := range []*tab{ann, bob} {
		tb.waitMessage(retried, 5*time.Second)
		for _, body := range []string{meanwhile, retried} {
			if n := tb.count(body); n != 1 {
				t.Errorf("%s shows %q %d times; want 1", tb.name, body, n)
			}
		}
		tb.checkSameAsServed(cy, "general")
		reqs := tb.streamRequests()
		if len(reqs) < 2 {
			t.Errorf("%s made %d stream requests; want a reconnection", tb.name, len(reqs))
		}
		for _, r := range reqs[1:] {
			if r.Status == 200 && r.cursor() < cursorBefore {
				t.Errorf("%s reconnected from message %d (%s, Last-Event-ID %q); the page already had %d",
					tb.name, r.cursor(), r.URL, r.LastEventID, cursorBefore)
			}
		}
		t.Logf("%s stream requests: %+v", tb.name, reqs)
	}
}

// streamDownProblems are what a page logs while its stream is down: the
// browser's failed connection attempts, and htmx, which logs every error
// event of its SSE extension with console.error.
var streamDownProblems = []string{"ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET", "ERR_EMPTY_RESPONSE",
	"console.error: [object Event]"}

// dropStream ends the page's EventSource the way the browser does when a
// stream fails for good (readyState CLOSED, as after an HTTP error), and
// reports the error to htmx's SSE extension, which then builds a new
// EventSource from the page's stream URL. With report false, the page only
// loses the stream for now; call dropStream again to report it.
func (tb *tab) dropStream(report bool) {
	tb.t.Helper()
	eval[chromedp.Void](tb, fmt.Sprintf(`(function () {
  var s = document.getElementById("app")["htmx-internal-data"].sseEventSource;
  s.close();
  if (%t) s.onerror(new Event("error"));
})()`, report))
}

// TestStreamRebuilt: a stream that failed for good is built anew by the
// page, and a new EventSource sends no Last-Event-ID, so the page's cursor
// must be in the stream URL. Messages posted meanwhile show once, and a
// replay of messages the page has already shown adds nothing.
func TestStreamRebuilt(t *testing.T) {
	srv := startServer(t)
	ann := newPerson(t, srv, "ann")
	ann.allow(streamDownProblems...)
	ann.register("ann")
	cy := newClient(t, srv)
	cy.register("cy")
	cy.say("general", "live before the drop")
	ann.waitMessage("live before the drop", deliveryLimit)
	shownIDs := ids(ann.messages())
	cursor := shownIDs[len(shownIDs)-1]
	streams := len(ann.streamRequests())

	ann.dropStream(false)
	cy.say("general", "posted while the stream was gone")
	ann.dropStream(true)
	ann.waitJS(deliveryLimit, `document.getElementById("status").textContent === "Reconnecting…"`, "say it is reconnecting")
	ann.waitMessage("posted while the stream was gone", 5*time.Second)
	reqs := ann.streamRequests()
	if len(reqs) != streams+1 {
		t.Fatalf("stream requests after the drop: %+v; want one more", reqs)
	}
	if r := reqs[len(reqs)-1]; r.LastEventID != "" || r.cursor() != cursor {
		t.Errorf("the rebuilt stream asked for %s (Last-Event-ID %q); want last_event_id=%d in the URL", r.URL, r.LastEventID, cursor)
	}
	ann.checkSameAsServed(cy, "general")

	// A stream that resumes from too far back replays messages the page
	// already shows: none may show twice.
	eval[chromedp.Void](ann, `document.getElementById("app").setAttribute("data-sse-connect", "/rooms/general/events?last_event_id=0")`)
	ann.dropStream(true)
	cy.say("general", "after the full replay")
	ann.waitMessage("after the full replay", 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	ann.checkSameAsServed(cy, "general")
	ann.waitJS(5*time.Second, `document.getElementById("status").textContent === ""`, "clear the reconnecting state")
}

// TestSignOutEndsOtherTabs: signing out in one tab ends the live updates of
// the other tabs of the same session, which say so, also a tab whose
// stream was down at the time; signing out everywhere does the same for
// the person's other devices.
func TestSignOutEndsOtherTabs(t *testing.T) {
	srv := startServer(t)
	first := newPerson(t, srv, "ann-tab-1")
	first.register("ann")
	second := first.newTab("ann-tab-2")
	third := first.newTab("ann-tab-3")
	phone := newPerson(t, srv, "ann-phone")
	phone.signIn("ann")
	for _, tb := range []*tab{second, third} {
		tb.goTo("/rooms/general")
	}
	for _, tb := range []*tab{first, second, third, phone} {
		tb.waitOnline("ann", deliveryLimit)
	}
	streams := len(first.streamRequests())
	// The third tab's stream is down when the session ends; when it comes
	// back it is refused (401), and the page finds out why.
	third.allow(append(streamDownProblems, "HTTP 401", "status of 401")...)
	third.dropStream(false)

	start := time.Now()
	second.clickAndLoad(".signout button")
	second.wantLocation("/login")
	if got := second.text(".notice"); !strings.Contains(got, "signed out") {
		t.Errorf("after signing out the page says %q; want a notice", got)
	}
	first.wantSignedOut()
	t.Logf("the other tab showed the signed-out state after %v", time.Since(start).Round(time.Millisecond))
	third.dropStream(true)
	third.wantSignedOut()

	cy := newClient(t, srv)
	cy.register("cy")
	cy.say("general", "after ann signed out")
	phone.waitMessage("after ann signed out", deliveryLimit)
	time.Sleep(500 * time.Millisecond)
	if n := first.count("after ann signed out"); n != 0 {
		t.Errorf("the signed-out tab still receives messages")
	}
	if n := len(first.streamRequests()); n != streams {
		t.Errorf("the signed-out tab opened %d more streams; want none", n-streams)
	}

	// The phone has a session of its own; "sign out everywhere" from a new
	// sign-in ends it too.
	first.signIn("ann")
	// As a person would, wait for the page to go live first: its stream
	// opens a moment after the page (the tabs agree who streams), and one
	// still on its way when every session ends is refused.
	first.waitJS(5*time.Second, liveJS, "stream live")
	first.do(chromedp.Click(chromedp.ID("account-toggle")))
	first.clickAndLoad(".everywhere button")
	first.wantLocation("/login")
	phone.wantSignedOut()
}

// wantSignedOut waits for the page to show that its session ended: the
// banner with a way to sign in again, and no composer to type in.
func (tb *tab) wantSignedOut() {
	tb.t.Helper()
	tb.do(chromedp.WaitVisible(chromedp.ID("signed-out")))
	if !eval[bool](tb, `document.getElementById("body").disabled`) {
		tb.t.Errorf("%s: the signed-out page still offers the composer", tb.name)
	}
	if got := tb.text("#status"); got != "" {
		tb.t.Errorf("%s: the signed-out page still says %q", tb.name, got)
	}
}

// TestWithoutJavaScript: with JavaScript off every flow works through plain
// forms and redirects: register, post, rename, sign out, sign in.
func TestWithoutJavaScript(t *testing.T) {
	srv := startServer(t)
	tb := newPerson(t, srv, "no-js", withoutJS())
	tb.allow("status of 422", "HTTP 422")

	tb.goTo("/register")
	tb.submit("form.card", map[string]string{"handle": "x", "password": password})
	tb.wantFormError("2 to 32", "")
	tb.register("noel")
	if got := tb.text(".refresh"); !strings.Contains(got, "Refresh") {
		t.Errorf("the room offers no refresh link without JavaScript: %q", got)
	}

	tb.do(chromedp.SendKeys(chromedp.ID("body"), "Sent without JavaScript"))
	tb.clickAndLoad("#composer button[type=submit]")
	tb.wantLocation("/rooms/general")
	if n := tb.count("Sent without JavaScript"); n != 1 {
		t.Errorf("after posting the room shows the message %d times; want 1", n)
	}

	tb.do(chromedp.Click(chromedp.ID("account-toggle")),
		chromedp.WaitVisible(chromedp.ID("rename-handle")),
		chromedp.Clear(chromedp.ID("rename-handle")),
		chromedp.SendKeys(chromedp.ID("rename-handle"), "noelle"))
	tb.clickAndLoad("#identity button[type=submit]")
	tb.wantLocation("/rooms/general")
	if got := tb.text("#identity .account-name"); got != "noelle" {
		t.Errorf("after renaming the header shows %q; want noelle", got)
	}

	tb.clickAndLoad(".signout button")
	tb.wantLocation("/login")
	tb.signIn("noelle")
	if n := tb.count("Sent without JavaScript"); n != 1 {
		t.Errorf("after signing in again the room shows the message %d times; want 1", n)
	}
	if reqs := tb.streamRequests(); len(reqs) != 0 {
		t.Errorf("without JavaScript the page opened event streams: %v", reqs)
	}
}

// TestSendTwice: sending one message form twice makes one message. Enter
// pressed twice fast sends once; and when the answer to a post is lost on
// the way back, so that the page says "Not sent" although the server
// stored it, sending again (the same form, the same client_id) stores
// nothing new. The message shows once, live and after a reload.
func TestSendTwice(t *testing.T) {
	srv := startServer(t)
	ann := newPerson(t, srv, "ann")
	ann.register("ann")

	const twice = "Enter pressed twice."
	ann.compose(twice)
	ann.pressEnter()
	ann.pressEnter()
	ann.waitMessage(twice, deliveryLimit)

	const lost = "The answer to this one got lost."
	ann.allow("htmx:sendError", "htmx:afterRequest", "ERR_CONNECTION_RESET")
	stop := ann.loseAnswers("/rooms/general/messages")
	ann.compose(lost)
	ann.pressEnter()
	ann.waitJS(5*time.Second, `((document.getElementById("body-error") || {}).textContent || "").indexOf("Not sent") === 0`,
		"say the message was not sent")
	ann.waitMessage(lost, deliveryLimit) // it was: the stream brings it
	stop()
	ann.pressEnter()
	ann.waitJS(deliveryLimit, `document.getElementById("body").value === "" && !document.getElementById("body").readOnly`,
		"send the message again and empty the composer")
	time.Sleep(300 * time.Millisecond) // time for a duplicate to show, if one came

	if posts := ann.requestsTo("/rooms/general/messages"); len(posts) != 3 {
		t.Errorf("the page posted %d times (%+v); want 3: once for the double Enter, twice for the lost answer", len(posts), posts)
	}
	for _, reload := range []bool{false, true} {
		if reload {
			ann.do(chromedp.Reload())
		}
		for _, body := range []string{twice, lost} {
			if n := ann.count(body); n != 1 {
				t.Errorf("reload=%v: the page shows %q %d times; want 1", reload, body, n)
			}
		}
	}
}
