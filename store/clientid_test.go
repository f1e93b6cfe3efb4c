package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
)

// countRows counts the messages stored with client id.
func countRows(t *testing.T, s *Store, clientID string) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(`SELECT count(*) FROM messages WHERE client_id = $1`, clientID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// recordPublished collects what the store hands to AfterCommit.
func recordPublished(s *Store) func() []Message {
	var mu sync.Mutex
	var published []Message
	s.AfterCommit = func(msgs []Message) {
		mu.Lock()
		published = append(published, msgs...)
		mu.Unlock()
	}
	return func() []Message {
		mu.Lock()
		defer mu.Unlock()
		return append([]Message(nil), published...)
	}
}

func TestClientID(t *testing.T) {
	ctx := context.Background()
	send := func(t *testing.T, s *Store, room string, u User, body, clientID string) Message {
		t.Helper()
		m, err := s.CreateMessage(ctx, Message{Room: room, UserID: u.ID, Author: u.Handle, Body: body, ClientID: clientID})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}

	t.Run("SentTwiceStoredOnce", func(t *testing.T) {
		s := mustOpenStore(t)
		published := recordPublished(s)
		u := mustCreateUser(t, s, "ann")
		first := send(t, s, GeneralRoom, u, "hello", "form-1")
		again := send(t, s, GeneralRoom, u, "hello, changed", "form-1")
		if again.ID != first.ID || again.Body != "hello" || !again.CreatedAt.Equal(first.CreatedAt) {
			t.Errorf("repeat = %+v; want the first message %+v", again, first)
		}
		if n := countRows(t, s, "form-1"); n != 1 {
			t.Errorf("%d messages stored; want 1", n)
		}
		if p := published(); len(p) != 1 || p[0].ID != first.ID {
			t.Errorf("published %+v; want only the first message, once", p)
		}
		if got, err := s.SentMessage(ctx, GeneralRoom, u.ID, "form-1"); err != nil || got.ID != first.ID {
			t.Errorf("SentMessage = %+v, %v; want message %d", got, err, first.ID)
		}
		if _, err := s.SentMessage(ctx, GeneralRoom, u.ID, "form-2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("SentMessage of an unsent id: err = %v; want ErrNotFound", err)
		}
	})

	t.Run("SameTransaction", func(t *testing.T) {
		// Two jobs with one client id, and one without, share a commit: the
		// second stores nothing and learns the id of the first.
		s := mustOpenStore(t)
		published := recordPublished(s)
		u := mustCreateUser(t, s, "ann")
		room, err := s.Room(ctx, GeneralRoom)
		if err != nil {
			t.Fatal(err)
		}
		results := make([]Message, 4)
		var batch []*job
		for i, clientID := range []string{"twice", "", "twice", "once"} {
			m := Message{Room: GeneralRoom, UserID: u.ID, Kind: KindText, Author: u.Handle, Body: "hi", ClientID: clientID, CreatedAt: s.now()}
			batch = append(batch, s.messageJob(ctx, room.ID, m, &results[i]))
		}
		s.posts.commit(batch)
		for i, j := range batch {
			if j.err != nil {
				t.Fatalf("job %d: %v", i, j.err)
			}
		}
		if results[0].ID == 0 || results[2].ID != results[0].ID {
			t.Errorf("ids %d and %d for one client id; want the same", results[0].ID, results[2].ID)
		}
		if len(batch[2].msgs) != 0 {
			t.Errorf("the repeat returned %+v to publish; want nothing", batch[2].msgs)
		}
		p := published()
		if len(p) != 3 || p[0].ID != results[0].ID || p[1].ID != results[1].ID || p[2].ID != results[3].ID {
			t.Errorf("published %+v; want the three stored messages, in id order", p)
		}
		if n := countRows(t, s, "twice"); n != 1 {
			t.Errorf("%d messages stored; want 1", n)
		}
	})

	t.Run("Racing", func(t *testing.T) {
		s := mustOpenStore(t)
		published := recordPublished(s)
		u := mustCreateUser(t, s, "ann")
		ids := make([]int64, 20)
		var wg sync.WaitGroup
		for i := range ids {
			wg.Go(func() { ids[i] = send(t, s, GeneralRoom, u, "hi", "race").ID })
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("ids %v; want one id for all", ids)
			}
		}
		if n, p := countRows(t, s, "race"), published(); n != 1 || len(p) != 1 {
			t.Errorf("%d stored, %d published; want 1 and 1", n, len(p))
		}
	})

	t.Run("PerUserAndRoom", func(t *testing.T) {
		s := mustOpenStore(t)
		ann, bob := mustCreateUser(t, s, "ann"), mustCreateUser(t, s, "bob")
		if _, err := s.CreateRoom(ctx, "random", KindPublic, ann.ID); err != nil {
			t.Fatal(err)
		}
		ids := map[int64]bool{}
		for _, m := range []Message{
			send(t, s, GeneralRoom, ann, "a", "same"),
			send(t, s, GeneralRoom, bob, "b", "same"),
			send(t, s, "random", ann, "c", "same"),
		} {
			ids[m.ID] = true
		}
		if len(ids) != 3 || countRows(t, s, "same") != 3 {
			t.Errorf("%d distinct ids; want 3 messages: the same client id by another user or in another room is another message", len(ids))
		}
	})

	t.Run("WithoutClientID", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		if a, b := send(t, s, GeneralRoom, u, "hi", ""), send(t, s, GeneralRoom, u, "hi", ""); a.ID == b.ID {
			t.Errorf("two posts without a client id got one id %d; want two messages", a.ID)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		for _, id := range []string{"has space", "é", string(make([]byte, ClientIDMaxLen+1))} {
			_, err := s.CreateMessage(ctx, Message{Room: GeneralRoom, UserID: u.ID, Author: u.Handle, Body: "hi", ClientID: id})
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != "client_id" {
				t.Errorf("client id %q: err = %v; want a client_id FieldError", id, err)
			}
		}
		if latest, _ := s.LatestMessages(ctx, GeneralRoom, 10); len(latest) != 0 {
			t.Errorf("%d messages stored; want none", len(latest))
		}
	})

	t.Run("UniqueInTheDatabase", func(t *testing.T) {
		// The database refuses a duplicate by itself, whoever writes it.
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		m := send(t, s, GeneralRoom, u, "hi", "dup")
		_, err := s.DB.Exec(`INSERT INTO messages (room_id, user_id, kind, author, body, created_at, client_id)
			SELECT room_id, user_id, kind, author, body, created_at, client_id FROM messages WHERE id = $1`, m.ID)
		if !isUniqueViolation(err) {
			t.Errorf("inserting a duplicate: err = %v; want a unique violation", err)
		}
	})
}

