package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/chromedp/chromedp"
)

// creds is a sign-in or registration form's fields.
func creds(handle, pw string) url.Values {
	return url.Values{"handle": {handle}, "password": {pw}}
}

// TestMarkup runs the Nu Html Checker over every kind of page as the server
// sends it: the forms, the forms with errors, the room with messages of
// every kind, and an error page.
func TestMarkup(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	seedConversation(t, srv)
	anon := newClient(t, srv)
	ann := newClient(t, srv)
	ann.register("ann")
	ann.say("general", "Tricky text: <script>alert(1)</script> & \"quotes\"\nhttps://example.com/?a=1&b=<2>")

	pages := map[string]string{
		"login":            anon.get("/login", http.StatusOK),
		"register":         anon.get("/register", http.StatusOK),
		"login-failed":     anon.postForm("/login", creds("ann", "wrong password"), http.StatusUnauthorized),
		"register-invalid": anon.postForm("/register", creds("a", "short"), http.StatusUnprocessableEntity),
		"register-taken":   anon.postForm("/register", creds("maya", password), http.StatusConflict),
		"not-found":        anon.get("/no/such/page", http.StatusNotFound),
		"room":             ann.get("/rooms/general", http.StatusOK),
		"room-empty-post":  ann.postForm("/rooms/general/messages", url.Values{"body": {"  "}}, http.StatusUnprocessableEntity),
		"room-rename-bad":  ann.postForm("/profile", url.Values{"handle": {"no spaces"}}, http.StatusUnprocessableEntity),
	}
	ann.say("general", "Search me: <b>bold</b> café")
	ids := servedIDs(pages["room"])
	edit := fmt.Sprintf("/rooms/general/messages/%d/edit", ids[len(ids)-1])
	pages["edit"] = ann.get(edit, http.StatusOK)
	pages["edit-empty"] = ann.postForm(edit, url.Values{"body": {" "}}, http.StatusUnprocessableEntity)
	pages["reaction-refused"] = ann.postForm(fmt.Sprintf("/rooms/general/messages/%d/reactions", ids[len(ids)-1]),
		url.Values{"emoji": {"no"}}, http.StatusUnprocessableEntity)
	maps.Copy(pages, historyPages(t, ann))
	maps.Copy(pages, roomsPages(t, srv, ann))
	ann.postForm("/logout", url.Values{}, http.StatusSeeOther)
	pages["login-signed-out"] = ann.get("/login", http.StatusOK)
	checkMarkup(t, pages)
}

// TestAccessibility runs axe-core and the touch target check on every page
// in light and dark mode: the sign-in and registration forms, both with an
// error, the room with messages, its account menu open, a page of older
// messages around one, and search with results, on a desktop and on a
// 360 px wide phone.
func TestAccessibility(t *testing.T) {
	srv := startServer(t)
	seedConversation(t, srv)
	for _, scheme := range []string{"light", "dark"} {
		t.Run(scheme, func(t *testing.T) {
			tb := newPerson(t, srv, "visitor-"+scheme, withScheme(scheme))
			tb.allow("401 "+srv.URL+"/login", "status of 401", "422 "+srv.URL+"/register", "status of 422")

			tb.goTo("/login")
			tb.judge("sign-in form")
			tb.submit("form.card", map[string]string{"handle": "maya", "password": "wrong password"})
			tb.judge("sign-in form with an error")

			tb.goTo("/register")
			tb.judge("registration form")
			tb.submit("form.card", map[string]string{"handle": "x", "password": "short"})
			tb.judge("registration form with an error")

			tb.signIn("jonas")
			tb.waitJS(actionTimeout, `document.querySelectorAll("#messages .message").length >= 7`, "messages shown")
			tb.judge("room")
			tb.do(chromedp.Click(chromedp.CSS("#account-toggle")))
			tb.judge("room with the account menu open")
			tb.judgeEdits()
			tb.judgeHistoryAndSearch()
			tb.judgeRoomsPages()

			phone := newPerson(t, srv, "phone-"+scheme, withScheme(scheme), withViewport(360, 740))
			phone.signIn("priya")
			phone.judge("room on a phone")
			phone.judgeEdits()
			if w := eval[float64](phone, `document.documentElement.scrollWidth`); w > 360 {
				t.Errorf("on a 360 px wide phone the room is %v px wide", w)
			}
			phone.judgeHistoryAndSearch()
			phone.judgeRoomsPages()
		})
	}
}

