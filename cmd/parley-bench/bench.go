//go:build unix

package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"parley/internal/load"
)

// reapWait is how long the bench waits after closing streams, so the
// server has noticed (it looks every 2 s) before the next scenario counts
// streams per session or memory.
const reapWait = 3 * time.Second

// rssWait bounds how long the bench waits for the server's memory to
// settle before reading it.
const rssWait = 20 * time.Second

// bench runs the scenarios against one server and keeps what they measured.
type bench struct {
	o        options
	stderr   io.Writer
	progress *progress
	client   *load.Client
	accounts *load.Accounts
	poster   *load.Poster
	posted   atomic.Int64
	sessions []load.Session // every session; the first of each user posts
	people   []load.Session // prepared people, one session each (-people-tokens)
	waveNo   int

	streamRows    []streamRow
	waveRows      []waveRow
	probeRows     []waveRow
	elsewhereRows []elsewhereRow
	probeBest     *waveRow
	notes         []string

	h2URL  *url.URL // an https:// -url: the HTTP/2 scenario runs alone
	h2Rows []h2Row
}

// streamRow is what opening one batch of streams cost.
type streamRow struct {
	streams, sessions     int
	people                int // distinct accounts behind the streams
	presence              load.PresenceResult
	res                   load.ConnectResult
	rssBefore, rssAfter   int64 // bytes; 0 when not measured
	heapBefore, heapAfter int64 // live heap after a GC; 0 when not measured
	goroutines            int
	serverStreams         int
}

// waveRow is what one wave of posts measured.
type waveRow struct {
	streams        int
	people         int
	w              wave
	post           load.PostResult
	fan            load.WaveResult
	drained        bool
	serverCPU, cpu float64 // share of one core; negative when not measured
}

