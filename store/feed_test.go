package store

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// follower is a store following its database's events (StartFeed), with
// what it was handed.
type follower struct {
	*Store
	mu       sync.Mutex
	events   []Message
	controls []string
}

// mustFollow opens a store on url and starts its feed.
func mustFollow(t *testing.T, url string) *follower {
	t.Helper()
	f := &follower{Store: mustOpenStoreAt(t, url)}
	f.AfterCommit = func(msgs []Message) {
		f.mu.Lock()
		f.events = append(f.events, msgs...)
		f.mu.Unlock()
	}
	f.StartFeed(func(payload string) {
		f.mu.Lock()
		f.controls = append(f.controls, payload)
		f.mu.Unlock()
	})
	return f
}

// waitEvents waits until f was handed n events, and returns them.
func (f *follower) waitEvents(t *testing.T, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		got := slices.Clone(f.events)
		f.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			if len(got) != n {
				t.Fatalf("handed %d events; want %d", len(got), n)
			}
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// eventKeys returns each event's id and kind of event.
func eventKeys(events []Message) []string {
	var keys []string
	for _, m := range events {
		keys = append(keys, fmt.Sprintf("%d:%d/%s", m.EventID(), m.ID, m.Room))
	}
	return keys
}

// countEvents counts the events stored: messages and changes.
func countEvents(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(`SELECT (SELECT count(*) FROM messages) + (SELECT count(*) FROM changes)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFeed(t *testing.T) {
	if !onPostgres() {
		t.Skip("PostgreSQL only: events between servers")
	}
	ctx := context.Background()

	t.Run("SameEventsEverywhere", func(t *testing.T) {
		url := testDB(t)
		a, b := mustFollow(t, url), mustFollow(t, url)
		ann := mustCreateUser(t, a.Store, "ann")
		bob := mustCreateUser(t, b.Store, "bob")
		g := mustRoom(t, a.Store, GeneralRoom)
		var wg sync.WaitGroup
		var mu sync.Mutex
		var acked []int64
		for w := range 6 {
			s, u := []*follower{a, b}[w%2], []User{ann, bob}[w%2]
			wg.Go(func() {
				for i := range 20 {
					m := Message{Room: GeneralRoom, UserID: u.ID, Author: u.Handle, Body: fmt.Sprint(w, "-", i)}
					if i == 3 {
						m.Body, m.Mentions, m.MentionIDs = "@ann @bob", []string{"ann", "bob"}, []int64{ann.ID, bob.ID}
					}
					stored, err := s.CreateMessage(ctx, m)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					acked = append(acked, stored.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		edit, err := b.EditMessage(ctx, Edit{Room: g, ID: acked[0], UserID: ann.ID, Body: "edited"})
		if err != nil {
			edit, err = b.EditMessage(ctx, Edit{Room: g, ID: acked[0], UserID: bob.ID, Body: "edited"})
		}
		if err != nil {
			t.Fatal(err)
		}
		react, err := a.ToggleReaction(ctx, g, acked[1], bob.ID, "👍")
		if err != nil {
			t.Fatal(err)
		}
		want := countEvents(t, a.Store) // 120 messages, two changes, the accounts' notices
		onA, onB := a.waitEvents(t, want), b.waitEvents(t, want)
		if ka, kb := eventKeys(onA), eventKeys(onB); !slices.Equal(ka, kb) {
			t.Errorf("the two servers were handed different events:\n%v\n%v", ka, kb)
		}
		if !slices.IsSortedFunc(onB, func(x, y Message) int { return int(x.EventID() - y.EventID()) }) {
			t.Errorf("events not in id order: %v", eventKeys(onB))
		}
		mentioned := 0
		for _, m := range onB {
			switch {
			case m.Body == "@ann @bob" && m.ChangeID == 0:
				mentioned++
				if !slices.Equal(m.MentionIDs, []int64{ann.ID, bob.ID}) {
					t.Errorf("message %d: MentionIDs %v; want %v", m.ID, m.MentionIDs, []int64{ann.ID, bob.ID})
				}
			case m.ChangeID == edit.ChangeID && m.Body != "edited":
				t.Errorf("edit handed over as %+v; want the edited body", m)
			case m.ChangeID == react.ChangeID && len(m.Reactions) != 1:
				t.Errorf("reaction handed over as %+v; want one reaction", m)
			}
		}
		if mentioned != 6 {
			t.Errorf("%d messages with mentions handed over; want 6", mentioned)
		}
	})

	t.Run("StartsAtTheNewest", func(t *testing.T) {
		url := testDB(t)
		a := mustOpenStoreAt(t, url)
		ann := mustCreateUser(t, a, "ann")
		mustPost(t, a, GeneralRoom, ann, "before")
		b := mustFollow(t, url)
		after := mustPost(t, a, GeneralRoom, ann, "after")
		if got := b.waitEvents(t, 1); got[0].ID != after.ID {
			t.Errorf("handed %v; want only message %d", eventKeys(got), after.ID)
		}
	})

	t.Run("Control", func(t *testing.T) {
		url := testDB(t)
		a, b := mustFollow(t, url), mustFollow(t, url)
		if err := a.SendControl(ctx, "hello b"); err != nil {
			t.Fatal(err)
		}
		if err := a.SendControl(ctx, string(make([]byte, MaxControl+1))); err == nil {
			t.Error("SendControl of a payload over MaxControl: no error")
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			b.mu.Lock()
			got := slices.Clone(b.controls)
			b.mu.Unlock()
			if len(got) > 0 || time.Now().After(deadline) {
				if !slices.Equal(got, []string{"hello b"}) {
					t.Errorf("b got %q; want the one payload", got)
				}
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		a.mu.Lock()
		defer a.mu.Unlock()
		if len(a.controls) != 0 {
			t.Errorf("the sender got its own payloads %q", a.controls)
		}
	})

	t.Run("ListenerDropped", func(t *testing.T) {
		// The listening connection is cut: the feed connects again and
		// hands over what was committed meanwhile, once, in order.
		url := testDB(t)
		a, b := mustFollow(t, url), mustFollow(t, url)
		ann := mustCreateUser(t, a.Store, "ann")
		base := countEvents(t, a.Store)
		a.waitEvents(t, base)
		b.waitEvents(t, base)
		listeners := func() int {
			var n int
			if err := a.DB.QueryRow(`SELECT count(*) FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := listeners(); n != 2 {
			t.Fatalf("%d listening connections; want 2", n)
		}
		var cut int
		if err := a.DB.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN%'`).Scan(&cut); err != nil || cut != 2 {
			t.Fatalf("cut %d listeners, %v; want 2", cut, err)
		}
		var ids []int64
		for i := range 10 {
			ids = append(ids, mustPost(t, a.Store, GeneralRoom, ann, fmt.Sprint("meanwhile ", i)).ID)
		}
		for _, f := range []*follower{a, b} {
			got := f.waitEvents(t, base+10)[base:]
			var gotIDs []int64
			for _, m := range got {
				gotIDs = append(gotIDs, m.ID)
			}
			if !slices.Equal(gotIDs, ids) {
				t.Errorf("handed %v after the cut; want %v", gotIDs, ids)
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for listeners() != 2 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if n := listeners(); n != 2 {
			t.Errorf("%d listening connections after the cut; want 2 again", n)
		}
	})
}
