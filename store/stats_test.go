package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestStats(t *testing.T) {
	s := mustOpenStore(t)
	var commits atomic.Int64
	s.ObserveCommit = func(d time.Duration) {
		if d > 0 {
			commits.Add(1)
		}
	}
	u := mustCreateUser(t, s, "ann")
	before, commitsBefore := s.Stats().MessagesStored, commits.Load()

	m := mustPost(t, s, "general", u, "one")
	mustPost(t, s, "general", u, "two")
	ctx := context.Background()
	for range 2 { // the second is the same form sent again: stores nothing
		if _, err := s.CreateMessage(ctx, Message{Room: "general", UserID: u.ID, Author: u.Handle,
			Body: "three", ClientID: "form-1"}); err != nil {
			t.Fatal(err)
		}
	}
	general, err := s.Room(ctx, "general")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EditMessage(ctx, Edit{Room: general, ID: m.ID, UserID: u.ID, Body: "one, edited"}); err != nil {
		t.Fatal(err)
	}

	if got := s.Stats().MessagesStored - before; got != 3 {
		t.Errorf("MessagesStored grew by %d; want 3 (an edit and a repeated form store no message)", got)
	}
	if got := commits.Load() - commitsBefore; got != 5 {
		t.Errorf("ObserveCommit called %d times with a positive duration; want 5 (one per batch)", got)
	}
}
