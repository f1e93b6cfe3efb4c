package hub

import (
	"errors"
	"runtime"
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
	raw   *rawWriter
	buf   []byte
	mu    sync.Mutex
	ready []*Sub
	spare []*Sub
	// For measuring fan-out (see fanout): whether a pass is running,
	// whether streams are left with bytes to write, and the message id up
	// to which the last pass left no copy behind.
	passing, pending bool
	through          int64
}

const retryEvery = 50 * time.Millisecond

// yieldEvery is how many streams a writer serves before it lets the other
// goroutines run: a pass over 10 000 streams takes tens of milliseconds,
// and posts waiting for their commit must not wait for the whole pass.
const yieldEvery = 256

// outcome is what one flush of a stream came to.
type outcome int

const (
	drained outcome = iota // all written, or the stream ended
	partial                // the socket filled, after taking some bytes
	full                   // the socket took nothing
)

func newWriter(h *Hub) *writer {
	return &writer{h: h, wake: make(chan struct{}, 1), raw: newRawWriter(), buf: make([]byte, 0, maxWrite)}
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
	var rest time.Duration // the least time from the last pass's start to the next
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
		if d := max(w.h.cfg.Pace, rest) - time.Since(last); d > 0 {
			time.Sleep(d)
		}
		now := time.Now()
		last = now

		mark := w.h.fan.marked.Load() // every copy up to it is queued by now
		w.mu.Lock()
		ready := w.ready
		w.ready = w.spare[:0]
		w.passing = true
		w.mu.Unlock()

		served := 0
		pass := func(list []*Sub) {
			for _, s := range list {
				if served++; served%yieldEvery == 0 {
					runtime.Gosched()
				}
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
		// When frames arrived during the pass, the writers are behind:
		// rest as long as the pass took. They then use about half of the
		// CPU at most, the rest of the server (posts, commits, new
		// streams) keeps going, and the frames that arrive meanwhile leave
		// together, one write per stream.
		rest = 0
		through := mark
		if w.h.fan.observe != nil {
			if low := lowestHeld(hot, cold); low > 0 {
				through = min(through, low-1)
			}
		}
		w.mu.Lock()
		behind := len(w.ready) > 0
		w.passing, w.pending, w.through = false, len(hot)+len(cold) > 0, through
		w.mu.Unlock()
		w.h.settle()
		if behind {
			rest = 2 * time.Since(now)
		}
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
			n, err = w.raw.writeNonblock(s.raw, s.queue[0].Data[s.off:])
		} else {
			n, err = w.raw.writeNonblock(s.raw, w.gather(s))
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
		slow := now.Sub(s.blockedSince) > w.h.cfg.SlowTimeout
		if slow && s.st != closing {
			w.h.slowDropped.Add(1)
		}
		end = slow || s.st == closing && now.After(s.closeBy)
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
	i := 0
	for n > 0 && i < len(s.queue) {
		rest := len(s.queue[i].Data) - s.off
		if n < rest {
			s.off += n
			break
		}
		n -= rest
		s.queue[i] = Frame{}
		s.off = 0
		i++
	}
	if i < len(s.queue) {
		s.queue = s.queue[i:]
		return
	}
	// All written. Keep a small queue's array for the next frames, since
	// most streams get one frame at a time; let a large one go, so that an
	// idle stream holds no memory from a past burst.
	if cap(s.queue) > 4 {
		s.queue = nil
	} else {
		s.queue = s.queue[:0]
	}
}
