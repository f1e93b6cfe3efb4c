package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/pgtest"
	"parley/internal/sse"
)

// Two Parley processes on one PostgreSQL database: sessions, messages,
// resume and logout across servers (the contract's "Many servers").

// twoServers starts two servers on one new PostgreSQL database.
func twoServers(t *testing.T) (a, b *server) {
	t.Helper()
	db := pgtest.URL(t)
	return startServerOn(t, db), startServerOn(t, db)
}

// at returns the client, with the same cookies, speaking to srv.
func (c *client) at(srv *server) *client {
	return &client{t: c.t, srv: srv, hc: c.hc}
}

// liveStream is an open event stream whose events a goroutine reads.
type liveStream struct {
	events chan sse.Event
	cancel context.CancelFunc
}

// openStream opens the client's stream of room; a cursor that is not
// empty goes as Last-Event-ID, as a reconnecting browser sends it. The
// stream is closed when the test ends.
func (c *client) openStream(room, cursor string) *liveStream {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.srv.URL+"/rooms/"+room+"/events", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if cursor != "" {
		req.Header.Set("Last-Event-ID", cursor)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		cancel()
		c.t.Fatalf("open stream: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		resp.Body.Close()
		c.t.Fatalf("open stream on %s: status = %d; want 200", c.srv.URL, resp.StatusCode)
	}
	s := &liveStream{events: make(chan sse.Event, 4096), cancel: cancel}
	go func() {
		defer close(s.events)
		defer resp.Body.Close()
		r := sse.NewReader(resp.Body)
		for {
			ev, err := r.Next()
			if err != nil {
				return
			}
			s.events <- ev
		}
	}()
	c.t.Cleanup(cancel)
	return s
}

// next returns the next event, or ok false when the stream ended or
// nothing came within d.
func (s *liveStream) next(d time.Duration) (ev sse.Event, ok bool) {
	select {
	case ev, ok = <-s.events:
		return ev, ok
	case <-time.After(d):
		return sse.Event{}, false
	}
}

// waitEvent waits up to d for an event of type typ whose data holds
// text, and fails the test without one.
func (s *liveStream) waitEvent(t *testing.T, typ, text string, d time.Duration) sse.Event {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ev, ok := s.next(time.Until(deadline))
		if !ok {
			t.Fatalf("no %q event with %q within %v", typ, text, d)
		}
		if ev.Type == typ && strings.Contains(ev.Data, text) {
			return ev
		}
	}
}

// seen is one message event: its id and the marker it carries.
type seen struct {
	id     int64
	marker string
}

// collectMarked reads "message" events until every marker of want came,
// or d passed, and returns the messages that carry a marker of the form
// "mk-...", in the order the stream gave them, with every message id.
func (s *liveStream) collectMarked(t *testing.T, want map[string]bool, d time.Duration) (marked []seen, ids []int64) {
	t.Helper()
	missing := len(want)
	got := map[string]bool{}
	deadline := time.Now().Add(d)
	for missing > 0 {
		ev, ok := s.next(time.Until(deadline))
		if !ok {
			break
		}
		if ev.Type != "message" {
			continue
		}
		id, err := strconv.ParseInt(ev.ID, 10, 64)
		if err != nil {
			t.Fatalf("message event with id %q", ev.ID)
		}
		ids = append(ids, id)
		if m := markerIn(ev.Data); m != "" {
			marked = append(marked, seen{id, m})
			if want[m] && !got[m] {
				got[m] = true
				missing--
			}
		}
	}
	return marked, ids
}

// markerIn returns the "mk-..." word of an event's data, or "".
func markerIn(data string) string {
	i := strings.Index(data, "mk-")
	if i < 0 {
		return ""
	}
	end := i
	for end < len(data) && (data[end] == '-' || data[end] >= '0' && data[end] <= '9' || data[end] >= 'a' && data[end] <= 'z') {
		end++
	}
	return data[i:end]
}

// checkOnce fails unless the stream's marked messages hold each marker of
// want exactly once, with increasing ids.
func checkOnce(t *testing.T, name string, marked []seen, want map[string]bool) {
	t.Helper()
	count := map[string]int{}
	for i, m := range marked {
		count[m.marker]++
		if i > 0 && m.id <= marked[i-1].id {
			t.Errorf("%s: message %d (%s) after %d: ids out of order", name, m.id, m.marker, marked[i-1].id)
		}
	}
	for m := range want {
		if count[m] != 1 {
			t.Errorf("%s: got %s %d times; want once", name, m, count[m])
		}
	}
}

