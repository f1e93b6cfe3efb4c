package handlers_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/store"
)

// roomEntry returns the element of the room list (on a page or in a rooms
// event) for room, with its counts.
func roomEntry(t *testing.T, d *goquery.Document, room string) (found bool, unread, mentions string) {
	t.Helper()
	li := d.Find(`li[data-room="` + room + `"]`)
	if li.Length() == 0 {
		return false, "", ""
	}
	return true, li.AttrOr("data-unread", "?"), li.AttrOr("data-mentions", "?")
}

func parseHTML(t *testing.T, s string) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// dmRoom opens the direct room of c and handle and returns its name.
func dmRoom(t *testing.T, c *client, handle string) string {
	t.Helper()
	r := c.get("/dm/"+handle).wantStatus(t, http.StatusSeeOther)
	name, ok := strings.CutPrefix(r.Header.Get("Location"), "/rooms/")
	if !ok {
		t.Fatalf("GET /dm/%s went to %q", handle, r.Header.Get("Location"))
	}
	return name
}

// A private room does not exist for anyone outside it: every path answers
// as for a room that does not exist, and its name shows nowhere.
func TestPrivateRoomIsHiddenFromOutsiders(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	ann.post("/rooms", url.Values{"name": {"secret"}, "private": {"1"}}).wantRedirect(t, "/rooms/secret")
	bobs := bob.open(events)
	ann.say("secret", "the launch code is zebra, @bob")
	id := lastIDOf(t, ann, "secret")
	bobs.quietOf("mention", "rooms", 300*time.Millisecond) // bob may not read it: no mention
	if d := ann.get("/rooms/secret").doc(t); d.Find(".body .mention").Length() != 0 {
		t.Error("@bob renders as a mention in a room bob may not read")
	}

	for _, tc := range []struct {
		name string
		r    *response
	}{
		{"page", bob.get("/rooms/secret")},
		{"around", bob.get("/rooms/secret?around=" + id)},
		{"before", bob.get("/rooms/secret?before=" + id)},
		{"post", bob.post("/rooms/secret/messages", url.Values{"body": {"hi"}})},
		{"stream", bob.get("/rooms/secret/events")},
		{"join", bob.post("/rooms/secret/join", nil)},
		{"leave", bob.post("/rooms/secret/leave", nil)},
		{"members", bob.post("/rooms/secret/members", url.Values{"handle": {"Bob"}})},
	} {
		if tc.r.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d; want 404", tc.name, tc.r.StatusCode)
		}
		if strings.Contains(tc.r.body, "zebra") {
			t.Errorf("%s: the answer shows the room's text", tc.name)
		}
	}
	if n := ts.countMessagesIn("secret"); n != 1 {
		t.Errorf("%d messages in secret; want only ann's", n)
	}
	for _, path := range []string{"/rooms", "/rooms/general", "/mentions"} {
		if body := bob.get(path).body; strings.Contains(body, "secret") || strings.Contains(body, "zebra") {
			t.Errorf("GET %s shows the private room to an outsider", path)
		}
	}
	for _, q := range []string{"zebra", "launch code"} {
		d := bob.get("/search?q="+url.QueryEscape(q)).wantStatus(t, http.StatusOK).doc(t)
		if n := d.Find(".result").Length(); n != 0 || strings.Contains(d.Text(), "secret") {
			t.Errorf("search for %q shows an outsider %d results of the private room", q, n)
		}
		if n := ann.get("/search?q=" + url.QueryEscape(q)).doc(t).Find(".result").Length(); n != 1 {
			t.Errorf("search for %q finds %d of ann's own room; want 1", q, n)
		}
	}
	r := bob.post("/rooms", url.Values{"name": {"secret"}})
	if msg := r.wantError(t, http.StatusConflict); !strings.Contains(msg, "taken") {
		t.Errorf("creating a hidden room's name: %q", msg)
	}
	// Its creator reaches it by the same form.
	ann.post("/rooms", url.Values{"name": {"secret"}}).wantRedirect(t, "/rooms/secret")
}

