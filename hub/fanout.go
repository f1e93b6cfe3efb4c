package hub

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// fanout measures how long each message takes from its commit to the last
// write of its copies, without any work per copy in the writers. A message
// is done when no writer holds a copy of it any more: each writer, at the
// end of a pass, records the id below which it holds nothing (its
// watermark), and the messages at or below every writer's watermark are
// reported with the time of that pass. Messages are published in id order,
// so one watermark per writer says it all.
//
// A stream served by its own goroutine (HTTP/2, see Sub.Serve) is counted
// instead: its copy keeps the commit time, and the goroutine counts it off
// once written (or dropped). A stream still replaying is not waited for.
type fanout struct {
	observe func(time.Duration)
	mu      sync.Mutex
	waiting []sentMsg // published, not yet written everywhere, in id order
	marked  atomic.Int64
}

// maxWaiting bounds the messages being measured at once: a burst beyond it
// (at 100 messages a second, minutes of them) goes unmeasured rather than
// held in memory.
const maxWaiting = 1 << 16

// sentMsg is a published message whose copies are still being written.
type sentMsg struct {
	id        int64
	committed int64 // Unix nanoseconds
	copies    bool  // whether any stream was given a copy
	serving   int   // copies queued for Serve's goroutines, not yet written
}

// copyKind says who delivers a copy of a measured message.
type copyKind uint8

const (
	noCopy     copyKind = iota // not measured, or a stream not delivering yet
	writerCopy                 // a writer's: its watermark covers it
	serveCopy                  // Serve's: counted until written
)

// begin records a message about to be published, before its copies are
// queued, so that a writer finishing them at once cannot miss it.
// A message out of id order, or beyond maxWaiting, is not measured.
func (fo *fanout) begin(f Frame) bool {
	if fo.observe == nil || f.ID == 0 || f.Committed == 0 {
		return false
	}
	fo.mu.Lock()
	defer fo.mu.Unlock()
	if n := len(fo.waiting); n >= maxWaiting || n > 0 && fo.waiting[n-1].id >= f.ID {
		return false
	}
	fo.waiting = append(fo.waiting, sentMsg{id: f.ID, committed: f.Committed})
	return true
}

// queued marks every copy of message id as queued: from now on a writer
// that holds none of them is done with it. serving of the copies are
// Serve's, which count them off as they are written.
func (fo *fanout) queued(id int64, copies, serving int) {
	fo.mu.Lock()
	if i, ok := fo.find(id); ok {
		fo.waiting[i].copies = copies > 0
		fo.waiting[i].serving += serving // some may be counted off already
	}
	fo.mu.Unlock()
	if id > fo.marked.Load() {
		fo.marked.Store(id) // Publish runs one message at a time
	}
}

// find returns the index of message id among the waiting ones.
func (fo *fanout) find(id int64) (int, bool) {
	return slices.BinarySearchFunc(fo.waiting, id, func(m sentMsg, id int64) int { return cmp.Compare(m.id, id) })
}

// served counts off the copies among frames that Serve's goroutine has
// written or dropped, and reports whether there were any.
func (fo *fanout) served(frames []Frame) bool {
	if fo.observe == nil {
		return false
	}
	any := false
	fo.mu.Lock()
	for _, f := range frames {
		if f.Committed == 0 { // only Serve's copies keep their commit time
			continue
		}
		if i, ok := fo.find(f.ID); ok {
			fo.waiting[i].serving--
			any = true
		}
	}
	fo.mu.Unlock()
	return any
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
		if m.id > done || m.serving > 0 {
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
