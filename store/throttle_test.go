package store

import (
	"context"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// On SQLite the throttles count in the server's memory: the store has none.
func TestThrottleOnlyOnPostgres(t *testing.T) {
	s := mustOpenStore(t)
	if got := s.Throttle() != nil; got != onPostgres() {
		t.Fatalf("Throttle() present = %v on %s", got, s.Backend())
	}
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Attempts logged on two servers count together: the tenth in the window
// refuses the key until the first of them is a window old; forgetting
// the key, or the first attempt ageing out, lifts the refusal.
func TestThrottleWindowAcrossServers(t *testing.T) {
	postgresOnly(t, "throttle counts in the database")
	ctx := context.Background()
	url := testDB(t)
	a, b := mustOpenStoreAt(t, url).Throttle(), mustOpenStoreAt(t, url).Throttle()
	const n, window = 10, 15 * time.Minute
	wait := func(th *Throttle, key string, now time.Time) time.Duration {
		t.Helper()
		d, err := th.WindowWait(ctx, key, n, window, now)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	// record logs attempts from to to-1, the i-th at t0+i s, on the two
	// servers in turn.
	record := func(key string, from, to int) time.Time {
		t.Helper()
		var at time.Time
		for i := from; i < to; i++ {
			at = t0.Add(time.Duration(i) * time.Second)
			if err := []*Throttle{a, b}[i%2].Record(ctx, key, at, window); err != nil {
				t.Fatal(err)
			}
		}
		return at
	}

	last := record("ann", 0, n-1)
	if d := wait(b, "ann", last); d != 0 {
		t.Fatalf("after %d attempts: wait %v; want 0", n-1, d)
	}
	last = record("ann", n-1, n)
	for _, th := range []*Throttle{a, b} {
		if d, want := wait(th, "ann", last), window-time.Duration(n-1)*time.Second; d != want {
			t.Fatalf("after %d attempts: wait %v; want %v", n, d, want)
		}
	}
	if d := wait(a, "bob", last); d != 0 {
		t.Fatalf("another key: wait %v; want 0", d)
	}
	// More attempts: the n-th youngest counts.
	last = record("ann", n, n+2)
	if d, want := wait(a, "ann", last), window-time.Duration(n-1)*time.Second; d != want {
		t.Fatalf("after %d attempts: wait %v; want %v", n+2, d, want)
	}
	// The third attempt ages out: 9 remain in the window.
	if d := wait(a, "ann", t0.Add(window+2*time.Second)); d != 0 {
		t.Fatalf("a window after the third attempt: wait %v; want 0", d)
	}
	if err := b.Forget(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if d := wait(a, "ann", last); d != 0 {
		t.Fatalf("forgotten: wait %v; want 0", d)
	}
}

// A bucket in the database answers as golang.org/x/time/rate's limiter,
// the in-memory one, does, whichever server takes from it: the same
// attempts allowed and the same waits.
func TestThrottleBucketAsRateLimiter(t *testing.T) {
	postgresOnly(t, "throttle counts in the database")
	ctx := context.Background()
	url := testDB(t)
	servers := []*Throttle{mustOpenStoreAt(t, url).Throttle(), mustOpenStoreAt(t, url).Throttle()}
	r := Rate{Every: 2 * time.Second, Burst: 3}
	lim := rate.NewLimiter(rate.Every(r.Every), r.Burst)
	rng := rand.New(rand.NewPCG(1, 2))
	now := t0
	refused := 0
	for i := range 80 {
		now = now.Add(time.Duration(rng.IntN(4_000_000)) * time.Microsecond)
		th := servers[i%2]
		res := lim.ReserveN(now, 1)
		want := res.DelayFrom(now)
		if want > 0 {
			res.CancelAt(now)
			refused++
		}
		ready, err := th.RateWait(ctx, "addr", r, now)
		if err != nil {
			t.Fatal(err)
		}
		got, err := th.Take(ctx, "addr", r, now)
		if err != nil {
			t.Fatal(err)
		}
		if (got > 0) != (want > 0) || (got-want).Abs() > 10*time.Microsecond || (ready-want).Abs() > 10*time.Microsecond {
			t.Fatalf("attempt %d at +%v: take waits %v, rate wait %v; the limiter waits %v", i, now.Sub(t0), got, ready, want)
		}
	}
	if refused == 0 || refused == 80 {
		t.Fatalf("%d of 80 attempts refused; the test wants some of each", refused)
	}
}

// Servers taking from one bucket at the same moment spend exactly what
// it holds.
func TestThrottleTakeConcurrent(t *testing.T) {
	postgresOnly(t, "throttle counts in the database")
	ctx := context.Background()
	url := testDB(t)
	servers := []*Throttle{mustOpenStoreAt(t, url).Throttle(), mustOpenStoreAt(t, url).Throttle()}
	r := Rate{Every: time.Hour, Burst: 5}
	var mu sync.Mutex
	var wg sync.WaitGroup
	taken := 0
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			wait, err := servers[i%2].Take(ctx, "addr", r, t0)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if wait == 0 {
				taken++
			}
		}()
	}
	wg.Wait()
	if taken != r.Burst {
		t.Fatalf("%d of 30 concurrent takes allowed; want %d", taken, r.Burst)
	}
}

// Rows that no longer count are deleted: logged attempts past their keep,
// buckets full again.
func TestThrottleSweep(t *testing.T) {
	postgresOnly(t, "throttle counts in the database")
	ctx := context.Background()
	s := mustOpenStore(t)
	th := s.Throttle()
	if err := th.Record(ctx, "old", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := th.Take(ctx, "bucket", Rate{Every: time.Second, Burst: 2}, t0); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(sweepEvery + time.Minute)
	if err := th.Record(ctx, "new", later, time.Minute); err != nil {
		t.Fatal(err)
	}
	var logged, buckets int
	if err := s.DB.QueryRow(`SELECT (SELECT count(*) FROM throttle_log), (SELECT count(*) FROM throttle_buckets)`).Scan(&logged, &buckets); err != nil {
		t.Fatal(err)
	}
	if logged != 1 || buckets != 0 {
		t.Fatalf("after the sweep: %d logged attempts, %d buckets; want 1 and 0", logged, buckets)
	}
}

// The database round trips a sign-in pays on PostgreSQL: the check before
// the password (WindowWait and RateWait), and a failure's counting
// (Record and Take).
func BenchmarkThrottleSignIn(b *testing.B) {
	if !onPostgres() {
		b.Skip("PostgreSQL only: throttle counts in the database")
	}
	s, err := Open(context.Background(), testDB(b))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	th, ctx := s.Throttle(), context.Background()
	r := Rate{Every: 3 * time.Second, Burst: 300}
	b.Run("check", func(b *testing.B) {
		for b.Loop() {
			if _, err := th.WindowWait(ctx, "handle:ann", 10, 15*time.Minute, t0); err != nil {
				b.Fatal(err)
			}
			if _, err := th.RateWait(ctx, "signin:203.0.113.9", r, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("failure", func(b *testing.B) {
		i := 0
		for b.Loop() {
			i++
			key := "handle:" + strconv.Itoa(i%1000)
			if err := th.Record(ctx, key, t0, 15*time.Minute); err != nil {
				b.Fatal(err)
			}
			if _, err := th.Take(ctx, "signin:"+strconv.Itoa(i%1000), r, t0); err != nil {
				b.Fatal(err)
			}
		}
	})
}
