package store

import (
	"context"
	"sync"
	"testing"
	"time"
)

const testExpiry = 20 * time.Second

// A person online on two servers is first on one and last on the other;
// each server sees the other's row, once, and not its own.
func TestPresenceFirstAndLast(t *testing.T) {
	postgresOnly(t, "presence across servers")
	ctx := context.Background()
	s := mustOpenStore(t)
	ann := PresenceRow{Room: GeneralRoom, UserID: 1, Handle: "ann"}

	if first, err := s.PresenceEnter(ctx, "a", ann); err != nil || !first {
		t.Fatalf("enter on a: first %v, %v; want true", first, err)
	}
	if first, err := s.PresenceEnter(ctx, "a", ann); err != nil || first {
		t.Fatalf("enter on a again: first %v, %v; want false", first, err)
	}
	if first, err := s.PresenceEnter(ctx, "b", ann); err != nil || first {
		t.Fatalf("enter on b: first %v, %v; want false", first, err)
	}
	others, err := s.PresenceOthers(ctx, "a", []string{GeneralRoom, "elsewhere"}, testExpiry)
	if err != nil || len(others) != 1 || others[0] != ann {
		t.Fatalf("others of a: %v, %v; want ann once", others, err)
	}
	if others, _ := s.PresenceOthers(ctx, "c", []string{GeneralRoom}, testExpiry); len(others) != 1 {
		t.Errorf("others of c: %v; want ann once (two rows, one person)", others)
	}
	if last, err := s.PresenceLeave(ctx, "a", GeneralRoom, 1); err != nil || last {
		t.Fatalf("leave on a: last %v, %v; want false", last, err)
	}
	if last, err := s.PresenceLeave(ctx, "b", GeneralRoom, 1); err != nil || !last {
		t.Fatalf("leave on b: last %v, %v; want true", last, err)
	}
}

// Two servers entering the same person at once: exactly one is first; two
// leaving at once: exactly one is last.
func TestPresenceConcurrentDecisions(t *testing.T) {
	postgresOnly(t, "presence across servers")
	ctx := context.Background()
	url := testDB(t)
	stores := []*Store{mustOpenStoreAt(t, url), mustOpenStoreAt(t, url)}
	servers := []string{"a", "b"}
	for i := range 20 {
		row := PresenceRow{Room: GeneralRoom, UserID: int64(i + 1), Handle: "p"}
		var firsts, lasts int
		var mu sync.Mutex
		var wg sync.WaitGroup
		for j, s := range stores {
			wg.Go(func() {
				first, err := s.PresenceEnter(ctx, servers[j], row)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				if first {
					firsts++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		for j, s := range stores {
			wg.Go(func() {
				last, err := s.PresenceLeave(ctx, servers[j], row.Room, row.UserID)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				if last {
					lasts++
				}
				mu.Unlock()
			})
		}
		wg.Wait()
		if firsts != 1 || lasts != 1 {
			t.Fatalf("person %d: %d firsts and %d lasts; want one of each", i, firsts, lasts)
		}
	}
}

// The rows of a server that stopped heart-beating stop counting and are
// forgotten; the people with no other row are returned once, by one of
// two servers forgetting at the same time.
func TestPresenceExpire(t *testing.T) {
	postgresOnly(t, "presence across servers")
	ctx := context.Background()
	url := testDB(t)
	a, b := mustOpenStoreAt(t, url), mustOpenStoreAt(t, url)
	for i, h := range []string{"ann", "bob", "cy"} {
		if _, err := a.PresenceEnter(ctx, "dead", PresenceRow{Room: GeneralRoom, UserID: int64(i + 1), Handle: h}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.PresenceEnter(ctx, "alive", PresenceRow{Room: GeneralRoom, UserID: 3, Handle: "cy"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.DB.Exec(`UPDATE presence SET seen_at = now() - interval '1 minute' WHERE server_id = 'dead'`); err != nil {
		t.Fatal(err)
	}
	if n, err := a.PresenceHeartbeat(ctx, "alive"); err != nil || n != 1 {
		t.Fatalf("heartbeat: %d rows, %v; want 1", n, err)
	}
	if others, _ := a.PresenceOthers(ctx, "x", []string{GeneralRoom}, testExpiry); len(others) != 1 || others[0].Handle != "cy" {
		t.Errorf("others before the expiry: %v; want cy alone (the stale rows do not count)", others)
	}

	var mu sync.Mutex
	var gone []PresenceGone
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b} {
		wg.Go(func() {
			g, err := s.PresenceExpire(ctx, testExpiry)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			gone = append(gone, g...)
			mu.Unlock()
		})
	}
	wg.Wait()
	if len(gone) != 2 {
		t.Fatalf("gone %v; want ann and bob, once each", gone)
	}
	for _, g := range gone {
		if g.Handle != "ann" && g.Handle != "bob" || g.Online != 1 {
			t.Errorf("gone %+v; want ann or bob, with 1 still online", g)
		}
	}
	if g, err := b.PresenceExpire(ctx, testExpiry); err != nil || len(g) != 0 {
		t.Errorf("a second expiry: %v, %v; want nothing", g, err)
	}
	if last, err := a.PresenceLeave(ctx, "alive", GeneralRoom, 3); err != nil || !last {
		t.Errorf("cy's leave: last %v, %v; want true once the dead row is gone", last, err)
	}
}

// A server's rows are rewritten when they went astray, renamed, and made
// to expire soon when it stops.
func TestPresenceSyncAndLinger(t *testing.T) {
	postgresOnly(t, "presence across servers")
	ctx := context.Background()
	s := mustOpenStore(t)
	rows := []PresenceRow{{Room: GeneralRoom, UserID: 1, Handle: "ann"}, {Room: "other", UserID: 1, Handle: "ann"}}
	if _, err := s.PresenceEnter(ctx, "a", PresenceRow{Room: "gone", UserID: 9, Handle: "zed"}); err != nil {
		t.Fatal(err)
	}
	if err := s.PresenceSync(ctx, "a", rows); err != nil {
		t.Fatal(err)
	}
	if err := s.PresenceRename(ctx, "a", 1, "anna"); err != nil {
		t.Fatal(err)
	}
	got, err := s.PresenceOthers(ctx, "b", []string{GeneralRoom, "other", "gone"}, testExpiry)
	if err != nil || len(got) != 2 || got[0].Handle != "anna" || got[1].Handle != "anna" {
		t.Fatalf("after sync and rename: %v, %v; want anna in two rooms", got, err)
	}
	if err := s.PresenceLinger(ctx, "a", testExpiry, time.Second); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.PresenceOthers(ctx, "b", []string{GeneralRoom}, testExpiry); len(got) != 1 {
		t.Errorf("lingering rows: %v; want them counted until they expire", got)
	}
	time.Sleep(1100 * time.Millisecond)
	if got, _ := s.PresenceOthers(ctx, "b", []string{GeneralRoom}, testExpiry); len(got) != 0 {
		t.Errorf("rows lingering past their time: %v; want none", got)
	}
}
