package handlers_test

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/internal/sse"
)

// shown is what a reader sees of one message element.
type shown struct {
	deleted, edited bool
	author, body    string
	reactions       string // "👍=2 🎉=1"
}

func shownOf(li *goquery.Selection) shown {
	var rs []string
	li.Find("[data-emoji]").Each(func(_ int, s *goquery.Selection) {
		rs = append(rs, s.AttrOr("data-emoji", "")+"="+s.AttrOr("data-count", ""))
	})
	return shown{
		deleted:   li.HasClass("deleted"),
		edited:    li.HasClass("edited"),
		author:    li.Find(".author").Text(),
		body:      strings.TrimSpace(li.Find(".body").Text()),
		reactions: strings.Join(rs, " "),
	}
}

// pageState returns the messages of a room page by id, as shown.
func pageState(t *testing.T, c *client, room string) map[string]shown {
	t.Helper()
	d := c.get("/rooms/"+room).wantStatus(t, http.StatusOK).doc(t)
	st := map[string]shown{}
	d.Find("#messages > li[data-id]").Each(func(_ int, li *goquery.Selection) {
		st[li.AttrOr("data-id", "")] = shownOf(li)
	})
	return st
}

// eventElement parses the element of a message, update or delete event
// and checks its hooks.
func eventElement(t *testing.T, ev sse.Event) (string, *goquery.Selection) {
	t.Helper()
	li := parseHTML(t, ev.Data).Find("li[data-id]")
	if li.Length() != 1 {
		t.Fatalf("%s event holds %d messages; want 1: %q", ev.Type, li.Length(), ev.Data)
	}
	id := li.AttrOr("data-id", "")
	if li.AttrOr("id", "") != "msg-"+id {
		t.Fatalf("%s event: id=%q data-id=%q", ev.Type, li.AttrOr("id", ""), id)
	}
	return id, li
}

func msgPath(room, id, action string) string {
	return "/rooms/" + room + "/messages/" + id + "/" + action
}

// lastMessageID is the id of the newest message on the room page.
func lastMessageID(t *testing.T, c *client, room string) string {
	t.Helper()
	return lastIDOf(t, c, room)
}

func TestEditMessage(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	ann.say("general", "the deploy is on tuesdya")
	id := lastMessageID(t, ann, "general")
	s := bob.open("/rooms/general/events?last_event_id=" + id)

	ann.post(msgPath("general", id, "edit"), url.Values{"body": {"the deploy is on thursday"}}).wantRedirect(t, "/rooms/general")
	ev := s.next("update")
	gotID, li := eventElement(t, ev)
	evID, _ := strconv.ParseInt(ev.ID, 10, 64)
	if n, _ := strconv.ParseInt(id, 10, 64); gotID != id || evID <= n {
		t.Errorf("update event id %s for message %s; want message %s and an id above it", ev.ID, gotID, id)
	}
	if got := shownOf(li); !got.edited || got.body != "the deploy is on thursday" || got.author != "ann" {
		t.Errorf("update shows %+v; want the new body, edited", got)
	}
	if li.Find(".edited-mark[title]").Length() != 1 {
		t.Errorf("no edited time on hover in %s", ev.Data)
	}

	ann.post(msgPath("general", id, "edit"), url.Values{"body": {"on friday"}}, "HX-Request", "true").wantStatus(t, http.StatusNoContent)
	if got := pageState(t, bob, "general")[id]; got.body != "on friday" || !got.edited {
		t.Errorf("page shows %+v; want the last edit", got)
	}
	d := bob.get("/search?q=tuesdya").doc(t)
	if n := d.Find(".result").Length(); n != 0 {
		t.Errorf("search finds the old text in %d results", n)
	}
	if n := bob.get("/search?q=friday").doc(t).Find(`.result[data-id="` + id + `"]`).Length(); n != 1 {
		t.Errorf("search finds the new text in %d results; want 1", n)
	}
	ann.post(msgPath("general", id, "edit"), url.Values{"body": {"  "}}).wantError(t, http.StatusUnprocessableEntity)
	ann.get(msgPath("general", id, "edit")).wantStatus(t, http.StatusOK)
}

