// Package hub delivers live events to the open event streams of one Parley
// server. A stream is a connection plus a small queue, not a goroutine: once
// the handler has checked the session it hands the connection over, and a
// few writer goroutines serve every stream with non-blocking writes. A
// stream whose client stops reading is dropped after a few seconds; nothing
// a client does can block the publisher or the other streams.
package hub

import (
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Broker carries events from the server that committed them to the streams
// that should get them. The Hub is the in-process broker; a broker that
// spans several servers (Postgres LISTEN/NOTIFY, NATS) would forward each
// call to every server's Hub, and handlers would not change.
type Broker interface {
	// Publish sends f to every stream of room. Frames carrying message ids
	// must be published in id order.
	Publish(room string, f Frame)
	// EndSessions sends a logout event to every stream opened with one of
	// the session tokens and then ends it.
	EndSessions(tokens ...string)
	// PublishUser sends f to every stream of one user, whatever its room:
	// the person's own channel (their room list, their mentions). Such
	// frames carry no message id.
	PublishUser(userID int64, f Frame)
	// EndUserRoom ends the user's streams of room, which they may no
	// longer read.
	EndUserRoom(userID int64, room string)
}

var _ Broker = (*Hub)(nil)

// Observer learns when a user's first stream in a room opens and when the
// last one closes. Its methods are called under the hub's lock, in order;
// they must return at once (queue the work, do not do it).
type Observer interface {
	Entered(room string, userID int64, handle string)
	// Left also tells the newest message the last stream was given.
	Left(room string, userID, lastID int64)
}

// Config tunes a Hub. Zero fields take the defaults.
type Config struct {
	// Heartbeat is how often every stream gets a comment line (default 20 s).
	Heartbeat time.Duration
	// SlowTimeout is how long a stream's socket may stay full before the
	// stream is dropped (default 5 s).
	SlowTimeout time.Duration
	// MaxQueue bounds the frames waiting for one stream (default 8192).
	MaxQueue int
	// MaxStreams bounds the open streams of the server (default 50 000).
	MaxStreams int
	// MaxPerSession bounds the open streams of one session (default 16).
	MaxPerSession int
	// SendBuffer, when positive, sets the kernel send buffer of every
	// taken-over connection, in bytes: less kernel memory per idle stream,
	// and a client that stops reading is noticed sooner. Zero keeps the
	// system's default.
	SendBuffer int
	// ReapEvery is how often the hub looks for clients that hung up
	// (default 2 s).
	ReapEvery time.Duration
	// Writers is the number of writer goroutines (default GOMAXPROCS, at
	// least 2).
	Writers int
	// Pace is the shortest time between two passes of a writer over its
	// streams, so that a burst leaves in one write per stream (default 1 ms).
	Pace time.Duration
	// CheckSessions, when set, is called every heartbeat with the tokens of
	// the open streams and returns those still signed in; the streams of
	// the others end. It is the backstop behind EndSessions.
	CheckSessions func(tokens []string) (map[string]bool, error)
	// Observer, when set, learns who enters and leaves rooms.
	Observer Observer
	// PresenceGap is the shortest time between two online lists sent to
	// one stream (default 1 s): lists set in between are merged into the
	// newest, sent when the gap has passed.
	PresenceGap time.Duration
	// ObserveFanout, when set, is told once per published message that
	// carries its commit time (Frame.Committed) how long it took from the
	// commit until its last copy was written to the open streams (or
	// dropped with its stream). It is called from the delivering
	// goroutines and must return at once.
	ObserveFanout func(time.Duration)
}

func (c *Config) setDefaults() {
	if c.Heartbeat <= 0 {
		c.Heartbeat = 20 * time.Second
	}
	if c.SlowTimeout <= 0 {
		c.SlowTimeout = 5 * time.Second
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 8192
	}
	if c.MaxStreams <= 0 {
		c.MaxStreams = 50000
	}
	if c.MaxPerSession <= 0 {
		c.MaxPerSession = 16
	}
	if c.ReapEvery <= 0 {
		c.ReapEvery = 2 * time.Second
	}
	if c.Writers <= 0 {
		c.Writers = max(2, runtime.GOMAXPROCS(0))
	}
	if c.Pace <= 0 {
		c.Pace = time.Millisecond
	}
	if c.PresenceGap <= 0 {
		c.PresenceGap = time.Second
	}
}

// heldEvery is how often the hub sends the online lists that waited for
// their stream's PresenceGap.
const heldEvery = 100 * time.Millisecond

// Errors Subscribe returns.
var (
	ErrSessionLimit = errors.New("hub: too many streams for this session")
	ErrServerLimit  = errors.New("hub: too many streams on this server")
	ErrClosed       = errors.New("hub: shutting down")
)

// Hub is the set of open streams of one server, by room and by session.
type Hub struct {
	cfg     Config
	writers []*writer
	next    atomic.Uint32

	fan         fanout
	slowDropped atomic.Uint64

	mu       sync.RWMutex
	rooms    map[string]*room
	sessions map[string][]*Sub // a session has a few streams at most
	users    map[int64][]*Sub  // every stream of a person, in any room
	count    int
	closed   bool

	heldMu sync.Mutex
	held   map[*Sub]struct{} // streams with a newer online list waiting for their gap

	quit      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
}

type room struct {
	subs     map[*Sub]struct{}
	users    map[int64]int         // open streams per user
	presence atomic.Pointer[Frame] // the online list last set by SetPresence
}

// New starts a hub and its writer goroutines.
func New(cfg Config) *Hub {
	cfg.setDefaults()
	h := &Hub{
		cfg:      cfg,
		rooms:    map[string]*room{},
		sessions: map[string][]*Sub{},
		users:    map[int64][]*Sub{},
		held:     map[*Sub]struct{}{},
		quit:     make(chan struct{}),
	}
	h.fan.observe = cfg.ObserveFanout
	for range cfg.Writers {
		w := newWriter(h)
		h.writers = append(h.writers, w)
		h.wg.Go(w.run)
	}
	h.wg.Go(h.maintain)
	return h
}

// Subscribe registers a stream of userID (known as handle) in room, opened
// with the session token. The stream holds every frame published from now
// on; the caller replays what came before, then calls Attach or Serve to
// start delivery.
func (h *Hub) Subscribe(roomName, token string, userID int64, handle string) (*Sub, error) {
	s := &Sub{Room: roomName, Token: token, UserID: userID, hub: h, done: make(chan struct{})}
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, ErrClosed
	case h.count >= h.cfg.MaxStreams:
		return nil, ErrServerLimit
	case len(h.sessions[token]) >= h.cfg.MaxPerSession:
		return nil, ErrSessionLimit
	}
	r := h.rooms[roomName]
	if r == nil {
		r = &room{subs: map[*Sub]struct{}{}, users: map[int64]int{}}
		h.rooms[roomName] = r
	}
	r.subs[s] = struct{}{}
	s.r = r
	r.users[userID]++
	if r.users[userID] == 1 && h.cfg.Observer != nil {
		h.cfg.Observer.Entered(roomName, userID, handle)
	}
	h.sessions[token] = append(h.sessions[token], s)
	h.users[userID] = append(h.users[userID], s)
	h.count++
	return s, nil
}

