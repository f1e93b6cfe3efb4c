package handlers

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"

	"parley/internal/sse"
	"parley/store"
)

// FuzzMessageFrame sends an arbitrary body through the whole path a message
// takes to a browser: rendered by the page's component, framed as an event,
// parsed as EventSource does, parsed as HTML. The stream must yield exactly
// one message event, the element must carry exactly the body as text, and
// no element but a link may arise from the user's text.
func FuzzMessageFrame(f *testing.F) {
	for _, s := range []string{
		"hello", "a\r\n\r\nevent: x\ndata: y", "b\revent: logout\rdata: z", "id: 9\n\nretry: 1",
		"<script>alert(1)</script>", `"><img src=x onerror=alert(1)>`, "&amp; &#13; &lt;", "see https://example.com/a?b=1&c=<2>",
		"javascript:alert(1)", "\u2028\u2029", "tab\there", "htTp://0 and JavaScript://x%0aalert(1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if !utf8.ValidString(body) || strings.ContainsRune(body, 0) {
			t.Skip("the store refuses invalid UTF-8; HTML parsers replace NUL")
		}
		m := store.Message{ID: 42, Room: "general", UserID: 1, Kind: store.KindText, Author: "ann", Body: body,
			CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		frame, err := messageFrame(m)
		if err != nil {
			t.Fatal(err)
		}
		r := sse.NewReader(strings.NewReader(string(frame.Data)))
		ev, err := r.Next()
		if err != nil || ev.Type != "message" || ev.ID != "42" {
			t.Fatalf("first event %+v, %v; want message 42", ev, err)
		}
		if extra, err := r.Next(); err == nil {
			t.Fatalf("a second event %+v from one message", extra)
		}
		doc, err := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
		if err != nil {
			t.Fatal(err)
		}
		li := doc.Find("body > *")
		if li.Length() != 1 || li.AttrOr("id", "") != "msg-"+strconv.Itoa(42) || li.AttrOr("data-id", "") != "42" {
			t.Fatalf("event holds %d top elements (%q); want one #msg-42", li.Length(), ev.Data)
		}
		b := li.Find(".body")
		if got := b.Text(); got != body {
			t.Fatalf(".body text = %q; want %q", got, body)
		}
		if li.Find(".author").Text() != "ann" {
			t.Fatalf("author lost in %q", ev.Data)
		}
		b.Find("*").Each(func(_ int, s *goquery.Selection) {
			if goquery.NodeName(s) != "a" {
				t.Fatalf("user text produced a <%s> element: %q", goquery.NodeName(s), ev.Data)
			}
			// The scheme may come in any case, as people type it ("HTTP://").
			href := strings.ToLower(s.AttrOr("href", ""))
			if !strings.HasPrefix(href, "https://") && !strings.HasPrefix(href, "http://") {
				t.Fatalf("link to %q from user text", href)
			}
			for _, a := range s.Nodes[0].Attr {
				if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "style" {
					t.Fatalf("user text produced attribute %s", a.Key)
				}
			}
		})
	})
}
