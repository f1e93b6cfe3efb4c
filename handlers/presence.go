package handlers

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"parley/hub"
	"parley/store"
	"parley/views"
)

var bgCtx = context.Background()

// presence keeps who is online in each room and tells the rooms: the online
// list whenever it changes, and join, "is back" and leave notices stored as
// messages. A user counts once however many tabs they have open. A leave
// waits for a grace period, so a reload or a short drop announces nothing.
//
// Its cost per change does not grow with the room. A room's list is sent at
// most once per PresenceEvery (changes in between are merged into the next
// one) and names at most OnlineShown people, those who spoke most recently
// first, with the number of the others; in a room with more than QuietAbove
// people online, arrivals and departures store no notice.
//
// The hub reports entering and leaving under its lock; presence queues
// those reports and handles them, in order, on its own goroutine.
//
// With several servers on one database, its roster (presence_shared.go)
// tells who else is online on the others: they are listed too, a person
// once however many servers they are on, and a notice is stored by one
// server only.
type presence struct {
	a       *App
	grace   time.Duration
	every   time.Duration // the shortest time between two lists of a room
	shown   int           // names on a list at most
	quiet   int           // more people online than this: no notices
	publish func(room string, f hub.Frame)
	roster  roster

	mu    sync.Mutex // guards rooms and all below it
	rooms map[string]*roomPresence

	events *queue[presenceEvent] // added to under the hub's lock
}

// roomPresence is who is online in one room, and its list as last sent.
type roomPresence struct {
	members   map[int64]*member
	spoke     map[int64]int64 // user → their latest message in the room
	view      *views.Online   // the list now; nil when a change made it stale
	frame     *hub.Frame      // view as an event; nil when stale
	sent      []byte          // the data of the last list sent
	sentAt    time.Time       // when it was sent
	scheduled bool            // a publishDue event is on its way
	timer     *time.Timer
	locals    int // members online on this server; at 0 the room is dropped
}

type member struct {
	handle  string
	key     string      // the handle folded to lower case, to sort by
	spoke   int64       // id of their latest message in the room, 0 if none
	shown   bool        // named on the list now
	leaving *time.Timer // set while the grace period runs
	local   bool        // online on this server (streams open, or in the grace period)
	remote  bool        // online on another server
}

// speakerMemory is how many of a room's latest messages tell, when someone
// first comes online there, who spoke recently; it also bounds the
// speakers a room remembers.
const speakerMemory = 1000

type presenceEvent struct {
	kind   int
	room   string
	userID int64
	handle string  // for entered
	m      *member // for leaveDue: the member whose grace ran out
}

const (
	entered = iota
	left
	leaveDue
	publishDue
	revoke
	pollDue // time to learn who is online on the other servers
	beatDue // time for the roster's heartbeat
)

var _ hub.Observer = (*presence)(nil)

func newPresence(a *App, cfg Config) *presence {
	p := &presence{
		a: a, grace: cfg.LeaveGrace, every: cfg.Hub.PresenceGap,
		shown: cfg.OnlineShown, quiet: cfg.QuietAbove,
		rooms: map[string]*roomPresence{},
	}
	p.publish = func(room string, f hub.Frame) { a.hub.SetPresence(room, f) }
	// The roster is in place before the queue's goroutine, which uses it,
	// and its own work, which fills the queue, start.
	p.roster = newRoster(p, cfg)
	p.events = newQueue(p.handleAll)
	p.roster.start()
	return p
}

// Entered is called by the hub when userID's first stream in room opens.
func (p *presence) Entered(room string, userID int64, handle string) {
	p.enqueue(presenceEvent{kind: entered, room: room, userID: userID, handle: handle})
}

// Left is called by the hub when userID's last stream in room closes,
// having been given messages up to lastID: those count as read.
func (p *presence) Left(room string, userID, lastID int64) {
	p.enqueue(presenceEvent{kind: left, room: room, userID: userID})
	p.a.personal.closed(room, userID, lastID)
}

