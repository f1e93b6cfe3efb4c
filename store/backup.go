package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// BackupResult tells what a backup wrote.
type BackupResult struct {
	Size     int64         // bytes in the copy
	Messages int64         // messages in the copy
	Elapsed  time.Duration // time the copy took
}

// progressEvery is how often Backup reports how far it got.
const progressEvery = 200 * time.Millisecond

// Backup writes a consistent copy of the SQLite database at src into the
// new file dst while others, a running server among them, go on reading
// and writing it: VACUUM INTO copies one read transaction's snapshot, so
// the copy holds every transaction committed before it began and none
// after, and needs no journal of its own to open. dst must not exist.
// When progress is set it is called every progressEvery with the bytes
// written so far and the size of the source; SQLite reports no progress
// of its own, so this is the size of dst on disk.
func Backup(ctx context.Context, src, dst string, progress func(done, total int64)) (BackupResult, error) {
	var res BackupResult
	start := time.Now()
	if strings.HasPrefix(src, "postgres://") || strings.HasPrefix(src, "postgresql://") {
		return res, errors.New("store: backup: only SQLite databases can be backed up this way; for PostgreSQL use pg_dump")
	}
	if _, err := os.Stat(src); err != nil {
		return res, fmt.Errorf("store: backup: %w", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return res, fmt.Errorf("store: backup: %s exists already; choose a new file", dst)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("store: backup: %w", err)
	}

	// Read-only: a backup must never write to the live database, and
	// opening it so creates nothing should src be no database at all.
	db, err := sql.Open("sqlite", readOnly(src))
	if err != nil {
		return res, fmt.Errorf("store: backup: open %s: %w", src, err)
	}
	defer db.Close()
	var pages, pageSize int64
	if err := db.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return res, fmt.Errorf("store: backup: %s: %w", src, err)
	}
	if err := db.QueryRowContext(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
		return res, fmt.Errorf("store: backup: %s: %w", src, err)
	}
	if progress != nil {
		stop := reportSize(dst, pages*pageSize, progress)
		defer stop()
	}
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", dst); err != nil {
		return res, fmt.Errorf("store: backup %s into %s: %w", src, dst, err)
	}
	res.Elapsed = time.Since(start)

	// Counting the copy's messages also proves it opens as a database.
	cp, err := sql.Open("sqlite", readOnly(dst))
	if err != nil {
		return res, fmt.Errorf("store: backup: open %s: %w", dst, err)
	}
	defer cp.Close()
	if err := cp.QueryRowContext(ctx, "SELECT count(*) FROM messages").Scan(&res.Messages); err != nil {
		return res, fmt.Errorf("store: backup: count messages in %s: %w", dst, err)
	}
	fi, err := os.Stat(dst)
	if err != nil {
		return res, fmt.Errorf("store: backup: %w", err)
	}
	res.Size = fi.Size()
	return res, nil
}

// readOnly is the data source name that opens path for reading only.
func readOnly(path string) string {
	return "file:" + path + "?mode=ro&_pragma=busy_timeout(5000)"
}

// reportSize calls progress with the size of path every progressEvery,
// until the returned stop is called.
func reportSize(path string, total int64, progress func(done, total int64)) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				if fi, err := os.Stat(path); err == nil {
					progress(fi.Size(), total)
				}
			}
		}
	}()
	return func() { close(quit); <-done }
}
