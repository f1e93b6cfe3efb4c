package handlers

import (
	"time"

	"github.com/alexedwards/scs/v2"

	"parley/internal/ttlcache"
)

// sessionStore keeps the web sessions in the shared database through the
// store's scs store (store.Store.SessionStore), with a read cache of a
// couple of seconds in front: every request loads its session, and a tab
// opens several streams at once with the same one. Session data only says
// who is signed in (and carries a notice); whether that sign-in still holds
// is checked in the logins table on every request, so a cached copy can
// never keep a signed-out session alive.
type sessionStore struct {
	db    scs.Store
	cache *ttlcache.Cache[string, []byte]
}

var _ scs.Store = (*sessionStore)(nil)

func newSessionStore(db scs.Store) *sessionStore {
	return &sessionStore{db: db, cache: ttlcache.New[string, []byte](2*time.Second, 100_000)}
}

// Find returns the data of the session with token.
func (s *sessionStore) Find(token string) ([]byte, bool, error) {
	now := time.Now()
	b, ok, gen := s.cache.Get(token, now)
	if ok {
		return b, true, nil
	}
	b, found, err := s.db.Find(token)
	if err == nil && found {
		s.cache.Put(token, b, now, gen)
	}
	return b, found, err
}

// Commit stores the session's data.
func (s *sessionStore) Commit(token string, b []byte, expiry time.Time) error {
	defer s.cache.Forget(token)
	return s.db.Commit(token, b, expiry)
}

// Delete removes the session.
func (s *sessionStore) Delete(token string) error {
	defer s.cache.Forget(token)
	return s.db.Delete(token)
}