// A member adds people to a private room; they read and post; one who
// leaves stops receiving it at once.
func TestPrivateRoomMembers(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	ts.newClient().register("Cy")
	ann.post("/rooms", url.Values{"name": {"secret"}, "private": {"1"}}).wantRedirect(t, "/rooms/secret")

	if msg := ann.post("/rooms/secret/members", url.Values{"handle": {"nobody"}}).wantError(t, http.StatusUnprocessableEntity); !strings.Contains(msg, "nobody") {
		t.Errorf("unknown handle: %q", msg)
	}
	ann.post("/rooms/secret/members", url.Values{"handle": {"bob"}}).wantRedirect(t, "/rooms/secret")
	ann.post("/rooms/secret/members", url.Values{"handle": {"Bob"}}).wantError(t, http.StatusConflict)

	page := bob.get("/rooms/secret").wantStatus(t, http.StatusOK).doc(t)
	if found, _, _ := roomEntry(t, page, "secret"); !found {
		t.Error("bob's room list lacks the room he was added to")
	}
	bob.post("/rooms/secret/members", url.Values{"handle": {"cy"}}).wantRedirect(t, "/rooms/secret")
	s := bob.open("/rooms/secret/events")
	ann.say("secret", "welcome")
	if m := s.nextText(); m.body != "welcome" {
		t.Fatalf("bob's stream got %+v", m)
	}
	bob.say("secret", "thanks")

	bob.post("/rooms/secret/leave", nil).wantRedirect(t, "/")
	s.waitEnd(2 * time.Second)
	bob.get("/rooms/secret").wantStatus(t, http.StatusNotFound)
	bob.post("/rooms/secret/leave", nil).wantStatus(t, http.StatusNotFound)
	if found, _, _ := roomEntry(t, bob.get("/rooms/general").doc(t), "secret"); found {
		t.Error("bob's list still shows the room he left")
	}

	// general is never left; a public room left twice says so.
	ann.post("/rooms/general/leave", nil).wantError(t, http.StatusUnprocessableEntity)
	ann.post("/rooms", url.Values{"name": {"lobby"}}).wantRedirect(t, "/rooms/lobby")
	ann.post("/rooms/lobby/leave", nil).wantRedirect(t, "/")
	ann.post("/rooms/lobby/leave", nil).wantError(t, http.StatusConflict)
}

// Public rooms: every signed-in user reads them; joining or posting makes
// them a member; the directory counts the members.
func TestPublicRoomJoin(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	cy := ts.newClient().register("Cy")
	ann.post("/rooms", url.Values{"name": {"lobby"}}).wantRedirect(t, "/rooms/lobby")

	page := bob.get("/rooms/lobby").wantStatus(t, http.StatusOK).doc(t)
	if found, _, _ := roomEntry(t, page, "lobby"); found {
		t.Error("a room bob only looks at is in his list")
	}
	bob.post("/rooms/lobby/join", nil).wantRedirect(t, "/rooms/lobby")
	cy.say("lobby", "hello") // posting makes a member too

	d := ann.get("/rooms").wantStatus(t, http.StatusOK).doc(t)
	li := d.Find(`[data-room="lobby"]`)
	if li.Length() != 1 || !strings.Contains(li.Text(), "3 members") {
		t.Errorf("directory entry %q; want lobby with 3 members", li.Text())
	}
	if found, _, _ := roomEntry(t, cy.get("/rooms/general").doc(t), "lobby"); !found {
		t.Error("posting did not make cy a member")
	}
}

// A direct room: its two people only, named so no public room can have
// the name, kept across renames, showing the other person.
func TestDirectRoom(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	cy := ts.newClient().register("Cy")

	name := dmRoom(t, ann, "bob")
	if store.ValidateRoomName(name) == nil {
		t.Errorf("direct room %q has a valid public room name", name)
	}
	if again := dmRoom(t, bob, "ANN"); again != name {
		t.Errorf("bob's way to ann is %q; want %q", again, name)
	}
	d := ann.get("/rooms/"+name).wantStatus(t, http.StatusOK).doc(t)
	if h := strings.TrimSpace(d.Find("h1").Text()); h != "Bob" {
		t.Errorf("ann's page of the direct room is titled %q; want Bob", h)
	}
	ann.say(name, "just us")
	cy.get("/rooms/"+name).wantStatus(t, http.StatusNotFound)
	cy.post("/rooms/"+name+"/join", nil).wantStatus(t, http.StatusNotFound)
	ann.post("/rooms/"+name+"/members", url.Values{"handle": {"cy"}}).wantStatus(t, http.StatusUnprocessableEntity)
	ann.get("/dm/nobody").wantStatus(t, http.StatusNotFound)

	bob.post("/profile", url.Values{"handle": {"Robert"}}).wantStatus(t, http.StatusSeeOther)
	if again := dmRoom(t, ann, "robert"); again != name {
		t.Errorf("after a rename the room is %q; want %q", again, name)
	}
	d = ann.get("/rooms/" + name).doc(t)
	if h := strings.TrimSpace(d.Find("h1").Text()); h != "Robert" {
		t.Errorf("after the rename the page is titled %q", h)
	}
	d = ann.get("/search?q=just").doc(t)
	if got := d.Find(".result .in a").Text(); got != "Robert" {
		t.Errorf("search names the direct room %q; want the other person, Robert", got)
	}
	if got := d.Find(`#search-room option[value="` + name + `"]`).Text(); got != "Robert" {
		t.Errorf("the room picker names the direct room %q; want Robert", got)
	}
	self := dmRoom(t, ann, "ann")
	ann.say(self, "a note to myself")
	ann.get("/rooms/"+self).wantStatus(t, http.StatusOK)
}

