package ttlcache

import (
	"testing"
	"time"
)

func TestCache(t *testing.T) {
	c := New[string, int](time.Second, 3)
	t0 := time.Unix(1000, 0)

	_, ok, gen := c.Get("a", t0)
	if ok {
		t.Fatal("empty cache returned a value")
	}
	c.Put("a", 1, t0, gen)
	if v, ok, _ := c.Get("a", t0.Add(999*time.Millisecond)); !ok || v != 1 {
		t.Errorf("Get within the TTL = %d, %v; want 1, true", v, ok)
	}
	if _, ok, _ := c.Get("a", t0.Add(time.Second)); ok {
		t.Error("Get at the TTL returned a value")
	}

	t.Run("RacedForget", func(t *testing.T) {
		_, _, gen := c.Get("b", t0)
		c.Forget("b") // a change lands while the lookup runs
		c.Put("b", 2, t0, gen)
		if _, ok, _ := c.Get("b", t0); ok {
			t.Error("a lookup that raced with a forget was kept")
		}
	})

	t.Run("ForgetIfAndUpdate", func(t *testing.T) {
		_, _, gen := c.Get("x", t0)
		c.Put("x", 10, t0, gen)
		c.Put("y", 20, t0, gen)
		c.Update("x", func(v *int) { *v++ })
		if v, _, _ := c.Get("x", t0); v != 11 {
			t.Errorf("after Update = %d; want 11", v)
		}
		c.ForgetIf(func(v int) bool { return v > 15 })
		if _, ok, _ := c.Get("y", t0); ok {
			t.Error("ForgetIf kept a match")
		}
		if _, ok, _ := c.Get("x", t0); !ok {
			t.Error("ForgetIf dropped a non-match")
		}
	})

	t.Run("Bounded", func(t *testing.T) {
		c := New[int, int](time.Second, 3)
		for i := range 10 {
			_, _, gen := c.Get(i, t0)
			c.Put(i, i, t0, gen)
		}
		if n := len(c.m); n > 3 {
			t.Errorf("%d entries; want at most 3", n)
		}
	})
}

func TestSweep(t *testing.T) {
	c := New[int, int](10*time.Millisecond, 100_000)
	for i := range 1000 {
		_, _, gen := c.Get(i, time.Now())
		c.Put(i, i, time.Now(), gen)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.mu.Lock()
		n, sweeping := len(c.m), c.sweeping
		c.mu.Unlock()
		if n == 0 && !sweeping {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entries left (sweeping %v) long after they expired", n, sweeping)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
