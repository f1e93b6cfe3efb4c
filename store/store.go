// Package store keeps Parley's data: accounts, rooms, messages, sign-ins
// and the web sessions, in one SQLite file or in a PostgreSQL database. It
// knows nothing of HTTP.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	sqlite3 "modernc.org/sqlite/lib"
	"parley/internal/ttlcache"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Store is the database behind Parley: a SQLite file, or a PostgreSQL
// database that several Parley servers share. It is safe for concurrent
// use.
type Store struct {
	// DB is the database handle.
	DB *sql.DB

	// Now is the clock; tests may replace it.
	Now func() time.Time

	// AfterCommit, when set, receives every stored message right after its
	// transaction committed, in id order, before the writer is answered;
	// once StartFeed has run (PostgreSQL), it receives every server's
	// messages from the feed instead, in id order, just after their commit
	// (feed.go). Set it before the first write; it must not block for long.
	AfterCommit func([]Message)

	// ObserveCommit, when set, is told how long each batch of writes took
	// to run and commit in its transaction. Set it before the first write;
	// it must return at once.
	ObserveCommit func(time.Duration)

	stored atomic.Uint64 // messages stored since Open (see Stats)
	feed   *feed         // PostgreSQL: events between servers (feed.go)

	d        *dialect
	sessions SessionStore
	hasher   *hasher
	posts    *batcher
	stmts    stmts
	rooms    sync.Map // name → Room; rooms are never renamed or deleted
	// logins caches sign-ins by token for a moment: every request looks
	// its own up, and a tab opens several streams at once.
	logins *ttlcache.Cache[string, Login]
	// closeDB closes the database handle and whatever is under it.
	closeDB func() error

	stopCheckpoints, checkpointsDone chan struct{}
	closeOnce                        sync.Once
}

// Open opens the database that dsn names and applies every migration not
// applied yet: a PostgreSQL database for a postgres:// or postgresql://
// URL, else the SQLite file at that path (created if needed).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if isPostgresURL(dsn) {
		return openPostgres(ctx, dsn)
	}
	return openSQLite(ctx, dsn)
}

// open finishes opening a store on db: migrations, prepared statements,
// the writer and the backend's background work.
func open(ctx context.Context, db *sql.DB, d *dialect, closeDB func() error) (*Store, error) {
	s := &Store{DB: db, Now: time.Now, d: d, hasher: newHasher(DefaultHashParams),
		logins: ttlcache.New[string, Login](2*time.Second, 100_000), closeDB: closeDB}
	if err := s.migrate(ctx); err != nil {
		closeDB()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		closeDB()
		return nil, err
	}
	s.posts = newBatcher(s)
	d.start(s)
	return s, nil
}

// Close waits for pending writes, then closes the database.
func (s *Store) Close() error {
	s.posts.close()
	s.closeOnce.Do(func() {
		s.sessions.StopCleanup()
		s.d.stop(s)
	})
	if err := s.closeDB(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.DB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

func (s *Store) now() time.Time { return s.Now().UTC().Truncate(s.d.timePrecision) }

// migrate applies the backend's embedded migrations in name order, each in
// its own transaction, and records each by its file name in
// schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	// One connection: a session's advisory lock is held by its connection.
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	defer conn.Close()
	if s.d.lockMigrations != "" {
		if _, err := conn.ExecContext(ctx, s.d.lockMigrations); err != nil {
			return fmt.Errorf("store: migrate: wait for other servers: %w", err)
		}
		defer conn.ExecContext(context.Background(), s.d.unlockMigrations)
	}
	if _, err := conn.ExecContext(ctx, s.d.migrationsTable); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, s.d.migrations+"/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.migrateFile(ctx, conn, name); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) migrateFile(ctx context.Context, conn *sql.Conn, name string) error {
	base := path.Base(name)
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE name = $1", base).Scan(&n); err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	} else if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)", base, s.now()); err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	}
	return nil
}

// Errors the store returns. Callers compare with errors.Is.
var (
	// ErrNotFound means the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrHandleTaken means another account has the handle, in any case.
	ErrHandleTaken = errors.New("handle taken")
	// ErrBadCredentials means the handle or the password is wrong.
	ErrBadCredentials = errors.New("wrong handle or password")
	// ErrRoomTaken means a room of that name exists already.
	ErrRoomTaken = errors.New("room exists")
	// ErrAlreadyMember is returned when adding a member a room has.
	ErrAlreadyMember = errors.New("already a member")
	// ErrNotMember is returned when removing someone who is no member.
	ErrNotMember = errors.New("not a member")
	// ErrUnavailable means the database cannot serve the request now
	// (locked, read-only, full); the request may be retried later.
	ErrUnavailable = errors.New("database unavailable")
)

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// collect reads every row of rows with scan, and closes rows.
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// isUniqueViolation reports whether err is a UNIQUE constraint's refusal,
// from either engine.
func isUniqueViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE || pgCode(err) == pgUniqueViolation
}

// wrap prefixes err with the operation, translating the faults that mean
// "try again later" (SQLite's by their codes, PostgreSQL's by theirs or a
// lost connection) into ErrUnavailable.
func wrap(op string, err error) error {
	if sqliteUnavailable(err) || pgUnavailable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// sqliteUnavailable reports whether err is a SQLite fault that passes:
// busy, locked, read-only, full, or the disk failing.
func sqliteUnavailable(err error) bool {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return true
	}
	return false
}