func (p *presence) enqueue(ev presenceEvent) { p.events.add(ev) }

// stop ends the presence goroutine. Streams closing at shutdown announce
// nothing: their users come back when the server does.
func (p *presence) stop() {
	p.events.stop()
	p.roster.stop()

	p.mu.Lock()
	defer p.mu.Unlock()
	for _, rp := range p.rooms {
		if rp.timer != nil {
			rp.timer.Stop()
		}
		for _, m := range rp.members {
			if m.leaving != nil {
				m.leaving.Stop()
			}
		}
	}
}

func (p *presence) handleAll(batch []presenceEvent) {
	for _, ev := range batch {
		p.handle(ev)
	}
}

func (p *presence) handle(ev presenceEvent) {
	switch ev.kind {
	case entered:
		p.enter(ev.room, ev.userID, ev.handle)
	case left:
		p.mu.Lock()
		if rp := p.rooms[ev.room]; rp != nil {
			if m := rp.members[ev.userID]; m != nil && m.local && m.leaving == nil {
				m.leaving = time.AfterFunc(p.grace, func() {
					p.enqueue(presenceEvent{kind: leaveDue, room: ev.room, userID: ev.userID, m: m})
				})
			}
		}
		p.mu.Unlock()
	case leaveDue:
		p.leave(ev.room, ev.userID, ev.m)
	case revoke:
		p.leave(ev.room, ev.userID, nil)
	case publishDue:
		p.send(ev.room)
	case pollDue:
		p.roster.poll()
	case beatDue:
		p.roster.beat()
	}
}

func (p *presence) enter(room string, userID int64, handle string) {
	p.mu.Lock()
	rp := p.rooms[room]
	fresh := rp == nil
	if fresh {
		rp = &roomPresence{members: map[int64]*member{}, spoke: map[int64]int64{}}
		p.rooms[room] = rp
	}
	m := rp.members[userID]
	if m != nil && m.local {
		// Back within the grace period: nothing to announce.
		if m.leaving != nil {
			m.leaving.Stop()
			m.leaving = nil
		}
		p.mu.Unlock()
		return
	}
	if m == nil {
		m = &member{handle: handle, key: strings.ToLower(handle), spoke: rp.spoke[userID]}
		rp.members[userID] = m
		p.changedLocked(room, rp)
	}
	m.local = true
	rp.locals++
	online := len(rp.members)
	p.mu.Unlock()

	first := p.roster.entered(room, userID, handle)
	if fresh {
		p.loadSpeakers(room, rp)
		online = p.learn(room, rp)
	}
	if !first || online > p.quiet {
		return
	}
	returning, err := p.a.store.HasMessageBy(bgCtx, room, userID)
	if err != nil {
		p.a.log.Warn("presence: history", "room", room, "err", err)
	}
	kind, body := store.KindJoin, handle+" joined"
	if returning {
		kind, body = store.KindBack, handle+" is back"
	}
	p.notice(room, store.User{ID: userID, Handle: handle}, kind, body)
}

