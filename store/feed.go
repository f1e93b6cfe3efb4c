package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Live events between servers, on PostgreSQL.
//
// Several servers share one database; each must publish every event
// (message or change) to its own streams, in the same order, with the same
// ids. The writer's transaction ends with a NOTIFY on eventsChannel that
// carries the highest event id it stored, not the event: PostgreSQL
// delivers notifications at commit, in commit order, to every session
// listening. Each server's feed holds one connection that listens, and on
// every notification (and every feedBackstop, and after every reconnect)
// reads from the database the events with ids above the last one it has
// seen, in id order, and hands them to AfterCommit. The origin server
// publishes its own events the same way, so every server does the same.
//
// Reading "id > lastSeen ORDER BY id" never skips an event: ids come from
// the event counter (migration 0001), whose row every writing transaction
// locks first and holds until it commits, so ids are taken in commit
// order. The feed first reads the counter's committed value (hi): every
// transaction that took an id up to hi has committed, and every later one
// takes ids above hi. Events up to hi are read in statements that start
// after that, so they are all visible, and lastSeen never passes an event
// that is still to commit. A notification lost with a dropped connection
// is repaired the same way: the next read starts from lastSeen.

const (
	// eventsChannel carries the highest event id of each committed batch.
	eventsChannel = "parley_events"
	// controlChannel carries the servers' control payloads (SendControl).
	controlChannel = "parley_control"
	// notifyEvents is run by the writer before each commit that stored
	// events (batch.go).
	notifyEvents = `SELECT pg_notify('` + eventsChannel + `', $1)`
	// feedPage bounds the events one read takes.
	feedPage = 1000
	// feedBackstop is how often the feed reads even without notification.
	feedBackstop = time.Second
	// feedRetry and feedMaxRetry pace reconnecting the listener.
	feedRetry, feedMaxRetry = 100 * time.Millisecond, 5 * time.Second
)

// MaxControl is the longest payload SendControl takes, in bytes
// (PostgreSQL's NOTIFY takes under 8000, with this server's id).
const MaxControl = 7800

// feed follows the events of every server sharing a PostgreSQL database.
type feed struct {
	s   *Store
	cfg *pgx.ConnConfig
	id  string // this server, in its control payloads

	control  func(payload string)
	started  atomic.Bool
	known    atomic.Bool  // lastSeen is set
	lastSeen atomic.Int64 // the last event handed to AfterCommit
	poke     chan struct{}
	ready    chan struct{} // closed once the feed first listens
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	once     sync.Once
}

func newFeed(s *Store, cfg *pgx.ConnConfig) *feed {
	return &feed{s: s, cfg: cfg, id: newServerID(), poke: make(chan struct{}, 1),
		ready: make(chan struct{})}
}

// newServerID returns a random id for this server's control payloads.
func newServerID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// following reports whether the feed, not the writer, calls AfterCommit.
func (f *feed) following() bool { return f != nil && f.started.Load() }

// Shared reports whether other servers may share the database: true on
// PostgreSQL, false for a SQLite file, which one process uses alone.
func (s *Store) Shared() bool { return s.feed != nil }

// StartFeed makes the store follow the events of every server that shares
// its PostgreSQL database, its own included: from now on AfterCommit is
// called by the feed, for every event any server commits, in id order,
// shortly after the commit (not before the writer is answered), and
// control receives the payloads other servers send with SendControl. A
// dropped connection is made again, and the events committed meanwhile
// follow. Call it once, after setting AfterCommit and before the first
// write; AfterCommit and control are called from one goroutine and must
// not block for long. It returns once the feed listens (control payloads
// sent before are not received), or after a few seconds if the database
// does not answer. On SQLite it does nothing.
func (s *Store) StartFeed(control func(payload string)) {
	f := s.feed
	if f == nil || f.started.Swap(true) {
		return
	}
	f.control = control
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	// Events committed before now are history, which streams replay from
	// the database; should the database not answer now, the feed learns
	// where to start as soon as it does.
	start, cancelStart := context.WithTimeout(ctx, 2*time.Second)
	f.learnStart(start)
	cancelStart()
	f.wg.Go(func() { f.listen(ctx) })
	f.wg.Go(func() { f.deliver(ctx) })
	select {
	case <-f.ready:
	case <-time.After(2 * time.Second):
	}
}

