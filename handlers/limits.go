package handlers

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the throttles against guessing and flooding.
type Limits struct {
	// LoginFailures failed sign-ins for one handle within LoginWindow lock
	// that handle until the oldest of them is LoginWindow old (default 10
	// in 15 minutes).
	LoginFailures int
	LoginWindow   time.Duration
	// AddressFailures failed sign-ins from one client address, for any
	// handles, are allowed per LoginWindow, in bursts of as many; past them
	// the address is refused (default 300).
	AddressFailures int
	// Registrations per client address per hour, with the same burst
	// (default 200).
	RegistrationsPerHour int
	// PostsPerSecond per account, sustained (default 100), with bursts of
	// PostBurst (default 200): far above what a person types, low enough
	// that one account cannot flood a room.
	PostsPerSecond float64
	PostBurst      int
}

func (l *Limits) setDefaults() {
	if l.LoginFailures <= 0 {
		l.LoginFailures = 10
	}
	if l.LoginWindow <= 0 {
		l.LoginWindow = 15 * time.Minute
	}
	if l.AddressFailures <= 0 {
		l.AddressFailures = 300
	}
	if l.RegistrationsPerHour <= 0 {
		l.RegistrationsPerHour = 200
	}
	if l.PostsPerSecond <= 0 {
		l.PostsPerSecond = 100
	}
	if l.PostBurst <= 0 {
		l.PostBurst = 200
	}
}

// maxTracked bounds each table of the limiter; past it the stalest entries
// are dropped, so a flood of made-up handles cannot exhaust memory.
const maxTracked = 100_000

// limiter keeps the throttles' state in memory.
type limiter struct {
	cfg      Limits
	mu       sync.Mutex
	failures map[string][]time.Time // handle key → failed sign-ins, oldest first
	register map[string]*rate.Limiter
	guesses  map[string]*rate.Limiter // client address → failed sign-ins
	posts    map[int64]*rate.Limiter
}

func newLimiter(cfg Limits) *limiter {
	cfg.setDefaults()
	return &limiter{
		cfg:      cfg,
		failures: map[string][]time.Time{},
		register: map[string]*rate.Limiter{},
		guesses:  map[string]*rate.Limiter{},
		posts:    map[int64]*rate.Limiter{},
	}
}

// loginLocked reports how long sign-ins for the handle stay refused, or 0.
func (l *limiter) loginLocked(key string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.recent(key, now)
	if len(f) < l.cfg.LoginFailures {
		return 0
	}
	return f[0].Add(l.cfg.LoginWindow).Sub(now)
}

// loginFailed records a failed sign-in for the handle.
func (l *limiter) loginFailed(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := append(l.recent(key, now), now)
	if len(f) > l.cfg.LoginFailures {
		f = f[len(f)-l.cfg.LoginFailures:]
	}
	if len(l.failures) >= maxTracked {
		l.pruneFailures(now)
	}
	l.failures[key] = f
}

// loginSucceeded forgets the handle's failures.
func (l *limiter) loginSucceeded(key string) {
	l.mu.Lock()
	delete(l.failures, key)
	l.mu.Unlock()
}

func (l *limiter) recent(key string, now time.Time) []time.Time {
	f := l.failures[key]
	i := 0
	for i < len(f) && now.Sub(f[i]) >= l.cfg.LoginWindow {
		i++
	}
	if i == len(f) && f != nil {
		delete(l.failures, key)
		return nil
	}
	return f[i:]
}

func (l *limiter) pruneFailures(now time.Time) {
	for k := range l.failures {
		l.recent(k, now)
	}
	for k := range l.failures { // still full: drop arbitrary entries
		if len(l.failures) < maxTracked {
			break
		}
		delete(l.failures, k)
	}
}

// allowRegistration reports whether addr may create an account now, and if
// not, how long until it may.
func (l *limiter) allowRegistration(addr string, now time.Time) (bool, time.Duration) {
	n := l.cfg.RegistrationsPerHour
	return take(l, l.register, addr, rate.Every(time.Hour/time.Duration(n)), n, now)
}

// addressLocked reports how long sign-ins from addr stay refused after too
// many failures, or 0.
func (l *limiter) addressLocked(addr string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.guesses[addr]
	if lim == nil || lim.TokensAt(now) >= 1 {
		return 0
	}
	return time.Duration((1 - lim.TokensAt(now)) / float64(lim.Limit()) * float64(time.Second))
}

// addressFailed spends one of addr's failed sign-ins.
func (l *limiter) addressFailed(addr string, now time.Time) {
	n := l.cfg.AddressFailures
	take(l, l.guesses, addr, rate.Every(l.cfg.LoginWindow/time.Duration(n)), n, now)
}

// allowPost reports whether the account may post now, and if not, how long
// until it may.
func (l *limiter) allowPost(userID int64, now time.Time) (bool, time.Duration) {
	return take(l, l.posts, userID, rate.Limit(l.cfg.PostsPerSecond), l.cfg.PostBurst, now)
}

// take spends a token of key's bucket in table, making the bucket when
// needed, and reports whether there was one and, if not, the wait.
func take[K comparable](l *limiter, table map[K]*rate.Limiter, key K, r rate.Limit, burst int, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := table[key]
	if lim == nil {
		if len(table) >= maxTracked {
			clear(table) // forgets everyone's history: better than unbounded memory
		}
		lim = rate.NewLimiter(r, burst)
		table[key] = lim
	}
	return allow(lim, now)
}

func allow(lim *rate.Limiter, now time.Time) (bool, time.Duration) {
	r := lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// setRetryAfter tells the client how many whole seconds to wait.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
}