// loadSpeakers learns who spoke last in a room that just got its first
// person online; from then on spoke keeps it current.
func (p *presence) loadSpeakers(room string, rp *roomPresence) {
	latest, err := p.a.store.RecentSpeakers(bgCtx, room, speakerMemory)
	if err != nil {
		p.a.log.Warn("presence: speakers", "room", room, "err", err)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, msg := range latest {
		rp.noteSpeaker(id, msg)
	}
	if len(rp.members) > p.shown {
		p.changedLocked(room, rp)
	}
}

// learn brings the list of a room that just got its first person online
// here up to date with the other servers, and returns how many people
// are online there.
func (p *presence) learn(room string, rp *roomPresence) int {
	p.roster.learn(room)
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(rp.members)
}

// revoked takes userID off room's list at once: they may no longer read
// it.
func (p *presence) revoked(room string, userID int64) {
	p.enqueue(presenceEvent{kind: revoke, room: room, userID: userID})
}

// leave takes userID off room's list once the grace period of due ran out,
// unless they came back; with due nil, at once.
func (p *presence) leave(room string, userID int64, due *member) {
	present := due != nil && p.a.hub.Present(room, userID)
	p.mu.Lock()
	rp := p.rooms[room]
	m := rp.memberOf(userID)
	if m == nil || !m.local || due != nil && (m != due || due.leaving == nil || present) {
		p.mu.Unlock()
		return // came back in time, or left and came back since
	}
	if m.leaving != nil {
		m.leaving.Stop()
	}
	p.mu.Unlock()

	last := p.roster.left(room, userID)
	p.mu.Lock()
	online := len(rp.members)
	m.leaving, m.local = nil, false
	rp.locals--
	if last {
		delete(rp.members, userID)
	} else {
		m.remote = true // still online on another server: no notice
	}
	if rp.locals == 0 {
		// No stream here shows the room's list any more.
		if rp.timer != nil {
			rp.timer.Stop()
		}
		delete(p.rooms, room)
	} else if last {
		p.changedLocked(room, rp)
	}
	p.mu.Unlock()
	if !last || online > p.quiet {
		return
	}
	p.notice(room, store.User{ID: userID, Handle: m.handle}, store.KindLeave, m.handle+" left")
}

// memberOf returns userID's entry, or nil (also in a nil room).
func (rp *roomPresence) memberOf(userID int64) *member {
	if rp == nil {
		return nil
	}
	return rp.members[userID]
}

func (p *presence) notice(room string, u store.User, kind, body string) {
	_, err := p.a.store.CreateMessage(bgCtx, store.Message{
		Room: room, UserID: u.ID, Kind: kind, Author: u.Handle, Body: body,
	})
	if err != nil {
		p.a.log.Warn("presence: notice", "room", room, "kind", kind, "err", err)
	}
}

// spoke records a message from userID in room, which moves them up among
// the names a crowded room's list shows.
func (p *presence) spoke(room string, userID, msgID int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rp := p.rooms[room]
	if rp == nil {
		return
	}
	rp.noteSpeaker(userID, msgID)
	if m := rp.members[userID]; m != nil && !m.shown && len(rp.members) > p.shown {
		p.changedLocked(room, rp)
	}
}

// noteSpeaker remembers userID's latest message, forgetting the least
// recent speakers when it remembers too many.
func (rp *roomPresence) noteSpeaker(userID, msgID int64) {
	if msgID <= rp.spoke[userID] {
		return
	}
	rp.spoke[userID] = msgID
	if m := rp.members[userID]; m != nil {
		m.spoke = msgID
	}
	if len(rp.spoke) <= 2*speakerMemory {
		return
	}
	ids := make([]int64, 0, len(rp.spoke))
	for _, id := range rp.spoke {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	oldest := ids[len(ids)-speakerMemory]
	for u, id := range rp.spoke {
		if id < oldest {
			delete(rp.spoke, u)
		}
	}
}

// renamed updates the user's handle in every room's list and tells those
// rooms.
func (p *presence) renamed(userID int64, handle string) {
	p.mu.Lock()
	for room, rp := range p.rooms {
		if m := rp.members[userID]; m != nil {
			m.handle, m.key = handle, strings.ToLower(handle)
			p.changedLocked(room, rp)
		}
	}
	p.mu.Unlock()
	p.roster.renamed(userID, handle)
}

// changedLocked marks rp's list stale and makes sure it is sent: now, if
// the last list went out at least p.every ago, else when that time is up.
func (p *presence) changedLocked(room string, rp *roomPresence) {
	rp.view, rp.frame = nil, nil
	if rp.scheduled {
		return
	}
	rp.scheduled = true
	wait := time.Until(rp.sentAt.Add(p.every))
	if wait <= 0 {
		p.enqueue(presenceEvent{kind: publishDue, room: room})
		return
	}
	rp.timer = time.AfterFunc(wait, func() { p.enqueue(presenceEvent{kind: publishDue, room: room}) })
}

// send publishes room's list, unless it is the one last sent.
func (p *presence) send(room string) {
	p.mu.Lock()
	rp := p.rooms[room]
	if rp == nil {
		p.mu.Unlock()
		return
	}
	rp.scheduled, rp.timer = false, nil
	f, err := p.frameLocked(rp)
	if err != nil || bytes.Equal(f.Data, rp.sent) {
		p.mu.Unlock()
		if err != nil {
			p.a.log.Error("presence: render", "room", room, "err", err)
		}
		return
	}
	rp.sent, rp.sentAt = f.Data, time.Now()
	p.mu.Unlock()

	p.publish(room, f)

	// The next list goes out a full interval after this one reached the
	// last stream, so no stream gets two lists within the hub's gap.
	p.mu.Lock()
	if p.rooms[room] == rp && !rp.scheduled {
		rp.sentAt = time.Now()
	}
	p.mu.Unlock()
}

// roomsOf returns the rooms where the user is online.
func (p *presence) roomsOf(userID int64) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var rooms []string
	for room, rp := range p.rooms {
		if rp.members[userID] != nil {
			rooms = append(rooms, room)
		}
	}
	slices.Sort(rooms)
	return rooms
}

// online returns room's online list as it is now.
func (p *presence) online(room string) views.Online {
	p.mu.Lock()
	defer p.mu.Unlock()
	rp := p.rooms[room]
	if rp == nil {
		return views.Online{}
	}
	return *p.viewLocked(rp)
}

// viewLocked returns rp's list, worked out again after a change: everyone
// when they fit, else the most recent speakers (then by name), shown in
// order of name.
func (p *presence) viewLocked(rp *roomPresence) *views.Online {
	if rp.view != nil {
		return rp.view
	}
	ms := make([]*member, 0, len(rp.members))
	for _, m := range rp.members {
		m.shown = false
		ms = append(ms, m)
	}
	if len(ms) > p.shown {
		slices.SortFunc(ms, func(a, b *member) int {
			if a.spoke != b.spoke {
				return cmp.Compare(b.spoke, a.spoke)
			}
			return byName(a, b)
		})
		ms = ms[:p.shown]
	}
	slices.SortFunc(ms, byName)
	v := &views.Online{Names: make([]string, len(ms)), Others: len(rp.members) - len(ms)}
	for i, m := range ms {
		m.shown = true
		v.Names[i] = m.handle
	}
	rp.view = v
	return v
}

func byName(a, b *member) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	return strings.Compare(a.handle, b.handle)
}

// frameLocked returns rp's list as a presence event, rendered once per
// change.
func (p *presence) frameLocked(rp *roomPresence) (hub.Frame, error) {
	if rp.frame != nil {
		return *rp.frame, nil
	}
	html, err := renderBytes(bgCtx, views.OnlineList(*p.viewLocked(rp)))
	if err != nil {
		return hub.Frame{}, err
	}
	f := hub.Encode(0, "presence", html)
	rp.frame = &f
	return f, nil
}

// frame returns room's online list as it is now, as a presence event.
func (p *presence) frame(room string) (hub.Frame, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rp := p.rooms[room]
	if rp == nil {
		return emptyPresence()
	}
	return p.frameLocked(rp)
}

// emptyPresence is the list of a room with nobody online, rendered once.
var emptyPresence = sync.OnceValues(func() (hub.Frame, error) {
	html, err := renderBytes(bgCtx, views.OnlineList(views.Online{}))
	if err != nil {
		return hub.Frame{}, err
	}
	return hub.Encode(0, "presence", html), nil
})
