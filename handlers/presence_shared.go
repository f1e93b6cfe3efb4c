package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"parley/store"
)

// roster is what presence knows of the other servers that share its
// database: who is online on them, and which server stores a notice. With
// one server (SQLite) there are none (localRoster); on PostgreSQL the
// presence table holds a row per server, room and person (sharedRoster).
// Every method but renamed and stop runs on presence's goroutine.
type roster interface {
	// entered records that userID came online in room on this server, and
	// reports whether they were online on no server before: then this
	// server announces them.
	entered(room string, userID int64, handle string) (first bool)
	// left records that userID is no longer online in room on this
	// server, and reports whether they are online on no server now: then
	// this server announces their leave.
	left(room string, userID int64) (last bool)
	// learn brings room's list up to date with the other servers, for a
	// room that just got its first stream here.
	learn(room string)
	// poll brings the lists of every room with streams here up to date
	// with the other servers.
	poll()
	// beat refreshes this server's rows and forgets the servers that
	// stopped refreshing theirs.
	beat()
	// renamed gives userID's rows their new handle.
	renamed(userID int64, handle string)
	// start begins the roster's background work (heartbeats, polls),
	// once presence holds it.
	start()
	// stop ends the roster's background work; the server's people keep
	// counting for the leave grace, so that those who come back on
	// another server meanwhile are not announced again.
	stop()
}

// newRoster returns the roster of p's store: the presence table when
// several servers may share the database, else none.
func newRoster(p *presence, cfg Config) roster {
	if !p.a.store.Shared() {
		return localRoster{}
	}
	return &sharedRoster{p: p, st: p.a.store, server: newServerID(), expiry: cfg.PresenceExpiry,
		linger: cfg.LeaveGrace, quit: make(chan struct{}), done: make(chan struct{})}
}

// localRoster is the roster of a server alone on its database: everyone
// online is online here.
type localRoster struct{}

func (localRoster) entered(string, int64, string) bool { return true }
func (localRoster) left(string, int64) bool            { return true }
func (localRoster) learn(string)                       {}
func (localRoster) poll()                              {}
func (localRoster) beat()                              {}
func (localRoster) renamed(int64, string)              {}
func (localRoster) start()                             {}
func (localRoster) stop()                              {}

// pollEvery is how often a server reads who is online on the others in
// the rooms it has streams in: one query for all those rooms.
const pollEvery = 500 * time.Millisecond

// rosterTimeout bounds each of the roster's queries, so an unreachable
// database does not hold presence up for long.
const rosterTimeout = 5 * time.Second

// announcers bounds the leave notices of forgotten people stored at once.
const announcers = 32

// sharedRoster keeps this server's rows of the presence table, refreshed
// every expiry/4, reads the other servers' rows every pollEvery, and
// forgets rows not refreshed within expiry, announcing the leave of the
// people who had no other row.
type sharedRoster struct {
	p      *presence
	st     *store.Store
	server string        // this server's id, new at every start
	expiry time.Duration // rows older than this are forgotten
	linger time.Duration // how long the rows outlive a clean stop

	polling, beating atomic.Bool // a pollDue, a beatDue is queued
	quit, done       chan struct{}
	once             sync.Once
}

// newServerID returns an id for this run of the server: the host name,
// for people reading the table, and random bytes.
func newServerID() string {
	host, _ := os.Hostname()
	b := make([]byte, 8)
	rand.Read(b)
	return host + "/" + hex.EncodeToString(b)
}

// run queues the polls and heartbeats for presence's goroutine, one of
// each at a time.
func (r *sharedRoster) start() { go r.run() }

func (r *sharedRoster) run() {
	defer close(r.done)
	poll := time.NewTicker(pollEvery)
	defer poll.Stop()
	beat := time.NewTicker(max(r.expiry/4, time.Millisecond))
	defer beat.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-poll.C:
			if r.polling.CompareAndSwap(false, true) {
				r.p.enqueue(presenceEvent{kind: pollDue})
			}
		case <-beat.C:
			if r.beating.CompareAndSwap(false, true) {
				r.p.enqueue(presenceEvent{kind: beatDue})
			}
		}
	}
}

func (r *sharedRoster) stop() {
	r.once.Do(func() {
		close(r.quit)
		<-r.done
		ctx, cancel := context.WithTimeout(bgCtx, rosterTimeout)
		defer cancel()
		if err := r.st.PresenceLinger(ctx, r.server, r.expiry, r.linger); err != nil {
			r.p.a.log.Warn("presence: stop", "err", err)
		}
	})
}

func (r *sharedRoster) entered(room string, userID int64, handle string) bool {
	ctx, cancel := context.WithTimeout(bgCtx, rosterTimeout)
	defer cancel()
	first, err := r.st.PresenceEnter(ctx, r.server, store.PresenceRow{Room: room, UserID: userID, Handle: handle})
	if err != nil {
		// Not knowing, announce nothing; the heartbeat writes the row.
		r.p.a.log.Warn("presence: enter", "room", room, "err", err)
		return false
	}
	return first
}

