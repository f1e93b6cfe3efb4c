package store

import (
	"context"
	"database/sql"
)

// Who may read what. Every path that shows a room or its messages (the
// page and its history, the message POST, the stream, presence, search,
// mentions) asks here: CanRead for one room, readableBy for the rooms a
// query may look in. The two always agree: a public room is readable by
// every signed-in user, a private or direct room by its members only.

// readableBy returns the SQL condition under which the user whose id is
// the parameter userParam ("$1") may read the room whose id is the column
// roomCol.
func readableBy(roomCol, userParam string) string {
	return `(EXISTS (SELECT 1 FROM rooms rk WHERE rk.id = ` + roomCol + ` AND rk.kind = 'public')
		OR EXISTS (SELECT 1 FROM members mb WHERE mb.room_id = ` + roomCol + ` AND mb.user_id = ` + userParam + `))`
}

// CanRead returns the room called name when user userID may read it. A room
// the user may not read does not exist for them: CanRead answers
// ErrNotFound for it, as for a name no room has.
func (s *Store) CanRead(ctx context.Context, userID int64, name string) (Room, error) {
	if !ValidRoomRef(name) {
		return Room{}, ErrNotFound
	}
	r, err := s.Room(ctx, name)
	if err != nil {
		return Room{}, err
	}
	if r.Kind == KindPublic {
		return r, nil
	}
	ok, err := s.IsMember(ctx, r, userID)
	if err != nil {
		return Room{}, err
	}
	if !ok {
		return Room{}, ErrNotFound
	}
	return r, nil
}

// ReadableRooms returns the rooms user userID may read, by name.
func (s *Store) ReadableRooms(ctx context.Context, userID int64) ([]Room, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT r.id, r.name, r.kind FROM rooms r WHERE `+
		readableBy("r.id", "$1")+` ORDER BY r.name`, userID)
	if err != nil {
		return nil, wrap("readable rooms", err)
	}
	rooms, err := collect(rows, func(rows *sql.Rows) (r Room, err error) {
		return r, rows.Scan(&r.ID, &r.Name, &r.Kind)
	})
	if err != nil {
		return nil, wrap("readable rooms", err)
	}
	return rooms, nil
}
