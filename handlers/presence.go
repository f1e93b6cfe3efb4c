package handlers

import (
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

// presence keeps who is online in each room and tells the rooms: a
// presence event whenever the list changes, and join, "is back" and leave
// notices stored as messages. A user counts once however many tabs they
// have open. A leave waits for a grace period, so a reload or a short drop
// announces nothing.
//
// The hub reports entering and leaving under its lock; presence queues
// those reports and handles them, in order, on its own goroutine.
type presence struct {
	a     *App
	grace time.Duration

	mu      sync.Mutex
	rooms   map[string]map[int64]*member
	frames  map[string]hub.Frame // each room's presence event, while unchanged
	queue   []presenceEvent
	stopped bool
	wake    chan struct{}
	done    chan struct{}
}

type member struct {
	handle  string
	key     string      // the handle folded to lower case, to sort by
	leaving *time.Timer // set while the grace period runs
}

func newMember(handle string) *member {
	return &member{handle: handle, key: strings.ToLower(handle)}
}

type presenceEvent struct {
	kind   int
	room   string
	userID int64
	m      *member // for leaveDue: the member whose grace ran out
}

const (
	entered = iota
	left
	leaveDue
)

var _ hub.Observer = (*presence)(nil)

func newPresence(a *App, grace time.Duration) *presence {
	p := &presence{
		a: a, grace: grace,
		rooms:  map[string]map[int64]*member{},
		frames: map[string]hub.Frame{},
		wake:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	go p.run()
	return p
}

// Entered is called by the hub when userID's first stream in room opens.
func (p *presence) Entered(room string, userID int64) {
	p.enqueue(presenceEvent{entered, room, userID, nil})
}

// Left is called by the hub when userID's last stream in room closes.
func (p *presence) Left(room string, userID int64) { p.enqueue(presenceEvent{left, room, userID, nil}) }

func (p *presence) enqueue(ev presenceEvent) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return
	}
	p.queue = append(p.queue, ev)
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// stop ends the presence goroutine. Streams closing at shutdown announce
// nothing: their users come back when the server does.
func (p *presence) stop() {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.stopped = true
	for _, ms := range p.rooms {
		for _, m := range ms {
			if m.leaving != nil {
				m.leaving.Stop()
			}
		}
	}
	close(p.wake)
	p.mu.Unlock()
	<-p.done
}

func (p *presence) run() {
	defer close(p.done)
	for range p.wake {
		for {
			p.mu.Lock()
			if p.stopped || len(p.queue) == 0 {
				p.queue = nil
				p.mu.Unlock()
				break
			}
			ev := p.queue[0]
			p.queue = p.queue[1:]
			p.mu.Unlock()
			p.handle(ev)
		}
	}
}

func (p *presence) handle(ev presenceEvent) {
	switch ev.kind {
	case entered:
		p.enter(ev.room, ev.userID)
	case left:
		p.mu.Lock()
		m := p.rooms[ev.room][ev.userID]
		if m != nil && m.leaving == nil {
			m.leaving = time.AfterFunc(p.grace, func() {
				p.enqueue(presenceEvent{leaveDue, ev.room, ev.userID, m})
			})
		}
		p.mu.Unlock()
	case leaveDue:
		p.leave(ev.room, ev.userID, ev.m)
	}
}

func (p *presence) enter(room string, userID int64) {
	p.mu.Lock()
	if m := p.rooms[room][userID]; m != nil {
		// Back within the grace period: nothing to announce.
		if m.leaving != nil {
			m.leaving.Stop()
			m.leaving = nil
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()

	u, err := p.a.store.User(bgCtx, userID)
	if err != nil {
		p.a.log.Warn("presence: user", "id", userID, "err", err)
		return
	}
	returning, err := p.a.store.HasMessageBy(bgCtx, room, userID)
	if err != nil {
		p.a.log.Warn("presence: history", "room", room, "err", err)
	}

	p.mu.Lock()
	ms := p.rooms[room]
	if ms == nil {
		ms = map[int64]*member{}
		p.rooms[room] = ms
	}
	ms[userID] = newMember(u.Handle)
	delete(p.frames, room)
	p.mu.Unlock()
	p.publish(room)

	kind, body := store.KindJoin, u.Handle+" joined"
	if returning {
		kind, body = store.KindBack, u.Handle+" is back"
	}
	p.notice(room, u, kind, body)
}

func (p *presence) leave(room string, userID int64, due *member) {
	p.mu.Lock()
	m := p.rooms[room][userID]
	if m != due || m.leaving == nil || p.a.hub.Present(room, userID) {
		p.mu.Unlock()
		return // came back in time, or left and came back since
	}
	delete(p.rooms[room], userID)
	if len(p.rooms[room]) == 0 {
		delete(p.rooms, room)
	}
	delete(p.frames, room)
	p.mu.Unlock()
	p.publish(room)
	p.notice(room, store.User{ID: userID, Handle: m.handle}, store.KindLeave, m.handle+" left")
}

func (p *presence) notice(room string, u store.User, kind, body string) {
	_, err := p.a.store.CreateMessage(bgCtx, store.Message{
		Room: room, UserID: u.ID, Kind: kind, Author: u.Handle, Body: body,
	})
	if err != nil {
		p.a.log.Warn("presence: notice", "room", room, "kind", kind, "err", err)
	}
}

// renamed updates the user's handle in every room's list and tells those
// rooms.
func (p *presence) renamed(userID int64, handle string) {
	var rooms []string
	p.mu.Lock()
	for room, ms := range p.rooms {
		if m := ms[userID]; m != nil {
			m.handle, m.key = handle, strings.ToLower(handle)
			delete(p.frames, room)
			rooms = append(rooms, room)
		}
	}
	p.mu.Unlock()
	for _, room := range rooms {
		p.publish(room)
	}
}

// roomsOf returns the rooms where the user is online.
func (p *presence) roomsOf(userID int64) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var rooms []string
	for room, ms := range p.rooms {
		if ms[userID] != nil {
			rooms = append(rooms, room)
		}
	}
	slices.Sort(rooms)
	return rooms
}

// online returns the handles online in room, sorted without regard to case.
func (p *presence) online(room string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.onlineLocked(room)
}

func (p *presence) onlineLocked(room string) []string {
	ms := make([]*member, 0, len(p.rooms[room]))
	for _, m := range p.rooms[room] {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.handle, b.handle)
	})
	handles := make([]string, len(ms))
	for i, m := range ms {
		handles[i] = m.handle
	}
	return handles
}

// frame returns room's online list as a presence event, rendered once per
// change of the list: every stream that opens starts with it.
func (p *presence) frame(room string) (hub.Frame, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.frames[room]; ok {
		return f, nil
	}
	html, err := renderBytes(bgCtx, views.OnlineList(p.onlineLocked(room)))
	if err != nil {
		return hub.Frame{}, err
	}
	f := hub.Encode(0, "presence", html)
	p.frames[room] = f
	return f, nil
}

func (p *presence) publish(room string) {
	f, err := p.frame(room)
	if err != nil {
		p.a.log.Error("presence: render", "room", room, "err", err)
		return
	}
	p.a.broker.Publish(room, f)
}