// judgeEdits judges the room with the menu of the reader's own message
// open (the edited one, if any), and its edit page; neither may be wider than the screen.
func (tb *tab) judgeEdits() {
	tb.t.Helper()
	tb.goTo("/rooms/general")
	id := eval[int64](tb, `Number((document.querySelector("#messages li.own.edited") || Array.from(document.querySelectorAll("#messages li.own")).pop()).dataset.id)`)
	tb.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#msg-%d .msg-menu summary", id))))
	tb.judge("room with a message menu open")
	width := eval[float64](tb, `window.innerWidth`)
	if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > width {
		tb.t.Errorf("%s: with a message menu open the room is %v px wide on a %v px screen", tb.name, w, width)
	}
	tb.goTo(fmt.Sprintf("/rooms/general/messages/%d/edit", id))
	tb.judge("edit page")
	tb.goTo("/rooms/general")
}

// judgeHistoryAndSearch judges a page around a message (highlighted, with
// links to older and newer messages) and the search page with results,
// and checks that neither is wider than the screen.
func (tb *tab) judgeHistoryAndSearch() {
	tb.t.Helper()
	ids := eval[[]int64](tb, `Array.from(document.querySelectorAll("#messages > li[data-id]")).map(function (li) { return Number(li.dataset.id); })`)
	tb.goTo(fmt.Sprint("/rooms/general?around=", ids[len(ids)/2]))
	tb.judge("room around a message")
	tb.goTo("/search?q=the")
	if !tb.has(".result mark") {
		tb.t.Fatalf("%s: searching for \"the\" found nothing marked", tb.name)
	}
	tb.judge("search results")
	width := eval[float64](tb, `window.innerWidth`)
	if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > width {
		tb.t.Errorf("%s: the search page is %v px wide on a %v px screen", tb.name, w, width)
	}
}

// roomsPages returns the pages of rooms and people as ann sees them: the
// directory, a private room with its add-member form (also with an
// error), a direct room, a room with the unread marker and a mention, and
// her mentions.
func roomsPages(t *testing.T, srv *server, ann *client) map[string]string {
	t.Helper()
	bob := newClient(t, srv)
	bob.register("bob")
	ann.postForm("/rooms", url.Values{"name": {"hideout"}, "private": {"1"}}, http.StatusSeeOther)
	ann.get("/rooms/general", http.StatusOK) // all read
	bob.say("general", "@ann have a look, and @nobody")
	pages := map[string]string{
		"directory":          ann.get("/rooms", http.StatusOK),
		"directory-taken":    bob.postForm("/rooms", url.Values{"name": {"hideout"}}, http.StatusConflict),
		"private-room":       ann.get("/rooms/hideout", http.StatusOK),
		"add-member-unknown": ann.postForm("/rooms/hideout/members", url.Values{"handle": {"nobody"}}, http.StatusUnprocessableEntity),
		"room-unread":        ann.get("/rooms/general", http.StatusOK),
		"mentions":           ann.get("/mentions", http.StatusOK),
	}
	pages["direct-room"] = ann.get(ann.redirect("/dm/bob"), http.StatusOK)
	return pages
}

// judgeRoomsPages judges the directory, the mentions, a private room and
// a direct room, and checks that none is wider than the screen.
func (tb *tab) judgeRoomsPages() {
	tb.t.Helper()
	for _, path := range []string{"/rooms", "/mentions", "/dm/maya"} {
		tb.goTo(path)
		tb.judge(path)
		width := eval[float64](tb, `window.innerWidth`)
		if w := eval[float64](tb, `document.documentElement.scrollWidth`); w > width {
			tb.t.Errorf("%s: %s is %v px wide on a %v px screen", tb.name, path, w, width)
		}
	}
}