// A person's streams, whatever their room, get their room list when a
// count changes, and the messages that mention them; nobody else does.
func TestRoomsAndMentionEvents(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	cy := ts.newClient().register("Cy")
	ann.post("/rooms", url.Values{"name": {"work"}}).wantRedirect(t, "/rooms/work")
	bob.post("/rooms/work/join", nil).wantRedirect(t, "/rooms/work")

	bobs := bob.open(events) // bob looks at general
	cys := cy.open(events)
	anns := ann.open("/rooms/work/events")

	start := time.Now()
	ann.say("work", "standup at ten, @BOB and @nobody")
	var list *goquery.Document
	for list == nil {
		ev := bobs.next("rooms")
		d := parseHTML(t, ev.Data)
		if _, unread, _ := roomEntry(t, d, "work"); unread == "1" {
			list = d
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("bob's list took %v", d)
	}
	if _, unread, mentions := roomEntry(t, list, "work"); unread != "1" || mentions != "1" {
		t.Errorf("work: unread %s, mentions %s; want 1 and 1", unread, mentions)
	}
	ev := bobs.next("mention")
	m := parseHTML(t, ev.Data)
	if mention := m.Find(".body .mention"); mention.Length() != 1 || mention.Text() != "@BOB" {
		t.Errorf("mention event body %q; want one .mention of @BOB as typed", ev.Data)
	}
	cys.quietOf("rooms", "mention", 500*time.Millisecond)
	anns.quietOf("rooms", "mention", 0)

	// /mentions lists it, linking to it in its room.
	d := bob.get("/mentions").wantStatus(t, http.StatusOK).doc(t)
	res := d.Find(".result")
	if res.Length() != 1 || !strings.Contains(res.Find("a").AttrOr("href", ""), "/rooms/work?around=") {
		t.Errorf("/mentions: %d results, link %q", res.Length(), res.Find("a").AttrOr("href", ""))
	}

	// In a direct room every message of the other person is for you.
	name := dmRoom(t, ann, "cy")
	ann.say(name, "psst")
	if m := parseHTML(t, cys.next("mention").Data); !strings.Contains(m.Find(".body").Text(), "psst") {
		t.Error("cy was not told of ann's direct message")
	}
}

// Read positions: a room's latest page marks it read, its first showing
// after others wrote has the unread marker, and what a stream delivered
// counts as read.
func TestReadPositions(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	ann.post("/rooms", url.Values{"name": {"work"}}).wantRedirect(t, "/rooms/work")
	bob.post("/rooms/work/join", nil).wantRedirect(t, "/rooms/work")
	bob.say("work", "mine")
	for _, b := range []string{"one", "two", "three"} {
		ann.say("work", b)
	}
	if _, unread, _ := roomEntry(t, bob.get("/rooms/general").doc(t), "work"); unread != "3" {
		t.Errorf("work unread %s; want 3 (not bob's own)", unread)
	}
	d := bob.get("/rooms/work").doc(t)
	marker := d.Find(".unread-marker")
	if marker.Length() != 1 || marker.Next().Find(".body").Text() != "one" {
		t.Errorf("unread marker: %d, before %q; want one, before \"one\"", marker.Length(), marker.Next().Find(".body").Text())
	}
	d = bob.get("/rooms/work").doc(t)
	if d.Find(".unread-marker").Length() != 0 {
		t.Error("the marker is still there on the second showing")
	}
	if _, unread, _ := roomEntry(t, d, "work"); unread != "0" {
		t.Errorf("after reading, unread %s", unread)
	}

	// The stream the page opens, from its last message: on PostgreSQL the
	// feed publishes a message a few milliseconds after its POST is
	// answered, so a stream opened with no cursor may be given the page's
	// messages again.
	s := bob.open(d.Find("#app").AttrOr("data-sse-connect", ""))
	ann.say("work", "four")
	if m := s.nextText(); m.body != "four" {
		t.Fatalf("the stream gave %+v; want \"four\"", m)
	}
	if _, unread, _ := roomEntry(t, bob.get("/rooms/general").doc(t), "work"); unread != "0" {
		t.Errorf("a message the open stream delivered counts as unread (%s)", unread)
	}
	s.close()
	ts.restart()
	if _, unread, _ := roomEntry(t, bob.get("/rooms/general").doc(t), "work"); unread != "0" {
		t.Errorf("after a restart, unread %s; want 0", unread)
	}
}

// lastIDOf returns the id of the newest message c sees in room.
func lastIDOf(t *testing.T, c *client, room string) string {
	t.Helper()
	return c.get("/rooms/"+room).wantStatus(t, http.StatusOK).doc(t).Find("#app").AttrOr("data-last-id", "")
}

// countMessagesIn counts the stored messages of a room.
func (ts *testServer) countMessagesIn(room string) int {
	ts.t.Helper()
	var n int
	if err := ts.st.DB.QueryRow(`SELECT count(*) FROM messages m JOIN rooms r ON r.id = m.room_id WHERE r.name = $1`, room).Scan(&n); err != nil {
		ts.t.Fatal(err)
	}
	return n
}

// quietOf fails the test if the stream carries an event of one of types
// within d (or has one waiting).
func (s *stream) quietOf(typ1, typ2 string, d time.Duration) {
	s.t.Helper()
	deadline := time.After(d)
	for {
		for _, ev := range s.pending {
			if ev.Type == typ1 || ev.Type == typ2 {
				s.t.Fatalf("unexpected %s event: %s", ev.Type, ev.Data)
			}
		}
		select {
		case ev := <-s.events:
			s.pending = append(s.pending, ev)
		case <-deadline:
			return
		}
	}
}

// The composer's "@" suggests the people who may read the room, and only
// them.
func TestPeopleSuggestions(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	ts.newClient().register("Andy")
	ts.newClient().register("Bob")
	ann.post("/rooms", url.Values{"name": {"secret"}, "private": {"1"}}).wantRedirect(t, "/rooms/secret")
	ann.post("/rooms/secret/members", url.Values{"handle": {"bob"}}).wantRedirect(t, "/rooms/secret")

	for _, tc := range []struct{ room, q, want string }{
		{"general", "an", `["Andy","Ann"]`},
		{"general", "AN", `["Andy","Ann"]`},
		{"general", "", `["Andy","Ann","Bob"]`},
		{"secret", "", `["Ann","Bob"]`},
		{"secret", "and", `[]`},
	} {
		r := ann.get("/rooms/"+tc.room+"/people?q="+tc.q).wantStatus(t, http.StatusOK)
		if got := strings.TrimSpace(r.body); got != tc.want {
			t.Errorf("%s, %q: %s; want %s", tc.room, tc.q, got, tc.want)
		}
	}
	ann.get("/rooms/general/people?q=%22%3B").wantStatus(t, http.StatusBadRequest)
	andy := ts.newClient()
	andy.login("Andy")
	andy.get("/rooms/secret/people?q=").wantStatus(t, http.StatusNotFound)
}

// A browser reconnecting after a drop gets the person's room list at once:
// counts may have changed while it was away.
func TestReconnectGetsRoomList(t *testing.T) {
	ts := newTestServer(t, fastConfig())
	ann := ts.newClient().register("Ann")
	bob := ts.newClient().register("Bob")
	cy := ts.newClient().register("Cy")
	ann.post("/rooms", url.Values{"name": {"work"}}).wantRedirect(t, "/rooms/work")
	bob.post("/rooms/work/join", nil).wantRedirect(t, "/rooms/work")
	id := lastIDOf(t, bob, "general")
	ann.say("work", "while you were away") // bob has no stream open

	s := bob.open(events, "Last-Event-ID", id)
	if _, unread, _ := roomEntry(t, parseHTML(t, s.next("rooms").Data), "work"); unread != "1" {
		t.Errorf("the list on reconnecting says work has %s unread; want 1", unread)
	}
	// A page's first stream gets none: the page has the list. (Cy, whose
	// counts nothing changes, so that no live list can arrive either.)
	fresh := cy.open(events + "?last_event_id=" + id)
	fresh.quietOf("rooms", "mention", 300*time.Millisecond)
}
