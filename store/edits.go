package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// Editing and deleting messages, and the change log that makes both (and
// reactions, reactions.go) replayable.
//
// Every change is a job of the one writer (batch.go), like a new message:
// it runs in the writer's transaction, records a row in changes whose id is
// taken from the sequence of message ids (dialect.nextChangeID: on SQLite
// the messages' AUTOINCREMENT sequence, advanced above every message and
// change stored so far, so below every message stored after it; on
// PostgreSQL the event counter of migration 0001), and hands the message as
// it now is, with that ChangeID, to AfterCommit after the commit. So new
// messages and changes reach the streams in one increasing order of ids,
// and a stream resuming from N replays both (EventsAfter).

// Change errors.
var (
	// ErrNotAuthor means only the message's author may do that.
	ErrNotAuthor = errors.New("not the author")
	// ErrNotice means notices cannot be edited, deleted or reacted to.
	ErrNotice = errors.New("a notice")
)

// The kinds of change in the log.
const (
	ChangeEdit   = "edit"
	ChangeDelete = "delete"
	ChangeReact  = "react"
)

// Edit is a new body for a message, by the person asking.
type Edit struct {
	Room   Room
	ID     int64 // the message
	UserID int64 // who asks
	Body   string
	// Mentions and MentionIDs are resolved as for a new message.
	Mentions   []string
	MentionIDs []int64
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// messageColumns are the columns scanMessage reads, in order.
const messageColumns = `m.id, m.user_id, m.kind, m.author, m.body, m.created_at, m.mentions, m.edited_at`

type scanner interface{ Scan(dest ...any) error }

// scanMessage reads one row of messageColumns (after any columns in
// before) into a message of room.
func scanMessage(sc scanner, room string, before ...any) (Message, error) {
	m := Message{Room: room}
	var userID sql.NullInt64
	var mentions string
	var edited sql.NullTime
	dest := append(before, &m.ID, &userID, &m.Kind, &m.Author, &m.Body, &m.CreatedAt, &mentions, &edited)
	if err := sc.Scan(dest...); err != nil {
		return Message{}, err
	}
	m.UserID, m.Mentions, m.EditedAt = userID.Int64, splitMentions(mentions), edited.Time
	return m, nil
}

// EditMessage replaces the body of message e.ID of e.Room, when e.UserID
// wrote it, and returns it as it now is. An unchanged body changes nothing.
// It answers ErrNotFound for an id that is not a message of the room (or a
// deleted one), ErrNotice for a notice, ErrNotAuthor for anyone else's.
func (s *Store) EditMessage(ctx context.Context, e Edit) (Message, error) {
	if err := ValidateBody(e.Body); err != nil {
		return Message{}, err
	}
	now := s.now()
	return s.change(ctx, "edit message", e.Room, e.ID, func(tx *sql.Tx, m Message) (string, error) {
		if err := ownText(m, e.UserID); err != nil {
			return "", err
		}
		if m.Body == e.Body {
			return "", nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET body = $1, mentions = $2, edited_at = $3 WHERE id = $4`,
			e.Body, joinMentions(e.Mentions), now, m.ID); err != nil {
			return "", err
		}
		if err := s.setMentions(ctx, tx, m.ID, e.Room.ID, e.MentionIDs); err != nil {
			return "", err
		}
		return ChangeEdit, nil
	})
}

// DeleteMessage deletes message id of room, when userID wrote it: its body,
// author, mentions and reactions are erased, in the table and the search
// index, leaving a tombstone. Deleting it again changes nothing. The errors
// are EditMessage's.
func (s *Store) DeleteMessage(ctx context.Context, room Room, id, userID int64) (Message, error) {
	return s.change(ctx, "delete message", room, id, func(tx *sql.Tx, m Message) (string, error) {
		if m.Deleted() && m.UserID == userID {
			return "", nil
		}
		if err := ownText(m, userID); err != nil {
			return "", err
		}
		if err := execAll(ctx, tx, s.d.secureDelete[0]); err != nil {
			return "", err
		}
		_, err := tx.ExecContext(ctx, `UPDATE messages SET kind = 'deleted', body = '', author = '', mentions = '',
			edited_at = NULL WHERE id = $1`, m.ID)
		if err2 := execAll(ctx, tx, s.d.secureDelete[1]); err == nil {
			err = err2
		}
		if err != nil {
			return "", err
		}
		for _, q := range []string{`DELETE FROM mentions WHERE message_id = $1`, `DELETE FROM reactions WHERE message_id = $1`} {
			if _, err := tx.ExecContext(ctx, q, m.ID); err != nil {
				return "", err
			}
		}
		return ChangeDelete, nil
	})
}

// ownText checks that m is a message (not a notice, not deleted) by userID.
func ownText(m Message, userID int64) error {
	switch {
	case m.Deleted():
		return ErrNotFound
	case m.System():
		return ErrNotice
	case m.UserID != userID:
		return ErrNotAuthor
	}
	return nil
}

// setMentions replaces the mention rows of message id.
func (s *Store) setMentions(ctx context.Context, tx *sql.Tx, id, roomID int64, userIDs []int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM mentions WHERE message_id = $1`, id); err != nil {
		return err
	}
	for _, u := range userIDs {
		if _, err := tx.StmtContext(ctx, s.stmts.insertMention).ExecContext(ctx, u, id, roomID); err != nil {
			return err
		}
	}
	return nil
}

// change runs apply on message id of room in the writer's transaction.
// When apply reports a change (its kind), the change is logged with a new
// id from the message sequence and the message, as it now is, is returned
// and published with that ChangeID; when it reports none, the message is
// returned as it is and nothing is published.
func (s *Store) change(ctx context.Context, op string, room Room, id int64, apply func(*sql.Tx, Message) (string, error)) (Message, error) {
	var out Message
	err := s.posts.do(ctx, func(tx *sql.Tx) ([]Message, error) {
		m, err := s.messageIn(ctx, tx, room, id)
		if err != nil {
			return nil, err
		}
		kind, err := apply(tx, m)
		if err != nil || kind == "" {
			out = m
			return nil, err
		}
		var changeID int64
		err = tx.QueryRowContext(ctx, s.d.nextChangeID).Scan(&changeID)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (id, room_id, message_id, kind, created_at) VALUES ($1, $2, $3, $4, $5)`,
			changeID, room.ID, id, kind, s.now()); err != nil {
			return nil, err
		}
		if out, err = s.messageIn(ctx, tx, room, id); err != nil {
			return nil, err
		}
		out.ChangeID = changeID
		return []Message{out}, nil
	})
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrNotAuthor) || errors.Is(err, ErrNotice) {
		return Message{}, err
	} else if err != nil {
		return Message{}, wrap(op, err)
	}
	return out, nil
}

// messageIn reads message id of room, with its reactions, or ErrNotFound.
func (s *Store) messageIn(ctx context.Context, q querier, room Room, id int64) (Message, error) {
	m, err := scanMessage(q.QueryRowContext(ctx, `SELECT `+messageColumns+` FROM messages m
		WHERE m.id = $1 AND m.room_id = $2`, id, room.ID), room.Name)
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	} else if err != nil {
		return Message{}, err
	}
	msgs := []Message{m}
	if err := s.attachReactions(ctx, q, msgs); err != nil {
		return Message{}, err
	}
	return msgs[0], nil
}

// Message returns message id of room as it now is, or ErrNotFound.
func (s *Store) Message(ctx context.Context, room Room, id int64) (Message, error) {
	m, err := s.messageIn(ctx, s.DB, room, id)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Message{}, wrap("message", err)
	}
	return m, err
}

// EventsAfter returns up to limit events of room with ids above after, in id
// order: each message stored after it, and each message changed after it,
// as it now is. A message changed several times comes once, with the id
// of its latest change (ChangeID), since it carries its whole state.
func (s *Store) EventsAfter(ctx context.Context, room string, after int64, limit int) ([]Message, error) {
	msgs, err := s.MessagesAfter(ctx, room, after, limit)
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.QueryContext(ctx, `
		SELECT c.id, `+messageColumns+`
		FROM (SELECT message_id, max(id) AS id FROM changes
			WHERE room_id = (SELECT id FROM rooms WHERE name = $1) AND id > $2
			GROUP BY message_id) c
		JOIN messages m ON m.id = c.message_id
		ORDER BY c.id LIMIT $3`, room, after, limit)
	if err != nil {
		return nil, wrap("events after", err)
	}
	defer rows.Close()
	var changed []Message
	for rows.Next() {
		var changeID int64
		m, err := scanMessage(rows, room, &changeID)
		if err != nil {
			return nil, wrap("events after", err)
		}
		m.ChangeID = changeID
		changed = append(changed, m)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("events after", err)
	}
	rows.Close()
	if err := s.attachReactions(ctx, s.DB, changed); err != nil {
		return nil, wrap("events after", err)
	}
	events := mergeEvents(msgs, changed)
	if len(events) > limit {
		events = events[:limit]
	}
	return events, nil
}

// mergeEvents merges two lists in event id order.
func mergeEvents(a, b []Message) []Message {
	out := make([]Message, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].EventID() < b[0].EventID() {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// attachReactions fills in the reactions of msgs, in one query.
func (s *Store) attachReactions(ctx context.Context, q querier, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ids, at := messageIDs(msgs, nil)
	rows, err := q.QueryContext(ctx, `
		SELECT r.message_id, r.emoji, u.handle FROM reactions r JOIN users u ON u.id = r.user_id
		WHERE r.message_id IN (`+ids+`) ORDER BY r.message_id, r.created_at, u.handle_key`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var emoji, handle string
		if err := rows.Scan(&id, &emoji, &handle); err != nil {
			return err
		}
		m := &msgs[at[id]]
		m.Reactions = addReaction(m.Reactions, emoji, handle)
	}
	return rows.Err()
}

// messageIDs returns the ids of the messages of msgs that keep accepts
// (all when keep is nil) as a list for an IN clause, and where each is in
// msgs (the last place, for an id that comes twice). The ids are integers
// of our own, so they go into the query as text: a page holds up to 500
// of them.
func messageIDs(msgs []Message, keep func(Message) bool) (list string, at map[int64]int) {
	at = make(map[int64]int, len(msgs))
	var ids strings.Builder
	for i, m := range msgs {
		if keep != nil && !keep(m) {
			continue
		}
		if ids.Len() > 0 {
			ids.WriteByte(',')
		}
		at[m.ID] = i
		ids.WriteString(strconv.FormatInt(m.ID, 10))
	}
	return ids.String(), at
}

// addReaction adds handle to the reaction with emoji, or a new one.
func addReaction(rs []Reaction, emoji, handle string) []Reaction {
	for i := range rs {
		if rs[i].Emoji == emoji {
			rs[i].Handles = append(rs[i].Handles, handle)
			return rs
		}
	}
	return append(rs, Reaction{Emoji: emoji, Handles: []string{handle}})
}
