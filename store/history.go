package store

import (
	"context"
	"database/sql"
	"errors"
)

// History pages: every query walks the (room_id, id) index from a message
// id (a keyset), so a page deep in a long room costs what the latest does.
// None uses OFFSET.

// Around is how many messages a page shows before the one it is opened at;
// the rest of the page (PageSize-Around-1) comes after it.
const Around = 25

// Cursor says which page of a room to show. At most one field is set; none
// means the latest page.
type Cursor struct {
	Before int64 // the PageSize messages with lower ids
	After  int64 // the PageSize messages with higher ids
	Around int64 // Around messages before this one, it, and the rest after
}

// Latest reports whether c asks for the latest page.
func (c Cursor) Latest() bool { return c == Cursor{} }

// Page is a run of a room's messages, oldest first, and whether the room
// has messages before and after it.
type Page struct {
	Messages []Message
	// Older and Newer report messages before the first and after the last
	// of Messages (or, on an empty page, on either side of the cursor).
	Older, Newer bool
}

// History returns the page of room that c asks for. Around a message that
// is not in room it answers ErrNotFound. Reading rights are the caller's
// to check (CanRead).
func (s *Store) History(ctx context.Context, room Room, c Cursor) (Page, error) {
	p, err := s.history(ctx, room, c)
	if err != nil {
		return Page{}, wrap("history", err)
	}
	return p, nil
}

func (s *Store) history(ctx context.Context, room Room, c Cursor) (Page, error) {
	var p Page
	var err error
	switch {
	case c.Around != 0:
		var roomID int64
		err = s.DB.QueryRowContext(ctx, `SELECT room_id FROM messages WHERE id = $1`, c.Around).Scan(&roomID)
		if errors.Is(err, sql.ErrNoRows) || err == nil && roomID != room.ID {
			return Page{}, ErrNotFound
		} else if err != nil {
			return Page{}, err
		}
		var older, rest []Message
		if older, p.Older, err = s.older(ctx, room, c.Around, Around); err != nil {
			return Page{}, err
		}
		if rest, p.Newer, err = s.newer(ctx, room, c.Around-1, PageSize-Around); err != nil {
			return Page{}, err
		}
		p.Messages = append(older, rest...)
		return p, nil
	case c.After != 0:
		if p.Messages, p.Newer, err = s.newer(ctx, room, c.After, PageSize); err != nil {
			return Page{}, err
		}
		p.Older, err = s.exists(ctx, room, "<=", c.After)
	default:
		before := c.Before
		if c.Latest() {
			before = maxID
		}
		if p.Messages, p.Older, err = s.older(ctx, room, before, PageSize); err != nil {
			return Page{}, err
		}
		if !c.Latest() {
			p.Newer, err = s.exists(ctx, room, ">=", c.Before)
		}
	}
	return p, err
}

// The keyset queries: a room's messages below an id, newest first (the
// caller reverses them), and above an id, oldest first.
const (
	olderQuery = `
		SELECT id, user_id, kind, author, body, created_at, mentions, edited_at FROM messages
		WHERE room_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`
	newerQuery = `
		SELECT id, user_id, kind, author, body, created_at, mentions, edited_at FROM messages
		WHERE room_id = $1 AND id > $2 ORDER BY id LIMIT $3`
)

func existsQuery(op string) string {
	return `SELECT EXISTS (SELECT 1 FROM messages WHERE room_id = $1 AND id ` + op + ` $2)`
}

// maxID is above every message id.
const maxID = 1<<63 - 1

// older returns up to limit messages of room with ids below before, oldest
// first, and whether there are more below them.
func (s *Store) older(ctx context.Context, room Room, before int64, limit int) ([]Message, bool, error) {
	msgs, err := s.queryMessages(ctx, olderQuery, room.Name, room.ID, before, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	for i, j := 0, len(msgs)-1; i < j; i, j = i+1, j-1 {
		msgs[i], msgs[j] = msgs[j], msgs[i]
	}
	return msgs, more, nil
}

// newer returns up to limit messages of room with ids above after, oldest
// first, and whether there are more above them.
func (s *Store) newer(ctx context.Context, room Room, after int64, limit int) ([]Message, bool, error) {
	msgs, err := s.queryMessages(ctx, newerQuery, room.Name, room.ID, after, limit+1)
	if err != nil {
		return nil, false, err
	}
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	return msgs, more, nil
}

// exists reports whether room has a message whose id is op ("<=" or
// ">=") id.
func (s *Store) exists(ctx context.Context, room Room, op string, id int64) (bool, error) {
	var ok bool
	err := s.DB.QueryRowContext(ctx, existsQuery(op), room.ID, id).Scan(&ok)
	return ok, err
}