// TestMigrateClientID applies the client id migration to a database made
// before it: the messages stay, and client ids work afterwards.
func TestMigrateClientID(t *testing.T) {
	sqliteOnly(t, "PostgreSQL databases start from one migration that has client ids")
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s := mustOpenStoreAt(t, path)
	u := mustCreateUser(t, s, "ann")
	old := mustPost(t, s, GeneralRoom, u, "from before")
	for _, q := range []string{
		`DROP INDEX messages_client_id`,
		`ALTER TABLE messages DROP COLUMN client_id`,
		`DELETE FROM schema_migrations WHERE name = '0002_client_id.sql'`,
	} {
		if _, err := s.DB.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s.Close()

	s = mustOpenStoreAt(t, path)
	latest, err := s.LatestMessages(ctx, GeneralRoom, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 1 || latest[0].ID != old.ID || latest[0].Body != "from before" {
		t.Fatalf("after the migration: %+v; want the message from before", latest)
	}
	m := Message{Room: GeneralRoom, UserID: u.ID, Author: u.Handle, Body: "after", ClientID: "c1"}
	a, err := s.CreateMessage(ctx, m)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := s.CreateMessage(ctx, m); err != nil || b.ID != a.ID {
		t.Errorf("repeat after the migration = %d, %v; want %d", b.ID, err, a.ID)
	}
}
