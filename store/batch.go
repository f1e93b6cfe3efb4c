package store

import (
	"context"
	"database/sql"
	"fmt"
	"runtime"
	"sync"
	"time"
)

// maxBatch bounds how many writes share one transaction.
const maxBatch = 256

// A job is one write: it runs inside a shared transaction and returns the
// messages it stored.
type job struct {
	ctx context.Context
	run func(*sql.Tx) ([]Message, error)
	// pipe, when set, is run as one statement, which the writer may send
	// with others (pipeline.go).
	pipe  *piped
	msgs  []Message
	err   error
	reply chan struct{}
}

// batcher serialises every write that stores messages through one goroutine
// and commits concurrent writes together (group commit). SQLite has one
// writer at a time anyway; queueing here avoids its busy-wait back-off, and
// a single writer hands committed messages to AfterCommit in id order.
type batcher struct {
	s    *Store
	jobs chan *job
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

func newJob(ctx context.Context, fn func(*sql.Tx) ([]Message, error)) *job {
	return &job{ctx: ctx, run: fn, reply: make(chan struct{})}
}

func newBatcher(s *Store) *batcher {
	b := &batcher{s: s, jobs: make(chan *job), quit: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// do runs fn in a write transaction shared with other writers and waits for
// the commit. fn's error rolls back only fn's own statements.
func (b *batcher) do(ctx context.Context, fn func(*sql.Tx) ([]Message, error)) error {
	return b.send(newJob(ctx, fn))
}

// send hands j to the writer and waits for its verdict.
func (b *batcher) send(j *job) error {
	ctx := j.ctx
	select {
	case b.jobs <- j:
	case <-b.quit:
		return fmt.Errorf("%w: shutting down", ErrUnavailable)
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once taken, a job is committed or failed; wait for the verdict even if
	// the caller gives up, so that an acknowledged write is a stored one.
	<-j.reply
	return j.err
}

func (b *batcher) close() {
	b.once.Do(func() { close(b.quit) })
	<-b.done
}

func (b *batcher) loop() {
	defer close(b.done)
	batch := make([]*job, 0, maxBatch)
	var ended time.Time    // when the last commit ended
	var took time.Duration // how long it took
	for {
		select {
		case j := <-b.jobs:
			batch = append(batch[:0], j)
		case <-b.quit:
			return
		}
		// A write that comes sooner after the last commit than that commit
		// took means writes come about as fast as they commit: then gather.
		start := time.Now()
		batch = b.gather(batch, start.Sub(ended) < took)
		b.commit(batch)
		ended = time.Now()
		took = ended.Sub(start)
	}
}

// maxYields bounds how many times gather lets other goroutines run before
// the writer commits what it has.
const maxYields = 8

// gather adds to batch the jobs waiting to be taken. When the writer is
// busy, the goroutine that hands it its first job wakes it at once, before
// the others about to send theirs have run (with one core, always), and
// each transaction would carry one write: so, busy, the writer yields, and
// again while each yield brings more, and commits once one brings none.
// Idle, it commits at once what is there, as a lone write should not wait
// behind other work (a stream's fan-out, say).
func (b *batcher) gather(batch []*job, busy bool) []*job {
	batch = b.drain(batch)
	for yields := 0; busy && yields < maxYields && len(batch) < maxBatch; yields++ {
		n := len(batch)
		runtime.Gosched()
		if batch = b.drain(batch); len(batch) == n {
			break
		}
	}
	return batch
}

// drain adds to batch, up to maxBatch, the jobs waiting to be taken.
func (b *batcher) drain(batch []*job) []*job {
	for len(batch) < maxBatch {
		select {
		case j := <-b.jobs:
			batch = append(batch, j)
		default:
			return batch
		}
	}
	return batch
}

// commit runs the batch in one transaction (runTx), then publishes what was stored and answers every job.
func (b *batcher) commit(batch []*job) {
	start := time.Now()
	err := b.runTx(batch)
	if b.s.ObserveCommit != nil {
		b.s.ObserveCommit(time.Since(start))
	}
	if err == nil {
		b.s.countStored(batch)
	}
	if err == nil && b.s.AfterCommit != nil && !b.s.feed.following() {
		var all []Message
		for _, j := range batch {
			all = append(all, j.msgs...)
		}
		if len(all) > 0 {
			b.s.AfterCommit(all)
		}
	}
	for _, j := range batch {
		if err != nil && j.err == nil {
			j.err = err
		}
		close(j.reply)
	}
}

// runTx runs the batch in one transaction. Where the dialect has
// optimisticBatch, the jobs first run one after another with no savepoint
// (savepoints cost two round trips a job); should any job fail, that
// transaction is rolled back and the batch runs again, each job under its
// own savepoint, so that only the failing jobs fail.
func (b *batcher) runTx(batch []*job) error {
	if b.s.d.optimisticBatch {
		failed, err := b.tryTx(batch, false)
		if !failed {
			return err
		}
		for _, j := range batch {
			j.msgs, j.err = nil, nil
		}
	}
	_, err := b.tryTx(batch, true)
	return err
}

// tryTx runs the batch in one transaction and commits it. With savepoints,
// a failing job's statements are undone and the others commit; without,
// the first failing job stops the batch, nothing is committed, and failed
// is true. Without savepoints, where the dialect pipelines, the piped
// statements of consecutive jobs go together.
func (b *batcher) tryTx(batch []*job, savepoints bool) (failed bool, err error) {
	ctx := context.Background()
	pipeline := !savepoints && b.s.d.pipeline != nil
	var conn *sql.Conn
	var tx *sql.Tx
	if pipeline {
		if conn, err = b.s.DB.Conn(ctx); err != nil {
			return false, err
		}
		defer conn.Close()
		tx, err = conn.BeginTx(ctx, nil)
	} else {
		tx, err = b.s.DB.BeginTx(ctx, nil)
	}
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if err := execAll(ctx, tx, b.s.d.lockEvents); err != nil {
		return false, err
	}
	for i := 0; i < len(batch); {
		if n := pipedRun(batch[i:]); pipeline && n > 0 {
			jobs := batch[i : i+n]
			if err := b.s.d.pipeline(ctx, conn, jobs); err != nil {
				return true, nil
			}
			for _, j := range jobs {
				if j.err == errRun {
					j.msgs, j.err = j.run(tx)
				}
				if j.err != nil || j.ctx.Err() != nil {
					return true, nil
				}
			}
			i += n
			continue
		}
		j := batch[i]
		i++
		if savepoints {
			if _, err := tx.Stmt(b.s.stmts.savepoint).Exec(); err != nil {
				return false, err
			}
		}
		j.msgs, j.err = j.run(tx)
		if j.err == nil {
			j.err = j.ctx.Err()
		}
		if j.err != nil {
			j.msgs = nil
			if !savepoints {
				return true, nil
			}
			if _, err := tx.Stmt(b.s.stmts.rollbackTo).Exec(); err != nil {
				return false, err
			}
		}
		if savepoints {
			if _, err := tx.Stmt(b.s.stmts.release).Exec(); err != nil {
				return false, err
			}
		}
	}
	if err := b.s.indexPending(tx); err != nil {
		return false, err
	}
	if err := b.s.notifyCommit(tx, batch); err != nil {
		return false, err
	}
	return false, tx.Commit()
}

// pipedRun returns how many jobs from the start of batch have a piped
// statement.
func pipedRun(batch []*job) int {
	n := 0
	for n < len(batch) && batch[n].pipe != nil {
		n++
	}
	return n
}
