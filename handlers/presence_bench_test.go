package handlers

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"testing"

	"parley/store"
)

// A person arriving in and leaving a crowded room (100 people online, so
// neither is announced): the cost of presence's own bookkeeping per
// arrival and departure, on SQLite.
func BenchmarkPresenceArriveLeave(b *testing.B) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "parley.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	crowd := make([]string, 101)
	for i := range crowd {
		crowd[i] = "b" + strconv.Itoa(i)
	}
	users, err := st.SeedUsers(ctx, crowd, "presence-password")
	if err != nil {
		b.Fatal(err)
	}
	a := New(Config{}, st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer a.Shutdown()
	for _, u := range users[:100] {
		a.presence.enter(store.GeneralRoom, u.ID, u.Handle)
	}
	last := users[100]
	for b.Loop() {
		a.presence.enter(store.GeneralRoom, last.ID, last.Handle)
		a.presence.leave(store.GeneralRoom, last.ID, nil)
	}
}
