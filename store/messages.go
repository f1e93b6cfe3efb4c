package store

import (
	"context"
	"database/sql"
	"errors"
)

// PageSize is how many of the latest messages a room page shows.
const PageSize = 50

// CreateMessage validates and stores m, setting its ID and time. It returns
// once the message is committed and handed to the AfterCommit hook.
// Concurrent calls share transactions (group commit).
//
// When m has a ClientID that its author already sent to the room, nothing
// new is stored or handed to AfterCommit: CreateMessage returns the message
// stored the first time, even when both arrive in the same transaction.
func (s *Store) CreateMessage(ctx context.Context, m Message) (Message, error) {
	if m.Kind == "" {
		m.Kind = KindText
	}
	if m.Kind == KindText {
		if err := ValidateBody(m.Body); err != nil {
			return Message{}, err
		}
	}
	if m.ClientID != "" {
		if err := ValidateClientID(m.ClientID); err != nil {
			return Message{}, err
		}
	}
	m.CreatedAt = s.now()
	room, err := s.Room(ctx, m.Room)
	if err != nil {
		return Message{}, err
	}
	var stored Message
	if err := s.posts.send(s.messageJob(ctx, room.ID, m, &stored)); err != nil {
		return Message{}, wrap("create message", err)
	}
	return stored, nil
}

// messageJob is the writer's job for CreateMessage (writeMessage), piped
// where the dialect pipelines.
func (s *Store) messageJob(ctx context.Context, roomID int64, m Message, stored *Message) *job {
	j := newJob(ctx, s.writeMessage(ctx, roomID, m, stored))
	if s.d.pipeline != nil {
		j.pipe = pipedMessage(roomID, m, stored)
	}
	return j
}

// writeMessage is the writer's job for CreateMessage: it stores m in room
// roomID and sets *stored to it, or to the message sent before with m's
// ClientID. Only a newly stored message is returned, to be published.
func (s *Store) writeMessage(ctx context.Context, roomID int64, m Message, stored *Message) func(*sql.Tx) ([]Message, error) {
	return func(tx *sql.Tx) ([]Message, error) {
		var err error
		*stored, err = s.insertMessage(ctx, tx, roomID, m)
		if errors.Is(err, sql.ErrNoRows) && m.ClientID != "" {
			// Sent before, perhaps earlier in this very transaction: that
			// message is the answer, and it was (or will be) published once.
			*stored, err = s.sentMessage(ctx, tx, roomID, m)
			return nil, err
		}
		if err != nil {
			return nil, err
		}
		return []Message{*stored}, nil
	}
}

// pipedMessage is writeMessage's job as one statement, for a pipeline:
// the insert of a message that mentions no one. When the message's client
// id was sent before, it stores nothing and the job runs as usual.
func pipedMessage(roomID int64, m Message, stored *Message) *piped {
	if len(m.MentionIDs) > 0 {
		return nil
	}
	return &piped{
		query: insertMessageQuery,
		args:  insertMessageArgs(roomID, m),
		scan: func(row scanner) ([]Message, error) {
			if err := row.Scan(&m.ID); err != nil {
				return nil, err
			}
			*stored = m
			return []Message{m}, nil
		},
	}
}

// insertMessageArgs are the arguments of insertMessageQuery that store m
// in room roomID.
func insertMessageArgs(roomID int64, m Message) []any {
	return []any{roomID, nullInt(m.UserID), m.Kind, m.Author, m.Body, m.CreatedAt,
		nullString(m.ClientID), joinMentions(m.Mentions)}
}

func (s *Store) insertMessage(ctx context.Context, tx *sql.Tx, roomID int64, m Message) (Message, error) {
	err := tx.StmtContext(ctx, s.stmts.insertMessage).QueryRowContext(ctx,
		insertMessageArgs(roomID, m)...).Scan(&m.ID)
	if err != nil {
		return Message{}, err
	}
	for _, id := range m.MentionIDs {
		if _, err := tx.StmtContext(ctx, s.stmts.insertMention).ExecContext(ctx, id, m.ID, roomID); err != nil {
			return Message{}, err
		}
	}
	return m, nil
}

