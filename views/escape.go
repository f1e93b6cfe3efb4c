package views

import (
	"html"
	"strings"
)

// escapeBody escapes message text for HTML. A carriage return is written as
// a character reference: HTML parsers would otherwise fold CR LF into LF,
// and an event stream must never carry a raw CR inside a data line.
func escapeBody(s string) string {
	s = html.EscapeString(s)
	if strings.IndexByte(s, '\r') >= 0 {
		s = strings.ReplaceAll(s, "\r", "&#13;")
	}
	return s
}
