package e2e

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// lastID is the id of the newest message on the page.
func (tb *tab) lastID() int64 {
	tb.t.Helper()
	ms := tb.messages()
	if len(ms) == 0 {
		tb.t.Fatalf("%s: no messages", tb.name)
	}
	return ms[len(ms)-1].ID
}

// waitEdited waits until message id shows body, marked edited.
func (tb *tab) waitEdited(id int64, body string) {
	tb.t.Helper()
	tb.waitJS(deliveryLimit, fmt.Sprintf(`(function () { var li = document.getElementById("msg-%d");
  return li.classList.contains("edited") && li.querySelector(".body").textContent === %s; })()`, id, jsString(body)),
		fmt.Sprintf("show message %d edited to %q", id, body))
}

// waitCount waits until message id shows emoji reacted count times.
func (tb *tab) waitCount(id int64, emoji string, count int) {
	tb.t.Helper()
	tb.waitJS(deliveryLimit, fmt.Sprintf(`(function () { var r = document.querySelector("#msg-%d .reactions [data-emoji=" + JSON.stringify(%s) + "]");
  return r && r.dataset.count === "%d"; })()`, id, jsString(emoji), count),
		fmt.Sprintf("show %s ×%d on message %d", emoji, count, id))
}

// waitDeleted waits until message id shows as deleted, without its text.
func (tb *tab) waitDeleted(id int64, text string) {
	tb.t.Helper()
	tb.waitJS(deliveryLimit, fmt.Sprintf(`(function () { var li = document.getElementById("msg-%d");
  return li.classList.contains("deleted") && !li.querySelector(".author") &&
    document.getElementById("messages").textContent.indexOf(%s) < 0; })()`, id, jsString(text)),
		fmt.Sprintf("show message %d deleted", id))
}

// mineJS tells whether the reader's own reaction with emoji on message id
// is marked.
func mineJS(id int64, emoji string) string {
	return fmt.Sprintf(`document.querySelector("#msg-%d .reactions [data-emoji=" + JSON.stringify(%s) + "]").classList.contains("mine")`,
		id, jsString(emoji))
}

// TestEditDeleteReactLive: one person edits in place (the up arrow in the
// empty composer), reacts and deletes; the other sees each live, with
// their own reaction marked.
func TestEditDeleteReactLive(t *testing.T) {
	_, ann, bob := twoInRoom(t)
	ann.send("the meeting is at noon")
	bob.waitMessage("the meeting is at noon", deliveryLimit)
	id := ann.lastID()

	// Edit in place: up arrow, new text, Enter; Escape cancels another.
	ann.do(chromedp.Focus(chromedp.ID("body")))
	ann.key(kb.ArrowUp)
	ann.waitJS(actionTimeout, fmt.Sprintf(`document.activeElement.id === "edit-%d"`, id), "open the edit box")
	eval[bool](ann, fmt.Sprintf(`(document.getElementById("edit-%d").value = "the meeting is at ", true)`, id))
	ann.do(chromedp.SendKeys(chromedp.ID(fmt.Sprintf("edit-%d", id)), "one"))
	ann.pressEnter()
	bob.waitEdited(id, "the meeting is at one")
	ann.waitEdited(id, "the meeting is at one")
	ann.do(chromedp.Focus(chromedp.ID("body")))
	ann.key(kb.ArrowUp)
	ann.waitJS(actionTimeout, fmt.Sprintf(`!!document.getElementById("edit-%d")`, id), "open the edit box again")
	ann.key(kb.Escape)
	ann.waitJS(actionTimeout, fmt.Sprintf(`!document.getElementById("edit-%d") && document.activeElement.id === "body"`, id),
		"close the edit box with Escape")

	// React from the menu; the other person's count rises live.
	bob.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#msg-%d .msg-menu summary", id))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#msg-%d .react-picker button[value="🎉"]`, id))))
	ann.waitCount(id, "🎉", 1)
	bob.waitCount(id, "🎉", 1)
	ann.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#msg-%d .reactions [data-emoji="🎉"]`, id))))
	bob.waitCount(id, "🎉", 2)
	ann.waitCount(id, "🎉", 2)
	if !eval[bool](ann, mineJS(id, "🎉")) || !eval[bool](bob, mineJS(id, "🎉")) {
		t.Error("a reaction of the reader's own is not marked")
	}
	// Any typed emoji.
	bob.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#msg-%d .msg-menu summary", id))),
		chromedp.SendKeys(chromedp.ID(fmt.Sprintf("emoji-%d", id)), "🇫🇷"),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#msg-%d .react-other button`, id))))
	ann.waitCount(id, "🇫🇷", 1)
	if eval[bool](ann, mineJS(id, "🇫🇷")) {
		t.Error("bob's reaction is marked as ann's own")
	}

	// Delete, after a confirmation.
	eval[bool](ann, `(window.confirm = function (q) { window.__asked = q; return true; }, true)`)
	ann.do(chromedp.Click(chromedp.CSS(fmt.Sprintf("#msg-%d .msg-menu summary", id))),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`#msg-%d .delete-form button`, id))))
	bob.waitDeleted(id, "the meeting is at one")
	ann.waitDeleted(id, "the meeting is at one")
	if q := eval[string](ann, `window.__asked || ""`); q == "" {
		t.Error("deleting asked for no confirmation")
	}
}

// TestEditDeleteReactWithoutJavaScript: the same three with JavaScript
// off, as plain forms; the other person still sees each live.
func TestEditDeleteReactWithoutJavaScript(t *testing.T) {
	srv := startServer(t)
	bob := newPerson(t, srv, "bob")
	bob.register("bob")
	noel := newPerson(t, srv, "no-js", withoutJS())
	noel.register("noel")
	noel.sendWithoutJS("plain forms work")
	bob.waitMessage("plain forms work", deliveryLimit)
	id := noel.lastID()
	sel := func(s string) string { return fmt.Sprintf("#msg-%d %s", id, s) }

	noel.do(chromedp.Click(chromedp.CSS(sel(".msg-menu summary"))))
	noel.clickAndLoad(sel(`.react-picker button[value="👍"]`))
	noel.wantLocation("/rooms/general")
	bob.waitCount(id, "👍", 1)
	if !eval[bool](noel, mineJS(id, "👍")) {
		t.Error("without JavaScript the reader's own reaction is not marked")
	}

	noel.do(chromedp.Click(chromedp.CSS(sel(".msg-menu summary"))))
	noel.clickAndLoad(sel(".edit-link"))
	noel.wantLocation(fmt.Sprintf("/rooms/general/messages/%d/edit", id))
	noel.submit("form.edit-form", map[string]string{"body": "plain forms still work"})
	noel.wantLocation("/rooms/general")
	bob.waitEdited(id, "plain forms still work")

	noel.do(chromedp.Click(chromedp.CSS(sel(".msg-menu summary"))))
	noel.clickAndLoad(sel(".delete-form button"))
	noel.wantLocation("/rooms/general")
	bob.waitDeleted(id, "plain forms still work")
	noel.waitDeleted(id, "plain forms still work")
}
