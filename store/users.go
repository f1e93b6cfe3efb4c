package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// CreateUser validates c, hashes the password and stores a new account.
// It returns ErrHandleTaken when the handle exists in any case.
func (s *Store) CreateUser(ctx context.Context, c Credentials) (User, error) {
	if err := c.Validate(); err != nil {
		return User{}, err
	}
	hash, err := s.hasher.hash(ctx, c.Password)
	if err != nil {
		return User{}, fmt.Errorf("store: create user: %w", err)
	}
	u := User{Handle: c.Handle, CreatedAt: s.now()}
	err = s.DB.QueryRowContext(ctx,
		`INSERT INTO users (handle, handle_key, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		c.Handle, HandleKey(c.Handle), hash, u.CreatedAt).Scan(&u.ID)
	if isUniqueViolation(err) {
		return User{}, ErrHandleTaken
	} else if err != nil {
		return User{}, wrap("create user", err)
	}
	return u, nil
}

// Authenticate returns the account whose handle (in any case) and password
// match, or ErrBadCredentials. It spends the same hashing work whether or
// not the handle exists, so its timing does not tell.
func (s *Store) Authenticate(ctx context.Context, c Credentials) (User, error) {
	var u User
	var hash string
	err := s.DB.QueryRowContext(ctx,
		`SELECT id, handle, created_at, password_hash FROM users WHERE handle_key = $1`,
		HandleKey(c.Handle)).Scan(&u.ID, &u.Handle, &u.CreatedAt, &hash)
	found := err == nil
	if errors.Is(err, sql.ErrNoRows) {
		hash = s.hasher.dummy
	} else if err != nil {
		return User{}, wrap("authenticate", err)
	}
	ok, err := s.hasher.check(ctx, c.Password, hash)
	if err != nil {
		return User{}, fmt.Errorf("store: authenticate: %w", err)
	}
	if !found || !ok {
		return User{}, ErrBadCredentials
	}
	return u, nil
}

// User returns the account with id.
func (s *Store) User(ctx context.Context, id int64) (User, error) {
	u := User{ID: id}
	err := s.DB.QueryRowContext(ctx, `SELECT handle, created_at FROM users WHERE id = $1`, id).
		Scan(&u.Handle, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	} else if err != nil {
		return User{}, wrap("user", err)
	}
	return u, nil
}

// UserByHandle returns the account whose handle is handle, in any case.
func (s *Store) UserByHandle(ctx context.Context, handle string) (User, error) {
	var u User
	err := s.DB.QueryRowContext(ctx, `SELECT id, handle, created_at FROM users WHERE handle_key = $1`,
		HandleKey(handle)).Scan(&u.ID, &u.Handle, &u.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	} else if err != nil {
		return User{}, wrap("user by handle", err)
	}
	return u, nil
}

// RenameUser changes the handle of account id and stores a rename notice in
// each of rooms, all in one transaction. It returns the account as it was
// before and the notices, which are published like any new message.
func (s *Store) RenameUser(ctx context.Context, id int64, handle string, rooms []string) (old User, notices []Message, err error) {
	if err := ValidateHandle(handle); err != nil {
		return User{}, nil, err
	}
	old, err = s.User(ctx, id)
	if err != nil {
		return User{}, nil, err
	}
	if old.Handle == handle {
		return old, nil, nil
	}
	roomIDs := make([]int64, len(rooms))
	for i, name := range rooms {
		r, err := s.Room(ctx, name)
		if err != nil {
			return User{}, nil, err
		}
		roomIDs[i] = r.ID
	}
	err = s.posts.do(ctx, func(tx *sql.Tx) ([]Message, error) {
		if _, err := tx.ExecContext(ctx, `UPDATE users SET handle = $1, handle_key = $2 WHERE id = $3`,
			handle, HandleKey(handle), id); err != nil {
			if isUniqueViolation(err) {
				return nil, ErrHandleTaken
			}
			return nil, err
		}
		notices = notices[:0]
		for i, room := range rooms {
			m, err := s.insertMessage(ctx, tx, roomIDs[i], Message{
				Room: room, UserID: id, Kind: KindRename, Author: handle,
				Body: old.Handle + " is now " + handle, CreatedAt: s.now(),
			})
			if err != nil {
				return nil, err
			}
			notices = append(notices, m)
		}
		return notices, nil
	})
	if errors.Is(err, ErrHandleTaken) {
		return User{}, nil, err
	} else if err != nil {
		return User{}, nil, wrap("rename user", err)
	}
	s.forgetUser(id) // their cached sign-ins carry the old handle
	return old, notices, nil
}
