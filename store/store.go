// Package store keeps Parley's data in one SQLite file: accounts, rooms,
// messages, sign-ins and the web sessions. It knows nothing of HTTP.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"

	sqlite3 "modernc.org/sqlite/lib"
	"parley/internal/ttlcache"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite database behind Parley. It is safe for concurrent use.
type Store struct {
	// DB is the database handle, shared with the session store.
	DB *sql.DB

	// Now is the clock; tests may replace it.
	Now func() time.Time

	// AfterCommit, when set, receives every stored message right after its
	// transaction committed, in id order, before the writer is answered.
	// Set it before the first write; it must not block for long.
	AfterCommit func([]Message)

	// ObserveCommit, when set, is told how long each batch of writes took
	// to run and commit in its transaction. Set it before the first write;
	// it must return at once.
	ObserveCommit func(time.Duration)

	stored atomic.Uint64 // messages stored since Open (see Stats)

	hasher *hasher
	posts  *batcher
	stmts  stmts
	rooms  sync.Map // name → Room; rooms are never renamed or deleted
	// logins caches sign-ins by token for a moment: every request looks
	// its own up, and a tab opens several streams at once.
	logins *ttlcache.Cache[string, Login]

	stopCheckpoints, checkpointsDone chan struct{}
	closeOnce                        sync.Once
}

// Open opens (creating if needed) the SQLite file at path and applies every
// migration not applied yet.
func Open(ctx context.Context, path string) (*Store, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// SQLite allows one writer at a time; the rest of the pool serves reads
	// in parallel under WAL.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	s := &Store{DB: db, Now: time.Now, hasher: newHasher(DefaultHashParams),
		logins: ttlcache.New[string, Login](2*time.Second, 100_000)}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.prepare(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.posts = newBatcher(s)
	s.stopCheckpoints = make(chan struct{})
	s.checkpointsDone = make(chan struct{})
	go s.checkpoints()
	return s, nil
}

// checkpointEvery is how often the write-ahead log is copied back into
// the database file.
const checkpointEvery = time.Second

// checkpoints copies the write-ahead log into the database file every
// checkpointEvery, without blocking readers or the writer (PASSIVE), so
// the log stays small and no commit ever waits for a checkpoint.
func (s *Store) checkpoints() {
	defer close(s.checkpointsDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stopCheckpoints:
			return
		case <-t.C:
			s.DB.Exec("PRAGMA wal_checkpoint(PASSIVE)")
		}
	}
}

// DSN returns the data source name that opens path with Parley's
// per-connection settings, so that every pooled connection gets them.
func DSN(path string) string {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	// Text that is deleted or replaced is zeroed on its page, so a deleted
	// message's words do not linger in the file's free space (FAST: only
	// where that costs no extra write; DeleteMessage asks for more).
	q.Add("_pragma", "secure_delete(FAST)")
	// Each pooled connection keeps its own page cache; SQLite's default of
	// 2 MiB each would hold 16 MiB of copies of pages the kernel caches
	// anyway. 1 MiB keeps the hot index pages of every connection.
	q.Add("_pragma", "cache_size(-1024)")
	// Checkpoints run on their own goroutine (see checkpoints), not inside
	// whichever commit happens to cross the threshold: a checkpoint waits
	// for the disk, and posts would wait with it.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Close waits for pending writes, then closes the database.
func (s *Store) Close() error {
	s.posts.close()
	s.closeOnce.Do(func() { close(s.stopCheckpoints) })
	<-s.checkpointsDone
	s.truncateLog()
	if err := s.DB.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// truncateLog leaves a compact file behind: everything in the database,
// an empty log. Another process reading the database (Litestream keeps a
// read transaction open) makes the truncation wait for it; rather than
// wait out the busy timeout at every shutdown, it gives up after
// closeWait and leaves the log, which the next Open reads as usual.
func (s *Store) truncateLog() {
	ctx := context.Background()
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", closeWait.Milliseconds())); err != nil {
		return
	}
	conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
}

// closeWait is how long Close waits for other processes' readers to let
// it truncate the log.
const closeWait = 200 * time.Millisecond

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.DB.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store: ping: %w", err)
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check and returns its verdict,
// "ok" when the file is sound.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	if err := s.DB.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return res, nil
}

func (s *Store) now() time.Time { return s.Now().UTC() }

// migrate applies the embedded migrations in name order, each in its own
// transaction, and records each in schema_migrations.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at DATETIME NOT NULL)`); err != nil {
		return fmt.Errorf("store: migrations table: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("store: list migrations: %w", err)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := s.migrateFile(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) migrateFile(ctx context.Context, name string) error {
	base := path.Base(name)
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: migrate %s: %w", base, err)
	}
	defer tx.Rollback()

	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE name = ?", base).Scan(&n); err != nil {
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
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)", base, s.now()); err != nil {
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

func isUniqueViolation(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// wrap prefixes err with the operation, translating the SQLite faults that
// mean "try again later" into ErrUnavailable by their codes.
func wrap(op string, err error) error {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN:
		return fmt.Errorf("store: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}
