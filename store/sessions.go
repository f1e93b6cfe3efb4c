package store

import (
	"sync"

	"github.com/alexedwards/scs/v2"
)

// SessionStore keeps the web sessions in the store's database: scs's
// sqlite3store on SQLite, its pgxstore on PostgreSQL. Both delete expired
// sessions in the background until StopCleanup.
type SessionStore interface {
	scs.Store
	StopCleanup()
}

// stopOnce lets StopCleanup be called more than once: by the server when
// it shuts down, and by Close.
type stopOnce struct {
	SessionStore
	once sync.Once
}

func (s *stopOnce) StopCleanup() { s.once.Do(s.SessionStore.StopCleanup) }

// SessionStore returns the web sessions' store, in the same database as
// everything else, so every server sharing the database shares them.
func (s *Store) SessionStore() SessionStore { return s.sessions }
