package store

import (
	"context"
	"database/sql"
	"hash/fnv"
	"slices"
	"strconv"
	"time"
)

// Presence across servers, on PostgreSQL only (migration 0008), written
// outside the writer (presence rows are no events and take no ids): the table
// presence holds a row per server, room and person online there, which
// its server refreshes on a heartbeat. A person counts once in a room
// however many servers hold a row for them.
//
// Join and leave notices are decided here, so that exactly one server
// stores each: a change of a person's rows in a room runs under an
// advisory lock of that room and person, and reports whether it was the
// first row (nobody had them online) or the last. A row counts until it
// is deleted, even when its server stopped heart-beating: a person who
// comes back on another server before the dead server's rows are
// forgotten is not announced twice, and the one server that deletes the
// last row tells the leave.

// PresenceRow is one person online in one room.
type PresenceRow struct {
	Room   string
	UserID int64
	Handle string
}

// PresenceGone is a person whose last row in a room was forgotten:
// online on no server any more. Online is how many people are still
// online in the room.
type PresenceGone struct {
	PresenceRow
	Online int
}

// expiryLockKey is the advisory lock of the one server at a time that
// forgets the rows of stopped servers.
var expiryLockKey = presenceKey("expiry", 0)

// presenceKey is the advisory lock of one person in one room.
func presenceKey(room string, userID int64) int64 {
	h := fnv.New64a()
	h.Write([]byte("parley presence\x00" + room + "\x00" + strconv.FormatInt(userID, 10)))
	return int64(h.Sum64())
}

// lockPresence takes the advisory locks of rows' rooms and people in tx,
// in one order whoever takes them, so two takers never deadlock.
func lockPresence(ctx context.Context, tx *sql.Tx, rows []PresenceRow) error {
	keys := make([]int64, len(rows))
	for i, r := range rows {
		keys[i] = presenceKey(r.Room, r.UserID)
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	_, err := tx.ExecContext(ctx, `SELECT count(pg_advisory_xact_lock(k)) FROM unnest($1::bigint[]) AS k`, keys)
	return err
}

// PresenceEnter records that r's person is online in r's room on server,
// and reports whether they were online on no server before (a row of a
// stopped server not yet forgotten counts).
func (s *Store) PresenceEnter(ctx context.Context, server string, r PresenceRow) (first bool, err error) {
	err = s.inTx(ctx, "presence enter", func(tx *sql.Tx) error {
		if err := lockPresence(ctx, tx, []PresenceRow{r}); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM presence WHERE room = $1 AND user_id = $2)`,
			r.Room, r.UserID).Scan(&first); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO presence (server_id, room, user_id, handle, seen_at) VALUES ($1, $2, $3, $4, now())
			ON CONFLICT (server_id, room, user_id) DO UPDATE SET handle = excluded.handle, seen_at = now()`,
			server, r.Room, r.UserID, r.Handle)
		return err
	})
	return first, err
}

// PresenceLeave deletes server's row of userID in room, and reports
// whether no server has them online any more.
func (s *Store) PresenceLeave(ctx context.Context, server, room string, userID int64) (last bool, err error) {
	err = s.inTx(ctx, "presence leave", func(tx *sql.Tx) error {
		if err := lockPresence(ctx, tx, []PresenceRow{{Room: room, UserID: userID}}); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM presence WHERE server_id = $1 AND room = $2 AND user_id = $3`,
			server, room, userID); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM presence WHERE room = $1 AND user_id = $2)`,
			room, userID).Scan(&last)
	})
	return last, err
}

// PresenceOthers returns the people online in rooms on servers other
// than server, each once per room, leaving out the rows not refreshed
// within expiry.
func (s *Store) PresenceOthers(ctx context.Context, server string, rooms []string, expiry time.Duration) ([]PresenceRow, error) {
	rows, err := s.DB.QueryContext(ctx, `
		SELECT DISTINCT ON (room, user_id) room, user_id, handle FROM presence
		WHERE room = ANY($1::text[]) AND server_id <> $2 AND seen_at > now() - make_interval(secs => $3::float8)`,
		rooms, server, expiry.Seconds())
	if err != nil {
		return nil, wrap("presence of other servers", err)
	}
	out, err := collect(rows, scanPresenceRow)
	if err != nil {
		return nil, wrap("presence of other servers", err)
	}
	return out, nil
}

func scanPresenceRow(rows *sql.Rows) (PresenceRow, error) {
	var r PresenceRow
	err := rows.Scan(&r.Room, &r.UserID, &r.Handle)
	return r, err
}

