package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Search is full-text search over what users wrote: on SQLite with FTS5
// (the messages_fts table of migration 0003, kept in step with messages by
// triggers), on PostgreSQL with a tsvector column and its GIN index
// (postgres.go). What a person types is never query syntax: queryTerms
// keeps only words, and each becomes a quoted prefix term (MatchQuery for
// FTS5, tsQuery for PostgreSQL), so quotes, '*', '-', ':', '&', NEAR, AND,
// OR and parentheses are plain text. Results are newest first, pages of
// SearchPageSize, and only from rooms the reader may read (readableBy).

// SearchPageSize is how many results a search page shows.
const SearchPageSize = 20

// Bounds on what one query may ask of the index: words beyond maxTerms are
// ignored and a word is cut after maxTermLen characters (still matching
// as a prefix), so no query, however long, costs more than a few terms.
const (
	maxTerms   = 12
	maxTermLen = 64
)

// minPrefixLen is the length from which a word also finds longer words.
// Shorter words ("a", "to", "db") are matched whole: as prefixes they
// would match a large part of every language's words, and merging all
// their lists of messages costs up to hundreds of milliseconds in a large
// database, to find what nobody asked for.
const minPrefixLen = 3

// isTokenRune reports whether the FTS5 unicode61 tokenizer keeps r in a
// word (its default categories, L* N* Co); every other character separates
// words.
func isTokenRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Co, r)
}

// term is one typed word as the index sees it: its runs of word
// characters separated by single spaces or more, and whether it is
// matched as a prefix.
type term struct {
	words  string
	prefix bool
}

// queryTerms splits what a person typed into at most maxTerms terms, one
// per white-space separated word that holds a word character. Characters
// the tokenizer does not keep in words (and invalid UTF-8) become spaces,
// so no input is ever parsed as query syntax; a word is cut after
// maxTermLen word characters, and is a prefix from minPrefixLen on.
func queryTerms(q string) []term {
	var terms []term
	for _, field := range strings.Fields(q) {
		if len(terms) == maxTerms {
			break
		}
		word, n := make([]rune, 0, len(field)), 0
		for _, r := range field {
			if n == maxTermLen {
				break
			}
			if !isTokenRune(r) || r == utf8.RuneError {
				r = ' '
			} else {
				n++
			}
			word = append(word, r)
		}
		w := strings.TrimSpace(string(word))
		if n == 0 || w == "" {
			continue
		}
		terms = append(terms, term{words: w, prefix: n >= minPrefixLen})
	}
	return terms
}

