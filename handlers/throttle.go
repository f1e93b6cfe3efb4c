package handlers

import (
	"context"
	"time"

	"parley/store"
)

// signInLimits are the throttles of sign-in and registration (Limits):
// failed sign-ins per handle and per client address, registrations per
// address. On SQLite one process serves the file and they count in its
// memory (limiter); on PostgreSQL they count in the database
// (dbSignInLimits), so that every server counts the same. The per-account
// post rate stays in each server's memory (limiter.allowPost): it guards
// against a flood, and a look-up in the database would cost every post.
type signInLimits interface {
	// signInWait reports how long sign-ins for the handle key from addr
	// stay refused, and whether the address is why, or 0.
	signInWait(ctx context.Context, key, addr string, now time.Time) (wait time.Duration, byAddress bool, err error)
	// signInFailed counts a failed sign-in for the handle and the address.
	signInFailed(ctx context.Context, key, addr string, now time.Time) error
	// signInSucceeded forgets the handle's failures.
	signInSucceeded(ctx context.Context, key string) error
	// register counts a registration from addr and returns 0, or, past
	// the limit, counts nothing and returns how long until one is allowed.
	register(ctx context.Context, addr string, now time.Time) (time.Duration, error)
}

// newSignInLimits returns the throttles for the store's backend.
func newSignInLimits(st *store.Store, mem *limiter) signInLimits {
	if th := st.Throttle(); th != nil {
		return dbSignInLimits{th: th, cfg: mem.cfg}
	}
	return memSignInLimits{mem}
}

// memSignInLimits counts in this process's memory.
type memSignInLimits struct{ l *limiter }

func (m memSignInLimits) signInWait(_ context.Context, key, addr string, now time.Time) (time.Duration, bool, error) {
	if wait := m.l.loginLocked(key, now); wait > 0 {
		return wait, false, nil
	}
	return m.l.addressLocked(addr, now), true, nil
}

func (m memSignInLimits) signInFailed(_ context.Context, key, addr string, now time.Time) error {
	m.l.loginFailed(key, now)
	m.l.addressFailed(addr, now)
	return nil
}

func (m memSignInLimits) signInSucceeded(_ context.Context, key string) error {
	m.l.loginSucceeded(key)
	return nil
}

func (m memSignInLimits) register(_ context.Context, addr string, now time.Time) (time.Duration, error) {
	_, wait := m.l.allowRegistration(addr, now)
	return wait, nil
}

// dbSignInLimits counts in the database with the same rules as limiter: a
// handle is refused after LoginFailures failures within LoginWindow until
// the oldest of them is LoginWindow old; an address's failed sign-ins
// and its registrations are token buckets of the same rate and burst.
// Keys are prefixed by what they count.
type dbSignInLimits struct {
	th  *store.Throttle
	cfg Limits
}

func (d dbSignInLimits) addressRate() store.Rate {
	return store.Rate{Every: d.cfg.LoginWindow / time.Duration(d.cfg.AddressFailures), Burst: d.cfg.AddressFailures}
}

func (d dbSignInLimits) signInWait(ctx context.Context, key, addr string, now time.Time) (time.Duration, bool, error) {
	wait, err := d.th.WindowWait(ctx, "handle:"+key, d.cfg.LoginFailures, d.cfg.LoginWindow, now)
	if err != nil || wait > 0 {
		return wait, false, err
	}
	wait, err = d.th.RateWait(ctx, "signin:"+addr, d.addressRate(), now)
	return wait, true, err
}

func (d dbSignInLimits) signInFailed(ctx context.Context, key, addr string, now time.Time) error {
	if err := d.th.Record(ctx, "handle:"+key, now, d.cfg.LoginWindow); err != nil {
		return err
	}
	_, err := d.th.Take(ctx, "signin:"+addr, d.addressRate(), now)
	return err
}

func (d dbSignInLimits) signInSucceeded(ctx context.Context, key string) error {
	return d.th.Forget(ctx, "handle:"+key)
}

func (d dbSignInLimits) register(ctx context.Context, addr string, now time.Time) (time.Duration, error) {
	n := d.cfg.RegistrationsPerHour
	return d.th.Take(ctx, "register:"+addr, store.Rate{Every: time.Hour / time.Duration(n), Burst: n}, now)
}