// sentMessage returns the message that m's author sent to the room with
// m's ClientID. A nil tx reads outside the writer.
func (s *Store) sentMessage(ctx context.Context, tx *sql.Tx, roomID int64, m Message) (Message, error) {
	st := s.stmts.sentMessage
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	sent := Message{Room: m.Room, UserID: m.UserID, ClientID: m.ClientID}
	var mentions string
	err := st.QueryRowContext(ctx, m.UserID, roomID, m.ClientID).
		Scan(&sent.ID, &sent.Kind, &sent.Author, &sent.Body, &sent.CreatedAt, &mentions)
	if err != nil {
		return Message{}, err
	}
	sent.Mentions = splitMentions(mentions)
	return sent, nil
}

// SentMessage returns the message that user userID sent to room with the
// given client id, or ErrNotFound.
func (s *Store) SentMessage(ctx context.Context, room string, userID int64, clientID string) (Message, error) {
	r, err := s.Room(ctx, room)
	if err != nil {
		return Message{}, err
	}
	m, err := s.sentMessage(ctx, nil, r.ID, Message{Room: room, UserID: userID, ClientID: clientID})
	if errors.Is(err, sql.ErrNoRows) {
		return Message{}, ErrNotFound
	} else if err != nil {
		return Message{}, wrap("sent message", err)
	}
	return m, nil
}

func nullInt(n int64) sql.NullInt64 { return sql.NullInt64{Int64: n, Valid: n != 0} }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// LatestMessages returns the newest limit messages of room, oldest first.
func (s *Store) LatestMessages(ctx context.Context, room string, limit int) ([]Message, error) {
	msgs, err := s.queryMessages(ctx, `
		SELECT * FROM (
			SELECT m.id, m.user_id, m.kind, m.author, m.body, m.created_at, m.mentions, m.edited_at
			FROM messages m JOIN rooms r ON r.id = m.room_id
			WHERE r.name = $1 ORDER BY m.id DESC LIMIT $2
		) latest ORDER BY id`, room, room, limit)
	if err != nil {
		return nil, wrap("latest messages", err)
	}
	return msgs, nil
}

// MessagesAfter returns up to limit messages of room with id > after, in id
// order.
func (s *Store) MessagesAfter(ctx context.Context, room string, after int64, limit int) ([]Message, error) {
	msgs, err := s.queryMessages(ctx, `
		SELECT m.id, m.user_id, m.kind, m.author, m.body, m.created_at, m.mentions, m.edited_at
		FROM messages m JOIN rooms r ON r.id = m.room_id
		WHERE r.name = $1 AND m.id > $2 ORDER BY m.id LIMIT $3`, room, room, after, limit)
	if err != nil {
		return nil, wrap("messages after", err)
	}
	return msgs, nil
}

// HasMessageBy reports whether room holds any message by or about userID.
func (s *Store) HasMessageBy(ctx context.Context, room string, userID int64) (bool, error) {
	var ok bool
	err := s.DB.QueryRowContext(ctx, `SELECT EXISTS (
		SELECT 1 FROM messages WHERE room_id = (SELECT id FROM rooms WHERE name = $1) AND user_id = $2)`,
		room, userID).Scan(&ok)
	if err != nil {
		return false, wrap("has message by", err)
	}
	return ok, nil
}

// RecentSpeakers returns who wrote the latest n messages of room (notices
// aside), each with the id of their latest one.
func (s *Store) RecentSpeakers(ctx context.Context, room string, n int) (map[int64]int64, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT user_id, max(id) FROM (
			SELECT user_id, id FROM messages
			WHERE room_id = (SELECT id FROM rooms WHERE name = $1) AND kind = 'text'
			ORDER BY id DESC LIMIT $2
		) latest WHERE user_id IS NOT NULL GROUP BY user_id`, room, n)
	if err != nil {
		return nil, wrap("recent speakers", err)
	}
	type speaker struct{ user, id int64 }
	speakers, err := collect(rows, func(rows *sql.Rows) (sp speaker, err error) {
		return sp, rows.Scan(&sp.user, &sp.id)
	})
	if err != nil {
		return nil, wrap("recent speakers", err)
	}
	latest := make(map[int64]int64, len(speakers))
	for _, sp := range speakers {
		latest[sp.user] = sp.id
	}
	return latest, nil
}

func (s *Store) queryMessages(ctx context.Context, q string, room string, args ...any) ([]Message, error) {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var msgs []Message
	for rows.Next() {
		m, err := scanMessage(rows, room)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	if err := s.attachReactions(ctx, s.DB, msgs); err != nil {
		return nil, err
	}
	return msgs, nil
}
