package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestBatchFailingJob: in one batch (pipelined where the dialect
// pipelines), a job that fails after writing and a
// job whose statement the database refuses get their errors and leave
// nothing behind; the jobs around them are stored once and published.
func TestBatchFailingJob(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	published := recordPublished(s)
	u := mustCreateUser(t, s, "ann")
	bob := mustCreateUser(t, s, "bob")
	room, err := s.Room(ctx, GeneralRoom)
	if err != nil {
		t.Fatal(err)
	}
	msg := func(body string) Message {
		return Message{Room: GeneralRoom, UserID: u.ID, Kind: KindText, Author: u.Handle, Body: body, CreatedAt: s.now()}
	}
	errRefused := errors.New("refused")
	results := make([]Message, 3)
	second := msg("second @bob")
	second.Mentions, second.MentionIDs = []string{"bob"}, []int64{bob.ID}
	batch := []*job{
		s.messageJob(ctx, room.ID, msg("first"), &results[0]),
		newJob(ctx, func(tx *sql.Tx) ([]Message, error) {
			if _, err := s.insertMessage(ctx, tx, room.ID, msg("undone")); err != nil {
				return nil, err
			}
			return nil, errRefused
		}),
		s.messageJob(ctx, room.ID, second, &results[1]),
		// No such room: the database refuses the insert.
		s.messageJob(ctx, room.ID+1000, msg("orphan"), &results[2]),
		s.messageJob(ctx, room.ID, msg("third"), &results[2]),
	}
	s.posts.commit(batch)
	for _, i := range []int{0, 2, 4} {
		if batch[i].err != nil {
			t.Errorf("job %d: %v; want it stored", i, batch[i].err)
		}
	}
	if !errors.Is(batch[1].err, errRefused) {
		t.Errorf("failing job: err = %v; want its own error", batch[1].err)
	}
	if batch[3].err == nil {
		t.Error("insert into a missing room: no error")
	}
	for _, body := range []string{"first", "undone", "second @bob", "orphan", "third"} {
		var n int
		if err := s.DB.QueryRow(`SELECT count(*) FROM messages WHERE body = $1`, body).Scan(&n); err != nil {
			t.Fatal(err)
		}
		want := 1
		if body == "undone" || body == "orphan" {
			want = 0
		}
		if n != want {
			t.Errorf("%d messages %q stored; want %d", n, body, want)
		}
	}
	p := published()
	if len(p) != 3 || p[0].ID != results[0].ID || p[1].ID != results[1].ID || p[2].ID != results[2].ID ||
		p[0].Body != "first" || p[2].Body != "third" {
		t.Errorf("published %+v; want first, second and third, in id order", p)
	}
	var mentioned int64
	if err := s.DB.QueryRow(`SELECT message_id FROM mentions WHERE user_id = $1`, bob.ID).Scan(&mentioned); err != nil || mentioned != results[1].ID {
		t.Errorf("bob's mention: message %d, %v; want %d", mentioned, err, results[1].ID)
	}
}

// TestBatchGathersConcurrentWrites: with one core, the writer is woken by
// the first of many concurrent writers before the others have sent their
// writes; it must still commit them together, not one transaction each.
func TestBatchGathersConcurrentWrites(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	u := mustCreateUser(t, s, "ann")
	var commits atomic.Int64
	s.ObserveCommit = func(time.Duration) { commits.Add(1) }
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	const writers, each = 32, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				m := Message{Room: GeneralRoom, UserID: u.ID, Kind: KindText, Author: u.Handle,
					Body: fmt.Sprintf("writer %d, message %d", w, i)}
				if _, err := s.CreateMessage(ctx, m); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	n := commits.Load()
	t.Logf("%d messages in %d commits", writers*each, n)
	if n > writers*each/4 {
		t.Errorf("%d messages from %d concurrent writers took %d commits; want at most %d (4 a commit)",
			writers*each, writers, n, writers*each/4)
	}
}
