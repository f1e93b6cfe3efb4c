package hub

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

type state uint8

const (
	holding state = iota // subscribed; frames wait while the caller replays
	open                 // frames are delivered
	closing              // no new frames; deliver what is queued, then end
	closed
)

// Sub is one open event stream.
type Sub struct {
	Room   string
	Token  string
	UserID int64

	hub  *Hub
	r    *room // set by Subscribe
	done chan struct{}

	// Set once by Attach or Serve, before the stream leaves holding.
	w      *writer         // the writer serving a taken-over connection
	conn   net.Conn        // that connection
	raw    syscall.RawConn // its descriptor, for non-blocking writes
	notify chan struct{}   // wakes Serve's goroutine instead of a writer

	mu           sync.Mutex
	st           state
	queue        []Frame
	off          int   // bytes of queue[0] already written
	lastID       int64 // highest message id queued or replayed
	scheduled    bool  // a writer (or Serve) will look at this stream
	blockedSince time.Time
	closeBy      time.Time
	presAt       time.Time // when the stream was last given an online list
	presSent     *Frame    // that list
	presHeld     bool      // a newer list waits for the gap (the hub's held set)
}

// Done is closed when the stream has ended.
func (s *Sub) Done() <-chan struct{} { return s.done }

// Replayed records that the caller has written every message up to id
// itself, so live frames up to id are skipped.
func (s *Sub) Replayed(id int64) {
	s.mu.Lock()
	if id > s.lastID {
		s.lastID = id
	}
	s.mu.Unlock()
}

// LastID returns the highest message id the stream has queued or replayed.
func (s *Sub) LastID() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastID
}

// push queues f unless the stream already has it or is ending, and says
// what kind of copy it queued, for measuring fan-out.
func (s *Sub) push(f Frame, now time.Time) copyKind {
	s.mu.Lock()
	wake, kind := s.pushLocked(f, now)
	s.mu.Unlock()
	s.wake(wake)
	return kind
}

// pushLocked queues f and reports whether the caller must wake the
// stream's deliverer.
func (s *Sub) pushLocked(f Frame, now time.Time) (wake bool, kind copyKind) {
	if s.st >= closing || f.ID != 0 && s.st == open && f.ID <= s.lastID {
		return false, noCopy
	}
	if len(s.queue) >= s.hub.cfg.MaxQueue {
		// Far behind: end the stream now; the client resumes from its
		// last id and misses nothing.
		s.hub.slowDropped.Add(1)
		s.hub.fan.served(s.queue)
		s.queue, s.off = nil, 0
		s.st, s.closeBy = closing, now
	} else {
		if kind = s.copyKindLocked(f); kind != serveCopy {
			f.Committed = 0 // only Serve counts its copies off
		}
		s.queue = append(s.queue, f)
		if f.ID != 0 && s.st == open {
			s.lastID = f.ID
		}
	}
	return s.wakeLocked(), kind
}

// copyKindLocked says who will deliver a copy of f queued now.
func (s *Sub) copyKindLocked(f Frame) copyKind {
	switch {
	case f.Committed == 0 || s.st != open:
		return noCopy
	case s.w != nil:
		return writerCopy
	case s.notify != nil:
		return serveCopy
	}
	return noCopy
}

// StartPresence returns the room's online list as SetPresence last set
// it, for the caller to write at the start of the stream, and counts it as
// the list the stream was last given. ok is false when no list was set
// yet; the caller then writes one of its own, which counts the same.
func (s *Sub) StartPresence() (f Frame, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fp := s.r.presence.Load()
	s.presAt, s.presSent = time.Now(), fp
	if fp == nil {
		return Frame{}, false
	}
	return *fp, true
}

// offerPresence gives the stream the online list fp, unless it had a list
// within the gap: then it reports that the hub must hold the stream and
// send it the newest list later. A stream being started before
// StartPresence is skipped: it starts with the newest list.
func (s *Sub) offerPresence(fp *Frame, now time.Time) (hold bool) {
	s.mu.Lock()
	if s.st >= closing || s.presSent == fp || s.st == holding && s.presAt.IsZero() {
		s.mu.Unlock()
		return false
	}
	if now.Sub(s.presAt) < s.hub.cfg.PresenceGap {
		hold = !s.presHeld
		s.presHeld = true
		s.mu.Unlock()
		return hold
	}
	s.givePresence(fp, now)
	return false
}

// sendHeldPresence sends the room's newest online list once the stream's
// gap has passed, and reports whether the stream is done waiting.
func (s *Sub) sendHeldPresence(now time.Time) (done bool) {
	s.mu.Lock()
	if s.st < closing && now.Sub(s.presAt) < s.hub.cfg.PresenceGap {
		s.mu.Unlock()
		return false
	}
	s.presHeld = false
	fp := s.r.presence.Load()
	if s.st >= closing || fp == nil || fp == s.presSent {
		s.mu.Unlock()
		return true
	}
	s.givePresence(fp, now)
	return true
}

// givePresence queues the online list fp and unlocks s.
func (s *Sub) givePresence(fp *Frame, now time.Time) {
	s.presAt, s.presSent = now, fp
	wake, _ := s.pushLocked(*fp, now)
	s.mu.Unlock()
	s.wake(wake)
}

