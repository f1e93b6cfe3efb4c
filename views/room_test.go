package views

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"parley/store"
)

// render renders c and parses the result for queries.
func render(t *testing.T, c templ.Component) *goquery.Document {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestMessage(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		body := "<script>alert(1)</script>\nsee https://example.com/x"
		doc := render(t, Message(store.Message{ID: 42, Kind: store.KindText, Author: "ann", Body: body, CreatedAt: at}))
		li := doc.Find("li#msg-42")
		if li.Length() != 1 {
			t.Fatalf("li#msg-42: %d; want 1", li.Length())
		}
		if id, _ := li.Attr("data-id"); id != "42" {
			t.Errorf("data-id = %q; want 42", id)
		}
		if li.HasClass("system") {
			t.Error("a text message has class system")
		}
		if got := li.Find(".author").Text(); got != "ann" {
			t.Errorf(".author = %q; want ann", got)
		}
		if got := li.Find(".body").Text(); got != body {
			t.Errorf(".body = %q; want %q", got, body)
		}
		if li.Find(".body script").Length() != 0 {
			t.Error("a <script> in the body became an element")
		}
		if href, _ := li.Find(".body a").Attr("href"); href != "https://example.com/x" {
			t.Errorf("link href = %q; want https://example.com/x", href)
		}
		if dt, _ := li.Find("time").Attr("datetime"); dt != "2026-03-04T05:06:07Z" {
			t.Errorf("datetime = %q; want 2026-03-04T05:06:07Z", dt)
		}
	})
	t.Run("System", func(t *testing.T) {
		doc := render(t, Message(store.Message{ID: 7, Kind: store.KindJoin, Author: "ann", Body: "ann joined", CreatedAt: at}))
		li := doc.Find("li#msg-7")
		if !li.HasClass("message") || !li.HasClass("system") {
			t.Errorf("class = %q; want message system", li.AttrOr("class", ""))
		}
		if li.Find(".author").Length() != 0 {
			t.Error("a system notice shows an author")
		}
		if _, ok := li.Attr("data-author"); ok {
			t.Error("a system notice names an author")
		}
		if got := li.Find(".body").Text(); got != "ann joined" {
			t.Errorf(".body = %q; want ann joined", got)
		}
	})
}

func TestRoomPageGroupsMessages(t *testing.T) {
	msg := func(id int64, author string, after time.Duration) store.Message {
		return store.Message{ID: id, Kind: store.KindText, Author: author, Body: "hi", CreatedAt: at.Add(after)}
	}
	join := store.Message{ID: 4, Kind: store.KindJoin, Author: "bob", Body: "bob joined", CreatedAt: at.Add(time.Minute)}
	doc := render(t, RoomPage(RoomView{
		Room: "general", Rooms: []store.RoomEntry{{Room: store.Room{ID: 1, Name: "general", Kind: store.KindPublic}}}, Me: store.User{ID: 1, Handle: "ann"},
		Messages: []store.Message{
			msg(1, "ann", 0),
			msg(2, "ann", time.Minute),      // continues 1
			msg(3, "bob", time.Minute),      // another author
			join,                            // a notice
			msg(5, "bob", 2*time.Minute),    // after a notice: new group
			msg(6, "bob", 20*time.Minute),   // long after: new group
			msg(7, "bob", 20*time.Minute+1), // continues 6
		},
	}))
	want := map[string]bool{"msg-2": true, "msg-7": true}
	doc.Find("#messages > li").Each(func(_ int, li *goquery.Selection) {
		id := li.AttrOr("id", "")
		if got := li.HasClass("cont"); got != want[id] {
			t.Errorf("%s continues the message before: %v; want %v", id, got, want[id])
		}
	})
	if v := doc.Find("#app").AttrOr("data-sse-connect", ""); v != "/rooms/general/events?last_event_id=7" {
		t.Errorf("stream URL = %q; want the newest id shown as the cursor", v)
	}
}

func TestHue(t *testing.T) {
	if hue("Ann") != hue("ann") {
		t.Error("the avatar colour depends on the case of the handle")
	}
	seen := map[int]bool{}
	for _, h := range []string{"ann", "bob", "cy", "dora", "eve", "fay", "gus", "hal", "ida", "jo", "kim", "lu"} {
		c := hue(h)
		if c < 0 || c >= 1<<hueBits {
			t.Fatalf("hue(%q) = %d; want 0 to %d", h, c, 1<<hueBits-1)
		}
		seen[c] = true
	}
	if len(seen) < 4 {
		t.Errorf("12 handles got only %d colours", len(seen))
	}
}