func (h *Hub) remove(s *Sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[s.Room]
	if r == nil {
		return
	}
	if _, ok := r.subs[s]; !ok {
		return
	}
	delete(r.subs, s)
	h.count--
	if r.users[s.UserID]--; r.users[s.UserID] == 0 {
		delete(r.users, s.UserID)
		if h.cfg.Observer != nil {
			h.cfg.Observer.Left(s.Room, s.UserID, s.LastID())
		}
	}
	if len(r.subs) == 0 {
		delete(h.rooms, s.Room)
	}
	removeSub(h.sessions, s.Token, s)
	removeSub(h.users, s.UserID, s)
}

// removeSub takes s out of the list m keeps under k.
func removeSub[K comparable](m map[K][]*Sub, k K, s *Sub) {
	if ss := slices.DeleteFunc(m[k], func(o *Sub) bool { return o == s }); len(ss) > 0 {
		m[k] = ss
	} else {
		delete(m, k)
	}
}

// Publish queues f on every stream of room. It never blocks on a client.
func (h *Hub) Publish(roomName string, f Frame) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.rooms[roomName]
	if r == nil {
		return
	}
	measured := h.fan.begin(f)
	now := time.Now()
	copies, serving := 0, 0
	for s := range r.subs {
		switch s.push(f, now) {
		case writerCopy:
			copies++
		case serveCopy:
			copies++
			serving++
		}
	}
	if measured {
		h.fan.queued(f.ID, copies, serving)
		h.settle() // the writers may have written every copy already
	}
}

// PublishUser queues f on every stream of userID, in every room.
func (h *Hub) PublishUser(userID int64, f Frame) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	now := time.Now()
	for _, s := range h.users[userID] {
		s.push(f, now)
	}
}

// EndUserRoom ends userID's streams of room at once; their clients find
// the room gone when they reconnect.
func (h *Hub) EndUserRoom(userID int64, roomName string) {
	h.mu.RLock()
	var ending []*Sub
	for _, s := range h.users[userID] {
		if s.Room == roomName {
			ending = append(ending, s)
		}
	}
	h.mu.RUnlock()
	now := time.Now()
	for _, s := range ending {
		s.finish(Frame{}, now)
	}
}

// Cursors returns, for each room where userID has an open stream, the
// newest message those streams have been given: what the person has read
// there while the page was open.
func (h *Hub) Cursors(userID int64) map[string]int64 {
	h.mu.RLock()
	subs := slices.Clone(h.users[userID])
	h.mu.RUnlock()
	cursors := map[string]int64{}
	for _, s := range subs {
		cursors[s.Room] = max(cursors[s.Room], s.LastID())
	}
	return cursors
}