func (r *sharedRoster) left(room string, userID int64) bool {
	ctx, cancel := context.WithTimeout(bgCtx, rosterTimeout)
	defer cancel()
	last, err := r.st.PresenceLeave(ctx, r.server, room, userID)
	if err != nil {
		// Not knowing, announce nothing; the heartbeat deletes the row.
		r.p.a.log.Warn("presence: leave", "room", room, "err", err)
		return false
	}
	return last
}

func (r *sharedRoster) learn(room string) { r.fetch([]string{room}) }

func (r *sharedRoster) poll() {
	r.polling.Store(false)
	r.p.mu.Lock()
	rooms := slices.Collect(maps.Keys(r.p.rooms))
	r.p.mu.Unlock()
	if len(rooms) > 0 {
		r.fetch(rooms)
	}
}

// fetch reads who is online in rooms on the other servers and puts it on
// the rooms' lists.
func (r *sharedRoster) fetch(rooms []string) {
	ctx, cancel := context.WithTimeout(bgCtx, rosterTimeout)
	defer cancel()
	rows, err := r.st.PresenceOthers(ctx, r.server, rooms, r.expiry)
	if err != nil {
		r.p.a.log.Warn("presence: other servers", "err", err)
		return
	}
	r.p.others(rooms, rows)
}

func (r *sharedRoster) beat() {
	r.beating.Store(false)
	ctx, cancel := context.WithTimeout(bgCtx, rosterTimeout)
	defer cancel()
	n, err := r.st.PresenceHeartbeat(ctx, r.server)
	if err != nil {
		r.p.a.log.Warn("presence: heartbeat", "err", err)
		return
	}
	if mine := r.p.localRows(); n != len(mine) {
		// Rows went astray: forgotten while this server was paused, or
		// a write that failed. Nothing is announced for them.
		if err := r.st.PresenceSync(ctx, r.server, mine); err != nil {
			r.p.a.log.Warn("presence: heartbeat", "err", err)
		}
	}
	gone, err := r.st.PresenceExpire(ctx, r.expiry)
	if err != nil {
		r.p.a.log.Warn("presence: expiry", "err", err)
		return
	}
	var quiet []store.PresenceGone
	for _, g := range gone {
		if g.Online+1 <= r.p.quiet { // counting the one who left, as leave does
			quiet = append(quiet, g)
		}
	}
	if len(quiet) > 0 {
		go r.announce(quiet)
	}
}

// announce stores the leave notices of people forgotten with a stopped
// server, a few at once so that they share the writer's transactions.
func (r *sharedRoster) announce(gone []store.PresenceGone) {
	sem := make(chan struct{}, announcers)
	var wg sync.WaitGroup
	for _, g := range gone {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.p.notice(g.Room, store.User{ID: g.UserID, Handle: g.Handle}, store.KindLeave, g.Handle+" left")
		})
	}
	wg.Wait()
}

func (r *sharedRoster) renamed(userID int64, handle string) {
	ctx, cancel := context.WithTimeout(bgCtx, rosterTimeout)
	defer cancel()
	if err := r.st.PresenceRename(ctx, r.server, userID, handle); err != nil {
		r.p.a.log.Warn("presence: rename", "err", err)
	}
}

// others takes in who is online in rooms on the other servers: rows,
// which name each person once per room.
func (p *presence) others(rooms []string, rows []store.PresenceRow) {
	there := make(map[string]map[int64]string, len(rooms))
	for _, r := range rows {
		if there[r.Room] == nil {
			there[r.Room] = map[int64]string{}
		}
		there[r.Room][r.UserID] = r.Handle
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, room := range rooms {
		if rp := p.rooms[room]; rp != nil && rp.takeOthers(there[room]) {
			p.changedLocked(room, rp)
		}
	}
}

// takeOthers makes the people online on other servers, there, the room's
// remote members, and reports whether its list changed.
func (rp *roomPresence) takeOthers(there map[int64]string) (changed bool) {
	for id, m := range rp.members {
		h, ok := there[id]
		switch {
		case ok:
			m.remote = true
			if !m.local && h != m.handle {
				m.handle, m.key = h, strings.ToLower(h)
				changed = true
			}
		case m.local:
			m.remote = false
		default: // online nowhere else any more
			delete(rp.members, id)
			changed = true
		}
	}
	for id, h := range there {
		if rp.members[id] == nil {
			rp.members[id] = &member{handle: h, key: strings.ToLower(h), spoke: rp.spoke[id], remote: true}
			changed = true
		}
	}
	return changed
}

// localRows returns this server's people: a row per room they are online
// in here.
func (p *presence) localRows() []store.PresenceRow {
	p.mu.Lock()
	defer p.mu.Unlock()
	var rows []store.PresenceRow
	for room, rp := range p.rooms {
		for id, m := range rp.members {
			if m.local {
				rows = append(rows, store.PresenceRow{Room: room, UserID: id, Handle: m.handle})
			}
		}
	}
	return rows
}
