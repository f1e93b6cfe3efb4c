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
// call. A stream whose socket is full is retried every retryEvery until it
// drains or SlowTimeout passes.
type writer struct {
	h     *Hub
	wake  chan struct{}
	buf   []byte
	mu    sync.Mutex
	ready []*Sub
	spare []*Sub
}

const retryEvery = 50 * time.Millisecond

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
	retry := time.NewTicker(retryEvery)
	defer retry.Stop()
	var blocked, next []*Sub
	var last time.Time
	for {
		var tick <-chan time.Time
		if len(blocked) > 0 {
			tick = retry.C
		}
		select {
		case <-w.h.quit:
			return
		case <-w.wake:
		case <-tick:
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

		next = next[:0]
		for _, list := range [2][]*Sub{blocked, ready} {
			for _, s := range list {
				if w.flush(s, now) {
					next = append(next, s)
				}
			}
		}
		clear(ready)
		w.spare = ready
		blocked, next = next, blocked
		clear(next)
	}
}

// flush writes what s has queued. It reports whether s must be tried again
// because its socket is full.
func (w *writer) flush(s *Sub, now time.Time) (again bool) {
	s.mu.Lock()
	s.scheduled = false
	if s.st == closed || s.st == holding {
		s.mu.Unlock()
		return false
	}
	var err error
	for len(s.queue) > 0 && err == nil {
		var n int
		if len(s.queue) == 1 {
			n, err = writeNonblock(s.raw, s.queue[0].Data[s.off:])
		} else {
			n, err = writeNonblock(s.raw, w.gather(s))
		}
		s.consume(n)
	}
	end := false
	switch {
	case err != nil && !errors.Is(err, errWouldBlock):
		end = true // the client is gone
	case len(s.queue) == 0:
		s.blockedSince = time.Time{}
		end = s.st == closing
	default:
		if s.blockedSince.IsZero() {
			s.blockedSince = now
		}
		end = now.Sub(s.blockedSince) > w.h.cfg.SlowTimeout ||
			s.st == closing && now.After(s.closeBy)
		again = !end
		s.scheduled = again
	}
	s.mu.Unlock()
	if end {
		s.end()
	}
	return again
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
