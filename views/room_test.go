package views

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"
	"golang.org/x/net/html"

	"parley/store"
)

// render renders c and parses the result as the body of a document.
func render(t *testing.T, c templ.Component) *html.Node {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Render(context.Background(), &buf); err != nil {
		t.Fatalf("render: %v", err)
	}
	doc, err := html.Parse(&buf)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return doc
}

// find returns the elements under n for which match is true, in document
// order.
func find(n *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	for c := range n.Descendants() {
		if c.Type == html.ElementNode && match(c) {
			out = append(out, c)
		}
	}
	return out
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func hasClass(n *html.Node, class string) bool {
	v, _ := attr(n, "class")
	return strings.Contains(" "+v+" ", " "+class+" ")
}

func byClass(class string) func(*html.Node) bool {
	return func(n *html.Node) bool { return hasClass(n, class) }
}

func textOf(n *html.Node) string {
	var b strings.Builder
	for c := range n.Descendants() {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	}
	return b.String()
}

var at = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func TestMessage(t *testing.T) {
	t.Run("Text", func(t *testing.T) {
		body := "<script>alert(1)</script>\nsee https://example.com/x"
		doc := render(t, Message(store.Message{ID: 42, Kind: store.KindText, Author: "ann", Body: body, CreatedAt: at}))
		lis := find(doc, func(n *html.Node) bool { return n.Data == "li" })
		if len(lis) != 1 {
			t.Fatalf("rendered %d li; want 1", len(lis))
		}
		li := lis[0]
		if id, _ := attr(li, "id"); id != "msg-42" {
			t.Errorf("id = %q; want msg-42", id)
		}
		if id, _ := attr(li, "data-id"); id != "42" {
			t.Errorf("data-id = %q; want 42", id)
		}
		if hasClass(li, "system") {
			t.Error("a text message has class system")
		}
		if a := find(li, byClass("author")); len(a) != 1 || textOf(a[0]) != "ann" {
			t.Errorf(".author = %v; want one, with ann", a)
		}
		b := find(li, byClass("body"))
		if len(b) != 1 || textOf(b[0]) != body {
			t.Fatalf(".body text = %q; want %q", textOf(b[0]), body)
		}
		if s := find(b[0], func(n *html.Node) bool { return n.Data == "script" }); len(s) != 0 {
			t.Error("a <script> in the body became an element")
		}
		tm := find(li, func(n *html.Node) bool { return n.Data == "time" })
		if len(tm) != 1 {
			t.Fatalf("%d time elements; want 1", len(tm))
		}
		if dt, _ := attr(tm[0], "datetime"); dt != "2026-03-04T05:06:07Z" {
			t.Errorf("datetime = %q; want 2026-03-04T05:06:07Z", dt)
		}
	})
	t.Run("System", func(t *testing.T) {
		doc := render(t, Message(store.Message{ID: 7, Kind: store.KindJoin, Author: "ann", Body: "ann joined", CreatedAt: at}))
		li := find(doc, func(n *html.Node) bool { return n.Data == "li" })[0]
		if !hasClass(li, "system") || !hasClass(li, "message") {
			t.Errorf("class = %v; want message system", li.Attr)
		}
		if a := find(li, byClass("author")); len(a) != 0 {
			t.Error("a system notice shows an author")
		}
		if _, ok := attr(li, "data-author"); ok {
			t.Error("a system notice names an author")
		}
		if b := find(li, byClass("body")); len(b) != 1 || textOf(b[0]) != "ann joined" {
			t.Errorf(".body = %v; want ann joined", b)
		}
	})
}

func TestRoomPageGroupsMessages(t *testing.T) {
	msg := func(id int64, author string, after time.Duration) store.Message {
		return store.Message{ID: id, Kind: store.KindText, Author: author, Body: "hi", CreatedAt: at.Add(after)}
	}
	join := store.Message{ID: 4, Kind: store.KindJoin, Author: "bob", Body: "bob joined", CreatedAt: at.Add(time.Minute)}
	doc := render(t, RoomPage(RoomView{
		Room: "general", Rooms: []string{"general"}, Me: store.User{ID: 1, Handle: "ann"},
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
	for _, li := range find(doc, byClass("message")) {
		id, _ := attr(li, "id")
		if got := hasClass(li, "cont"); got != want[id] {
			t.Errorf("%s continues the message before: %v; want %v", id, got, want[id])
		}
	}
	if v, _ := attr(find(doc, func(n *html.Node) bool { v, _ := attr(n, "id"); return v == "app" })[0], "data-sse-connect"); v != "/rooms/general/events?last_event_id=7" {
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
