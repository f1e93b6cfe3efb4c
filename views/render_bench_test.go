package views_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"parley/store"
	"parley/views"
)

// BenchmarkRoomPage renders a room page with 50 messages and 10 people
// online.
func BenchmarkRoomPage(b *testing.B) {
	v := views.RoomView{
		Room: store.GeneralRoom,
		Rooms: []store.RoomEntry{
			{Room: store.Room{ID: 1, Name: "general", Kind: store.KindPublic}},
			{Room: store.Room{ID: 2, Name: "random", Kind: store.KindPublic}, Unread: 3},
			{Room: store.Room{ID: 3, Name: "dm.1.2", Kind: store.KindDirect}, Other: store.User{ID: 2, Handle: "bob"}},
		},
		Me: store.User{ID: 1, Handle: "ann"},
	}
	for i := range 10 {
		v.Online.Names = append(v.Online.Names, fmt.Sprintf("user%d", i))
	}
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range store.PageSize {
		m := store.Message{
			ID: int64(i + 1), Room: v.Room, UserID: int64(i%10 + 1), Kind: store.KindText,
			Author: v.Online.Names[i%10], Body: "A message with <b>markup</b> & an ampersand, number " + fmt.Sprint(i),
			CreatedAt: at.Add(time.Duration(i) * time.Minute),
		}
		if i%17 == 0 {
			m.Kind, m.Body = store.KindJoin, m.Author+" joined"
		}
		v.Messages = append(v.Messages, m)
	}
	ctx := context.Background()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := views.RoomPage(v).Render(ctx, &buf); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}
