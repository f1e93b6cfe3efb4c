package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// Login is one signed-in session: the session token and its account.
type Login struct {
	Token     string
	User      User
	CreatedAt time.Time
	SeenAt    time.Time
}

// CreateLogin records that the session with token is signed in as user.
func (s *Store) CreateLogin(ctx context.Context, token string, userID int64) error {
	now := s.now()
	_, err := s.DB.ExecContext(ctx,
		`INSERT INTO logins (token, user_id, created_at, seen_at) VALUES ($1, $2, $3, $4)`,
		token, userID, now, now)
	if err != nil {
		return wrap("create login", err)
	}
	return nil
}

// Login returns the sign-in of the session with token, with its account.
func (s *Store) Login(ctx context.Context, token string) (Login, error) {
	now := s.Now()
	l, ok, gen := s.logins.Get(token, now)
	if ok {
		return l, nil
	}
	l = Login{Token: token}
	err := s.stmts.login.QueryRowContext(ctx, token).
		Scan(&l.CreatedAt, &l.SeenAt, &l.User.ID, &l.User.Handle, &l.User.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return Login{}, ErrNotFound
	} else if err != nil {
		return Login{}, wrap("login", err)
	}
	s.logins.Put(token, l, now, gen)
	return l, nil
}

// TouchLogin records activity on the session with token.
func (s *Store) TouchLogin(ctx context.Context, token string) error {
	now := s.now()
	if _, err := s.DB.ExecContext(ctx, `UPDATE logins SET seen_at = $1 WHERE token = $2`, now, token); err != nil {
		return wrap("touch login", err)
	}
	s.logins.Update(token, func(l *Login) { l.SeenAt = now })
	return nil
}

// DeleteLogin signs out the session with token.
func (s *Store) DeleteLogin(ctx context.Context, token string) error {
	// Forget once the delete committed: a lookup that read the row before
	// then is refused by the cache (see ttlcache.Cache.Put).
	defer s.logins.Forget(token)
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return wrap("delete login", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM logins WHERE token = $1`, token); err != nil {
		return wrap("delete login", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, token); err != nil {
		return wrap("delete login", err)
	}
	if err := tx.Commit(); err != nil {
		return wrap("delete login", err)
	}
	return nil
}

// DeleteUserLogins signs out every session of the account and deletes
// their session data. It returns the tokens it signed out.
func (s *Store) DeleteUserLogins(ctx context.Context, userID int64) ([]string, error) {
	defer s.forgetUser(userID)
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, wrap("delete user logins", err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `DELETE FROM logins WHERE user_id = $1 RETURNING token`, userID)
	if err != nil {
		return nil, wrap("delete user logins", err)
	}
	var tokens []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return nil, wrap("delete user logins", err)
		}
		tokens = append(tokens, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, wrap("delete user logins", err)
	}
	for _, t := range tokens {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token = $1`, t); err != nil {
			return nil, wrap("delete user logins", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, wrap("delete user logins", err)
	}
	return tokens, nil
}

// LiveLogins returns which of tokens are still signed in and neither idle
// since before idleCutoff nor created before lifeCutoff.
func (s *Store) LiveLogins(ctx context.Context, tokens []string, idleCutoff, lifeCutoff time.Time) (map[string]bool, error) {
	live := make(map[string]bool, len(tokens))
	const chunk = 500
	for len(tokens) > 0 {
		n := min(len(tokens), chunk)
		args := make([]any, 0, n+2)
		args = append(args, idleCutoff.UTC(), lifeCutoff.UTC())
		for _, t := range tokens[:n] {
			args = append(args, t)
		}
		q := `SELECT token FROM logins WHERE seen_at >= $1 AND created_at >= $2 AND token IN (` +
			placeholders(3, n) + `)`
		if err := s.scanTokens(ctx, q, args, live); err != nil {
			return nil, err
		}
		tokens = tokens[n:]
	}
	return live, nil
}

func (s *Store) scanTokens(ctx context.Context, q string, args []any, into map[string]bool) error {
	rows, err := s.DB.QueryContext(ctx, q, args...)
	if err != nil {
		return wrap("live logins", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return wrap("live logins", err)
		}
		into[t] = true
	}
	if err := rows.Err(); err != nil {
		return wrap("live logins", err)
	}
	return nil
}

// forgetUser drops the cached sign-ins of the account.
func (s *Store) forgetUser(userID int64) {
	s.logins.ForgetIf(func(l Login) bool { return l.User.ID == userID })
}
