package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// The PostgreSQL backend: a database that any number of Parley servers
// share. database/sql runs the shared queries through pgx's driver, over
// the pgx pool that also holds the web sessions (scs's pgxstore).

var postgresDialect = &dialect{
	name:       "postgres",
	migrations: "migrations/postgres",
	migrationsTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
		name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)`,
	// Servers started together on a new database take turns: the first
	// migrates, the others then find every migration applied.
	lockMigrations:   `SELECT pg_advisory_lock(4311520)`,
	unlockMigrations: `SELECT pg_advisory_unlock(4311520)`,
	timePrecision:    time.Microsecond,
	// Every write transaction of the writer takes the event counter's row
	// lock first, before any other lock, so writers on several servers
	// queue on it in one order instead of deadlocking, and their message
	// ids (next_event_id, migration 0001) follow their commit order.
	lockEvents:     `SELECT last FROM event_counter FOR UPDATE`,
	nextChangeID:   `SELECT next_event_id()`,
	insertSession:  `INSERT INTO sessions (token, data, expiry) VALUES ($1, $2, $3)`,
	sessionExpiry:  func(t time.Time) any { return t.UTC() },
	integrityCheck: `SELECT 'ok'`,
	search:         postgresSearch,
	snippet:        postgresSnippet,
	start:          func(*Store) {},
	stop:           (*Store).stopFeed,

	// Each statement is a round trip, a savepoint two more a job; a
	// failing job is rare.
	optimisticBatch: true,
	pipeline:        pgPipeline,
}

// pgMaxConns is the size of the connection pool unless the URL sets
// pool_max_conns; database/sql may hold all but two, which stay for the
// session store.
const pgMaxConns = 20

// openPostgres opens the PostgreSQL database at url.
func openPostgres(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = pgMaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: open: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	n := max(int(cfg.MaxConns)-2, 2)
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	closeDB := func() error {
		err := db.Close()
		pool.Close()
		return err
	}
	s, err := open(ctx, db, postgresDialect, closeDB)
	if err != nil {
		return nil, err
	}
	s.sessions = &stopOnce{SessionStore: newPGSessions(pool)}
	s.feed = newFeed(s, cfg.ConnConfig)
	return s, nil
}

// sessionCleanupEvery is how often expired sessions are deleted.
const sessionCleanupEvery = 5 * time.Minute

// pgSessions is scs's pgxstore with the deletion of expired sessions run
// here: pgxstore's own cleanup makes its stop channel inside its
// goroutine, a data race with a StopCleanup that comes early.
type pgSessions struct {
	*pgxstore.PostgresStore
	pool       *pgxpool.Pool
	stop, done chan struct{}
}

func newPGSessions(pool *pgxpool.Pool) *pgSessions {
	p := &pgSessions{PostgresStore: pgxstore.NewWithCleanupInterval(pool, 0), pool: pool,
		stop: make(chan struct{}), done: make(chan struct{})}
	go p.cleanup()
	return p
}

func (p *pgSessions) cleanup() {
	defer close(p.done)
	t := time.NewTicker(sessionCleanupEvery)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.pool.Exec(context.Background(), `DELETE FROM sessions WHERE expiry < current_timestamp`)
		}
	}
}

// StopCleanup stops deleting expired sessions; call it once.
func (p *pgSessions) StopCleanup() {
	close(p.stop)
	<-p.done
}

// pgUniqueViolation is PostgreSQL's code for a UNIQUE constraint's refusal.
const pgUniqueViolation = "23505"

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// pgUnavailable reports whether err means PostgreSQL cannot serve now but
// may later: no connection, a connection lost, the server shutting down
// or out of resources, or a transaction that lost a race (serialization
// failure, deadlock) and may be tried again. A context's end is the
// caller's, not the database's, and is left as it is.
func pgUnavailable(err error) bool {
	switch code := pgCode(err); {
	case code == "":
	case strings.HasPrefix(code, "08"), // connection exception
		strings.HasPrefix(code, "40"), // transaction rollback
		strings.HasPrefix(code, "53"), // insufficient resources
		strings.HasPrefix(code, "57"), // operator intervention
		strings.HasPrefix(code, "58"): // system error
		return true
	default:
		return false
	}
	var ce *pgconn.ConnectError
	var oe *net.OpError
	return errors.As(err, &ce) || errors.As(err, &oe) || errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// Search on PostgreSQL. The messages' search column (migration 0001)
// holds their words; a query's terms (queryTerms) become a tsquery of
// quoted lexemes, each word of a term followed by the next (<->), the
// last a prefix (:*) when the term is long enough, terms joined by &.
// queryTerms leaves only letters, digits and spaces in a term, so no
// quote or backslash ever reaches the tsquery; to_tsquery folds case
// and accents as the column did.

// tsQuery returns the tsquery text of q's terms, or "" when q has no word.
func tsQuery(q string) string {
	var b strings.Builder
	for i, t := range queryTerms(q) {
		if i > 0 {
			b.WriteString(" & ")
		}
		for j, w := range strings.Fields(t.words) {
			if j > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteString("'" + w + "'")
		}
		if t.prefix {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// ts_headline reads HTML tags and entities as markup and leaves them out
// of its output; a body's '<', '>' and '&' become these characters of
// Unicode's private use area for it, and are put back in its output.
const (
	headlineLt  = "\ue002"
	headlineGt  = "\ue003"
	headlineAmp = "\ue004"
)

// headlineOptions asks ts_headline for about snippetTokens words around
// the matches, marked with markOpen and markClose.
var headlineOptions = `StartSel="` + markOpen + `", StopSel="` + markClose + `", MaxWords=` +
	strconv.Itoa(snippetTokens) + `, MinWords=` + strconv.Itoa(snippetTokens/2)

// postgresSearch is the PostgreSQL dialect's search: the GIN index of the
// search column finds the matches, newest first from before.
func postgresSearch(userID int64, text string, before, roomID int64) (string, []any, bool) {
	tsq := tsQuery(text)
	if tsq == "" {
		return "", nil, false
	}
	if before <= 0 {
		before = maxID
	}
	query := `
		SELECT m.id, m.user_id, m.kind, m.author, m.body, m.created_at, r.name,
			ts_headline('parley_search', translate(m.body, '<>&', '` + headlineLt + headlineGt + headlineAmp + `'), q, $2)
		FROM to_tsquery('parley_search', $1) q, messages m JOIN rooms r ON r.id = m.room_id
		WHERE m.search @@ q AND m.id < $3 AND ` + readableBy("m.room_id", "$4")
	args := []any{tsq, headlineOptions, before, userID}
	query, args = inRoom(query, args, roomID)
	query += ` ORDER BY m.id DESC LIMIT $` + strconv.Itoa(len(args)+1)
	return query, append(args, SearchPageSize+1), true
}

// postgresSnippet turns ts_headline's output into fragments, with the
// body's '<', '>' and '&' put back, and an ellipsis where it leaves out
// the start or the end of the body.
func postgresSnippet(snippet, body string) []Fragment {
	for _, c := range []string{headlineLt, headlineGt, headlineAmp} {
		if strings.Contains(body, c) {
			// The body's own characters cannot be told apart from ours.
			return []Fragment{{Text: body}}
		}
	}
	snippet = strings.NewReplacer(headlineLt, "<", headlineGt, ">", headlineAmp, "&").Replace(snippet)
	plain := strings.NewReplacer(markOpen, "", markClose, "").Replace(snippet)
	if plain != "" && !strings.HasPrefix(body, plain) {
		snippet = ellipsis + snippet
	}
	if plain != "" && !strings.HasSuffix(body, plain) {
		snippet += ellipsis
	}
	return fragments(snippet, body)
}
