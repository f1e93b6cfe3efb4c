package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func TestMatchQuery(t *testing.T) {
	tests := []struct{ q, want string }{
		{"", ""},
		{"   \t\n", ""},
		{"deploy", `"deploy"*`},
		{"Café  au lait", `"Café"* "au" "lait"*`},
		{`"unbalanced`, `"unbalanced"*`},
		{`don't`, `"don t"*`},
		{"foo-bar", `"foo bar"*`},
		{`* - : ( ) " NEAR(`, `"NEAR"*`},
		{"a AND b OR NOT c", `"a" "AND"* "b" "OR" "NOT"* "c"`},
		{"col:value", `"col value"*`},
		{"\xff\xfeabc", `"abc"*`},
		{"a\x00b", `"a b"`},
		{strings.Repeat("!?.,;", 200), ""},
		{strings.Repeat("w ", 100), strings.TrimSpace(strings.Repeat(`"w" `, maxTerms))},
		{strings.Repeat("x", 100), `"` + strings.Repeat("x", maxTermLen) + `"*`},
	}
	for _, tt := range tests {
		if got := MatchQuery(tt.q); got != tt.want {
			t.Errorf("MatchQuery(%.40q) = %q; want %q", tt.q, got, tt.want)
		}
	}
}

// searchIDs returns the ids of a search's results, in order.
func searchIDs(t *testing.T, s *Store, q SearchQuery) []int64 {
	t.Helper()
	p, err := s.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(p.Results))
	for i, r := range p.Results {
		ids[i] = r.ID
	}
	return ids
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	if _, err := s.CreateRoom(ctx, "ops", KindPublic, ann.ID); err != nil {
		t.Fatal(err)
	}
	cafe := mustPost(t, s, GeneralRoom, ann, "Meet at the Café at noon")
	deploy := mustPost(t, s, "ops", ann, "The deployment went fine")
	both := mustPost(t, s, GeneralRoom, ann, "After the deployment, coffee at the cafe?")
	tags := mustPost(t, s, GeneralRoom, ann, "Use <b>bold</b> & say \"hi\"")
	notice, err := s.CreateMessage(ctx, Message{Room: GeneralRoom, UserID: ann.ID, Kind: KindJoin, Author: "ann", Body: "deployment cafe joined"})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		q    SearchQuery
		want []int64
	}{
		{"AccentsAndCase", SearchQuery{Text: "CAFE"}, []int64{both.ID, cafe.ID}},
		{"AccentTyped", SearchQuery{Text: "café"}, []int64{both.ID, cafe.ID}},
		{"Prefix", SearchQuery{Text: "deploy"}, []int64{both.ID, deploy.ID}},
		{"EveryWord", SearchQuery{Text: "deploy cafe"}, []int64{both.ID}},
		{"Room", SearchQuery{Text: "deploy", Room: "ops"}, []int64{deploy.ID}},
		{"Before", SearchQuery{Text: "deploy", Before: both.ID}, []int64{deploy.ID}},
		{"Markup", SearchQuery{Text: "<b>"}, []int64{tags.ID}},
		{"Quotes", SearchQuery{Text: `"hi`}, []int64{tags.ID}},
		{"NoWord", SearchQuery{Text: `"*-:()`}, nil},
		{"NoMatch", SearchQuery{Text: "zebra"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.q.UserID = ann.ID
			if got := searchIDs(t, s, tt.q); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("ids = %v; want %v", got, tt.want)
			}
		})
	}
	t.Run("NoticesNotFound", func(t *testing.T) {
		for _, id := range searchIDs(t, s, SearchQuery{UserID: ann.ID, Text: "joined"}) {
			if id == notice.ID {
				t.Error("a notice was found")
			}
		}
	})
	t.Run("Result", func(t *testing.T) {
		p, err := s.Search(ctx, SearchQuery{UserID: ann.ID, Text: "bold"})
		if err != nil || len(p.Results) != 1 {
			t.Fatalf("Search = %+v, %v; want one result", p, err)
		}
		r := p.Results[0]
		if r.Room != GeneralRoom || r.Author != "ann" || r.Body != tags.Body || r.CreatedAt.IsZero() {
			t.Errorf("result = %+v; want the message with room, author, body and time", r.Message)
		}
		want := []Fragment{{Text: "Use <b>"}, {Text: "bold", Match: true}, {Text: "</b> & say \"hi\""}}
		if fmt.Sprint(r.Snippet) != fmt.Sprint(want) {
			t.Errorf("snippet = %+v; want %+v", r.Snippet, want)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		for _, room := range []string{"nowhere", "No Such"} {
			if _, err := s.Search(ctx, SearchQuery{UserID: ann.ID, Text: "deploy", Room: room}); !errors.Is(err, ErrNotFound) {
				t.Errorf("room %q: err = %v; want ErrNotFound", room, err)
			}
		}
	})
}