func newBench(ctx context.Context, o options, stderr io.Writer) (*bench, error) {
	b := &bench{o: o, stderr: stderr, progress: newProgress(stderr), waveNo: o.waveFrom}
	if o.h2People > 0 {
		return b, b.newH2(o)
	}
	u, err := url.Parse(o.url)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("-url %q: want http://HOST:PORT or https://HOST:PORT", o.url)
	}
	need := o.probeStreams
	for _, sc := range slices.Concat(o.plan, o.peoplePlan, o.elsewherePlan) {
		need = max(need, sc.streams)
	}
	if limit, err := load.RaiseFileLimit(uint64(need) + 512); err != nil || limit < uint64(need)+64 {
		b.note("The open-file limit is %d (%v); streams past about %d will fail. Raise it with `ulimit -n` before starting parley-bench.",
			limit, err, int(limit)-64)
	}
	b.client, err = load.NewClient(load.ClientConfig{
		Addr:       u.Host,
		Path:       "/rooms/" + o.room + "/events",
		Pollers:    o.pollers,
		MaxDialing: o.dialing,
	})
	if err != nil {
		return nil, err
	}
	b.accounts = load.NewAccounts(o.url)
	if o.peopleTokens != "" {
		if b.people, err = readPeople(o.peopleTokens); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func (b *bench) close() {
	b.progress.stop()
	if b.client != nil {
		b.client.Close()
	}
}

// note records a remark for the report and says it now.
func (b *bench) note(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	b.notes = append(b.notes, s)
	b.progress.println("note: " + s)
}

func (b *bench) runAll(ctx context.Context) error {
	if b.h2URL != nil {
		return b.runH2(ctx)
	}
	for _, sc := range b.o.peoplePlan {
		if err := b.runPeople(ctx, sc); err != nil {
			return err
		}
	}
	for _, sc := range b.o.elsewherePlan {
		if err := b.runElsewhere(ctx, sc); err != nil {
			return err
		}
	}
	if len(b.o.plan) == 0 && !b.o.probe {
		return nil
	}
	if err := b.signIn(ctx); err != nil {
		return err
	}
	b.poster = b.newPoster(b.sessions[:b.o.users])
	for i, sc := range b.o.plan {
		if i > 0 {
			b.closeStreams(ctx)
		}
		if err := b.openStreams(ctx, b.cookies(sc.streams), b.o.users); err != nil {
			return err
		}
		if err := b.runWaves(ctx, sc, b.o.users); err != nil {
			return err
		}
	}
	if b.o.probe {
		if len(b.o.plan) > 0 {
			b.closeStreams(ctx)
		}
		return b.runProbe(ctx)
	}
	return nil
}

// runPeople opens one stream for each of sc.streams distinct people, as
// many people each with one tab would: the arrival storm's cost, then the
// waves posted by the first of them.
func (b *bench) runPeople(ctx context.Context, sc scenario) error {
	n := sc.streams
	if n > len(b.people) {
		return fmt.Errorf("-people-load wants %d people; -people-tokens has %d (parley-bench prepare -people %d)", n, len(b.people), n)
	}
	cookies := make([]string, n)
	for i := range cookies {
		cookies[i] = b.people[i].Cookie
	}
	if err := b.openStreams(ctx, cookies, n); err != nil {
		return err
	}
	b.poster = b.newPoster(b.people[:min(n, b.o.users)])
	if err := b.runWaves(ctx, sc, n); err != nil {
		return err
	}
	b.closeStreams(ctx)
	return nil
}

// runWaves posts sc's waves to the open streams of people.
func (b *bench) runWaves(ctx context.Context, sc scenario, people int) error {
	for _, w := range sc.waves {
		row, err := b.runWave(ctx, sc.streams, w)
		if err != nil {
			return err
		}
		row.people = people
		b.waveRows = append(b.waveRows, row)
	}
	return nil
}

func (b *bench) newPoster(sessions []load.Session) *load.Poster {
	return &load.Poster{
		Base: cmp.Or(b.o.postURL, b.o.url), Room: b.o.room, Sessions: sessions,
		Workers: b.o.workers, BodyBytes: b.o.bodyBytes, Posted: &b.posted,
	}
}

// cookies spreads n streams evenly over the signed-in sessions.
func (b *bench) cookies(n int) []string {
	cookies := make([]string, n)
	for i := range cookies {
		cookies[i] = b.sessions[i%len(b.sessions)].Cookie
	}
	return cookies
}

// signIn registers the users and opens enough sessions that no session
// holds more than -per-session streams.
func (b *bench) signIn(ctx context.Context) error {
	need := b.o.probeStreams
	for _, sc := range b.o.plan {
		need = max(need, sc.streams)
	}
	total := max(b.o.users, (need+b.o.perSession-1)/b.o.perSession)
	prefix := "pb" + strconv.FormatUint(rand.Uint64()%(36*36*36*36*36), 36)
	handle := func(i int) string { return prefix + "-" + strconv.Itoa(i%b.o.users) }

	b.sessions = make([]load.Session, total)
	var done atomic.Int64
	b.progress.set(func() string {
		return fmt.Sprintf("signing in: %d/%d sessions (%d users)", done.Load(), total, b.o.users)
	})
	start := time.Now()
	// Registration first: each later session signs in to an existing user.
	for _, span := range [][2]int{{0, b.o.users}, {b.o.users, total}} {
		if err := parallel(ctx, 4, span[0], span[1], func(i int) error {
			var s load.Session
			var err error
			if i < b.o.users {
				s, err = b.accounts.Register(ctx, handle(i), b.o.password)
			} else {
				s, err = b.accounts.Login(ctx, handle(i), b.o.password)
			}
			b.sessions[i] = s
			done.Add(1)
			return err
		}); err != nil {
			return err
		}
	}
	b.progress.println(fmt.Sprintf("signed in %d sessions of %d users in %s", total, b.o.users, round(time.Since(start))))
	return nil
}

// distinct counts the different values of ss.
func distinct(ss []string) int {
	seen := make(map[string]struct{}, len(ss))
	for _, s := range ss {
		seen[s] = struct{}{}
	}
	return len(seen)
}

// parallel calls fn(i) for i in [from, to) on n goroutines and returns the
// first error.
func parallel(ctx context.Context, n, from, to int, fn func(int) error) error {
	var mu sync.Mutex
	var first error
	next := from
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil || ctx.Err() != nil
				mu.Unlock()
				if i >= to || stop {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}

// openStreams opens a stream with each cookie and records the time it
// took, the server's memory before and after, and how much of the online
// list each stream received while the others arrived.
func (b *bench) openStreams(ctx context.Context, cookies []string, people int) error {
	n := len(cookies)
	row := streamRow{streams: n, sessions: distinct(cookies), people: min(people, n)}
	row.rssBefore, row.heapBefore, _, _ = b.serverMemory(ctx)
	b.progress.set(func() string {
		return fmt.Sprintf("opening streams: %d/%d open", b.client.Streams(), n)
	})
	stopProfile := b.profileCPU(ctx, fmt.Sprintf("open-%d", n), 5*time.Second)
	res, err := b.client.Open(ctx, cookies)
	stopProfile()
	row.res = res
	if err != nil {
		return err
	}
	b.progress.println(fmt.Sprintf("opened %d/%d streams in %s (setup p99 %s)%s", res.Opened, n,
		round(res.Elapsed), round(res.Setup.P99), failures(res.Failed)))
	b.progress.set(func() string { return fmt.Sprintf("holding %d streams idle", b.client.Streams()) })
	sleep(ctx, b.o.settle)
	row.rssAfter, row.heapAfter, row.goroutines, row.serverStreams = b.serverMemory(ctx)
	row.presence = b.client.Presence()
	b.streamRows = append(b.streamRows, row)
	if res.Opened == 0 {
		return fmt.Errorf("no stream opened%s", failures(res.Failed))
	}
	return nil
}

func (b *bench) closeStreams(ctx context.Context) {
	b.client.CloseStreams()
	b.progress.set(func() string { return "closed the streams; letting the server notice" })
	sleep(ctx, reapWait)
}

// serverMemory returns the server's RSS and, with -debug-addr, its live
// heap right after a collection, its goroutines and its open streams.
func (b *bench) serverMemory(ctx context.Context) (rss, heap int64, goroutines, streams int) {
	if b.o.debugAddr != "" {
		// Collect garbage and return free memory to the system first, so
		// the resident size is live memory, not what hashing passwords for
		// the sign-ins left behind.
		if err := b.fetch(ctx, "/debug/free", io.Discard); err != nil {
			b.note("debug endpoint: %v", err)
			return rss, 0, 0, 0
		}
		if v, err := load.ReadDebugVars(ctx, b.o.debugAddr); err == nil {
			heap, goroutines, streams = v.MemStats.HeapAlloc, v.Goroutines, v.Streams
		}
	}
	if b.o.pid > 0 {
		rss = b.stableRSS(ctx)
	}
	return rss, heap, goroutines, streams
}

// stableRSS waits, up to rssWait, for the server's RSS to stop changing
// (the Go runtime hands freed memory back to the system gradually), and
// returns it.
func (b *bench) stableRSS(ctx context.Context) int64 {
	const step, still = 500 * time.Millisecond, 256 << 10
	rss, err := load.RSS(b.o.pid)
	if err != nil {
		b.note("server memory: %v", err)
		return 0
	}
	for deadline := time.Now().Add(rssWait); time.Now().Before(deadline) && ctx.Err() == nil; {
		sleep(ctx, step)
		next, err := load.RSS(b.o.pid)
		if err != nil {
			return rss
		}
		if d := next - rss; -still < d && d < still {
			return next
		}
		rss = next
	}
	return rss
}

// runWave posts one wave to the open streams and waits for its copies.
func (b *bench) runWave(ctx context.Context, streams int, w wave) (waveRow, error) {
	b.waveNo++
	no := b.waveNo
	label := fmt.Sprintf("%d-streams-%dx%g", streams, w.posts, w.rate)
	row := waveRow{streams: streams, w: w, serverCPU: -1}
	d := time.Duration(float64(w.posts) / w.rate * float64(time.Second))
	stopProfile := b.profileCPU(ctx, label, d+time.Second)
	b.saveProfile(ctx, "allocs", label+".allocs0")

	srv0, self0, t0 := b.serverCPU(), load.SelfCPU(), time.Now()
	b.client.BeginWave(no, w.posts)
	b.posted.Store(0)
	open := b.client.Streams()
	b.progress.set(func() string {
		return fmt.Sprintf("wave %d (%d streams, %d posts at %g/s): posted %d, copies %d/%d",
			no, open, w.posts, w.rate, b.posted.Load(), b.client.Delivered(), int64(open)*int64(w.posts))
	})
	row.post = b.poster.Run(ctx, no, w.posts, w.rate)
	row.drained = b.client.WaitDelivered(ctx, int64(row.post.OK)*int64(open), b.o.drainIdle)
	row.fan = b.client.EndWave(row.post.Acked)
	elapsed := time.Since(t0)
	row.cpu = float64(load.SelfCPU()-self0) / float64(elapsed)
	if srv0 >= 0 {
		row.serverCPU = float64(b.serverCPU()-srv0) / float64(elapsed)
	}
	stopProfile()
	b.saveProfile(ctx, "allocs", label+".allocs1")
	b.progress.println(fmt.Sprintf("wave %d: %d streams, %d/%d posts at %.0f/s: p50 %s p99 %s max %s, lost %d dup %d out-of-order %d",
		no, row.fan.Streams, row.post.OK, w.posts, row.post.Rate, round(row.fan.Latency.P50),
		round(row.fan.Latency.P99), round(row.fan.Latency.Max), row.fan.Lost, row.fan.Dup, row.fan.OutOfOrd))
	return row, ctx.Err()
}

func (b *bench) serverCPU() time.Duration {
	if b.o.pid <= 0 {
		return -1
	}
	d, err := load.ProcessCPU(b.o.pid)
	if err != nil {
		return -1
	}
	return d
}

// runProbe opens the probe's streams and raises the post rate step by step
// until a step's p99 passes the bound, a post is refused or lost, or the
// server no longer keeps up with the rate asked.
func (b *bench) runProbe(ctx context.Context) error {
	if err := b.openStreams(ctx, b.cookies(b.o.probeStreams), b.o.users); err != nil {
		return err
	}
	for rate := b.o.probeStart; rate <= b.o.probeMax; rate *= b.o.probeFactor {
		rate = float64(int(rate/50+0.5) * 50)
		w := wave{posts: int(rate * b.o.probeStep.Seconds()), rate: rate}
		row, err := b.runWave(ctx, b.o.probeStreams, w)
		if err != nil {
			return err
		}
		row.people = min(b.o.users, b.o.probeStreams)
		b.probeRows = append(b.probeRows, row)
		if !row.sustained(b.o.probeBound) {
			break
		}
		b.probeBest = &b.probeRows[len(b.probeRows)-1]
		sleep(ctx, time.Second) // let the server catch its breath between steps
	}
	return nil
}

// sustained reports whether the wave kept up: every post acknowledged and
// delivered once, in order, at ≥ 90 % of the rate asked, within bound.
func (r waveRow) sustained(bound time.Duration) bool {
	return len(r.post.Failed) == 0 && r.fan.Lost == 0 && r.fan.Dup == 0 && r.fan.OutOfOrd == 0 &&
		r.fan.Latency.P99 <= bound && r.post.Rate >= 0.9*r.w.rate
}

// profileCPU saves, with -profile, a CPU profile of the server for up to d;
// the returned function ends it early and waits for it to be saved.
func (b *bench) profileCPU(ctx context.Context, label string, d time.Duration) func() {
	if b.o.profileDir == "" {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	secs := max(1, int(d.Seconds()+0.999))
	go func() {
		defer close(done)
		b.saveProfileCtx(pctx, "profile?seconds="+strconv.Itoa(secs), label+".cpu")
	}()
	return func() {
		// A CPU profile cannot be cut short over HTTP without losing it;
		// wait for it unless the run is ending.
		select {
		case <-done:
		case <-ctx.Done():
		}
		cancel()
		<-done
	}
}

func (b *bench) saveProfile(ctx context.Context, name, label string) {
	if b.o.profileDir != "" {
		b.saveProfileCtx(ctx, name, label)
	}
}

func (b *bench) saveProfileCtx(ctx context.Context, query, label string) {
	if err := os.MkdirAll(b.o.profileDir, 0o755); err != nil {
		b.note("profile: %v", err)
		return
	}
	f, err := os.Create(filepath.Join(b.o.profileDir, label+".pb.gz"))
	if err != nil {
		b.note("profile: %v", err)
		return
	}
	defer f.Close()
	if err := b.fetch(ctx, "/debug/pprof/"+query, f); err != nil && ctx.Err() == nil {
		b.note("profile %s: %v", label, err)
	}
}

// fetch copies the body of a GET from the server's debug listener to w.
func (b *bench) fetch(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+b.o.debugAddr+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, res.StatusCode)
	}
	_, err = io.Copy(w, res.Body)
	return err
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
}
