package store

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"slices"
	"strings"
)

// RoomEntry is one room of a person's list, with what waits for them
// there.
type RoomEntry struct {
	Room
	// Unread counts the messages of others (not notices) after the
	// person's read position; Mentions, those of them that mention the
	// person (in a direct room, all of them).
	Unread, Mentions int
	// Other is, for a direct room, the other person (the person themself
	// in a room of one).
	Other User
	// ReadID is the newest message of the room the person has seen.
	ReadID int64
}

// RoomList returns the rooms userID is a member of: public and private
// rooms by name, then direct rooms by the other person's handle.
func (s *Store) RoomList(ctx context.Context, userID int64) ([]RoomEntry, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT r.id, r.name, r.kind, mb.read_id,
			(SELECT count(*) FROM messages m
			 WHERE m.room_id = r.id AND m.id > mb.read_id AND m.kind = 'text' AND m.user_id IS DISTINCT FROM mb.user_id),
			(SELECT count(*) FROM mentions x
			 WHERE x.user_id = mb.user_id AND x.room_id = r.id AND x.message_id > mb.read_id)
		FROM members mb JOIN rooms r ON r.id = mb.room_id
		WHERE mb.user_id = $1`, userID)
	if err != nil {
		return nil, wrap("room list", err)
	}
	list, err := collect(rows, func(rows *sql.Rows) (e RoomEntry, err error) {
		return e, rows.Scan(&e.ID, &e.Name, &e.Kind, &e.ReadID, &e.Unread, &e.Mentions)
	})
	if err != nil {
		return nil, wrap("room list", err)
	}
	for i := range list {
		e := &list[i]
		if e.Kind != KindDirect {
			continue
		}
		e.Mentions = e.Unread // in a direct room every message is for you
		if e.Other, err = s.User(ctx, OtherPerson(e.Room, userID)); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(list, func(a, b RoomEntry) int {
		if c := cmp.Compare(directRank(a.Room), directRank(b.Room)); c != 0 {
			return c
		}
		if a.Kind == KindDirect {
			return strings.Compare(HandleKey(a.Other.Handle), HandleKey(b.Other.Handle))
		}
		return strings.Compare(a.Name, b.Name)
	})
	return list, nil
}

// ReadPosition returns the newest message of room that userID has seen,
// and whether they are a member at all.
func (s *Store) ReadPosition(ctx context.Context, room Room, userID int64) (id int64, member bool, err error) {
	err = s.DB.QueryRowContext(ctx, `SELECT read_id FROM members WHERE room_id = $1 AND user_id = $2`,
		room.ID, userID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	} else if err != nil {
		return 0, false, wrap("read position", err)
	}
	return id, true, nil
}

// ReadMark says that a person has seen a room up to a message.
type ReadMark struct {
	RoomID, UserID, ID int64
}

// MarkRead moves read positions forward (never back) and returns the
// marks that moved one.
func (s *Store) MarkRead(ctx context.Context, marks ...ReadMark) (moved []ReadMark, err error) {
	err = s.inTx(ctx, "mark read", func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE members SET read_id = $1 WHERE room_id = $2 AND user_id = $3 AND read_id < $4`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, m := range marks {
			res, err := st.ExecContext(ctx, m.ID, m.RoomID, m.UserID, m.ID)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				moved = append(moved, m)
			}
		}
		return nil
	})
	return moved, err
}

// directRank sorts direct rooms after the others.
func directRank(r Room) int {
	if r.Kind == KindDirect {
		return 1
	}
	return 0
}
