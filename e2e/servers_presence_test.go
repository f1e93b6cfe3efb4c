package e2e

import (
	"database/sql"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"parley/internal/pgtest"
	"parley/internal/sse"
	"parley/store"
)

// Presence across servers: Parley processes on one PostgreSQL database,
// each person's streams on one server or on several. The servers here
// forget a stopped server after 4 s (-presence-expiry) instead of 20, to
// keep the tests short; the leave grace is the default 15 s.

const testPresenceExpiry = "4s"

// startServers starts n servers on one new PostgreSQL database and
// returns them with the database's URL.
func startServers(t *testing.T, n int) ([]*server, string) {
	t.Helper()
	db := pgtest.URL(t)
	var srvs []*server
	for range n {
		srvs = append(srvs, startServerOn(t, db, "-presence-expiry", testPresenceExpiry))
	}
	return srvs, db
}

// on returns the person c on another server, signed in with the same
// session (the cookie jar ignores ports).
func (c *client) on(srv *server) *client {
	d := *c
	d.srv = srv
	return &d
}

// watcher is one of a person's event streams of a room, keeping the
// online list it received last.
type watcher struct {
	t     *testing.T
	resp  *http.Response
	done  chan struct{}
	mu    sync.Mutex
	names []string
}

var listedRE = regexp.MustCompile(`<li data-handle="([^"]+)"`)

// watch opens c's stream of room on c's server.
func (c *client) watch(room string) *watcher {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.srv.URL+"/rooms/"+room+"/events", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		c.t.Fatalf("open stream: status %d", resp.StatusCode)
	}
	w := &watcher{t: c.t, resp: resp, done: make(chan struct{})}
	go w.read()
	c.t.Cleanup(w.close)
	return w
}

func (w *watcher) read() {
	defer close(w.done)
	r := sse.NewReader(w.resp.Body)
	for {
		ev, err := r.Next()
		if err != nil {
			return
		}
		if ev.Type != "presence" {
			continue
		}
		var names []string
		for _, m := range listedRE.FindAllStringSubmatch(ev.Data, -1) {
			names = append(names, m[1])
		}
		w.mu.Lock()
		w.names = names
		w.mu.Unlock()
	}
}

// close ends the stream.
func (w *watcher) close() {
	w.resp.Body.Close()
	<-w.done
}

func (w *watcher) listed() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.names
}

// waitList waits up to within for the online list to name exactly want,
// in order, and returns how long it took.
func (w *watcher) waitList(within time.Duration, want ...string) time.Duration {
	w.t.Helper()
	start := time.Now()
	for !slices.Equal(w.listed(), want) {
		if time.Since(start) > within {
			w.t.Fatalf("the online list names %v after %v; want %v", w.listed(), within, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// notices counts the notices of kind about handle stored in the database.
func notices(t *testing.T, db *sql.DB, kind, handle string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM messages WHERE kind = $1 AND author = $2`, kind, handle).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func openDB(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// One person with a stream on each of two servers is listed once on both,
// announced once, and does not leave when one of the two streams closes.
func TestServersPresenceCountsOnce(t *testing.T) {
	srvs, url := startServers(t, 2)
	a, b := srvs[0], srvs[1]
	db := openDB(t, url)
	ann, bob := newClient(t, a), newClient(t, b)
	ann.register("ann")
	bob.register("bob")

	onA := ann.watch(store.GeneralRoom)
	onB := ann.on(b).watch(store.GeneralRoom)
	third := bob.watch(store.GeneralRoom)
	for _, w := range []*watcher{onA, onB, third} {
		w.waitList(5*time.Second, "ann", "bob")
	}
	if n := notices(t, db, store.KindJoin, "ann"); n != 1 {
		t.Errorf("%d join notices for ann, online on two servers; want 1", n)
	}

	// Ann's stream on B closes; after the leave grace B deletes its row,
	// and A's keeps her online.
	onB.close()
	deadline := time.Now().Add(25 * time.Second)
	for {
		var rows int
		if err := db.QueryRow(`SELECT count(*) FROM presence p JOIN users u ON u.id = p.user_id WHERE u.handle = 'ann'`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if rows == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("ann has %d presence rows 25 s after one of her two streams closed; want 1", rows)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // a poll and a list later
	for _, w := range []*watcher{onA, third} {
		if got := w.listed(); !slices.Equal(got, []string{"ann", "bob"}) {
			t.Errorf("after ann's stream on B closed, a list names %v; want ann and bob", got)
		}
	}
	if n := notices(t, db, store.KindLeave, "ann"); n != 0 {
		t.Errorf("%d leave notices for ann, still online on A; want 0", n)
	}
}

// A person who comes online on one server is listed on the other within
// 2 s.
func TestServersPresenceJoinSeenElsewhere(t *testing.T) {
	srvs, _ := startServers(t, 2)
	a, b := srvs[0], srvs[1]
	ann, bob := newClient(t, a), newClient(t, b)
	ann.register("ann")
	bob.register("bob")
	onA := ann.watch(store.GeneralRoom)
	onA.waitList(5*time.Second, "ann")
	time.Sleep(1100 * time.Millisecond) // no list sent within the last second

	bob.watch(store.GeneralRoom)
	took := onA.waitList(2*time.Second, "ann", "bob")
	t.Logf("bob, online on B, listed on A after %v", took)
}

// The people of a killed server leave the lists of the others, and each
// whose only streams were there gets exactly one leave notice, though two
// servers forget the dead one.
func TestServersPresenceKilledServerForgotten(t *testing.T) {
	srvs, url := startServers(t, 3)
	a, b, c := srvs[0], srvs[1], srvs[2]
	db := openDB(t, url)
	ann, cy, dan, bob := newClient(t, a), newClient(t, a), newClient(t, a), newClient(t, b)
	ann.register("ann")
	cy.register("cy")
	dan.register("dan")
	bob.register("bob")
	ann.watch(store.GeneralRoom)
	cy.watch(store.GeneralRoom)
	dan.watch(store.GeneralRoom)
	dan.on(c).watch(store.GeneralRoom) // dan is on C too
	onB := bob.watch(store.GeneralRoom)
	onB.waitList(5*time.Second, "ann", "bob", "cy", "dan")

	a.kill()
	took := onB.waitList(30*time.Second, "bob", "dan")
	t.Logf("the killed server's people left the list on a survivor after %v (expiry %s)", took, testPresenceExpiry)

	deadline := time.Now().Add(10 * time.Second)
	for notices(t, db, store.KindLeave, "ann") == 0 || notices(t, db, store.KindLeave, "cy") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no leave notices for the killed server's people")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // two more heartbeats of both survivors
	for _, h := range []string{"ann", "cy"} {
		if n := notices(t, db, store.KindLeave, h); n != 1 {
			t.Errorf("%d leave notices for %s; want 1", n, h)
		}
	}
	if n := notices(t, db, store.KindLeave, "dan"); n != 0 {
		t.Errorf("%d leave notices for dan, still online on C; want 0", n)
	}
	if body := bob.get("/rooms/"+store.GeneralRoom, http.StatusOK); !strings.Contains(body, "ann left") {
		t.Error("the room's page does not show ann's leave")
	}
}
