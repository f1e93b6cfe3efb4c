package hub

import (
	"errors"
	"sync"
	"time"
)

// maxWrite bounds the bytes one write system call carries.
const maxWrite = 64 << 10

var (
	errNotRaw     = errors.New("hub: connection has no file descriptor")
	errWouldBlock = errors.New("hub: socket full")
)

// writer serves the taken-over connections of many streams. Publishing
// marks a stream ready; at most once per Pace the writer passes over the
// ready streams and writes what each has queued in one non-blocking system
// call. A stream whose socket filled up is tried again on the next pass if
// its last write made progress (a client draining a burst), or every
// retryEvery if it made none (a client that stopped reading), until it
// drains or makes no progress for SlowTimeout.
type writer struct {
	h     *Hub
	wake  chan struct{}
	buf   []byte
	mu    sync.Mutex
	ready []*Sub
	spare []*Sub
}

const retryEvery = 50 * time.Millisecond

// outcome is what one flush of a stream came to.
type outcome int

const (
	drained outcome = iota // all written, or the stream ended
	partial                // the socket filled, after taking some bytes
	full                   // the socket took nothing
)

func newWriter(h *Hub) *writer {
	return &writer{h: h, wake: make(chan struct{}, 1), buf: make([]byte, 0, maxWrite)}
}

func (w *writer) add(s *Sub) {
	w.mu.Lock()
	w.ready = append(w.ready, s)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *writer) run() {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	// hot streams made progress on their last try and go again next pass;
	// cold ones made none and wait retryEvery.
	var hot, cold, nextHot, nextCold []*Sub
	var last, lastCold time.Time
	for {
		switch {
		case len(hot) > 0:
			timer.Reset(w.h.cfg.Pace)
		case len(cold) > 0:
			timer.Reset(retryEvery)
		default:
			timer.Stop()
		}
		select {
		case <-w.h.quit:
			return
		case <-w.wake:
		case <-timer.C:
		}
		if d := w.h.cfg.Pace - time.Since(last); d > 0 {
			time.Sleep(d)
		}
		now := time.Now()
		last = now

		w.mu.Lock()
		ready := w.ready
		w.ready = w.spare[:0]
		w.mu.Unlock()

		pass := func(list []*Sub) {
			for _, s := range list {
				switch w.flush(s, now) {
				case partial:
					nextHot = append(nextHot, s)
				case full:
					nextCold = append(nextCold, s)
				}
			}
		}
		pass(hot)
		pass(ready)
		if now.Sub(lastCold) >= retryEvery {
			lastCold = now
			pass(cold)
		} else {
			nextCold = append(nextCold, cold...)
		}
		clear(ready)
		w.spare = ready
		clear(hot)
		clear(cold)
		hot, nextHot = nextHot, hot[:0]
		cold, nextCold = nextCold, cold[:0]
	}
}

// flush writes what s has queued and says how far it got.
func (w *writer) flush(s *Sub, now time.Time) outcome {
	s.mu.Lock()
	s.scheduled = false
	if s.st == closed || s.st == holding {
		s.mu.Unlock()
		return drained
	}
	var err error
	wrote := 0
	for len(s.queue) > 0 && err == nil {
		var n int
		if len(s.queue) == 1 {
			n, err = writeNonblock(s.raw, s.queue[0].Data[s.off:])
		} else {
			n, err = writeNonblock(s.raw, w.gather(s))
		}
		s.consume(n)
		wrote += n
	}
	res, end := drained, false
	switch {
	case err != nil && !errors.Is(err, errWouldBlock):
		end = true // the client is gone
	case len(s.queue) == 0:
		s.blockedSince = time.Time{}
		end = s.st == closing
	default:
		res = full
		if wrote > 0 || s.blockedSince.IsZero() {
			s.blockedSince = now
		}
		if wrote > 0 {
			res = partial
		}
		end = now.Sub(s.blockedSince) > w.h.cfg.SlowTimeout ||
			s.st == closing && now.After(s.closeBy)
		s.scheduled = !end
	}
	s.mu.Unlock()
	if end {
		s.end()
		return drained
	}
	return res
}

// gather copies the start of s's queue into the writer's buffer.
func (w *writer) gather(s *Sub) []byte {
	b := w.buf[:0]
	for i, f := range s.queue {
		d := f.Data
		if i == 0 {
			d = d[s.off:]
		}
		if len(b) > 0 && len(b)+len(d) > maxWrite {
			break
		}
		b = append(b, d...)
	}
	return b
}

// consume drops n written bytes from the front of the queue.
func (s *Sub) consume(n int) {
	for n > 0 && len(s.queue) > 0 {
		rest := len(s.queue[0].Data) - s.off
		if n < rest {
			s.off += n
			return
		}
		n -= rest
		s.queue[0] = Frame{}
		s.queue = s.queue[1:]
		s.off = 0
	}
	if len(s.queue) == 0 {
		s.queue = s.queue[:0:0]
	}
}