// Elsewhere returns the people with an open stream who have none in room.
func (h *Hub) Elsewhere(room string) []int64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var ids []int64
	r := h.rooms[room]
	for id := range h.users {
		if r == nil || r.users[id] == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// UserOnline reports whether userID has an open stream in any room.
func (h *Hub) UserOnline(userID int64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.users[userID]) > 0
}

// SetPresence makes f the online list of room. Every stream of the room
// gets it, but never two lists within PresenceGap: a stream that had one
// more recently gets the newest list once its gap has passed, and the
// lists in between are skipped. A stream being started gets the newest
// list from StartPresence instead.
func (h *Hub) SetPresence(roomName string, f Frame) {
	fp := &f
	var held []*Sub
	h.mu.RLock()
	if r := h.rooms[roomName]; r != nil {
		r.presence.Store(fp)
		now := time.Now()
		for s := range r.subs {
			if s.offerPresence(fp, now) {
				held = append(held, s)
			}
		}
	}
	h.mu.RUnlock()
	if len(held) > 0 {
		h.heldMu.Lock()
		for _, s := range held {
			h.held[s] = struct{}{}
		}
		h.heldMu.Unlock()
	}
}

// sendHeld sends the online lists whose streams' gap has passed.
func (h *Hub) sendHeld() {
	now := time.Now()
	h.heldMu.Lock()
	defer h.heldMu.Unlock()
	for s := range h.held {
		if s.sendHeldPresence(now) {
			delete(h.held, s)
		}
	}
}

// EndSessions sends a logout event to the streams of the tokens and ends
// them within a second, flushed or not.
func (h *Hub) EndSessions(tokens ...string) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	now := time.Now()
	for _, t := range tokens {
		for _, s := range h.sessions[t] {
			s.finish(logoutFrame, now)
		}
	}
}

// Present reports whether userID has an open stream in room.
func (h *Hub) Present(roomName string, userID int64) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	r := h.rooms[roomName]
	return r != nil && r.users[userID] > 0
}

// Streams returns the number of open streams.
func (h *Hub) Streams() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.count
}

// SessionStreams returns the number of open streams of the session token.
func (h *Hub) SessionStreams(token string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.sessions[token])
}

// Close ends every stream, after flushing what is queued for at most a
// second, and stops the writers. Subscribe fails from now on.
func (h *Hub) Close() { h.closeOnce.Do(h.close) }

func (h *Hub) close() {
	h.mu.Lock()
	h.closed = true
	subs := h.allLocked()
	h.mu.Unlock()

	now := time.Now()
	for _, s := range subs {
		s.finish(Frame{}, now)
		if !s.delivering() {
			s.end() // its handler finds it ended when it tries to attach
		}
	}
	deadline := time.NewTimer(2 * time.Second)
	defer deadline.Stop()
	expired := false
	for _, s := range subs {
		if !expired {
			select {
			case <-s.done:
				continue
			case <-deadline.C:
				expired = true
			}
		}
		s.end()
	}
	close(h.quit)
	h.wg.Wait()
}

func (h *Hub) allLocked() []*Sub {
	subs := make([]*Sub, 0, h.count)
	for _, r := range h.rooms {
		for s := range r.subs {
			subs = append(subs, s)
		}
	}
	return subs
}

func (h *Hub) pickWriter() *writer {
	return h.writers[int(h.next.Add(1))%len(h.writers)]
}

// maintain sends heartbeats, re-checks sessions, and notices clients that
// hung up without waiting for the next write to fail.
func (h *Hub) maintain() {
	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	reap := time.NewTicker(h.cfg.ReapEvery)
	defer reap.Stop()
	held := time.NewTicker(heldEvery)
	defer held.Stop()
	for {
		select {
		case <-h.quit:
			return
		case <-beat.C:
			h.heartbeat()
		case <-reap.C:
			h.reap()
		case <-held.C:
			h.sendHeld()
		}
	}
}

func (h *Hub) heartbeat() {
	h.mu.RLock()
	subs := h.allLocked()
	tokens := make([]string, 0, len(h.sessions))
	for t := range h.sessions {
		tokens = append(tokens, t)
	}
	h.mu.RUnlock()
	now := time.Now()
	for _, s := range subs {
		s.push(heartbeat, now)
	}
	if h.cfg.CheckSessions == nil || len(tokens) == 0 {
		return
	}
	live, err := h.cfg.CheckSessions(tokens)
	if err != nil {
		return // the database is unwell; try again next beat
	}
	var dead []string
	for _, t := range tokens {
		if !live[t] {
			dead = append(dead, t)
		}
	}
	if len(dead) > 0 {
		h.EndSessions(dead...)
	}
}

func (h *Hub) reap() {
	h.mu.RLock()
	subs := h.allLocked()
	h.mu.RUnlock()
	for _, s := range subs {
		if raw := s.rawConn(); raw != nil && peerClosed(raw) {
			s.end()
		}
	}
}
