// Package ttlcache keeps values for a short time, for lookups that repeat
// within moments (the same session on every request and on every stream a
// tab opens). Whoever changes the data behind the cache drops the entries
// it changed; the time-to-live bounds how long a change made elsewhere goes
// unseen.
package ttlcache

import (
	"maps"
	"sync"
	"time"
)

// Cache maps keys to values for TTL. The zero value is not usable; use New.
// It is safe for concurrent use.
type Cache[K comparable, V any] struct {
	ttl time.Duration
	max int

	mu       sync.Mutex
	m        map[K]entry[V]
	gen      uint64 // counts forgets: a lookup that raced with one is not kept
	sweeping bool   // a sweep is scheduled
}

type entry[V any] struct {
	v  V
	at time.Time
}

// New returns a cache whose entries live for ttl, holding at most max of
// them (when full, it starts again empty).
func New[K comparable, V any](ttl time.Duration, max int) *Cache[K, V] {
	return &Cache[K, V]{ttl: ttl, max: max, m: map[K]entry[V]{}}
}

// Get returns the fresh value of k, if any, and the generation to pass to
// Put with the result of a lookup made because there was none.
func (c *Cache[K, V]) Get(k K, now time.Time) (v V, ok bool, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.Sub(e.at) >= c.ttl || now.Before(e.at) {
		return v, false, c.gen
	}
	return e.v, true, c.gen
}

// Put keeps v for k, unless something was forgotten since Get returned gen:
// the lookup behind v may have read what was being changed.
func (c *Cache[K, V]) Put(k K, v V, now time.Time, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = entry[V]{v, now}
	if !c.sweeping {
		c.sweeping = true
		time.AfterFunc(2*c.ttl, c.sweep)
	}
}

// sweep drops the expired entries, a couple of time-to-lives after they
// came, so that a crowd that came and went (ten thousand people opening
// their streams at once) leaves nothing behind; it runs again while
// entries remain. A map that lost most of its entries is copied into a
// smaller one, since a map keeps the room it grew to. Dropping an entry
// is always safe: it only costs the next lookup.
func (c *Cache[K, V]) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	dropped := 0
	for k, e := range c.m {
		if now.Sub(e.at) >= c.ttl || now.Before(e.at) {
			delete(c.m, k)
			dropped++
		}
	}
	if dropped > 64 && dropped > len(c.m) {
		c.m = maps.Clone(c.m)
		if c.m == nil {
			c.m = map[K]entry[V]{}
		}
	}
	if len(c.m) > 0 {
		time.AfterFunc(2*c.ttl, c.sweep)
	} else {
		c.sweeping = false
	}
}

// Forget drops the entries of the keys.
func (c *Cache[K, V]) Forget(keys ...K) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for _, k := range keys {
		delete(c.m, k)
	}
}

// ForgetIf drops every entry whose value matches.
func (c *Cache[K, V]) ForgetIf(match func(V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if match(e.v) {
			delete(c.m, k)
		}
	}
}

// Update changes the cached value of k in place, if there is one, keeping
// its age.
func (c *Cache[K, V]) Update(k K, change func(*V)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok {
		change(&e.v)
		c.m[k] = e
	}
}
