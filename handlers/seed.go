package handlers

import (
	"context"
	"time"

	"parley/store"
)

// SeedSessions signs each user in with a new session, as POST /login does
// once the password is checked, and returns the session tokens (the values
// of the parley_session cookie), in the order of users: for load tests and
// demonstrations that need thousands of people signed in without hashing a
// password for each. The sessions last for lifetime. A request with one of
// them goes through every check that a sign-in through the web gets.
func SeedSessions(ctx context.Context, st *store.Store, users []store.User, lifetime time.Duration) ([]string, error) {
	deadline := time.Now().Add(lifetime)
	return st.SeedLogins(ctx, users, func(u store.User) ([]byte, error) {
		return sessionCodec{}.Encode(deadline, map[string]any{sessionUserKey: u.ID})
	}, deadline)
}