// stopFeed stops the feed and waits for its goroutines.
func (s *Store) stopFeed() {
	f := s.feed
	if f == nil || !f.started.Load() {
		return
	}
	f.once.Do(func() {
		f.cancel()
		f.wg.Wait()
	})
}

// SendControl sends payload, at most MaxControl bytes, to the other servers
// sharing the database, whose StartFeed control gets it; this server does
// not. On SQLite it does nothing.
func (s *Store) SendControl(ctx context.Context, payload string) error {
	if s.feed == nil {
		return nil
	}
	if len(payload) > MaxControl {
		return errors.New("store: send control: payload too long")
	}
	if _, err := s.DB.ExecContext(ctx, `SELECT pg_notify($1, $2)`, controlChannel, s.feed.id+" "+payload); err != nil {
		return wrap("send control", err)
	}
	return nil
}

// notifyCommit tells the servers following the database, in the writer's
// transaction, the highest event id the batch stored.
func (s *Store) notifyCommit(tx *sql.Tx, batch []*job) error {
	if s.feed == nil {
		return nil
	}
	var last int64
	for _, j := range batch {
		for _, m := range j.msgs {
			last = max(last, m.EventID())
		}
	}
	if last == 0 {
		return nil
	}
	_, err := tx.Exec(notifyEvents, strconv.FormatInt(last, 10))
	return err
}

// learnStart sets lastSeen to the newest event committed, once.
func (f *feed) learnStart(ctx context.Context) {
	if f.known.Load() {
		return
	}
	hi, err := f.s.lastEventID(ctx)
	if err != nil {
		return
	}
	f.lastSeen.Store(hi)
	f.known.Store(true)
}

// wake asks the delivering goroutine to read new events.
func (f *feed) wake() {
	select {
	case f.poke <- struct{}{}:
	default:
	}
}

// listen holds the listening connection, making it again after a failure,
// waiting a little longer after each failure in a row.
func (f *feed) listen(ctx context.Context) {
	wait := feedRetry
	for {
		listened := f.listenOnce(ctx)
		if ctx.Err() != nil {
			return
		}
		if listened {
			wait = feedRetry
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, feedMaxRetry)
	}
}

// listenOnce connects, listens, and passes notifications on until the
// connection fails. It reports whether it got as far as listening.
func (f *feed) listenOnce(ctx context.Context) bool {
	conn, err := pgx.ConnectConfig(ctx, f.cfg.Copy())
	if err != nil {
		return false
	}
	defer conn.Close(context.Background())
	for _, ch := range []string{eventsChannel, controlChannel} {
		if _, err := conn.Exec(ctx, "LISTEN "+ch); err != nil {
			return false
		}
	}
	f.wake() // what was committed while nobody listened
	select {
	case <-f.ready:
	default:
		close(f.ready)
	}
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true
		}
		switch n.Channel {
		case eventsChannel:
			if id, err := strconv.ParseInt(n.Payload, 10, 64); err != nil || id > f.lastSeen.Load() || !f.known.Load() {
				f.wake()
			}
		case controlChannel:
			from, payload, ok := strings.Cut(n.Payload, " ")
			if ok && from != f.id && f.control != nil {
				f.control(payload)
			}
		}
	}
}

// deliver reads and hands over new events when woken, and every
// feedBackstop in any case.
func (f *feed) deliver(ctx context.Context) {
	t := time.NewTicker(feedBackstop)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-f.poke:
		case <-t.C:
		}
		f.catchUp(ctx)
	}
}

// catchUp hands every event above lastSeen to AfterCommit, in id order. A
// read that fails is tried again at the next wake-up, from where it
// stopped.
func (f *feed) catchUp(ctx context.Context) {
	f.learnStart(ctx)
	if !f.known.Load() {
		return
	}
	for ctx.Err() == nil {
		events, err := f.s.eventsSince(ctx, f.lastSeen.Load(), feedPage)
		if err != nil || len(events) == 0 {
			return
		}
		if f.s.AfterCommit != nil {
			f.s.AfterCommit(events)
		}
		f.lastSeen.Store(events[len(events)-1].EventID())
		if len(events) < feedPage {
			return
		}
	}
}