// tryPost posts a message and reports whether the server acknowledged it
// (303), without failing the test: the server may be gone.
func (c *client) tryPost(room, body string) bool {
	req, err := http.NewRequest(http.MethodPost, c.srv.URL+"/rooms/"+room+"/messages",
		strings.NewReader(url.Values{"body": {body}}.Encode()))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusSeeOther || resp.StatusCode/100 == 2
}

func TestServersSession(t *testing.T) {
	a, b := twoServers(t)
	ann := newClient(t, a)
	ann.register("ann")
	onB := ann.at(b)
	if page := onB.get("/rooms/general", http.StatusOK); !strings.Contains(page, "ann") {
		t.Error("the room page on B does not show ann signed in")
	}
	s := onB.openStream("general", "")
	ann.say("general", "mk-from-a")
	s.waitEvent(t, "message", "mk-from-a", 5*time.Second)
}

func TestServersSameOrder(t *testing.T) {
	a, b := twoServers(t)
	watchA, watchB := newClient(t, a), newClient(t, b)
	watchA.register("watcha")
	watchB.register("watchb")
	const posters, each = 4, 50
	var people []*client
	for i := range posters {
		c := newClient(t, []*server{a, b}[i%2])
		c.register(fmt.Sprint("poster", i))
		people = append(people, c)
	}
	streamA, streamB := watchA.openStream("general", "0"), watchB.openStream("general", "0")
	want := map[string]bool{}
	var wg sync.WaitGroup
	for i, c := range people {
		on := []*client{c.at(a), c.at(b)}
		for j := range each {
			want[fmt.Sprintf("mk-%d-%d", i, j)] = true
		}
		wg.Go(func() {
			for j := range each {
				// Each poster alternates between the servers.
				on[j%2].say("general", fmt.Sprintf("mk-%d-%d", i, j))
			}
		})
	}
	wg.Wait()
	markedA, idsA := streamA.collectMarked(t, want, 20*time.Second)
	markedB, idsB := streamB.collectMarked(t, want, 20*time.Second)
	checkOnce(t, "stream on A", markedA, want)
	checkOnce(t, "stream on B", markedB, want)
	if !slices.Equal(markedA, markedB) {
		t.Errorf("the streams on A and B gave the posts in different orders or ids")
	}
	// Every message event (notices too) up to the last post, alike.
	last := max(markedA[len(markedA)-1].id, markedB[len(markedB)-1].id)
	upTo := func(ids []int64) []int64 {
		return slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id > last })
	}
	if !slices.Equal(upTo(idsA), upTo(idsB)) {
		t.Errorf("message ids differ between the servers:\nA %v\nB %v", upTo(idsA), upTo(idsB))
	}
	if !slices.IsSorted(idsA) || !slices.IsSorted(idsB) {
		t.Error("message ids not increasing on a stream")
	}
}

func TestServersResumeAfterKill(t *testing.T) {
	a, b := twoServers(t)
	ann := newClient(t, a)
	ann.register("ann")
	onA := ann.openStream("general", "")
	ann.say("general", "mk-before")
	cursor := onA.waitEvent(t, "message", "mk-before", 5*time.Second).ID
	a.kill()
	want := map[string]bool{}
	onB := ann.at(b)
	for i := range 10 {
		m := fmt.Sprint("mk-missed-", i)
		want[m] = true
		onB.say("general", m)
	}
	resumed := onB.openStream("general", cursor)
	marked, ids := resumed.collectMarked(t, want, 10*time.Second)
	checkOnce(t, "resumed stream on B", marked, want)
	if len(marked) != len(want) {
		t.Errorf("resumed stream gave %d marked messages; want exactly the %d missed", len(marked), len(want))
	}
	from, _ := strconv.ParseInt(cursor, 10, 64)
	if len(ids) == 0 || ids[0] <= from {
		t.Errorf("resumed stream from %d gave ids %v; want only later ones", from, ids)
	}
}