func TestEditDeleteRefused(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	ann.say("general", "mine alone")
	id := lastMessageID(t, ann, "general")
	ann.post("/rooms", url.Values{"name": {"hidden"}, "private": {"1"}}).wantStatus(t, http.StatusSeeOther)
	ann.say("hidden", "private words")
	hiddenID := lastMessageID(t, ann, "hidden")
	s := bob.open("/rooms/general/events?last_event_id=" + id)
	for !s.nextMessage().system {
	}
	s.close()
	var noticeID string
	if err := ts.st.DB.QueryRow(`SELECT id FROM messages WHERE kind NOT IN ('text', 'deleted') LIMIT 1`).Scan(&noticeID); err != nil {
		t.Fatal(err)
	}
	before := pageState(t, ann, "general")

	for _, tc := range []struct {
		name   string
		c      *client
		path   string
		form   url.Values
		status int
	}{
		{"EditByAnother", bob, msgPath("general", id, "edit"), url.Values{"body": {"theirs"}}, http.StatusForbidden},
		{"DeleteByAnother", bob, msgPath("general", id, "delete"), nil, http.StatusForbidden},
		{"EditNotice", ann, msgPath("general", noticeID, "edit"), url.Values{"body": {"x"}}, http.StatusConflict},
		{"DeleteNotice", ann, msgPath("general", noticeID, "delete"), nil, http.StatusConflict},
		{"OtherRoom", ann, msgPath("general", hiddenID, "edit"), url.Values{"body": {"x"}}, http.StatusNotFound},
		{"NoSuchID", ann, msgPath("general", "999999", "delete"), nil, http.StatusNotFound},
		{"NotAnID", ann, msgPath("general", "x1", "delete"), nil, http.StatusNotFound},
		{"UnreadableRoom", bob, msgPath("hidden", hiddenID, "reactions"), url.Values{"emoji": {"👍"}}, http.StatusNotFound},
		{"TwoEmoji", bob, msgPath("general", id, "reactions"), url.Values{"emoji": {"👍👍"}}, http.StatusUnprocessableEntity},
		{"NotEmoji", bob, msgPath("general", id, "reactions"), url.Values{"emoji": {"ok"}}, http.StatusUnprocessableEntity},
		{"TooLong", ann, msgPath("general", id, "edit"), url.Values{"body": {strings.Repeat("x", 4001)}}, http.StatusUnprocessableEntity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.post(tc.path, tc.form).wantStatus(t, tc.status)
		})
	}
	t.Run("CrossOrigin", func(t *testing.T) {
		ann.post(msgPath("general", id, "delete"), nil, "Sec-Fetch-Site", "cross-site").wantStatus(t, http.StatusForbidden)
	})
	if after := pageState(t, ann, "general"); !maps.Equal(before, after) {
		t.Errorf("refused changes changed the page:\n%v\n%v", before, after)
	}
}

func TestDeleteMessage(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	bob.say("general", "hello")
	start := lastMessageID(t, bob, "general")
	ann.say("general", "nebulousplatypus secret for @bob")
	id := lastMessageID(t, ann, "general")
	s := bob.open("/rooms/general/events?last_event_id=" + id)
	ann.post(msgPath("general", id, "delete"), nil, "HX-Request", "true").wantStatus(t, http.StatusNoContent)
	ev := s.next("delete")
	gotID, li := eventElement(t, ev)
	if gotID != id || !li.HasClass("deleted") || strings.Contains(ev.Data, "nebulousplatypus") || strings.Contains(ev.Data, "ann") {
		t.Errorf("delete event = %s; want message %s, class deleted, no text or author", ev.Data, id)
	}
	if ev.ID == id {
		t.Errorf("delete event has the message's id; want its own")
	}
	ann.post(msgPath("general", id, "delete"), nil).wantRedirect(t, "/rooms/general")

	for name, body := range map[string]string{
		"page":     bob.get("/rooms/general").body,
		"search":   bob.get("/search?q=nebulousplatypus").doc(t).Find(".results, .result").Text(),
		"mentions": bob.get("/mentions").body,
		"replay":   replayText(t, bob, "general", start),
	} {
		if strings.Contains(body, "nebulousplatypus") {
			t.Errorf("the %s still shows the deleted text", name)
		}
	}
	if got := pageState(t, bob, "general")[id]; !got.deleted || got.author != "" || got.body != "" {
		t.Errorf("page shows %+v; want a tombstone", got)
	}
	if _, err := ts.st.DB.Exec(`UPDATE members SET read_id = $1`, start); err != nil {
		t.Fatal(err)
	}
	bob.post("/rooms", url.Values{"name": {"elsewhere"}}).wantStatus(t, http.StatusSeeOther)
	_, unread, mentions := roomEntry(t, bob.get("/rooms/elsewhere").doc(t), "general")
	if unread != "0" || mentions != "0" {
		t.Errorf("bob's counts: %s unread, %s mentions; want 0 and 0 (the deleted message counts nowhere)", unread, mentions)
	}
}

