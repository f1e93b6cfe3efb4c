package store

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// A built query is nothing but quoted terms, most of them prefixes: inside the quotes no
// quote at all (the builder removed them; doubled ones would be fine too).
var matchShape = regexp.MustCompile(`^("(?:[^"]|"")+"\*?)( "(?:[^"]|"")+"\*?)*$`)

// FuzzMatchQuery: whatever a person types, the query built from it has
// the shape of quoted prefix terms, within the bounds, and FTS5 accepts it.
func FuzzMatchQuery(f *testing.F) {
	for _, s := range []string{"", `"`, "*", "NEAR(", "NEAR(a b, 2)", "-", ":", "a:b", "(a OR b) AND NOT c", `"unbalanced`,
		"café deploy", "\xff\xfe", "a\x00b", "^start", "x+y", "{a b}:c", strings.Repeat("!?", 500), strings.Repeat("é", 4000),
		"\ue000mark\ue001", "a\u0301e", "日本語のテキスト", "🙂 emoji"} {
		f.Add(s)
	}
	s, err := Open(context.Background(), f.TempDir()+"/fuzz.db")
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	if _, err := s.DB.Exec(`INSERT INTO messages_fts (rowid, body) VALUES (1, 'some text to match against, café')`); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, q string) {
		m := MatchQuery(q)
		if m == "" {
			return
		}
		if !matchShape.MatchString(m) {
			t.Fatalf("MatchQuery(%q) = %q; want quoted prefix terms only", q, m)
		}
		if n := strings.Count(m, `"`) / 2; n > maxTerms {
			t.Fatalf("MatchQuery(%q) has %d terms; want at most %d", q, n, maxTerms)
		}
		var n int
		if err := s.DB.QueryRow(`SELECT count(*) FROM messages_fts WHERE messages_fts MATCH ?`, m).Scan(&n); err != nil {
			t.Fatalf("MatchQuery(%q) = %q: FTS5 says %v", q, m, err)
		}
	})
}
