package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/store"
)

// The corpus of the search and history benchmarks: PARLEY_BENCH_MESSAGES
// messages (default 200 000) of generated chat text in 200 rooms, half of
// them in one big room, "big".
const (
	benchRooms  = 200
	benchPeople = 500
)

func benchMessages() int {
	if n, err := strconv.Atoi(os.Getenv("PARLEY_BENCH_MESSAGES")); err == nil && n > 0 {
		return n
	}
	return 200_000
}

// vocabulary is chat-like text: common words, then rarer ones, picked with
// a Zipf distribution so that a few words are everywhere and most are rare.
var vocabulary = func() []string {
	common := strings.Fields(`the a to and of is in it you that we for on this be
		with have are not at can do but so if just will was what from my our
		deploy release build test fix bug review merge branch server client
		meeting lunch coffee today tomorrow friday monday week team plan
		design issue ticket error log metrics alert page database query index
		cache latency memory disk network config flag rollback migration
		customer report draft notes docs update status change version
		café naïve résumé déjà über señor`)
	words := slices.Clone(common)
	syll := []string{"ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "di", "fe", "gra", "tin", "bel"}
	r := rand.New(rand.NewPCG(1, 2))
	for len(words) < 20_000 {
		var b strings.Builder
		for range 2 + r.IntN(3) {
			b.WriteString(syll[r.IntN(len(syll))])
		}
		words = append(words, b.String())
	}
	return words
}()

// sentence returns a message of 4–24 words.
func sentence(r *rand.Rand, z *rand.Zipf) string {
	n := 4 + r.IntN(21)
	w := make([]string, n)
	for i := range w {
		w[i] = vocabulary[z.Uint64()]
	}
	return strings.Join(w, " ")
}

// corpus is a database full of messages, built once per benchmark run.
type corpus struct {
	st                    *store.Store
	big                   store.Room
	bigIDs                []int64 // ids of the big room's messages, in order
	dbBytes, indexBytes   int64   // file size without the index, and what the index added
	indexBuild            time.Duration
	reader                int64
	twoWordQueries        [][2]string
	rareWords, commonWord []string
}

func fileSize(b *testing.B, st *store.Store) int64 {
	b.Helper()
	var pages, size int64
	if err := st.DB.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		b.Fatal(err)
	}
	if err := st.DB.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		b.Fatal(err)
	}
	return pages * size
}

