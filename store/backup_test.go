package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBackup(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "parley.db")
		st := mustOpenStoreAt(t, src)
		u := mustCreateUser(t, st, "ann")
		for i := range 50 {
			mustPost(t, st, "general", u, strings.Repeat("x", i+1))
		}
		dst := filepath.Join(t.TempDir(), "copy.db")
		res, err := Backup(ctx, src, dst, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Messages != countAll(t, st) || res.Messages < 50 {
			t.Errorf("Messages = %d; want the source's %d", res.Messages, countAll(t, st))
		}
		if fi, err := os.Stat(dst); err != nil || fi.Size() != res.Size || res.Size == 0 {
			t.Errorf("Size = %d; file: %v, %v", res.Size, fi, err)
		}
		cp, err := Open(ctx, dst)
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		if got := countAll(t, cp); got != res.Messages {
			t.Errorf("the copy opened with %d messages; want %d", got, res.Messages)
		}
		if v, err := cp.IntegrityCheck(ctx); err != nil || v != "ok" {
			t.Errorf("integrity check of the copy = %q, %v", v, err)
		}
	})
	t.Run("ErrExists", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "parley.db")
		mustOpenStoreAt(t, src)
		dst := filepath.Join(t.TempDir(), "copy.db")
		if err := os.WriteFile(dst, []byte("keep me"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Backup(ctx, src, dst, nil)
		if err == nil || !strings.Contains(err.Error(), "exists") {
			t.Errorf("Backup over an existing file = %v; want an error saying it exists", err)
		}
		if b, _ := os.ReadFile(dst); string(b) != "keep me" {
			t.Errorf("the existing file was changed to %q", b)
		}
	})
	t.Run("ErrNoSource", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "missing.db")
		if _, err := Backup(ctx, src, filepath.Join(dir, "copy.db"), nil); err == nil {
			t.Error("Backup of a missing database succeeded")
		}
		if _, err := os.Stat(src); err == nil {
			t.Error("Backup created the missing source")
		}
	})
	t.Run("ErrPostgreSQL", func(t *testing.T) {
		_, err := Backup(ctx, "postgres://db.example/parley", filepath.Join(t.TempDir(), "copy.db"), nil)
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL") {
			t.Errorf("Backup of PostgreSQL = %v; want not supported", err)
		}
	})
}

// countAll counts the stored messages of every kind.
func countAll(t *testing.T, s *Store) int64 {
	t.Helper()
	var n int64
	if err := s.DB.QueryRow(`SELECT count(*) FROM messages`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCloseBesideReader closes the store while another process holds a
// read transaction open, as Litestream does: Close does not wait out the
// busy timeout, and nothing is lost.
func TestCloseBesideReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	s := mustOpenStoreAt(t, path)
	u := mustCreateUser(t, s, "ann")
	for i := range 20 {
		mustPost(t, s, GeneralRoom, u, fmt.Sprint("m", i))
	}
	reader, err := sql.Open("sqlite", readOnly(path))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	tx, err := reader.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM messages").Scan(&n); err != nil {
		t.Fatal(err)
	}
	mustPost(t, s, GeneralRoom, u, "after the reader began")

	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Close took %v beside a reader; want well under the 5 s busy timeout", d)
	}
	tx.Rollback()
	s = mustOpenStoreAt(t, path)
	if got := countAll(t, s); got != int64(n)+1 {
		t.Errorf("%d messages after reopening; want %d", got, n+1)
	}
}
