package hub

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats are the hub's counters, read at any time without stopping delivery.
type Stats struct {
	// Streams is the number of open streams.
	Streams int
	// SlowDropped counts the streams ended because their client did not
	// read fast enough, since the hub started.
	SlowDropped uint64
}

// Stats returns the hub's counters.
func (h *Hub) Stats() Stats {
	return Stats{Streams: h.Streams(), SlowDropped: h.slowDropped.Load()}
}

// fanout measures how long each message takes from its commit to the last
// write of its copies, without any work per copy in the writers. A message
// is done when no writer holds a copy of it any more: each writer, at the
// end of a pass, records the id below which it holds nothing (its
// watermark), and the messages at or below every writer's watermark are
// reported with the time of that pass. Messages are published in id order,
// so one watermark per writer says it all.
//
// Only taken-over streams count: a stream served by its own goroutine
// (HTTP/2) or still replaying is not waited for.
type fanout struct {
	observe func(time.Duration)
	mu      sync.Mutex
	waiting []sentMsg // published, not yet written everywhere, in id order
	marked  atomic.Int64
}

// sentMsg is a published message whose copies are still being written.
type sentMsg struct {
	id        int64
	committed int64 // Unix nanoseconds
	copies    bool  // whether any writer was given a copy
}

// begin records a message about to be published, before its copies are
// queued, so that a writer finishing them at once cannot miss it.
func (fo *fanout) begin(f Frame) bool {
	if fo.observe == nil || f.ID == 0 || f.Committed == 0 {
		return false
	}
	fo.mu.Lock()
	fo.waiting = append(fo.waiting, sentMsg{id: f.ID, committed: f.Committed})
	fo.mu.Unlock()
	return true
}

// queued marks every copy of message id as queued: from now on a writer
// that holds none of them is done with it.
func (fo *fanout) queued(id int64, copies int) {
	fo.mu.Lock()
	for i := len(fo.waiting) - 1; i >= 0; i-- {
		if fo.waiting[i].id == id {
			fo.waiting[i].copies = copies > 0
			break
		}
	}
	fo.mu.Unlock()
	if id > fo.marked.Load() {
		fo.marked.Store(id) // Publish runs one message at a time
	}
}

// settle reports every message no writer holds a copy of any more.
func (h *Hub) settle() {
	fo := &h.fan
	if fo.observe == nil {
		return
	}
	// Read the mark before looking at the writers: every copy of a message
	// up to it was queued before, so an idle writer has written them.
	done := fo.marked.Load()
	for _, w := range h.writers {
		done = min(done, w.watermark(done))
	}
	now := time.Now()
	fo.mu.Lock()
	n := 0
	for _, m := range fo.waiting {
		if m.id > done {
			break
		}
		n++
		if m.copies {
			fo.observe(max(0, time.Duration(now.UnixNano()-m.committed)))
		}
	}
	if n > 0 {
		rest := copy(fo.waiting, fo.waiting[n:])
		clear(fo.waiting[rest:])
		fo.waiting = fo.waiting[:rest]
	}
	fo.mu.Unlock()
}

// watermark returns the highest message id up to which w holds no copy,
// given that every copy up to mark has been queued.
func (w *writer) watermark(mark int64) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.passing && !w.pending && len(w.ready) == 0 {
		return mark
	}
	return w.through
}

// lowestHeld returns the lowest message id queued on any of the streams,
// or 0 when none holds a message.
func lowestHeld(lists ...[]*Sub) int64 {
	low := int64(0)
	for _, list := range lists {
		for _, s := range list {
			s.mu.Lock()
			for _, f := range s.queue {
				if f.ID != 0 {
					if low == 0 || f.ID < low {
						low = f.ID
					}
					break // a stream's frames are in id order
				}
			}
			s.mu.Unlock()
		}
	}
	return low
}