func TestServersLogout(t *testing.T) {
	a, b := twoServers(t)
	for _, everywhere := range []bool{false, true} {
		t.Run(fmt.Sprint("everywhere=", everywhere), func(t *testing.T) {
			handle := map[bool]string{false: "annone", true: "annall"}[everywhere]
			first := newClient(t, a)
			first.register(handle)
			logoutBy := first
			if everywhere {
				// Another session of the account signs every one out.
				logoutBy = newClient(t, a)
				logoutBy.postForm("/login", url.Values{"handle": {handle}, "password": {password}}, http.StatusSeeOther)
			}
			s := first.at(b).openStream("general", "")
			form := url.Values{}
			if everywhere {
				form.Set("everywhere", "1")
			}
			start := time.Now()
			logoutBy.postForm("/logout", form, http.StatusSeeOther)
			s.waitEvent(t, "logout", "", 2*time.Second)
			for {
				if _, ok := s.next(time.Until(start.Add(2 * time.Second))); !ok {
					break
				}
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the stream on B ended %v after the logout on A; want within 2 s", d)
			}
			if status, _ := first.at(b).do(http.MethodGet, "/rooms/general", nil); status != http.StatusSeeOther {
				t.Errorf("the room page on B after logout: status %d; want 303 to sign-in", status)
			}
		})
	}
}

func TestServersKillDuringPosts(t *testing.T) {
	a, b := twoServers(t)
	watch := newClient(t, b)
	watch.register("watch")
	const posters = 20
	var people []*client
	for i := range posters {
		c := newClient(t, []*server{a, b}[i%2])
		c.register(fmt.Sprint("poster", i))
		people = append(people, c)
	}
	live := watch.openStream("general", "0")

	var mu sync.Mutex
	var killed atomic.Bool
	acked := map[string]bool{}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range people {
		wg.Go(func() {
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				m := fmt.Sprintf("mk-%d-%d", i, j)
				if !c.tryPost("general", m) {
					if killed.Load() && c.srv == a {
						return // A is gone
					}
					time.Sleep(10 * time.Millisecond)
					continue
				}
				mu.Lock()
				acked[m] = true
				mu.Unlock()
			}
		})
	}
	time.Sleep(time.Second)
	killed.Store(true)
	a.kill()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	fromA := 0
	for m := range acked {
		var i, j int
		fmt.Sscanf(m, "mk-%d-%d", &i, &j)
		if i%2 == 0 {
			fromA++
		}
	}
	if fromA == 0 || len(acked) == fromA {
		t.Fatalf("%d posts acknowledged, %d of them by A; want some by each", len(acked), fromA)
	}
	t.Logf("%d posts acknowledged, %d by A before it was killed", len(acked), fromA)
	marked, _ := live.collectMarked(t, acked, 20*time.Second)
	checkOnce(t, "live stream on B", onlyAcked(marked, acked), acked)
	// The database has them all: a stream on B resuming from 0 replays them.
	replay := watch.openStream("general", "0")
	replayed, _ := replay.collectMarked(t, acked, 20*time.Second)
	checkOnce(t, "stream on B replayed from 0", onlyAcked(replayed, acked), acked)
}

// onlyAcked keeps the messages whose marker is in acked: a post whose
// server died before answering may be stored or not.
func onlyAcked(marked []seen, acked map[string]bool) []seen {
	return slices.DeleteFunc(slices.Clone(marked), func(m seen) bool { return !acked[m.marker] })
}

func TestServersPersonalEvents(t *testing.T) {
	a, b := twoServers(t)
	ann, bob := newClient(t, a), newClient(t, b)
	ann.register("ann")
	bob.register("bob")
	bob.postForm("/rooms", url.Values{"name": {"lounge"}}, http.StatusSeeOther)
	// bob reads lounge on B: what happens in general reaches him there.
	inLounge := bob.openStream("lounge", "")

	t.Run("RoomList", func(t *testing.T) {
		// ann's post in general on A counts as unread in his list.
		ann.say("general", "mk-unread")
		inLounge.waitEvent(t, "rooms", "general", 5*time.Second)
	})
	t.Run("Mention", func(t *testing.T) {
		ann.say("general", "mk-hello @bob")
		inLounge.waitEvent(t, "mention", "mk-hello", 5*time.Second)
	})
	t.Run("AddedToRoom", func(t *testing.T) {
		ann.postForm("/rooms", url.Values{"name": {"secret"}, "private": {"1"}}, http.StatusSeeOther)
		ann.postForm("/rooms/secret/members", url.Values{"handle": {"bob"}}, http.StatusSeeOther)
		inLounge.waitEvent(t, "rooms", "secret", 5*time.Second)
	})
	t.Run("LeftPrivateRoom", func(t *testing.T) {
		inSecret := bob.openStream("secret", "")
		bob.at(a).postForm("/rooms/secret/leave", url.Values{}, http.StatusSeeOther)
		deadline := time.Now().Add(2 * time.Second)
		for {
			if _, ok := inSecret.next(time.Until(deadline)); !ok {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Error("bob's stream of secret on B still open 2 s after he left on A")
		}
	})
}