// finish queues f (if any) as the stream's last frame and ends the stream
// once it is written, or within a second.
func (s *Sub) finish(f Frame, now time.Time) {
	s.mu.Lock()
	if s.st >= closing {
		s.mu.Unlock()
		return
	}
	if f.Data != nil {
		s.queue = append(s.queue, f)
	}
	s.st, s.closeBy = closing, now.Add(time.Second)
	wake := s.wakeLocked()
	s.mu.Unlock()
	s.wake(wake)
}

// wakeLocked marks s for delivery and reports whether the caller must wake
// its deliverer. Until Attach or Serve there is none, and release looks.
func (s *Sub) wakeLocked() bool {
	if s.scheduled || s.st == holding || s.w == nil && s.notify == nil {
		return false
	}
	s.scheduled = true
	return true
}

func (s *Sub) wake(do bool) {
	if !do {
		return
	}
	if s.w != nil {
		s.w.add(s)
		return
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// release ends holding: frames published during the replay that the replay
// already covered are dropped, the rest are delivered.
func (s *Sub) release() {
	s.mu.Lock()
	kept := s.queue[:0]
	for _, f := range s.queue {
		if f.ID == 0 || f.ID > s.lastID {
			kept = append(kept, f)
			s.lastID = max(s.lastID, f.ID)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
	if s.st == holding {
		s.st = open
	}
	wake := (len(s.queue) > 0 || s.st == closing) && s.wakeLocked()
	s.mu.Unlock()
	s.wake(wake)
}

// delivering reports whether Attach or Serve has taken the stream on.
func (s *Sub) delivering() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w != nil || s.notify != nil
}

// rawConn returns the descriptor of a taken-over connection that is being
// delivered to, or nil.
func (s *Sub) rawConn() syscall.RawConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w == nil || s.st == holding || s.st == closed {
		return nil
	}
	return s.raw
}

// Attach hands a taken-over connection to the writers: from now on they
// deliver the stream's frames, and the caller must not touch conn again.
// The response head and the replay must already be written.
func (s *Sub) Attach(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		s.end()
		return errNotRaw
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		s.end()
		return err
	}
	conn.SetDeadline(time.Time{})
	if n := s.hub.cfg.SendBuffer; n > 0 {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetWriteBuffer(n)
		}
	}
	s.mu.Lock()
	if s.st == closed {
		s.mu.Unlock()
		conn.Close()
		return ErrClosed
	}
	s.conn, s.raw, s.w = conn, raw, s.hub.pickWriter()
	s.mu.Unlock()
	s.release()
	return nil
}

// Serve delivers the stream's frames through w from the calling goroutine,
// for connections that cannot be taken over (HTTP/2). flush pushes written
// bytes to the client; setDeadline bounds each write. Serve returns when
// the stream ends or ctx is done.
func (s *Sub) Serve(ctx context.Context, w io.Writer, flush func() error, setDeadline func(time.Time) error) {
	s.mu.Lock()
	s.notify = make(chan struct{}, 1)
	s.mu.Unlock()
	defer s.end()
	s.release()
	for {
		select {
		case <-s.notify:
		case <-s.done:
			return
		case <-ctx.Done():
			return
		}
		if !s.deliver(w, flush, setDeadline) {
			return
		}
	}
}

// deliver writes what is queued for a stream served by Serve, and reports
// whether the stream goes on. It is apart from Serve, and not inlined,
// so that the frame the goroutine waits in stays small: every idle stream
// over HTTP/2 holds its goroutine's stack, and the runtime shrinks a
// waiting stack only when little of it is in use.
//
//go:noinline
func (s *Sub) deliver(w io.Writer, flush func() error, setDeadline func(time.Time) error) bool {
	s.mu.Lock()
	s.scheduled = false
	frames, st := s.queue, s.st
	s.queue = nil
	s.mu.Unlock()
	if len(frames) > 0 {
		setDeadline(time.Now().Add(s.hub.cfg.SlowTimeout))
		err := writeFrames(w, frames, flush)
		if s.hub.fan.served(frames) { // written, or never will be
			s.hub.settle()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				s.hub.slowDropped.Add(1)
			}
			return false
		}
		// The deadline bounds this write only: over HTTP/2 it would
		// otherwise reset the stream once it passed.
		setDeadline(time.Time{})
	}
	if st == closing {
		s.mu.Lock()
		empty := len(s.queue) == 0
		s.mu.Unlock()
		if empty {
			return false
		}
	}
	return true
}

// writeFrames writes frames to w and flushes them.
func writeFrames(w io.Writer, frames []Frame, flush func() error) error {
	for _, f := range frames {
		if _, err := w.Write(f.Data); err != nil {
			return err
		}
	}
	return flush()
}

// end closes the stream at once. It is safe to call more than once.
func (s *Sub) end() {
	s.mu.Lock()
	if s.st == closed {
		s.mu.Unlock()
		return
	}
	s.st = closed
	dropped := s.queue
	s.queue, s.off = nil, 0
	conn := s.conn
	s.mu.Unlock()
	if s.hub.fan.served(dropped) {
		s.hub.settle()
	}
	s.hub.remove(s)
	if conn != nil {
		conn.Close()
	}
	close(s.done)
}

// Abandon ends a stream whose handler failed before delivery started.
func (s *Sub) Abandon() { s.end() }
