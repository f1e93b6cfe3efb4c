package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The store runs on SQLite (a file, the default) or on PostgreSQL (a
// postgres:// URL). Queries are written once, with $1-style parameters,
// which both accept; what differs between the two engines is gathered in
// a dialect, one value per backend (sqlite.go, postgres.go). The store's
// code asks its dialect and never which engine it runs on.
type dialect struct {
	// name is "sqlite" or "postgres".
	name string
	// migrations is the folder of the backend's numbered migrations.
	migrations string
	// migrationsTable creates the table that records applied migrations.
	migrationsTable string
	// lockMigrations and unlockMigrations, when set, hold off other
	// processes from migrating the same database at the same time.
	lockMigrations, unlockMigrations string
	// timePrecision is the finest time the engine stores: times are cut
	// to it, so a time read back equals the one written.
	timePrecision time.Duration
	// lockEvents, when set, runs first in every write transaction of the
	// writer (batch.go).
	lockEvents string
	// optimisticBatch, when set, makes the writer run a batch's jobs
	// without savepoints, and again with them only when a job fails
	// (batch.go): where each statement is a round trip to the server.
	optimisticBatch bool
	// pipeline, when set, sends the piped statements of jobs in one
	// round trip, in the writer's transaction open on conn, setting each
	// job's messages and error; it fails when any statement failed
	// (pipeline.go). Only where optimisticBatch is set.
	pipeline func(ctx context.Context, conn *sql.Conn, jobs []*job) error
	// nextChangeID returns a new id from the one sequence that message ids
	// come from, for a change (edits.go).
	nextChangeID string
	// secureDelete, when set, are the statements run before and after
	// erasing a message's text, so that no copy of it lingers in the file.
	secureDelete [2]string
	// indexPending tells whether new messages wait in messages_fts_pending
	// for the writer to index them at commit (SQLite's FTS5).
	indexPending bool
	// insertSession stores a web session: token, data, expiry (SeedLogins).
	insertSession string
	// sessionExpiry is the expiry argument of insertSession.
	sessionExpiry func(time.Time) any
	// integrityCheck returns "ok" when the database is sound.
	integrityCheck string
	// search returns the query of a search page and its arguments, or ok
	// false when text holds no word.
	search func(userID int64, text string, before, roomID int64) (query string, args []any, ok bool)
	// snippet turns the snippet column of a search result into fragments.
	snippet func(snippet, body string) []Fragment
	// start and stop run the backend's background work (SQLite's
	// checkpoints) after Open and in Close.
	start, stop func(*Store)
}

// placeholders returns n parameters from $from on: "$3,$4,$5".
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(from + i))
	}
	return b.String()
}

// isPostgresURL reports whether dsn names a PostgreSQL database rather
// than a SQLite file.
func isPostgresURL(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// IntegrityCheck checks the database and returns its verdict, "ok" when it
// is sound: SQLite's integrity check of the file; on PostgreSQL, which
// checks its own pages, that the server answers.
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	var res string
	if err := s.DB.QueryRowContext(ctx, s.d.integrityCheck).Scan(&res); err != nil {
		return "", fmt.Errorf("store: integrity check: %w", err)
	}
	return res, nil
}

// Backend returns the engine the store runs on: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.d.name }

// execAll runs each statement of stmts that is not empty in tx.
func execAll(ctx context.Context, tx *sql.Tx, stmts ...string) error {
	for _, q := range stmts {
		if q == "" {
			continue
		}
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}
