package store

import (
	"context"
	"database/sql"
	"errors"
)

// Who may read what. Every path that shows messages (the room page and its
// history, search) asks here, so private rooms need changes in this file
// only: CanRead for one room, readableBy for the rooms a query may look in.
// The two must always agree.

// readableBy returns the SQL condition under which user userID may read the
// room whose id is the column roomCol, and the condition's arguments in
// order. Today every room is public: every signed-in user reads them all.
func readableBy(roomCol string, userID int64) (string, []any) {
	return "1", nil
}

// CanRead returns the room called name when user userID may read it. A room
// the user may not read does not exist for them: CanRead answers
// ErrNotFound for it, as for a name no room has.
func (s *Store) CanRead(ctx context.Context, userID int64, name string) (Room, error) {
	if ValidateRoomName(name) != nil {
		return Room{}, ErrNotFound
	}
	cond, args := readableBy("r.id", userID)
	r := Room{Name: name}
	err := s.DB.QueryRowContext(ctx, `SELECT r.id FROM rooms r WHERE r.name = ? AND (`+cond+`)`,
		append([]any{name}, args...)...).Scan(&r.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, ErrNotFound
	} else if err != nil {
		return Room{}, wrap("can read", err)
	}
	return r, nil
}

// ReadableRooms returns the rooms user userID may read, by name.
func (s *Store) ReadableRooms(ctx context.Context, userID int64) ([]Room, error) {
	cond, args := readableBy("r.id", userID)
	rows, err := s.DB.QueryContext(ctx, `SELECT r.id, r.name FROM rooms r WHERE `+cond+` ORDER BY r.name`, args...)
	if err != nil {
		return nil, wrap("readable rooms", err)
	}
	defer rows.Close()
	var rooms []Room
	for rows.Next() {
		var r Room
		if err := rows.Scan(&r.ID, &r.Name); err != nil {
			return nil, wrap("readable rooms", err)
		}
		rooms = append(rooms, r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("readable rooms", err)
	}
	return rooms, nil
}
