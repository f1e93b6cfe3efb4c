package views

import (
	"html"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"parley/store"
)

// linkRel is the rel of every link made from user text: the page it opens
// gets no handle on ours and no referrer, and search engines learn that we
// do not vouch for it.
const linkRel = "noopener noreferrer nofollow ugc"

// maxLinkLen bounds the length of a URL that becomes a link; a longer one
// stays text.
const maxLinkLen = 2048

// linkify returns message text as HTML: the text escaped as escapeBody
// does, with every http or https URL in it made a link. Nothing else of the
// text can become markup: the only element it adds is our <a> with a fixed
// rel and target and an href that starts with http:// or https://.
func linkify(s string) string { return richText(s, nil) }

// richText is linkify that also makes each mention of a handle in
// mentions (a message's Mentions) an element of class "mention" linking to
// a conversation with that person; its text stays exactly as typed.
func richText(s string, mentions []string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	for s != "" {
		start, end := nextLink(s)
		if start < 0 {
			writeMentions(&b, s, mentions)
			break
		}
		writeMentions(&b, s[:start], mentions)
		u := s[start:end]
		b.WriteString(`<a href="`)
		b.WriteString(html.EscapeString(u))
		b.WriteString(`" rel="` + linkRel + `" target="_blank">`)
		b.WriteString(escapeBody(u))
		b.WriteString(`</a>`)
		s = s[end:]
	}
	return b.String()
}

// nextLink finds the first URL in s that should become a link and returns
// its bounds, or -1, -1.
func nextLink(s string) (start, end int) {
	off := 0
	for {
		i := indexScheme(s[off:])
		if i < 0 {
			return -1, -1
		}
		start = off + i
		end = start + urlLen(s[start:])
		if linkable(s, start, end) {
			return start, end
		}
		off = start + len("http")
	}
}

// indexScheme returns the index of the first "http://" or "https://" in s,
// in any case, or -1.
func indexScheme(s string) int {
	for i := 0; i+len("http://") <= len(s); i++ {
		if s[i] != 'h' && s[i] != 'H' || !strings.EqualFold(s[i:i+4], "http") {
			continue
		}
		rest := s[i+4:]
		if strings.HasPrefix(rest, "://") || len(rest) >= 4 && (rest[0] == 's' || rest[0] == 'S') && rest[1:4] == "://" {
			return i
		}
	}
	return -1
}

// urlLen returns the length of the URL at the start of s: up to white
// space, a control character or a character that cannot be part of a URL
// in prose, less trailing punctuation and unbalanced closing brackets.
func urlLen(s string) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if r == utf8.RuneError || unicode.IsSpace(r) || unicode.IsControl(r) ||
			strings.ContainsRune(`<>"'`+"`"+`\{}|^`, r) {
			break
		}
		n += size
	}
	for n > 0 {
		c := s[n-1]
		switch {
		case strings.IndexByte(".,;:!?*", c) >= 0:
			n--
			continue
		case c == ')' && strings.Count(s[:n], "(") < strings.Count(s[:n], ")"),
			c == ']' && strings.Count(s[:n], "[") < strings.Count(s[:n], "]"):
			n--
			continue
		}
		break
	}
	return n
}

// linkable reports whether s[start:end] is a URL to link: it starts a word,
// is not too long, and parses as an http or https URL with a host.
func linkable(s string, start, end int) bool {
	if start > 0 {
		r, _ := utf8.DecodeLastRuneInString(s[:start])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return false // "xhttp://..." is not a URL in prose
		}
	}
	if end-start > maxLinkLen {
		return false
	}
	u, err := url.Parse(s[start:end])
	if err != nil {
		return false
	}
	scheme := strings.ToLower(u.Scheme)
	return (scheme == "http" || scheme == "https") && u.Hostname() != "" && u.Opaque == ""
}

// writeMentions writes text escaped, with its mentions marked.
func writeMentions(b *strings.Builder, text string, mentions []string) {
	if len(mentions) == 0 {
		b.WriteString(escapeBody(text))
		return
	}
	at := 0
	for _, sp := range store.MentionSpans(text) {
		key := store.MentionedKey(text, sp, mentions)
		if key == "" {
			continue
		}
		end := sp.Start + 1 + len(key) // the key is the handle as typed, folded
		b.WriteString(escapeBody(text[at:sp.Start]))
		b.WriteString(`<a class="mention" href="`)
		b.WriteString(html.EscapeString(dmURL(text[sp.Start+1 : end])))
		b.WriteString(`">`)
		b.WriteString(escapeBody(text[sp.Start:end]))
		b.WriteString(`</a>`)
		at = end
	}
	b.WriteString(escapeBody(text[at:]))
}

// dmURL is the address that opens a conversation with handle.
func dmURL(handle string) string { return "/dm/" + url.PathEscape(handle) }
