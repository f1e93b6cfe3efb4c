package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
)

// The SQLite backend: one file, one writer at a time, readers in parallel
// under WAL.

var sqliteDialect = &dialect{
	name:       "sqlite",
	migrations: "migrations/sqlite",
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at DATETIME NOT NULL)`,
	timePrecision: time.Nanosecond,
	nextChangeID: `
		UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(id), 0) FROM messages)) + 1
		WHERE name = 'messages' RETURNING seq`,
	// Zero the freed space of every page the text leaves, overflow pages
	// included, on this connection, for this statement only.
	secureDelete: [2]string{`PRAGMA secure_delete = ON`, `PRAGMA secure_delete = FAST`},
	indexPending: true,
	// The sessions table is scs's (sqlite3store), which keeps expiry as a
	// Julian day.
	insertSession:  `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, julianday($3))`,
	sessionExpiry:  func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.999") },
	integrityCheck: `PRAGMA integrity_check`,
	search:         sqliteSearch,
	snippet:        fragments,
	start: func(s *Store) {
		s.stopCheckpoints = make(chan struct{})
		s.checkpointsDone = make(chan struct{})
		go s.checkpoints()
	},
	stop: func(s *Store) {
		close(s.stopCheckpoints)
		<-s.checkpointsDone
		s.truncateLog()
	},
}

// openSQLite opens (creating if needed) the SQLite file at path.
func openSQLite(ctx context.Context, path string) (*Store, error) {
	db, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// SQLite allows one writer at a time; the rest of the pool serves reads
	// in parallel under WAL.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	s, err := open(ctx, db, sqliteDialect, db.Close)
	if err != nil {
		return nil, err
	}
	s.sessions = &stopOnce{SessionStore: sqlite3store.New(db)}
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
