package handlers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/hub"
	"parley/internal/pgtest"
	"parley/internal/sse"
	"parley/store"
)

// sentList is one online list presence published, as a person sees it.
type sentList struct {
	at     time.Time
	names  []string
	others string
	bytes  int
}

// presenceRig is an App on a real database (as newTestServer's) whose presence reports each
// list it publishes, and the accounts of the people it lets in.
type presenceRig struct {
	t     *testing.T
	a     *App
	st    *store.Store
	users map[string]store.User

	mu    sync.Mutex
	lists []sentList
}

func newPresenceRig(t *testing.T, cfg Config, handles ...string) *presenceRig {
	t.Helper()
	db := filepath.Join(t.TempDir(), "parley.db")
	if os.Getenv("PARLEY_TEST_DB") == "postgres" { // as newTestServer does
		db = pgtest.URL(t)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	users, err := st.SeedUsers(context.Background(), handles, "presence-password")
	if err != nil {
		t.Fatal(err)
	}
	r := &presenceRig{t: t, st: st, users: map[string]store.User{}}
	for _, u := range users {
		r.users[u.Handle] = u
	}
	r.a = New(cfg, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.a.presence.publish = r.record
	t.Cleanup(func() {
		r.a.Shutdown()
		st.Close()
	})
	return r
}

func (r *presenceRig) record(room string, f hub.Frame) {
	ev, err := sse.NewReader(strings.NewReader(string(f.Data))).Next()
	if err != nil {
		r.t.Errorf("presence frame %q: %v", f.Data, err)
		return
	}
	d, err := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
	if err != nil {
		r.t.Fatal(err)
	}
	l := sentList{at: time.Now(), others: d.Find("li.others").Text(), bytes: len(f.Data)}
	d.Find("li[data-handle]").Each(func(_ int, s *goquery.Selection) { l.names = append(l.names, s.Text()) })
	r.mu.Lock()
	r.lists = append(r.lists, l)
	r.mu.Unlock()
}

func (r *presenceRig) sent() []sentList {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]sentList(nil), r.lists...)
}

func (r *presenceRig) enter(handles ...string) {
	for _, h := range handles {
		r.a.presence.Entered(store.GeneralRoom, r.users[h].ID, h)
	}
}

func (r *presenceRig) leave(handles ...string) {
	for _, h := range handles {
		r.a.presence.Left(store.GeneralRoom, r.users[h].ID, 0)
	}
}