// lastEventID returns the newest event id committed: every transaction
// that took an id up to it has committed.
func (s *Store) lastEventID(ctx context.Context) (int64, error) {
	var hi int64
	if err := s.DB.QueryRowContext(ctx, `SELECT last FROM event_counter`).Scan(&hi); err != nil {
		return 0, wrap("last event id", err)
	}
	return hi, nil
}

// eventsSince returns up to limit events of every room with ids above
// after, in id order: each message stored, with its mentions' account
// ids, and each change, with the message as it now is. Unlike EventsAfter
// it gives every change, so that every server publishes the same ids.
func (s *Store) eventsSince(ctx context.Context, after int64, limit int) ([]Message, error) {
	hi, err := s.lastEventID(ctx)
	if err != nil || hi <= after {
		return nil, err
	}
	scanRoomMessage := func(rows *sql.Rows) (Message, error) {
		var room string
		m, err := scanMessage(rows, "", &room)
		m.Room = room
		return m, err
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT r.name, `+messageColumns+`
		FROM messages m JOIN rooms r ON r.id = m.room_id
		WHERE m.id > $1 AND m.id <= $2 ORDER BY m.id LIMIT $3`, after, hi, limit)
	if err != nil {
		return nil, wrap("events since", err)
	}
	msgs, err := collect(rows, scanRoomMessage)
	if err != nil {
		return nil, wrap("events since", err)
	}
	rows, err = s.DB.QueryContext(ctx, `SELECT r.name, c.id, `+messageColumns+`
		FROM changes c JOIN messages m ON m.id = c.message_id JOIN rooms r ON r.id = m.room_id
		WHERE c.id > $1 AND c.id <= $2 ORDER BY c.id LIMIT $3`, after, hi, limit)
	if err != nil {
		return nil, wrap("events since", err)
	}
	changed, err := collect(rows, func(rows *sql.Rows) (Message, error) {
		var room string
		var changeID int64
		m, err := scanMessage(rows, "", &room, &changeID)
		m.Room, m.ChangeID = room, changeID
		return m, err
	})
	if err != nil {
		return nil, wrap("events since", err)
	}
	events := mergeEvents(msgs, changed)
	if len(events) > limit {
		events = events[:limit]
	}
	if err := s.attachReactions(ctx, s.DB, events); err != nil {
		return nil, wrap("events since", err)
	}
	// A message may come twice (stored, then changed): attachReactions
	// filled in one copy.
	filled := make(map[int64]int, len(events))
	for i, m := range events {
		filled[m.ID] = i
	}
	for i := range events {
		events[i].Reactions = events[filled[events[i].ID]].Reactions
	}
	if err := s.attachMentionIDs(ctx, events); err != nil {
		return nil, wrap("events since", err)
	}
	return events, nil
}

// attachMentionIDs fills in the MentionIDs of the new messages of events,
// in one query.
func (s *Store) attachMentionIDs(ctx context.Context, events []Message) error {
	ids, at := messageIDs(events, func(m Message) bool { return m.ChangeID == 0 && len(m.Mentions) > 0 })
	if ids == "" {
		return nil
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT message_id, user_id FROM mentions
		WHERE message_id IN (`+ids+`) ORDER BY message_id, user_id`)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, userID int64
		if err := rows.Scan(&id, &userID); err != nil {
			return err
		}
		m := &events[at[id]]
		m.MentionIDs = append(m.MentionIDs, userID)
	}
	return rows.Err()
}

// ForgetLogins drops the cached sign-ins whose token match accepts: the
// sessions another server signed out, which this one may have cached
// (Login) a moment ago.
func (s *Store) ForgetLogins(match func(token string) bool) {
	s.logins.ForgetIf(func(l Login) bool { return match(l.Token) })
}