// MatchQuery returns the FTS5 query that finds the messages containing
// every word of q, each as a prefix ("deploy" finds "deployment") when it
// has at least minPrefixLen letters, or "" when q has no word at all. Each
// term (queryTerms) becomes one quoted phrase ("don't" is the phrase
// "don t", as the tokenizer splits the text), with embedded quotes
// doubled, followed by '*'.
func MatchQuery(q string) string {
	var b strings.Builder
	for i, t := range queryTerms(q) {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(t.words, `"`, `""`))
		b.WriteByte('"')
		if t.prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// SearchQuery is one search: what the reader typed, optionally one room,
// and for later pages the id the previous page ended at.
type SearchQuery struct {
	UserID int64  // the reader
	Text   string // as typed
	Room   string // "" for every room the reader may read
	Before int64  // only results with lower ids; 0 for the first page
}

// Fragment is a piece of a result's snippet; Match marks the matched words.
type Fragment struct {
	Text  string
	Match bool
}

// Result is a message that matched, with the part of its body around the
// matches.
type Result struct {
	Message
	Snippet []Fragment
}

// SearchPage is a page of results, newest first.
type SearchPage struct {
	Results []Result
	// More reports older results beyond this page; Next is the Before of
	// the page that shows them.
	More bool
	Next int64
}

// Markers that snippet() puts around matched words: characters of Unicode's
// private use area, which no keyboard types. A body that holds one of them
// is shown without highlights rather than with false ones.
const (
	markOpen  = "\ue000"
	markClose = "\ue001"
	ellipsis  = "…"
)

// snippetTokens is how many words a snippet shows around the matches.
const snippetTokens = 32

// Search returns the messages that contain every word of q.Text, newest
// first, from the rooms q.UserID may read (or from q.Room alone, which
// answers ErrNotFound when the reader may not read it). A query without
// words finds nothing.
func (s *Store) Search(ctx context.Context, q SearchQuery) (SearchPage, error) {
	var roomID int64
	if q.Room != "" {
		room, err := s.CanRead(ctx, q.UserID, q.Room)
		if err != nil {
			return SearchPage{}, err
		}
		roomID = room.ID
	}
	query, args, ok := s.d.search(q.UserID, q.Text, q.Before, roomID)
	if !ok {
		return SearchPage{}, nil
	}
	rows, err := s.DB.QueryContext(ctx, query, args...)
	if err != nil {
		return SearchPage{}, wrap("search", err)
	}
	defer rows.Close()
	var p SearchPage
	for rows.Next() {
		var res Result
		var userID *int64
		var snippet string
		if err := rows.Scan(&res.ID, &userID, &res.Kind, &res.Author, &res.Body, &res.CreatedAt, &res.Room, &snippet); err != nil {
			return SearchPage{}, wrap("search", err)
		}
		if userID != nil {
			res.UserID = *userID
		}
		res.Snippet = s.d.snippet(snippet, res.Body)
		p.Results = append(p.Results, res)
	}
	if err := rows.Err(); err != nil {
		return SearchPage{}, wrap("search", err)
	}
	if len(p.Results) > SearchPageSize {
		p.Results, p.More = p.Results[:SearchPageSize], true
		p.Next = p.Results[SearchPageSize-1].ID
	}
	return p, nil
}

// indexPendingQuery indexes the messages stored in the transaction so
// far, in one statement (see migration 0003); clearPendingQuery then
// empties the queue. Both are prepared once: the writer runs them at every
// commit.
const (
	indexPendingQuery = `
		INSERT INTO messages_fts (rowid, body)
		SELECT m.id, m.body FROM messages_fts_pending p JOIN messages m ON m.id = p.id`
	clearPendingQuery = `DELETE FROM messages_fts_pending`
)

// indexPending adds the messages stored in tx to the search index. The
// writer (batcher.runTx) runs it before every commit, so every committed
// message is searchable; a message stored by any other path would wait
// for the writer's next commit.
func (s *Store) indexPending(tx *sql.Tx) error {
	if !s.d.indexPending {
		return nil
	}
	for _, st := range []*sql.Stmt{s.stmts.indexPending, s.stmts.clearPending} {
		if _, err := tx.Stmt(st).Exec(); err != nil {
			return fmt.Errorf("index new messages: %w", err)
		}
	}
	return nil
}

// StopIndexing leaves the messages stored from now on out of the
// full-text index, by dropping the trigger that queues them, so that a
// benchmark can measure what the index costs (`make bench-insert`). Search
// on such a database no longer finds new messages: it is for benchmark
// databases only, and SQLite only.
func (s *Store) StopIndexing(ctx context.Context) error {
	if !s.d.indexPending {
		return fmt.Errorf("store: StopIndexing is for SQLite databases")
	}
	_, err := s.DB.ExecContext(ctx, `DROP TRIGGER IF EXISTS messages_fts_insert`)
	return err
}

// sqliteSearch is the SQLite dialect's search: an FTS5 query (MatchQuery)
// run by searchSQL.
func sqliteSearch(userID int64, text string, before, roomID int64) (string, []any, bool) {
	match := MatchQuery(text)
	if match == "" {
		return "", nil, false
	}
	q, args := searchSQL(userID, match, before, roomID)
	return q, args, true
}

// searchSQL returns the query of a search page and its arguments: match in
// the full-text index, newest first from before (0: from the newest), in
// the rooms userID may read, or in room roomID alone when it is not 0. It
// fetches one result more than a page, to tell whether there are more.
func searchSQL(userID int64, match string, before, roomID int64) (string, []any) {
	if before <= 0 {
		before = maxID
	}
	// CROSS JOIN keeps this order: the index yields ids newest first, and
	// each is looked up by its primary key, until a page is full.
	query := `
		SELECT m.id, m.user_id, m.kind, m.author, m.body, m.created_at, r.name,
			snippet(messages_fts, 0, '` + markOpen + `', '` + markClose + `', '` + ellipsis + `', $1)
		FROM messages_fts
		CROSS JOIN messages m ON m.id = messages_fts.rowid
		CROSS JOIN rooms r ON r.id = m.room_id
		WHERE messages_fts MATCH $2 AND messages_fts.rowid < $3 AND ` + readableBy("m.room_id", "$4")
	args := []any{snippetTokens, match, before, userID}
	query, args = inRoom(query, args, roomID)
	query += ` ORDER BY messages_fts.rowid DESC LIMIT $` + strconv.Itoa(len(args)+1)
	return query, append(args, SearchPageSize+1)
}

// inRoom adds to a search query the condition that the message is in room
// roomID, unless roomID is 0.
func inRoom(query string, args []any, roomID int64) (string, []any) {
	if roomID == 0 {
		return query, args
	}
	return query + ` AND m.room_id = $` + strconv.Itoa(len(args)+1), append(args, roomID)
}

// fragments splits a snippet at its markers. When the body itself holds a
// marker character the markers cannot be told apart, so the snippet is
// shown as plain text without them.
func fragments(snippet, body string) []Fragment {
	if strings.Contains(body, markOpen) || strings.Contains(body, markClose) {
		plain := strings.NewReplacer(markOpen, "", markClose, "").Replace(snippet)
		return []Fragment{{Text: plain}}
	}
	var fs []Fragment
	for snippet != "" {
		i := strings.Index(snippet, markOpen)
		if i < 0 {
			fs = append(fs, Fragment{Text: snippet})
			break
		}
		if i > 0 {
			fs = append(fs, Fragment{Text: snippet[:i]})
		}
		snippet = snippet[i+len(markOpen):]
		j := strings.Index(snippet, markClose)
		if j < 0 {
			j = len(snippet)
		}
		fs = append(fs, Fragment{Text: snippet[:j], Match: true})
		snippet = strings.TrimPrefix(snippet[j:], markClose)
	}
	return fs
}