// replayText reads what a stream resuming from after replays, up to the
// online list that follows the replay.
func replayText(t *testing.T, c *client, room, after string) string {
	t.Helper()
	s := c.open("/rooms/"+room+"/events", "Last-Event-ID", after)
	defer s.close()
	var b strings.Builder
	for {
		select {
		case ev := <-s.events:
			if ev.Type == "presence" {
				return b.String()
			}
			b.WriteString(ev.Data)
		case <-time.After(5 * time.Second):
			t.Fatal("no online list after the replay")
		}
	}
}

func TestReactions(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	ann.say("general", "ship it")
	id := lastMessageID(t, ann, "general")
	s := ann.open("/rooms/general/events?last_event_id=" + id)

	bob.post(msgPath("general", id, "reactions"), url.Values{"emoji": {"👍🏽"}}).wantRedirect(t, "/rooms/general")
	ann.post(msgPath("general", id, "reactions"), url.Values{"emoji": {"👍🏽"}}, "HX-Request", "true").wantStatus(t, http.StatusNoContent)
	ann.post(msgPath("general", id, "reactions"), url.Values{"emoji": {"🇫🇷"}}).wantRedirect(t, "/rooms/general")

	d := bob.get("/rooms/general").doc(t)
	r := d.Find("#msg-" + id + ` .reactions [data-emoji="👍🏽"]`)
	if r.AttrOr("data-count", "") != "2" || !strings.Contains(r.AttrOr("title", ""), "ann") || !r.HasClass("mine") {
		t.Errorf("👍🏽 = count %q title %q class %q; want 2, naming ann, marked bob's own",
			r.AttrOr("data-count", ""), r.AttrOr("title", ""), r.AttrOr("class", ""))
	}
	if f := d.Find("#msg-" + id + ` .reactions [data-emoji="🇫🇷"]`); f.HasClass("mine") || f.AttrOr("data-count", "") != "1" {
		t.Errorf("🇫🇷 = %q, class %q; want 1, not bob's", f.AttrOr("data-count", ""), f.AttrOr("class", ""))
	}
	// Updates of one message close together are merged: the last one
	// shows them all.
	for {
		_, li := eventElement(t, s.next("update"))
		if shownOf(li).reactions == "👍🏽=2 🇫🇷=1" {
			break
		}
	}
	bob.post(msgPath("general", id, "reactions"), url.Values{"emoji": {"👍🏽"}}).wantRedirect(t, "/rooms/general")
	if got := pageState(t, bob, "general")[id].reactions; got != "👍🏽=1 🇫🇷=1" {
		t.Errorf("after bob took his back: %q; want 👍🏽=1 🇫🇷=1", got)
	}
}

// A storm of reactions to one message costs each stream a few update
// frames, not one per reaction: the first at once, then one per 250 ms
// window (and one more whenever the room publishes something else, such
// as the notice of a stream that opened meanwhile).
func TestReactionStorm(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	ann.say("general", "vote")
	id := lastMessageID(t, ann, "general")
	s := ann.open("/rooms/general/events?last_event_id=" + id)
	emoji := []string{"👍", "🎉", "😂", "😮", "😢", "❤️", "🔥", "🚀", "👀", "✅"}
	start := time.Now()
	n := 0
	for i := range 50 {
		for _, c := range []*client{ann, bob} {
			c.post(msgPath("general", id, "reactions"), url.Values{"emoji": {emoji[i%len(emoji)]}}, "HX-Request", "true").
				wantStatus(t, http.StatusNoContent)
			n++
		}
	}
	took := time.Since(start)
	final := pageState(t, ann, "general")[id].reactions
	frames := 0
	for {
		_, li := eventElement(t, s.next("update"))
		frames++
		if shownOf(li).reactions == final {
			break
		}
	}
	for deadline := time.After(400 * time.Millisecond); ; {
		select {
		case ev := <-s.events:
			if ev.Type == "update" {
				frames++
			}
			continue
		case <-deadline:
		}
		break
	}
	if limit := 4 + int(took/(250*time.Millisecond))*2; frames > limit {
		t.Errorf("%d reactions in %v sent %d update frames; want at most %d", n, took, frames, limit)
	}
	t.Logf("%d reactions in %v: %d update frames", n, took, frames)
}