// PresenceHeartbeat refreshes every row of server and returns how many
// there are.
func (s *Store) PresenceHeartbeat(ctx context.Context, server string) (int, error) {
	res, err := s.DB.ExecContext(ctx, `UPDATE presence SET seen_at = now() WHERE server_id = $1`, server)
	if err != nil {
		return 0, wrap("presence heartbeat", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, wrap("presence heartbeat", err)
	}
	return int(n), nil
}

// PresenceSync replaces server's rows with rows, when they went astray
// (forgotten while the server was paused, or a write that failed).
// Nothing is announced.
func (s *Store) PresenceSync(ctx context.Context, server string, rows []PresenceRow) error {
	rooms, users, handles := make([]string, len(rows)), make([]int64, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		rooms[i], users[i], handles[i] = r.Room, r.UserID, r.Handle
	}
	return s.inTx(ctx, "presence sync", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM presence WHERE server_id = $1`, server); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO presence (server_id, room, user_id, handle, seen_at)
			SELECT $1, t.room, t.user_id, t.handle, now() FROM unnest($2::text[], $3::bigint[], $4::text[]) AS t(room, user_id, handle)
			ON CONFLICT DO NOTHING`, server, rooms, users, handles)
		return err
	})
}

// PresenceLinger makes server's rows expire linger from now (with
// expiry, the age at which rows are forgotten), when the server stops:
// its people count until then, so those who come back on another server
// meanwhile are not announced, and the others' leave is told by the
// server that forgets them.
func (s *Store) PresenceLinger(ctx context.Context, server string, expiry, linger time.Duration) error {
	_, err := s.DB.ExecContext(ctx, `
		UPDATE presence SET seen_at = least(seen_at, now() - make_interval(secs => $2::float8 - $3::float8))
		WHERE server_id = $1`, server, expiry.Seconds(), linger.Seconds())
	if err != nil {
		return wrap("presence linger", err)
	}
	return nil
}

// PresenceExpire forgets every row not refreshed within expiry,
// and returns the people who are online nowhere any more, each once per
// room. When another server is forgetting rows at the same time it does
// nothing: that one returns them.
func (s *Store) PresenceExpire(ctx context.Context, expiry time.Duration) ([]PresenceGone, error) {
	var gone []PresenceGone
	err := s.inTx(ctx, "presence expire", func(tx *sql.Tx) error {
		var mine bool
		if err := tx.QueryRowContext(ctx, `SELECT pg_try_advisory_xact_lock($1)`, expiryLockKey).Scan(&mine); err != nil || !mine {
			return err
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT DISTINCT room, user_id, '' FROM presence WHERE seen_at <= now() - make_interval(secs => $1::float8)`, expiry.Seconds())
		if err != nil {
			return err
		}
		stale, err := collect(rows, scanPresenceRow)
		if err != nil || len(stale) == 0 {
			return err
		}
		if err := lockPresence(ctx, tx, stale); err != nil {
			return err
		}
		rooms, users := make([]string, len(stale)), make([]int64, len(stale))
		for i, r := range stale {
			rooms[i], users[i] = r.Room, r.UserID
		}
		// Of the rows still stale now that they are locked, the people
		// with no row left.
		rows, err = tx.QueryContext(ctx, `
			WITH gone AS (
				DELETE FROM presence p USING unnest($2::text[], $3::bigint[]) AS t(room, user_id)
				WHERE p.room = t.room AND p.user_id = t.user_id AND p.seen_at <= now() - make_interval(secs => $1::float8)
				RETURNING p.room, p.user_id, p.handle, p.server_id)
			SELECT DISTINCT ON (g.room, g.user_id) g.room, g.user_id, g.handle FROM gone g
			WHERE NOT EXISTS (SELECT 1 FROM presence p WHERE p.room = g.room AND p.user_id = g.user_id
				AND (p.room, p.user_id, p.server_id) NOT IN (SELECT room, user_id, server_id FROM gone))`,
			expiry.Seconds(), rooms, users)
		if err != nil {
			return err
		}
		left, err := collect(rows, scanPresenceRow)
		if err != nil || len(left) == 0 {
			return err
		}
		online, err := onlineCounts(ctx, tx, left)
		if err != nil {
			return err
		}
		for _, r := range left {
			gone = append(gone, PresenceGone{PresenceRow: r, Online: online[r.Room]})
		}
		return nil
	})
	return gone, err
}

// onlineCounts returns how many people are online in the rooms of rows.
func onlineCounts(ctx context.Context, tx *sql.Tx, rows []PresenceRow) (map[string]int, error) {
	var rooms []string
	for _, r := range rows {
		rooms = append(rooms, r.Room)
	}
	slices.Sort(rooms)
	res, err := tx.QueryContext(ctx, `
		SELECT room, count(DISTINCT user_id) FROM presence WHERE room = ANY($1::text[]) GROUP BY room`,
		slices.Compact(rooms))
	if err != nil {
		return nil, err
	}
	defer res.Close()
	counts := map[string]int{}
	for res.Next() {
		var room string
		var n int
		if err := res.Scan(&room, &n); err != nil {
			return nil, err
		}
		counts[room] = n
	}
	return counts, res.Err()
}

// PresenceRename gives userID's rows on server their new handle.
func (s *Store) PresenceRename(ctx context.Context, server string, userID int64, handle string) error {
	if _, err := s.DB.ExecContext(ctx, `UPDATE presence SET handle = $3 WHERE server_id = $1 AND user_id = $2`,
		server, userID, handle); err != nil {
		return wrap("presence rename", err)
	}
	return nil
}
