package views

import (
	"io"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// link is one <a> found in rendered message HTML.
type link struct {
	Href, Text string
}

// parseBody reads the HTML that linkify made for a message body. It fails
// the test when the HTML holds anything but text and our links, and it
// returns the text as a reader sees it and the links.
func parseBody(t *testing.T, in, out string) (text string, links []link) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(`<div class="body">` + out + `</div>`))
	var sb strings.Builder
	var cur *link
	depth := 0
	for {
		tt := z.Next()
		tok := z.Token()
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				t.Fatalf("linkify(%q): tokenizer: %v", in, z.Err())
			}
			if depth != 0 || cur != nil {
				t.Fatalf("linkify(%q) = %q: unbalanced elements", in, out)
			}
			return sb.String(), links
		case html.TextToken:
			sb.WriteString(tok.Data)
			if cur != nil {
				cur.Text += tok.Data
			}
		case html.StartTagToken:
			switch {
			case tok.Data == "div" && depth == 0:
				depth++
			case tok.Data == "a" && depth == 1 && cur == nil:
				cur = &link{Href: checkLinkAttrs(t, in, out, tok.Attr)}
			default:
				t.Fatalf("linkify(%q) = %q: user text made a <%s> element", in, out, tok.Data)
			}
		case html.EndTagToken:
			switch {
			case tok.Data == "a" && cur != nil:
				links = append(links, *cur)
				cur = nil
			case tok.Data == "div" && depth == 1 && cur == nil:
				depth--
			default:
				t.Fatalf("linkify(%q) = %q: unexpected </%s>", in, out, tok.Data)
			}
		default:
			t.Fatalf("linkify(%q) = %q: user text made a %v token", in, out, tt)
		}
	}
}

// checkLinkAttrs fails unless attrs are exactly ours: an http(s) href, the
// fixed rel and target. It returns the href.
func checkLinkAttrs(t *testing.T, in, out string, attrs []html.Attribute) string {
	t.Helper()
	want := map[string]string{"rel": linkRel, "target": "_blank"}
	href := ""
	seen := map[string]bool{}
	for _, a := range attrs {
		if seen[a.Key] || a.Namespace != "" {
			t.Fatalf("linkify(%q) = %q: attribute %q twice or namespaced", in, out, a.Key)
		}
		seen[a.Key] = true
		switch a.Key {
		case "href":
			href = a.Val
		case "rel", "target":
			if a.Val != want[a.Key] {
				t.Fatalf("linkify(%q) = %q: %s=%q; want %q", in, out, a.Key, a.Val, want[a.Key])
			}
		default:
			t.Fatalf("linkify(%q) = %q: user text made attribute %q", in, out, a.Key)
		}
	}
	if len(seen) != 3 {
		t.Fatalf("linkify(%q) = %q: link attributes %v; want href, rel, target", in, out, attrs)
	}
	u, err := url.Parse(href)
	if err != nil || (strings.ToLower(u.Scheme) != "http" && strings.ToLower(u.Scheme) != "https") || u.Host == "" {
		t.Fatalf("linkify(%q) = %q: href %q is not an http(s) URL with a host", in, out, href)
	}
	return href
}

func TestLinkify(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		links []link
	}{
		{"Plain", "see https://example.com/a?b=1&c=2 now",
			[]link{{"https://example.com/a?b=1&c=2", "https://example.com/a?b=1&c=2"}}},
		{"HTTP", "http://example.com", []link{{"http://example.com", "http://example.com"}}},
		{"UpperCaseScheme", "HTTPS://EXAMPLE.COM/X", []link{{"HTTPS://EXAMPLE.COM/X", "HTTPS://EXAMPLE.COM/X"}}},
		{"TrailingPunctuation", "read https://example.com/doc. Then https://example.org/x, ok?",
			[]link{{"https://example.com/doc", "https://example.com/doc"}, {"https://example.org/x", "https://example.org/x"}}},
		{"InParentheses", "(see https://example.com/a_(b))",
			[]link{{"https://example.com/a_(b)", "https://example.com/a_(b)"}}},
		{"QuoteEnds", `"https://example.com/x"onmouseover="alert(1)"`,
			[]link{{"https://example.com/x", "https://example.com/x"}}},
		{"AngleEnds", "<https://example.com/><script>alert(1)</script>",
			[]link{{"https://example.com/", "https://example.com/"}}},
		{"NewlineEnds", "https://example.com/a\nhttps://example.com/b",
			[]link{{"https://example.com/a", "https://example.com/a"}, {"https://example.com/b", "https://example.com/b"}}},
		{"Unicode", "https://例え.jp/パス ok", []link{{"https://例え.jp/パス", "https://例え.jp/パス"}}},
		{"JavaScript", "javascript:alert(1)", nil},
		{"Data", "data:text/html,<b>x</b>", nil},
		{"NoHost", "http:// and https:///path", nil},
		{"InsideWord", "xhttps://example.com", nil},
		{"SchemeOnly", "https://", nil},
		{"Ftp", "ftp://example.com", nil},
		{"Script", "<script>alert('x')</script>", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := linkify(tt.in)
			text, links := parseBody(t, tt.in, out)
			if text != tt.in {
				t.Errorf("text of linkify(%q) = %q; want the input", tt.in, text)
			}
			if len(links) != len(tt.links) {
				t.Fatalf("linkify(%q) = %q: %d links; want %d", tt.in, out, len(links), len(tt.links))
			}
			for i, l := range links {
				if l != tt.links[i] {
					t.Errorf("link %d of linkify(%q) = %+v; want %+v", i, tt.in, l, tt.links[i])
				}
			}
		})
	}
}

func TestLinkifyKeepsCarriageReturn(t *testing.T) {
	out := linkify("a\r\nb")
	if strings.ContainsRune(out, '\r') {
		t.Errorf("linkify(%q) = %q; want CR as a character reference", "a\r\nb", out)
	}
}

// FuzzLinkify checks that no text makes any markup but our links: the
// rendered body holds only text and <a> elements with exactly our
// attributes and an http(s) href, a reader sees the input unchanged, and
// every link shows its own address.
func FuzzLinkify(f *testing.F) {
	for _, s := range []string{
		"", "hello", "https://example.com", "see http://a.b/c?d=e&f=g#h.",
		`<a href="javascript:alert(1)">x</a>`, "https://x.y/\"><img src=x onerror=alert(1)>",
		"https://a.b/&amp;&lt;", "(https://a.b/(c)))", "HTTP://A.B", "http://[::1]:80/",
		"https://a.b/\u2028x", "https://a.b/\x00", "a\r\nhttps://b.c\rd", "&#x6a;avascript:x",
		"https://user:pass@host/", "https://a.b/%3Cscript%3E", "http://http://x", "https://",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		if !utf8.ValidString(in) || strings.ContainsRune(in, 0) {
			t.Skip("bodies are valid UTF-8; browsers show NUL as U+FFFD")
		}
		out := linkify(in)
		text, links := parseBody(t, in, out)
		if want := strings.ReplaceAll(in, "\r\n", "\n"); text != in && text != want {
			t.Fatalf("text of linkify(%q) = %q; want the input", in, text)
		}
		for _, l := range links {
			if l.Text != l.Href {
				t.Fatalf("linkify(%q): link text %q differs from its href %q", in, l.Text, l.Href)
			}
		}
	})
}