// A stream resuming from N brings a page as it was at N to what a fresh
// page shows: new messages, edits, reactions and deletes, across a
// restart.
func TestResumeCoversChanges(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	for i := range 5 {
		ann.say("general", fmt.Sprintf("message %d", i))
	}
	page := pageState(t, bob, "general")
	n := lastMessageID(t, bob, "general")
	ann.say("general", "after the cursor")
	late := lastMessageID(t, ann, "general")
	var ids []string // ann's messages on the page
	for id, m := range page {
		if m.author == "ann" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ann.post(msgPath("general", ids[1], "edit"), url.Values{"body": {"edited " + ids[1]}}).wantStatus(t, http.StatusSeeOther)
	bob.post(msgPath("general", ids[1], "reactions"), url.Values{"emoji": {"🎉"}}).wantStatus(t, http.StatusSeeOther)
	ann.post(msgPath("general", ids[2], "edit"), url.Values{"body": {"edited twice"}}).wantStatus(t, http.StatusSeeOther)
	ann.post(msgPath("general", ids[2], "edit"), url.Values{"body": {"edited thrice"}}).wantStatus(t, http.StatusSeeOther)
	ann.post(msgPath("general", ids[0], "delete"), nil).wantStatus(t, http.StatusSeeOther)
	ann.post(msgPath("general", late, "reactions"), url.Values{"emoji": {"👀"}}).wantStatus(t, http.StatusSeeOther)
	ann.post(msgPath("general", late, "delete"), nil).wantStatus(t, http.StatusSeeOther)
	ann.say("general", "the last word")

	ts.restart()

	s := bob.open("/rooms/general/events", "Last-Event-ID", n)
	last := int64(0)
	// The replay, then whatever the stream's opening itself stored (bob's
	// join notice) as it comes live.
	for quiet := time.After(5 * time.Second); ; {
		var ev sse.Event
		select {
		case ev = <-s.events:
		case <-quiet:
		}
		if ev.Type == "" {
			break
		}
		if ev.Type == "presence" || ev.Type == "rooms" {
			quiet = time.After(500 * time.Millisecond)
			continue
		}
		id, li := eventElement(t, ev)
		evID, _ := strconv.ParseInt(ev.ID, 10, 64)
		if evID <= last {
			t.Errorf("event id %d after %d: not increasing", evID, last)
		}
		last = evID
		switch ev.Type {
		case "message", "update", "delete":
			if _, ok := page[id]; ev.Type != "message" && !ok {
				t.Errorf("%s of message %s, which the page never had", ev.Type, id)
			}
			page[id] = shownOf(li)
		default:
			t.Errorf("unexpected %s event", ev.Type)
		}
	}
	if got := page[ids[1]]; got.body != "edited "+ids[1] || got.reactions != "🎉=1" || !page[ids[0]].deleted ||
		page[ids[2]].body != "edited thrice" || !page[late].deleted {
		t.Errorf("after the replay the page shows %v", page)
	}
	if fresh := pageState(t, bob, "general"); !maps.Equal(page, fresh) {
		t.Errorf("page at %s with the replay:\n%v\nfresh page:\n%v", n, page, fresh)
	}
}

// A deleted message stops counting as unread at once for people reading
// other rooms: their room list comes again.
func TestDeleteUpdatesCounts(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("ann")
	bob := ts.newClient().register("bob")
	bob.post("/rooms", url.Values{"name": {"elsewhere"}}).wantStatus(t, http.StatusSeeOther)
	s := bob.open("/rooms/elsewhere/events")
	unread := func() string {
		t.Helper()
		_, n, _ := roomEntry(t, parseHTML(t, s.next("rooms").Data), "general")
		return n
	}
	ann.say("general", "soon gone")
	id := lastMessageID(t, ann, "general")
	for unread() != "1" {
	}
	ann.post(msgPath("general", id, "delete"), nil).wantRedirect(t, "/rooms/general")
	for unread() != "0" {
	}
}