func TestSearchPages(t *testing.T) {
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	var ids []int64
	for i := range 45 {
		ids = append(ids, mustPost(t, s, GeneralRoom, ann, fmt.Sprint("release note ", i)).ID)
	}
	var got []int64
	q := SearchQuery{UserID: ann.ID, Text: "release"}
	for pages := 0; ; pages++ {
		p, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(p.Results) > SearchPageSize || pages > 3 {
			t.Fatalf("page %d has %d results", pages, len(p.Results))
		}
		for _, r := range p.Results {
			got = append(got, r.ID)
		}
		if !p.More {
			break
		}
		if len(p.Results) != SearchPageSize || p.Next != p.Results[len(p.Results)-1].ID {
			t.Fatalf("page of %d with More and Next %d; want %d results and Next the last", len(p.Results), p.Next, SearchPageSize)
		}
		q.Before = p.Next
	}
	for i, j := 0, len(ids)-1; i < j; i, j = i+1, j-1 {
		ids[i], ids[j] = ids[j], ids[i]
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Errorf("pages gave %v; want every message once, newest first: %v", got, ids)
	}
}

// TestSearchFollowsChanges: the triggers keep the index in step with the
// messages in the same transaction; an edited or deleted message is found
// by its new text only.
func TestSearchFollowsChanges(t *testing.T) {
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	m := mustPost(t, s, GeneralRoom, ann, "the secret plan")
	find := func(text string) bool {
		return len(searchIDs(t, s, SearchQuery{UserID: ann.ID, Text: text})) > 0
	}
	if _, err := s.DB.Exec(`UPDATE messages SET body = 'the public plan' WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	if find("secret") || !find("public plan") {
		t.Errorf("after an edit: finds old text %v, new text %v; want false, true", find("secret"), find("public plan"))
	}
	if _, err := s.DB.Exec(`DELETE FROM messages WHERE id = $1`, m.ID); err != nil {
		t.Fatal(err)
	}
	if find("plan") {
		t.Error("a deleted message is found")
	}
	checkIndex(t, s)

	// Edited and deleted in the very transaction that stored them, before
	// they were indexed.
	err := s.posts.do(context.Background(), func(tx *sql.Tx) ([]Message, error) {
		general, err := s.Room(context.Background(), GeneralRoom)
		if err != nil {
			return nil, err
		}
		edited, err := s.insertMessage(context.Background(), tx, general.ID, Message{UserID: ann.ID, Kind: KindText, Author: "ann", Body: "draft alpha"})
		if err != nil {
			return nil, err
		}
		deleted, err := s.insertMessage(context.Background(), tx, general.ID, Message{UserID: ann.ID, Kind: KindText, Author: "ann", Body: "gone gamma"})
		if err != nil {
			return nil, err
		}
		if _, err := tx.Exec(`UPDATE messages SET body = 'final beta' WHERE id = $1`, edited.ID); err != nil {
			return nil, err
		}
		_, err = tx.Exec(`DELETE FROM messages WHERE id = $1`, deleted.ID)
		return nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if find("alpha") || !find("beta") || find("gamma") {
		t.Errorf("changed before indexing: finds alpha %v, beta %v, gamma %v; want false, true, false", find("alpha"), find("beta"), find("gamma"))
	}
	checkIndex(t, s)
}

// checkIndex runs FTS5's integrity check of the search index. On
// PostgreSQL the index is a generated column, in step by construction.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	if onPostgres() {
		return
	}
	if _, err := s.DB.Exec(`INSERT INTO messages_fts (messages_fts) VALUES ('integrity-check')`); err != nil {
		t.Errorf("FTS integrity check: %v", err)
	}
	var pending int
	if err := s.DB.QueryRow(`SELECT count(*) FROM messages_fts_pending`).Scan(&pending); err != nil || pending != 0 {
		t.Errorf("%d messages (%v) wait to be indexed after the commit; want none", pending, err)
	}
}

// TestSearchMigration: the migration indexes the messages stored before it.
func TestSearchMigration(t *testing.T) {
	sqliteOnly(t, "PostgreSQL databases start from one migration that has search")
	path := filepath.Join(t.TempDir(), "parley.db")
	s := mustOpenStoreAt(t, path)
	ann := mustCreateUser(t, s, "ann")
	old := mustPost(t, s, GeneralRoom, ann, "stored before search existed")
	if _, err := s.DB.Exec(`
		DROP TRIGGER messages_fts_insert; DROP TRIGGER messages_fts_update; DROP TRIGGER messages_fts_delete;
		DROP TABLE messages_fts; DROP TABLE messages_fts_pending;
		DELETE FROM schema_migrations WHERE name = '0003_search.sql'`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = mustOpenStoreAt(t, path)
	if got := searchIDs(t, s, SearchQuery{UserID: ann.ID, Text: "existed"}); fmt.Sprint(got) != fmt.Sprint([]int64{old.ID}) {
		t.Errorf("after the migration: %v; want [%d]", got, old.ID)
	}
}

// TestSearchPlan: search walks the full-text index newest first and finds
// each message by its id; it never scans messages or sorts.
func TestSearchPlan(t *testing.T) {
	sqliteOnly(t, "SQLite's query plan")
	s := mustOpenStore(t)
	q, args := searchSQL(1, `"x"*`, 0, 1)
	plan := queryPlan(t, s, q, args...)
	if !strings.Contains(plan, "SCAN messages_fts VIRTUAL TABLE") ||
		!strings.Contains(plan, "SEARCH m USING INTEGER PRIMARY KEY") ||
		strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "SCAN m\n") {
		t.Errorf("search plan:\n%s\nwant the FTS index, then messages by id, without sorting", plan)
	}
}

// TestSearchSnippet: a long message's snippet shows the words around the
// match, marked, with an ellipsis where it leaves text out; an accented
// word is marked when found without its accent.
func TestSearchSnippet(t *testing.T) {
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	words := make([]string, 100)
	for i := range words {
		words[i] = fmt.Sprint("w", i)
	}
	words[50] = "Crème"
	mustPost(t, s, GeneralRoom, ann, strings.Join(words, " "))
	p, err := s.Search(context.Background(), SearchQuery{UserID: ann.ID, Text: "creme"})
	if err != nil || len(p.Results) != 1 {
		t.Fatalf("Search = %+v, %v; want one result", p, err)
	}
	snip := p.Results[0].Snippet
	var marked []string
	for _, f := range snip {
		if f.Match {
			marked = append(marked, f.Text)
		}
	}
	if fmt.Sprint(marked) != "[Crème]" {
		t.Errorf("marked %q; want [Crème]", marked)
	}
	if first, last := snip[0].Text, snip[len(snip)-1].Text; !strings.HasPrefix(first, ellipsis) || !strings.HasSuffix(last, ellipsis) {
		t.Errorf("snippet %+v; want an ellipsis at both ends", snip)
	}
	if n := len(strings.Fields(fmt.Sprint(snip))); n > 2*snippetTokens {
		t.Errorf("snippet of %d words; want about %d", n, snippetTokens)
	}
}
