package handlers

import (
	"context"
	"time"
)

// When the database stops answering, requests that need it fail with 503
// and a Retry-After (fail), /healthz says so, and the event streams end:
// on a database shared by several servers a stream cannot know what the
// other servers stored meanwhile, so its client reconnects, is refused
// while the database is away, and once it is back resumes from the last
// event it saw (Last-Event-ID), from the database. A server on a SQLite
// file, which it alone writes, does not watch.

const (
	// databaseCheckEvery is how often a server on a shared database
	// checks that the database answers.
	databaseCheckEvery = 2 * time.Second
	// databaseCheckTimeout is how long a check waits for the answer.
	databaseCheckTimeout = 5 * time.Second
)

// watchDatabase starts checking the database, on PostgreSQL, and returns
// the function that stops it.
func (a *App) watchDatabase() (stop func()) {
	if !a.store.Shared() { // one server, which alone writes the file
		return func() {}
	}
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(databaseCheckEvery)
		defer t.Stop()
		down := false
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), databaseCheckTimeout)
			err := a.store.Ping(ctx)
			cancel()
			switch {
			case err != nil:
				// Again while it stays down: a stream may have opened from
				// what was cached.
				if n := a.hub.EndAll(); n > 0 || !down {
					a.log.Warn("database unreachable: streams ended", "streams", n, "err", err)
				}
				down = true
			case down:
				down = false
				a.log.Info("database answers again")
			}
		}
	}()
	return func() {
		close(quit)
		<-done
	}
}
