package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestDirectMessagesAndBadges: with JavaScript on, ann opens a direct
// conversation with bob from the online list and writes; bob, looking at
// #general, sees the conversation appear in his sidebar with a badge,
// the tab's title counts it, he opens it and reads it, and the unread
// marker stands before the first new message after a reload.
func TestDirectMessagesAndBadges(t *testing.T) {
	_, ann, bob := twoInRoom(t)

	// Start the conversation from the online list.
	ann.clickAndLoad(`#online li[data-handle="bob"] a`)
	if !strings.HasPrefix(ann.location(), "/rooms/dm.") {
		t.Fatalf("the online list's link led to %s", ann.location())
	}
	if got := strings.TrimSpace(ann.text("h1")); got != "bob" {
		t.Errorf("the direct room is titled %q; want bob", got)
	}
	dm := strings.TrimPrefix(ann.location(), "/rooms/")
	ann.waitJS(deliveryLimit, `document.querySelector("#my-rooms [data-room='`+dm+`'] a[aria-current='page']") !== null`,
		"list the conversation, marked as the room shown")

	start := time.Now()
	ann.send("psst, bob")
	entry := `document.querySelector("#my-rooms [data-room='` + dm + `']")`
	bob.waitJS(deliveryLimit, entry+` !== null && `+entry+`.dataset.unread === "1" && `+entry+`.dataset.mentions === "1"`,
		"show the new conversation with one unread message for him")
	t.Logf("the badge rose in the other browser in %v", time.Since(start).Round(time.Millisecond))
	if title := eval[string](bob, `document.title`); !strings.HasPrefix(title, "(1) ") {
		t.Errorf("bob's tab title %q; want it to count the message for him", title)
	}
	if got := bob.text(`#my-rooms [data-room="` + dm + `"] .badge`); got != "1" {
		t.Errorf("the badge says %q; want 1", got)
	}

	// Live: a second message raises the count while bob looks at #general.
	ann.send("are you there?")
	bob.waitJS(deliveryLimit, entry+`.dataset.unread === "2"`, "count the second message")

	// Opening it shows the marker before the first unread message, and
	// clears the count.
	bob.clickAndLoad(`#my-rooms [data-room="` + dm + `"] a`)
	if got := eval[string](bob, `(function () { var m = document.querySelector(".unread-marker"); return m && m.nextElementSibling ? m.nextElementSibling.querySelector(".body").textContent : ""; })()`); got != "psst, bob" {
		t.Errorf("the unread marker stands before %q; want the first unread message", got)
	}
	bob.waitJS(deliveryLimit, entry+`.dataset.unread === "0"`, "clear the count of the conversation read")
	if title := eval[string](bob, `document.title`); strings.HasPrefix(title, "(") {
		t.Errorf("after reading, the title still counts: %q", title)
	}
	bob.goTo("/rooms/" + dm)
	if bob.has(".unread-marker") {
		t.Error("the marker is still there after a reload")
	}

	// A message arriving in the conversation bob has open is read at once.
	ann.send("good, you are here")
	bob.waitMessage("good, you are here", deliveryLimit)
	bob.goTo("/rooms/general")
	if got := eval[string](bob, entry+`.dataset.unread`); got != "0" {
		t.Errorf("a message bob saw arrive counts as unread (%s)", got)
	}
}

// TestPrivateRoomWithoutJS: with JavaScript off, ann creates a private
// room in the directory and adds bob with the form; bob finds it in his
// list, reads and posts; cy, not a member, finds nothing there.
func TestPrivateRoomWithoutJS(t *testing.T) {
	srv := startServer(t)
	newClient(t, srv).register("bob")
	cy := newClient(t, srv)
	cy.register("cy")
	ann := newPerson(t, srv, "ann", withoutJS())
	ann.allow("status of 422", "HTTP 422")
	ann.register("ann")

	ann.goTo("/rooms")
	ann.do(chromedp.Click(chromedp.ID("room-private")))
	ann.submit("form.new-room-form", map[string]string{"name": "hideout"})
	ann.wantLocation("/rooms/hideout")
	ann.submit("form.add-member", map[string]string{"handle": "nobody"})
	if !strings.Contains(ann.text(`.add-member .error[role="alert"]`), "nobody") {
		t.Errorf("adding an unknown handle: %q", ann.text(".add-member .error"))
	}
	ann.submit("form.add-member", map[string]string{"handle": "bob"})
	ann.wantLocation("/rooms/hideout")
	ann.sendWithoutJS("welcome, bob")
	ann.wantLocation("/rooms/hideout")

	bob := newPerson(t, srv, "bob", withoutJS())
	bob.signIn("bob")
	if !bob.has(`#my-rooms li[data-room="hideout"][data-unread="1"]`) {
		t.Error("bob's list does not show the room with its unread message")
	}
	bob.clickAndLoad(`#my-rooms li[data-room="hideout"] a`)
	bob.wantLocation("/rooms/hideout")
	if !bob.has(".unread-marker") {
		t.Error("no unread marker on bob's first visit")
	}
	bob.sendWithoutJS("thanks, ann")
	bob.wantLocation("/rooms/hideout")
	if got := bob.text("#messages li:last-child .body"); got != "thanks, ann" {
		t.Errorf("bob's page ends with %q", got)
	}

	cy.get("/rooms/hideout", http.StatusNotFound)
	if strings.Contains(cy.get("/rooms", http.StatusOK), "hideout") {
		t.Error("the directory shows a private room")
	}
	cy.postForm("/rooms/hideout/messages", url.Values{"body": {"let me in"}}, http.StatusNotFound)
}

// sendWithoutJS types a message and sends the form as a page without
// JavaScript does.
func (tb *tab) sendWithoutJS(text string) {
	tb.t.Helper()
	tb.do(chromedp.SendKeys(chromedp.ID("body"), text))
	tb.clickAndLoad("#composer button[type=submit]")
}

// TestMentionSuggestions: typing "@" and the start of a handle lists the
// people who may read the room; Enter takes one, and the message sent
// mentions them.
func TestMentionSuggestions(t *testing.T) {
	_, ann, bob := twoInRoom(t)
	ann.do(chromedp.Focus(chromedp.ID("body")))
	ann.compose("hi @bo")
	ann.waitJS(deliveryLimit, `document.querySelector("#mention-suggestions [aria-selected=true]") !== null && document.querySelector("#mention-suggestions [aria-selected=true]").textContent === "@bob"`,
		"suggest bob")
	ann.pressEnter() // takes the suggestion, sends nothing
	if got := eval[string](ann, `document.getElementById("body").value`); got != "hi @bob " {
		t.Fatalf("the composer holds %q; want the handle taken", got)
	}
	ann.compose("look")
	ann.pressEnter()
	bob.waitMessage("hi @bob look", deliveryLimit)
	if !bob.has(`#messages li:last-child .body .mention`) {
		t.Error("the message sent does not mention bob")
	}
}
