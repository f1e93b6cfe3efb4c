package store_test

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"parley/store"
)

// openBenchStore opens a store on a real SQLite file in b.TempDir().
func openBenchStore(b *testing.B) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := st.Close(); err != nil {
			b.Error(err)
		}
	})
	return st
}

var benchMessage = store.Message{
	Room: store.GeneralRoom, Kind: store.KindText, Author: "bench",
	Body: "The quick brown fox jumps over the lazy dog while the chat rolls on.",
}

// BenchmarkCreateMessage stores messages one after another, and from 8
// writers at once, which the store commits together.
func BenchmarkCreateMessage(b *testing.B) {
	ctx := context.Background()
	b.Run("alone", func(b *testing.B) {
		st := openBenchStore(b)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.CreateMessage(ctx, benchMessage); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("8-writers", func(b *testing.B) {
		st := openBenchStore(b)
		b.ReportAllocs()
		b.ResetTimer()
		var left atomic.Int64
		left.Store(int64(b.N))
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for left.Add(-1) >= 0 {
					if _, err := st.CreateMessage(ctx, benchMessage); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	})
}
