package store

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// The web sessions live in the store's database, through the scs store of
// its backend; sessions made by SeedLogins and removed by DeleteLogin are
// the same ones that store reads.
func TestSessionStore(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ss := s.SessionStore()
	find := func(token string) ([]byte, bool) {
		t.Helper()
		b, ok, err := ss.Find(token)
		if err != nil {
			t.Fatalf("Find(%s): %v", token, err)
		}
		return b, ok
	}

	if err := ss.Commit("live", []byte("data"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, ok := find("live"); !ok || string(b) != "data" {
		t.Errorf("Find(live) = %q, %v; want data", b, ok)
	}
	if err := ss.Commit("live", []byte("newer"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if b, _ := find("live"); string(b) != "newer" {
		t.Errorf("after a second Commit, Find = %q; want newer", b)
	}
	if err := ss.Commit("old", []byte("data"), time.Now().Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, ok := find("old"); ok {
		t.Error("an expired session is found")
	}

	users, err := s.SeedUsers(ctx, []string{"ann", "bob"}, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	tokens, err := s.SeedLogins(ctx, users, func(u User) ([]byte, error) { return []byte(u.Handle), nil },
		time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for i, tok := range tokens {
		if b, ok := find(tok); !ok || !bytes.Equal(b, []byte(users[i].Handle)) {
			t.Errorf("seeded session of %s: %q, %v; want its data", users[i].Handle, b, ok)
		}
	}
	if err := s.DeleteLogin(ctx, tokens[0]); err != nil {
		t.Fatal(err)
	}
	if _, ok := find(tokens[0]); ok {
		t.Error("the session of a deleted login is found")
	}
	if _, err := s.DeleteUserLogins(ctx, users[1].ID); err != nil {
		t.Fatal(err)
	}
	if _, ok := find(tokens[1]); ok {
		t.Error("the session of a user signed out everywhere is found")
	}
	ss.StopCleanup()
	ss.StopCleanup() // and once more by Close: no harm
}