// buildCorpus stores the messages directly in large transactions with the
// index triggers off, measures the file, then builds the index the way
// migration 0003 does and measures again.
func buildCorpus(b *testing.B) *corpus {
	b.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "corpus.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	c := &corpus{st: st}
	u, err := st.CreateUser(ctx, store.Credentials{Handle: "reader", Password: "correct horse"})
	if err != nil {
		b.Fatal(err)
	}
	c.reader = u.ID
	if _, err := st.DB.Exec(`DROP TRIGGER messages_fts_insert`); err != nil {
		b.Fatal(err)
	}
	rooms := make([]int64, benchRooms)
	for i := range rooms {
		name := fmt.Sprint("room-", i)
		if i == 0 {
			name = "big"
		}
		rm, err := st.CreateRoom(ctx, name, store.KindPublic, u.ID)
		if err != nil {
			b.Fatal(err)
		}
		rooms[i] = rm.ID
		if i == 0 {
			c.big = rm
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	z := rand.NewZipf(r, 1.07, 2, uint64(len(vocabulary)-1))
	n := benchMessages()
	start := time.Now().Add(-time.Duration(n) * time.Second)
	const chunk = 20_000
	for done := 0; done < n; done += chunk {
		tx, err := st.DB.Begin()
		if err != nil {
			b.Fatal(err)
		}
		ins, err := tx.Prepare(`INSERT INTO messages (room_id, kind, author, body, created_at) VALUES (?, 'text', ?, ?, ?) RETURNING id`)
		if err != nil {
			b.Fatal(err)
		}
		for i := done; i < min(done+chunk, n); i++ {
			room := rooms[0]
			if r.IntN(2) == 0 {
				room = rooms[1+r.IntN(benchRooms-1)]
			}
			var id int64
			if err := ins.QueryRow(room, fmt.Sprint("person", r.IntN(benchPeople)), sentence(r, z),
				start.Add(time.Duration(i)*time.Second).UTC()).Scan(&id); err != nil {
				b.Fatal(err)
			}
			if room == rooms[0] {
				c.bigIDs = append(c.bigIDs, id)
			}
		}
		ins.Close()
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	st.DB.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	c.dbBytes = fileSize(b, st)
	t0 := time.Now()
	if _, err := st.DB.Exec(`INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE kind = 'text'`); err != nil {
		b.Fatal(err)
	}
	c.indexBuild = time.Since(t0)
	st.DB.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
	c.indexBytes = fileSize(b, st) - c.dbBytes

	// Queries: two words of middling frequency (ranks 30–400: words
	// people search for, in thousands of messages each); rare words; a
	// word in nearly every message.
	q := rand.New(rand.NewPCG(5, 6))
	for range 200 {
		c.twoWordQueries = append(c.twoWordQueries, [2]string{vocabulary[30+q.IntN(370)], vocabulary[30+q.IntN(370)]})
		c.rareWords = append(c.rareWords, vocabulary[2000+q.IntN(15000)])
	}
	c.commonWord = []string{"the", "a", "to"}
	return c
}

// timed runs op b.N times and reports the p50 and p99 of its durations.
func timed(b *testing.B, op func(i int)) {
	b.Helper()
	d := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		t0 := time.Now()
		op(i)
		d = append(d, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(d)
	ms := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(ms(0.50), "p50-ms")
	b.ReportMetric(ms(0.99), "p99-ms")
}

// BenchmarkHistoryAndSearch measures search and history pages over the
// corpus (PARLEY_BENCH_MESSAGES messages; building it takes a while and
// happens once), and reports what the full-text index costs in space.
func BenchmarkHistoryAndSearch(b *testing.B) {
	c := buildCorpus(b)
	ctx := context.Background()
	b.Logf("%d messages (%d in the big room): database %.1f MB without the index, index +%.1f MB (%.0f %%), built in %v",
		benchMessages(), len(c.bigIDs), float64(c.dbBytes)/1e6, float64(c.indexBytes)/1e6,
		100*float64(c.indexBytes)/float64(c.dbBytes), c.indexBuild.Round(time.Millisecond))

	search := func(b *testing.B, text func(i int) string, room string) {
		found := 0
		timed(b, func(i int) {
			p, err := c.st.Search(ctx, store.SearchQuery{UserID: c.reader, Text: text(i), Room: room})
			if err != nil {
				b.Fatal(err)
			}
			found += len(p.Results)
		})
		b.ReportMetric(float64(found)/float64(b.N), "results/op")
	}
	b.Run("search/two-words", func(b *testing.B) {
		search(b, func(i int) string { w := c.twoWordQueries[i%len(c.twoWordQueries)]; return w[0] + " " + w[1] }, "")
	})
	b.Run("search/rare-word", func(b *testing.B) {
		search(b, func(i int) string { return c.rareWords[i%len(c.rareWords)] }, "")
	})
	b.Run("search/common-word", func(b *testing.B) {
		search(b, func(i int) string { return c.commonWord[i%len(c.commonWord)] }, "")
	})
	b.Run("search/two-words-one-room", func(b *testing.B) {
		search(b, func(i int) string { w := c.twoWordQueries[i%len(c.twoWordQueries)]; return w[0] + " " + w[1] }, "room-7")
	})
	b.Run("history/before-any-depth", func(b *testing.B) {
		r := rand.New(rand.NewPCG(7, 8))
		timed(b, func(int) {
			p, err := c.st.History(ctx, c.big, store.Cursor{Before: c.bigIDs[store.PageSize+r.IntN(len(c.bigIDs)-store.PageSize)]})
			if err != nil || len(p.Messages) != store.PageSize {
				b.Fatal(len(p.Messages), err)
			}
		})
	})
	b.Run("history/around", func(b *testing.B) {
		r := rand.New(rand.NewPCG(9, 10))
		timed(b, func(int) {
			if _, err := c.st.History(ctx, c.big, store.Cursor{Around: c.bigIDs[r.IntN(len(c.bigIDs))]}); err != nil {
				b.Fatal(err)
			}
		})
	})
}

// BenchmarkInsertIndexed stores messages from 8 and from 128 writers at
// once (the server commits concurrent writes in shared transactions, so
// more writers make bigger transactions), with the full-text index kept by
// its triggers and without it.
func BenchmarkInsertIndexed(b *testing.B) {
	r := rand.New(rand.NewPCG(11, 12))
	z := rand.NewZipf(r, 1.07, 2, uint64(len(vocabulary)-1))
	bodies := make([]string, 4096)
	for i := range bodies {
		bodies[i] = sentence(r, z)
	}
	for _, writers := range []int{8, 128} {
		for _, indexed := range []bool{true, false} {
			name := fmt.Sprintf("writers=%d/with-index", writers)
			if !indexed {
				name = fmt.Sprintf("writers=%d/without-index", writers)
			}
			b.Run(name, func(b *testing.B) { benchInsert(b, bodies, writers, indexed) })
		}
	}
}

// benchInsert stores b.N messages with the given bodies from that many
// writers at once, on a new database with or without the index's insert
// trigger, and reports messages per second.
func benchInsert(b *testing.B, bodies []string, writers int, indexed bool) {
	st := openBenchStore(b)
	if !indexed {
		if _, err := st.DB.Exec(`DROP TRIGGER messages_fts_insert`); err != nil {
			b.Fatal(err)
		}
	}
	ctx := context.Background()
	var next atomic.Int64
	var commits atomic.Int64
	st.ObserveCommit = func(time.Duration) { commits.Add(1) }
	defer func() { b.ReportMetric(float64(b.N)/float64(commits.Load()), "batch") }()
	b.ResetTimer()
	t0 := time.Now()
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				m := benchMessage
				m.Body = bodies[i%int64(len(bodies))]
				if _, err := st.CreateMessage(ctx, m); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
}
