package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
)

// A mention is "@" and a whole handle: the "@" not right after a letter,
// digit or handle character (so an e-mail address mentions nobody), and
// the handle the longest run of handle characters after it, or that run
// less trailing punctuation ("@ann." at the end of a sentence mentions
// ann, or "ann." if that is a handle).

// MentionSpan is one "@word" in a body that may be a mention.
type MentionSpan struct {
	Start, End int // the bytes of "@" and the longest run after it
}

// Keys returns the handle keys the span may mention, longest first.
func (m MentionSpan) Keys(body string) []string {
	run := body[m.Start+1 : m.End]
	var keys []string
	for run != "" {
		if len(run) >= HandleMinLen && len(run) <= HandleMaxLen {
			keys = append(keys, HandleKey(run))
		}
		trimmed := strings.TrimRight(run, ".-_")
		if trimmed == run {
			break
		}
		run = trimmed
	}
	return keys
}

// MentionSpans returns every "@word" of body that may be a mention.
func MentionSpans(body string) []MentionSpan {
	var spans []MentionSpan
	for i := 0; i < len(body); i++ {
		if body[i] != '@' || i > 0 && isHandleByte(body[i-1]) {
			continue
		}
		j := i + 1
		for j < len(body) && isHandleByte(body[j]) {
			j++
		}
		if j > i+1 {
			spans = append(spans, MentionSpan{i, j})
		}
		i = j - 1
	}
	return spans
}

// MentionedKey returns the key of the handle span mentions in body, when it
// is one of keys (a message's Mentions), else "". The longest wins.
func MentionedKey(body string, span MentionSpan, keys []string) string {
	for _, k := range span.Keys(body) {
		for _, m := range keys {
			if k == m {
				return k
			}
		}
	}
	return ""
}

// ResolveMentions finds who body mentions in room: the accounts, among the
// handles it names, that may read the room, each once. It sets nothing;
// the caller puts the result in Message.Mentions and MentionIDs.
func (s *Store) ResolveMentions(ctx context.Context, room Room, body string) ([]User, error) {
	spans := MentionSpans(body)
	if len(spans) == 0 {
		return nil, nil
	}
	found := map[string]User{} // handle key → account, for every candidate
	var keys []any
	for _, sp := range spans {
		for _, k := range sp.Keys(body) {
			if _, ok := found[k]; !ok {
				found[k] = User{}
				keys = append(keys, k)
			}
		}
	}
	if len(keys) > 100 {
		keys = keys[:100]
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT id, handle, handle_key FROM users WHERE handle_key IN (`+
		placeholders(1, len(keys))+`)`, keys...)
	if err != nil {
		return nil, wrap("resolve mentions", err)
	}
	for rows.Next() {
		var u User
		var k string
		if err := rows.Scan(&u.ID, &u.Handle, &k); err != nil {
			rows.Close()
			return nil, wrap("resolve mentions", err)
		}
		found[k] = u
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("resolve mentions", err)
	}
	var users []User
	seen := map[int64]bool{}
	for _, sp := range spans {
		for _, k := range sp.Keys(body) {
			u := found[k]
			if u.ID == 0 {
				continue
			}
			if !seen[u.ID] {
				seen[u.ID] = true
				if _, err := s.CanRead(ctx, u.ID, room.Name); err == nil {
					users = append(users, u)
				} else if !errors.Is(err, ErrNotFound) {
					return nil, err
				}
			}
			break // the longest handle that exists is the one mentioned
		}
	}
	return users, nil
}

// MentionsOf returns the latest limit messages that mention userID, in
// rooms they may still read, newest first.
func (s *Store) MentionsOf(ctx context.Context, userID int64, limit int) ([]Message, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT m.id, r.name, m.user_id, m.kind, m.author, m.body, m.created_at, m.mentions
		FROM mentions x JOIN messages m ON m.id = x.message_id JOIN rooms r ON r.id = x.room_id
		WHERE x.user_id = $1 AND `+readableBy("x.room_id", "$1")+`
		ORDER BY x.message_id DESC LIMIT $2`, userID, limit)
	if err != nil {
		return nil, wrap("mentions", err)
	}
	msgs, err := collect(rows, func(rows *sql.Rows) (m Message, err error) {
		var author sql.NullInt64
		var mentions string
		err = rows.Scan(&m.ID, &m.Room, &author, &m.Kind, &m.Author, &m.Body, &m.CreatedAt, &mentions)
		m.UserID, m.Mentions = author.Int64, splitMentions(mentions)
		return m, err
	})
	if err != nil {
		return nil, wrap("mentions", err)
	}
	return msgs, nil
}

// joinMentions and splitMentions store Message.Mentions as one column.
func joinMentions(keys []string) string { return strings.Join(keys, " ") }

func splitMentions(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// ValidHandlePrefix reports whether s can start a handle: at most
// HandleMaxLen of the characters a handle has.
func ValidHandlePrefix(s string) bool {
	if len(s) > HandleMaxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isHandleByte(s[i]) {
			return false
		}
	}
	return true
}

// Readers returns up to limit handles, in order, of the people who may
// read room and whose handle starts with prefix (in any case): whom a
// message there can mention.
func (s *Store) Readers(ctx context.Context, room Room, prefix string, limit int) ([]string, error) {
	lo := HandleKey(prefix)
	hi := lo + "\x7f"
	q := `SELECT handle FROM users WHERE handle_key >= $1 AND handle_key < $2 ORDER BY handle_key LIMIT $3`
	args := []any{lo, hi, limit}
	if room.Kind != KindPublic {
		q = `SELECT u.handle FROM members m JOIN users u ON u.id = m.user_id
			WHERE m.room_id = $1 AND u.handle_key >= $2 AND u.handle_key < $3 ORDER BY u.handle_key LIMIT $4`
		args = append([]any{room.ID}, args...)
	}
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("readers", err)
	}
	handles, err := collect(rows, func(rows *sql.Rows) (h string, err error) { return h, rows.Scan(&h) })
	if err != nil {
		return nil, wrap("readers", err)
	}
	if handles == nil {
		handles = []string{} // an empty list, not null, for the script
	}
	return handles, nil
}
