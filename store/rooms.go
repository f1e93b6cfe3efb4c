package store

import (
	"context"
	"database/sql"
	"errors"
)

// Room returns the room called name, of any kind. Rooms are never renamed
// or deleted, so they are cached.
func (s *Store) Room(ctx context.Context, name string) (Room, error) {
	if r, ok := s.rooms.Load(name); ok {
		return r.(Room), nil
	}
	r := Room{Name: name}
	err := s.stmts.room.QueryRowContext(ctx, name).Scan(&r.ID, &r.Kind)
	if errors.Is(err, sql.ErrNoRows) {
		return Room{}, ErrNotFound
	} else if err != nil {
		return Room{}, wrap("room", err)
	}
	s.rooms.Store(name, r)
	return r, nil
}

// CreateRoom stores a new public or private room called name, with
// creator as its first member. It returns ErrRoomTaken when the name
// exists.
func (s *Store) CreateRoom(ctx context.Context, name, kind string, creator int64) (Room, error) {
	if err := ValidateRoomName(name); err != nil {
		return Room{}, err
	}
	if kind != KindPublic && kind != KindPrivate {
		return Room{}, errors.New("store: create room: kind must be public or private")
	}
	r := Room{Name: name, Kind: kind}
	err := s.inTx(ctx, "create room", func(tx *sql.Tx) error {
		now := s.now()
		err := tx.QueryRowContext(ctx, `INSERT INTO rooms (name, kind, created_at) VALUES ($1, $2, $3) RETURNING id`,
			name, kind, now).Scan(&r.ID)
		if isUniqueViolation(err) {
			return ErrRoomTaken
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO members (room_id, user_id, joined_at) VALUES ($1, $2, $3)`, r.ID, creator, now)
		return err
	})
	if errors.Is(err, ErrRoomTaken) {
		return Room{}, ErrRoomTaken
	}
	return r, err
}

// PublicRoom is a room of the directory.
type PublicRoom struct {
	Room
	Members int
}

// Directory returns every public room by name, with its number of members.
func (s *Store) Directory(ctx context.Context) ([]PublicRoom, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT r.id, r.name, (SELECT count(*) FROM members m WHERE m.room_id = r.id)
		FROM rooms r WHERE r.kind = 'public' ORDER BY r.name`)
	if err != nil {
		return nil, wrap("directory", err)
	}
	rooms, err := collect(rows, func(rows *sql.Rows) (PublicRoom, error) {
		p := PublicRoom{Room: Room{Kind: KindPublic}}
		return p, rows.Scan(&p.ID, &p.Name, &p.Members)
	})
	if err != nil {
		return nil, wrap("directory", err)
	}
	return rooms, nil
}

// AddMember makes userID a member of room, having read all that is there.
// It returns ErrAlreadyMember when they are one.
func (s *Store) AddMember(ctx context.Context, room Room, userID int64) error {
	res, err := s.DB.ExecContext(ctx, `
		INSERT INTO members (room_id, user_id, joined_at, read_id)
		VALUES ($1, $2, $3, (SELECT coalesce(max(id), 0) FROM messages WHERE room_id = $1))
		ON CONFLICT (room_id, user_id) DO NOTHING`, room.ID, userID, s.now())
	if err != nil {
		return wrap("add member", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrAlreadyMember
	}
	return nil
}

// RemoveMember ends userID's membership of room. It returns ErrNotMember
// when they were not one.
func (s *Store) RemoveMember(ctx context.Context, room Room, userID int64) error {
	res, err := s.DB.ExecContext(ctx, `DELETE FROM members WHERE room_id = $1 AND user_id = $2`, room.ID, userID)
	if err != nil {
		return wrap("remove member", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotMember
	}
	return nil
}

// IsMember reports whether userID is a member of room.
func (s *Store) IsMember(ctx context.Context, room Room, userID int64) (bool, error) {
	var ok bool
	if err := s.stmts.isMember.QueryRowContext(ctx, room.ID, userID).Scan(&ok); err != nil {
		return false, wrap("is member", err)
	}
	return ok, nil
}

// MemberIDs returns the account ids of room's members.
func (s *Store) MemberIDs(ctx context.Context, room Room) ([]int64, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT user_id FROM members WHERE room_id = $1`, room.ID)
	if err != nil {
		return nil, wrap("member ids", err)
	}
	ids, err := collect(rows, scanInt64)
	if err != nil {
		return nil, wrap("member ids", err)
	}
	return ids, nil
}

func scanInt64(rows *sql.Rows) (v int64, err error) { return v, rows.Scan(&v) }
