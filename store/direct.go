package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
)

// directPrefix starts the name of every direct room. A '.' is never in a
// public or private room's name, so the two can never meet.
const directPrefix = "dm."

// DirectName returns the name of the direct room of accounts a and b: the
// two ids, smaller first, so it stays the same whoever renames.
func DirectName(a, b int64) string {
	if a > b {
		a, b = b, a
	}
	return directPrefix + strconv.FormatInt(a, 10) + "." + strconv.FormatInt(b, 10)
}

// DirectPeople returns the two account ids in a direct room's name, or ok
// false when name is not one.
func DirectPeople(name string) (a, b int64, ok bool) {
	rest, found := strings.CutPrefix(name, directPrefix)
	if !found {
		return 0, 0, false
	}
	x, y, found := strings.Cut(rest, ".")
	a, err1 := strconv.ParseInt(x, 10, 64)
	b, err2 := strconv.ParseInt(y, 10, 64)
	if !found || err1 != nil || err2 != nil || a <= 0 || a > b || DirectName(a, b) != name {
		return 0, 0, false
	}
	return a, b, true
}

// ValidRoomRef reports whether name can name a room in a URL: a public or
// private room's name, or a direct room's.
func ValidRoomRef(name string) bool {
	if ValidateRoomName(name) == nil {
		return true
	}
	_, _, ok := DirectPeople(name)
	return ok
}

// DirectRoom returns the direct room of accounts a and b (the same for a
// person writing to themself), making it, with both as members, on first
// use; created tells whether it was made now.
func (s *Store) DirectRoom(ctx context.Context, a, b int64) (r Room, created bool, err error) {
	name := DirectName(a, b)
	if r, err := s.Room(ctx, name); err == nil {
		return r, false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return Room{}, false, err
	}
	r = Room{Name: name, Kind: KindDirect}
	err = s.inTx(ctx, "direct room", func(tx *sql.Tx) error {
		now := s.now()
		err := tx.QueryRowContext(ctx, `
			INSERT INTO rooms (name, kind, created_at) VALUES ($1, 'direct', $2)
			ON CONFLICT (name) DO NOTHING RETURNING id`, name, now).Scan(&r.ID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // made at the same moment by the other person
		} else if err != nil {
			return err
		}
		created = true
		_, err = tx.ExecContext(ctx, `
			INSERT INTO members (room_id, user_id, joined_at) VALUES ($1, $2, $3), ($1, $4, $3)
			ON CONFLICT DO NOTHING`, r.ID, a, now, b)
		return err
	})
	if err != nil {
		return Room{}, false, err
	}
	if !created {
		r, err = s.Room(ctx, name)
	}
	return r, created, err
}

// OtherPerson returns, for a direct room, the account of the other person
// seen from userID (userID itself in a room of one).
func OtherPerson(room Room, userID int64) int64 {
	a, b, _ := DirectPeople(room.Name)
	if a == userID {
		return b
	}
	return a
}