// waitOnline waits until the room's list counts n people in all.
func (r *presenceRig) waitOnline(n int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := r.a.presence.online(store.GeneralRoom)
		if len(o.Names)+o.Others == n {
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("online: %d names and %d others; want %d people", len(o.Names), o.Others, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitSent waits until a published list counts n people in all.
func (r *presenceRig) waitSent(n int) sentList {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ls := r.sent(); len(ls) > 0 {
			last := ls[len(ls)-1]
			others := 0
			fmt.Sscanf(strings.ReplaceAll(last.others, "\u202f", ""), "and %d", &others)
			if len(last.names)+others == n {
				return last
			}
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("no list of %d people was published; got %d lists", n, len(r.sent()))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (r *presenceRig) notices(kind string) int {
	r.t.Helper()
	var n int
	if err := r.st.DB.QueryRow(`SELECT count(*) FROM messages WHERE kind = $1`, kind).Scan(&n); err != nil {
		r.t.Fatal(err)
	}
	return n
}

func people(prefix string, n int) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = fmt.Sprintf("%s%04d", prefix, i)
	}
	return hs
}

// A burst of a thousand arrivals yields about one list a second, never two
// within the interval; the list names a hundred people and counts the rest.
func TestPresenceMergesBurst(t *testing.T) {
	const every = 200 * time.Millisecond
	crowd := people("p", 1000)
	r := newPresenceRig(t, Config{Hub: hub.Config{PresenceGap: every}}, crowd...)

	start := time.Now()
	for i, h := range crowd {
		r.enter(h)
		if i%100 == 99 {
			time.Sleep(every / 4) // arrivals over about a second, as a crowd comes
		}
	}
	last := r.waitSent(len(crowd))
	elapsed := time.Since(start)

	lists := r.sent()
	if max := int(elapsed/every) + 2; len(lists) > max {
		t.Errorf("%d lists for 1000 arrivals over %v; want at most %d (one per %v)", len(lists), elapsed, max, every)
	}
	for i := 1; i < len(lists); i++ {
		if d := lists[i].at.Sub(lists[i-1].at); d < every {
			t.Errorf("lists %d and %d went out %v apart; want at least %v", i-1, i, d, every)
		}
	}
	if len(last.names) != 100 || strings.ReplaceAll(last.others, "\u202f", " ") != "and 900 others" {
		t.Errorf("the list names %d people and says %q; want 100 and \"and 900 others\"", len(last.names), last.others)
	}
	for _, l := range lists {
		if len(l.names) > 100 {
			t.Errorf("a list named %d people", len(l.names))
		}
	}
	t.Logf("%d lists over %v, the last %d bytes", len(lists), elapsed, last.bytes)
}

// The list of a crowded room shows who spoke most recently, whether they
// spoke before coming online or after.
func TestPresenceRecentSpeakersFirst(t *testing.T) {
	crowd := people("a", 150)
	r := newPresenceRig(t, Config{Hub: hub.Config{PresenceGap: 50 * time.Millisecond}}, append(crowd, "zed", "zoe")...)
	ctx := context.Background()
	say := func(h string) {
		if _, err := r.st.CreateMessage(ctx, store.Message{
			Room: store.GeneralRoom, UserID: r.users[h].ID, Kind: store.KindText, Author: h, Body: "hello",
		}); err != nil {
			t.Fatal(err)
		}
	}
	say("zed") // before anyone is online
	r.enter(crowd...)
	r.enter("zed", "zoe")
	r.waitOnline(152)
	shown := func(h string) bool {
		for _, n := range r.a.presence.online(store.GeneralRoom).Names {
			if n == h {
				return true
			}
		}
		return false
	}
	if !shown("zed") {
		t.Error("zed spoke before coming online but is not on the list")
	}
	if shown("zoe") {
		t.Error("zoe is listed before she spoke, ahead of 150 earlier names")
	}
	say("zoe")
	deadline := time.Now().Add(5 * time.Second)
	for !shown("zoe") {
		if time.Now().After(deadline) {
			t.Fatal("zoe spoke but never made the list")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if o := r.a.presence.online(store.GeneralRoom); len(o.Names) != 100 || o.Others != 52 {
		t.Errorf("list of %d names and %d others; want 100 and 52", len(o.Names), o.Others)
	}
}

// Up to 50 people online, arrivals and departures are announced; past
// that, they are not.
func TestPresenceNoticeThreshold(t *testing.T) {
	crowd := people("n", 52)
	r := newPresenceRig(t, Config{LeaveGrace: 20 * time.Millisecond, Hub: hub.Config{PresenceGap: 20 * time.Millisecond}}, crowd...)

	r.enter(crowd[:50]...)
	r.waitOnline(50)
	waitCount(t, func() int { return r.notices(store.KindJoin) }, 50, "join notices with 50 online")
	r.enter(crowd[50])
	r.waitOnline(51)
	r.enter(crowd[51])
	r.waitOnline(52)

	r.leave(crowd[51]) // 52 online when they leave
	r.waitOnline(51)
	r.leave(crowd[50]) // 51 online
	r.waitOnline(50)
	r.leave(crowd[49]) // 50 online: announced
	r.waitOnline(49)
	waitCount(t, func() int { return r.notices(store.KindLeave) }, 1, "leave notices")
	time.Sleep(50 * time.Millisecond) // nothing else arrives late
	if j, l := r.notices(store.KindJoin), r.notices(store.KindLeave); j != 50 || l != 1 {
		t.Errorf("%d join and %d leave notices; want 50 and 1", j, l)
	}
}

// A small room sees a join at once, and a reload within the grace period
// announces nothing.
func TestPresenceSmallRoom(t *testing.T) {
	r := newPresenceRig(t, Config{LeaveGrace: 300 * time.Millisecond}, "ann", "bob", "cy")
	r.enter("ann", "bob")
	r.waitSent(2)
	time.Sleep(time.Second + 100*time.Millisecond) // a quiet spell
	start := time.Now()
	r.enter("cy")
	r.waitSent(3)
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("a join in a quiet small room took %v to be listed", d)
	}
	waitCount(t, func() int { return r.notices(store.KindJoin) }, 3, "join notices")

	r.leave("cy")
	r.enter("cy") // back before the grace period ends
	time.Sleep(500 * time.Millisecond)
	if n := r.notices(store.KindLeave) + r.notices(store.KindBack); n != 0 {
		t.Errorf("%d leave or is-back notices for a reload", n)
	}
	if o := r.a.presence.online(store.GeneralRoom); len(o.Names) != 3 || o.Others != 0 {
		t.Errorf("online %v (+%d); want all three", o.Names, o.Others)
	}
}

func waitCount(t *testing.T, count func() int, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := count()
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d; want %d", what, n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
