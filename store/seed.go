package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"fmt"
	"time"
)

// SeedUsers creates an account for each handle, all with one password,
// hashed once: for load tests and demonstrations that need thousands of
// people, where a hash per account would take minutes. Every handle is
// validated as at registration; the accounts are created in one
// transaction, all or none, and returned in the order of handles.
func (s *Store) SeedUsers(ctx context.Context, handles []string, password string) ([]User, error) {
	for _, h := range handles {
		if err := (Credentials{Handle: h, Password: password}).Validate(); err != nil {
			return nil, fmt.Errorf("store: seed %q: %w", h, err)
		}
	}
	hash, err := s.hasher.hash(ctx, password)
	if err != nil {
		return nil, fmt.Errorf("store: seed users: %w", err)
	}
	users := make([]User, len(handles))
	err = s.inTx(ctx, "seed users", func(tx *sql.Tx) error {
		now := s.now()
		for i, h := range handles {
			users[i] = User{Handle: h, CreatedAt: now}
			err := tx.QueryRowContext(ctx,
				`INSERT INTO users (handle, handle_key, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
				h, HandleKey(h), hash, now).Scan(&users[i].ID)
			if isUniqueViolation(err) {
				return fmt.Errorf("%q: %w", h, ErrHandleTaken)
			} else if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return users, nil
}

// SeedLogins signs each user in with a new session whose data data(user)
// encodes, valid until expiry, as a sign-in would but without a password:
// the companion of SeedUsers. It returns the session tokens, in the order
// of users. Requests with those sessions go through every check a sign-in
// through the web gets.
func (s *Store) SeedLogins(ctx context.Context, users []User, data func(User) ([]byte, error), expiry time.Time) ([]string, error) {
	tokens := make([]string, len(users))
	err := s.inTx(ctx, "seed logins", func(tx *sql.Tx) error {
		now := s.now()
		exp := s.d.sessionExpiry(expiry)
		for i, u := range users {
			b, err := data(u)
			if err != nil {
				return err
			}
			tokens[i] = newToken()
			if _, err := tx.ExecContext(ctx, s.d.insertSession, tokens[i], b, exp); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx,
				`INSERT INTO logins (token, user_id, created_at, seen_at) VALUES ($1, $2, $3, $4)`,
				tokens[i], u.ID, now, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tokens, nil
}

// newToken returns a session token as scs makes them: 32 random bytes,
// base64url without padding.
func newToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// inTx runs fn in a transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return wrap(op, err)
	}
	return nil
}
