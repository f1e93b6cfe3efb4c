package handlers

import "sync"

// queue hands work from any goroutine (the hub under its lock, the store's
// writer after a commit, timers) to one goroutine of its own, which takes
// it in order, in batches. Adding never blocks.
type queue[T any] struct {
	mu      sync.Mutex
	items   []T
	stopped bool
	wake    chan struct{}
	done    chan struct{}
}

// newQueue starts the goroutine that passes each batch to handle.
func newQueue[T any](handle func([]T)) *queue[T] {
	q := &queue[T]{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run(handle)
	return q
}

// add queues item, unless the queue has stopped.
func (q *queue[T]) add(item T) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.stopped {
		return
	}
	q.items = append(q.items, item)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// stop ends the goroutine once the batch in hand is done; what is still
// queued is dropped. It is safe to call more than once.
func (q *queue[T]) stop() {
	q.mu.Lock()
	if q.stopped {
		q.mu.Unlock()
		return
	}
	q.stopped = true
	close(q.wake)
	q.mu.Unlock()
	<-q.done
}

// closed reports whether stop was called.
func (q *queue[T]) closed() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.stopped
}

func (q *queue[T]) run(handle func([]T)) {
	defer close(q.done)
	var batch []T
	for range q.wake {
		for {
			q.mu.Lock()
			if q.stopped || len(q.items) == 0 {
				q.mu.Unlock()
				break
			}
			batch, q.items = q.items, batch[:0]
			q.mu.Unlock()
			handle(batch)
			clear(batch)
		}
	}
}
