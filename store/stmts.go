package store

import (
	"context"
	"database/sql"
	"fmt"
)

// stmts are the statements on the hot paths (every request, every post),
// prepared once so SQLite does not parse them again on every call.
type stmts struct {
	login, room, insertMessage, sentMessage *sql.Stmt
	isMember, insertMention                 *sql.Stmt
	indexPending, clearPending              *sql.Stmt
	savepoint, rollbackTo, release          *sql.Stmt
}

const (
	loginQuery = `
		SELECT l.created_at, l.seen_at, u.id, u.handle, u.created_at
		FROM logins l JOIN users u ON u.id = l.user_id
		WHERE l.token = $1`
	// A message whose client_id its author already sent to the room is
	// not inserted, and returns no row.
	insertMessageQuery = `
		INSERT INTO messages (room_id, user_id, kind, author, body, created_at, client_id, mentions)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (user_id, room_id, client_id) WHERE client_id IS NOT NULL DO NOTHING
		RETURNING id`
	sentMessageQuery = `
		SELECT id, kind, author, body, created_at, mentions FROM messages
		WHERE user_id = $1 AND room_id = $2 AND client_id = $3`
)

// preparation is a statement to prepare and where to keep it.
type preparation struct {
	dst **sql.Stmt
	q   string
}

func (s *Store) prepare(ctx context.Context) error {
	ps := []preparation{
		{&s.stmts.login, loginQuery},
		{&s.stmts.room, `SELECT id, kind FROM rooms WHERE name = $1`},
		{&s.stmts.insertMessage, insertMessageQuery},
		{&s.stmts.sentMessage, sentMessageQuery},
		{&s.stmts.isMember, `SELECT EXISTS (SELECT 1 FROM members WHERE room_id = $1 AND user_id = $2)`},
		{&s.stmts.insertMention, `INSERT INTO mentions (user_id, message_id, room_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`},
		{&s.stmts.savepoint, `SAVEPOINT job`},
		{&s.stmts.rollbackTo, `ROLLBACK TO job`},
		{&s.stmts.release, `RELEASE job`},
	}
	if s.d.indexPending {
		ps = append(ps, preparation{&s.stmts.indexPending, indexPendingQuery},
			preparation{&s.stmts.clearPending, clearPendingQuery})
	}
	for _, p := range ps {
		st, err := s.DB.PrepareContext(ctx, p.q)
		if err != nil {
			return fmt.Errorf("store: prepare %q: %w", p.q, err)
		}
		*p.dst = st
	}
	return nil
}
