package store

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"time"
)

// Throttle counts attempts by key in the database (migration 0009), so
// that every server sharing a PostgreSQL database counts the same: the
// sign-in and registration limits of the web front. It keeps two kinds of
// count: a log of attempts for a limit of n in any window (Record,
// WindowWait, Forget), and token buckets (Take, RateWait). It is safe for
// concurrent use.
type Throttle struct {
	s     *Store
	swept atomic.Int64 // unix nanoseconds of the last sweep of spent rows
}

// Throttle returns the database's throttle counts, or nil on SQLite, where
// one process serves the file and counts in its own memory.
func (s *Store) Throttle() *Throttle {
	if s.d != postgresDialect {
		return nil
	}
	return &Throttle{s: s}
}

// Rate is a token bucket: Burst attempts at once, then one per Every. A
// bucket not used for Burst×Every is full again.
type Rate struct {
	Every time.Duration
	Burst int
}

// sweepEvery is how often a server deletes the rows that no longer count.
const sweepEvery = 5 * time.Minute

// Record logs an attempt for key at now, kept for keep (the longest window
// it counts in).
func (t *Throttle) Record(ctx context.Context, key string, now time.Time, keep time.Duration) error {
	now = t.cut(now)
	if _, err := t.s.DB.ExecContext(ctx,
		`INSERT INTO throttle_log (key, at, expires) VALUES ($1, $2, $3)`, key, now, now.Add(keep)); err != nil {
		return wrap("throttle record", err)
	}
	t.sweep(ctx, now)
	return nil
}

// WindowWait reports how long key stays refused under a limit of n
// attempts in any window: 0 while fewer than n of its logged attempts are
// younger than window, else until the n-th youngest of them is that old.
func (t *Throttle) WindowWait(ctx context.Context, key string, n int, window time.Duration, now time.Time) (time.Duration, error) {
	now = t.cut(now)
	var at time.Time
	err := t.s.DB.QueryRowContext(ctx,
		`SELECT at FROM throttle_log WHERE key = $1 AND at > $2 ORDER BY at DESC OFFSET $3 LIMIT 1`,
		key, now.Add(-window), n-1).Scan(&at)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, wrap("throttle window", err)
	}
	return max(at.Add(window).Sub(now), 0), nil
}

// Forget deletes key's logged attempts.
func (t *Throttle) Forget(ctx context.Context, key string) error {
	if _, err := t.s.DB.ExecContext(ctx, `DELETE FROM throttle_log WHERE key = $1`, key); err != nil {
		return wrap("throttle forget", err)
	}
	return nil
}

// Take spends a token of key's bucket at now and returns 0, or, when the
// bucket is empty, spends nothing and returns how long until it holds a
// token. The bucket's row is updated in one statement, so servers taking
// at once never spend more than the bucket holds.
func (t *Throttle) Take(ctx context.Context, key string, r Rate, now time.Time) (time.Duration, error) {
	now = t.cut(now)
	var taken bool
	err := t.s.DB.QueryRowContext(ctx,
		`INSERT INTO throttle_buckets AS b (key, tat) VALUES ($1, $2)
		 ON CONFLICT (key) DO UPDATE SET tat = greatest(b.tat, $3) + $4::bigint * interval '1 microsecond'
		 WHERE greatest(b.tat, $3) <= $5
		 RETURNING true`,
		key, now.Add(r.Every), now, r.Every.Microseconds(), now.Add(r.tolerance())).Scan(&taken)
	switch {
	case errors.Is(err, sql.ErrNoRows): // empty
		wait, err := t.RateWait(ctx, key, r, now)
		return max(wait, time.Microsecond), err
	case err != nil:
		return 0, wrap("throttle take", err)
	}
	t.sweep(ctx, now)
	return 0, nil
}

// RateWait reports how long until key's bucket holds a token, 0 when it
// holds one now; it spends nothing.
func (t *Throttle) RateWait(ctx context.Context, key string, r Rate, now time.Time) (time.Duration, error) {
	now = t.cut(now)
	var tat time.Time
	err := t.s.DB.QueryRowContext(ctx, `SELECT tat FROM throttle_buckets WHERE key = $1`, key).Scan(&tat)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, wrap("throttle rate", err)
	}
	return max(tat.Sub(now)-r.tolerance(), 0), nil
}

// tolerance is how far ahead of now a bucket's theoretical arrival time
// may be while a token is left: Burst-1 intervals.
func (r Rate) tolerance() time.Duration { return time.Duration(r.Burst-1) * r.Every }

func (t *Throttle) cut(now time.Time) time.Time { return now.UTC().Truncate(t.s.d.timePrecision) }

// sweep deletes, at most once per sweepEvery on this server, the log rows
// past their keep and the buckets full again. A failure is left for the
// next sweep: the rows only take room.
func (t *Throttle) sweep(ctx context.Context, now time.Time) {
	last := t.swept.Load()
	if now.UnixNano()-last < int64(sweepEvery) || !t.swept.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if _, err := t.s.DB.ExecContext(ctx, `DELETE FROM throttle_log WHERE expires <= $1`, now); err != nil {
		t.swept.Store(last)
		return
	}
	if _, err := t.s.DB.ExecContext(ctx, `DELETE FROM throttle_buckets WHERE tat <= $1`, now); err != nil {
		t.swept.Store(last)
	}
}
