package store

import (
	"context"
	"strconv"
	"testing"
)

// The presence queries a server runs on its own, with 10 000 people online
// over two servers, half on each: in one room, or ten in each of 1 000
// rooms. PARLEY_TEST_DB=postgres go test -run - -bench Presence ./store
func BenchmarkPresence(b *testing.B) {
	if !onPostgres() {
		b.Skip("PostgreSQL only: presence across servers")
	}
	for _, shape := range []struct {
		name  string
		rooms int
	}{{"one room", 1}, {"1000 rooms", 1000}} {
		b.Run(shape.name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, testDB(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const people = 10000
			var rooms []string
			for i := range shape.rooms {
				rooms = append(rooms, "room-"+strconv.Itoa(i))
			}
			rows := map[string][]PresenceRow{}
			for i := range people {
				server := []string{"a", "b"}[i%2]
				rows[server] = append(rows[server], PresenceRow{Room: rooms[i%len(rooms)], UserID: int64(i + 1), Handle: "p" + strconv.Itoa(i)})
			}
			for server, rs := range rows {
				if err := s.PresenceSync(ctx, server, rs); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := s.DB.ExecContext(ctx, `ANALYZE presence`); err != nil {
				b.Fatal(err)
			}
			b.Run("poll", func(b *testing.B) {
				for b.Loop() {
					got, err := s.PresenceOthers(ctx, "a", rooms, testExpiry)
					if err != nil || len(got) != people/2 {
						b.Fatalf("%d rows, %v; want %d", len(got), err, people/2)
					}
				}
			})
			b.Run("heartbeat", func(b *testing.B) {
				for b.Loop() {
					if n, err := s.PresenceHeartbeat(ctx, "a"); err != nil || n != people/2 {
						b.Fatalf("%d rows, %v", n, err)
					}
				}
			})
			b.Run("expiry", func(b *testing.B) {
				for b.Loop() {
					if _, err := s.PresenceExpire(ctx, testExpiry); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
