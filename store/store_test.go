package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// testBackendEnv names the variable that chooses the backend the store's
// tests run on: "postgres" runs them on a throwaway PostgreSQL cluster
// (pgtest), anything else on SQLite files. `make test` runs them on both.
const testBackendEnv = "PARLEY_TEST_DB"

func onPostgres() bool { return os.Getenv(testBackendEnv) == "postgres" }

// testDB returns where a new, empty database of the test is: a SQLite file
// in its temporary directory, or a PostgreSQL database of its own.
func testDB(t testing.TB) string {
	t.Helper()
	if onPostgres() {
		return pgtest.URL(t)
	}
	return filepath.Join(t.TempDir(), "parley.db")
}

// sqliteOnly skips a test that checks what only SQLite has, and says why.
func sqliteOnly(t *testing.T, why string) {
	t.Helper()
	if onPostgres() {
		t.Skip("SQLite only: " + why)
	}
}

// postgresOnly skips a test of what only PostgreSQL has.
func postgresOnly(t *testing.T, why string) {
	t.Helper()
	if !onPostgres() {
		t.Skip("PostgreSQL only: " + why)
	}
}

// mustOpenStore opens a store on a new database (testDB) and closes it
// when the test ends.
func mustOpenStore(t *testing.T) *Store {
	t.Helper()
	return mustOpenStoreAt(t, testDB(t))
}

func mustOpenStoreAt(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func mustCreateUser(t *testing.T, s *Store, handle string) User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), Credentials{Handle: handle, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustPost(t *testing.T, s *Store, room string, u User, body string) Message {
	t.Helper()
	m, err := s.CreateMessage(context.Background(), Message{Room: room, UserID: u.ID, Author: u.Handle, Body: body})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestOpen(t *testing.T) {
	t.Run("Migrations", func(t *testing.T) {
		path := testDB(t)
		s := mustOpenStoreAt(t, path)
		s.Close()
		s = mustOpenStoreAt(t, path) // applying again must be a no-op
		var n int
		if err := s.DB.QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n < 1 {
			t.Errorf("schema_migrations has %d rows; want every migration recorded", n)
		}
		if _, err := s.Room(context.Background(), GeneralRoom); err != nil {
			t.Errorf("Room(general) = %v; want it to exist", err)
		}
	})

	t.Run("Pragmas", func(t *testing.T) {
		sqliteOnly(t, "per-connection PRAGMAs of the DSN")
		s := mustOpenStore(t)
		// Every pooled connection gets the DSN settings; hold several.
		ctx := context.Background()
		var conns []interface{ Close() error }
		for range 3 {
			c, err := s.DB.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			for pragma, want := range map[string]string{"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", "busy_timeout": "5000"} {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("PRAGMA %s = %s; want %s", pragma, got, want)
				}
			}
		}
		for _, c := range conns {
			c.Close()
		}
	})

	t.Run("IntegrityCheck", func(t *testing.T) {
		s := mustOpenStore(t)
		if got, err := s.IntegrityCheck(context.Background()); err != nil || got != "ok" {
			t.Errorf("IntegrityCheck = %q, %v; want ok", got, err)
		}
	})
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "Ann")
		if u.ID == 0 || u.Handle != "Ann" {
			t.Errorf("user = %+v; want an id and handle Ann", u)
		}
		var hash string
		s.DB.QueryRow(`SELECT password_hash FROM users WHERE id = $1`, u.ID).Scan(&hash)
		if !strings.HasPrefix(hash, "$argon2id$") || strings.Contains(hash, "correct horse") {
			t.Errorf("stored hash %q; want an argon2id hash", hash)
		}
	})

	t.Run("ErrHandleTaken", func(t *testing.T) {
		s := mustOpenStore(t)
		mustCreateUser(t, s, "Ann")
		for _, h := range []string{"Ann", "ann", "ANN"} {
			if _, err := s.CreateUser(ctx, Credentials{h, "another pw"}); !errors.Is(err, ErrHandleTaken) {
				t.Errorf("CreateUser(%s) err = %v; want ErrHandleTaken", h, err)
			}
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		s := mustOpenStore(t)
		var fe *FieldError
		if _, err := s.CreateUser(ctx, Credentials{"a", "long enough"}); !errors.As(err, &fe) || fe.Field != "handle" {
			t.Errorf("short handle: err = %v; want a handle FieldError", err)
		}
		if _, err := s.CreateUser(ctx, Credentials{"ann", "short"}); !errors.As(err, &fe) || fe.Field != "password" {
			t.Errorf("short password: err = %v; want a password FieldError", err)
		}
	})

	t.Run("Race", func(t *testing.T) {
		s := mustOpenStore(t)
		handles := []string{"Racer", "racer", "RACER", "rAcEr", "RaCeR", "racER"}
		var wg sync.WaitGroup
		errs := make([]error, len(handles))
		for i, h := range handles {
			wg.Go(func() { _, errs[i] = s.CreateUser(ctx, Credentials{h, "password1"}) })
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrHandleTaken):
				t.Errorf("CreateUser(%s) err = %v; want nil or ErrHandleTaken", handles[i], err)
			}
		}
		if won != 1 {
			t.Errorf("%d registrations won; want exactly 1", won)
		}
	})
}

func TestAuthenticate(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "Ann")
	tests := []struct {
		name, handle, password string
		wantErr                error
	}{
		{"OK", "Ann", "correct horse", nil},
		{"OtherCase", "aNN", "correct horse", nil},
		{"WrongPassword", "Ann", "wrong horse", ErrBadCredentials},
		{"UnknownHandle", "bob", "correct horse", ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := s.Authenticate(ctx, Credentials{tt.handle, tt.password})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v; want %v", err, tt.wantErr)
			}
			if err == nil && u.ID != ann.ID {
				t.Errorf("user = %+v; want %+v", u, ann)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	ctx := context.Background()

	t.Run("OrderAndPage", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		var ids []int64
		for i := range PageSize + 5 {
			ids = append(ids, mustPost(t, s, GeneralRoom, u, fmt.Sprint("m", i)).ID)
		}
		if !slices.IsSorted(ids) {
			t.Fatalf("ids %v; want increasing", ids)
		}
		latest, err := s.LatestMessages(ctx, GeneralRoom, PageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(latest) != PageSize || latest[0].ID != ids[5] || latest[PageSize-1].ID != ids[len(ids)-1] {
			t.Errorf("latest = %d messages from %d to %d; want %d from %d to %d",
				len(latest), latest[0].ID, latest[len(latest)-1].ID, PageSize, ids[5], ids[len(ids)-1])
		}
		after, err := s.MessagesAfter(ctx, GeneralRoom, ids[50], 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) != 4 || after[0].ID != ids[51] {
			t.Errorf("MessagesAfter = %d from %d; want 4 from %d", len(after), after[0].ID, ids[51])
		}
		if m := latest[0]; m.Author != "ann" || m.Body != "m5" || m.Kind != KindText || m.CreatedAt.IsZero() {
			t.Errorf("message = %+v; want author, body, kind and time", m)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		for _, body := range []string{"", strings.Repeat("é", BodyMaxLen+1), "\xff"} {
			_, err := s.CreateMessage(ctx, Message{Room: GeneralRoom, UserID: u.ID, Author: "ann", Body: body})
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Errorf("body %.10q: err = %v; want a FieldError", body, err)
			}
		}
		if latest, _ := s.LatestMessages(ctx, GeneralRoom, 10); len(latest) != 0 {
			t.Errorf("%d messages stored; want none", len(latest))
		}
	})

	t.Run("IDsSurviveRestart", func(t *testing.T) {
		path := testDB(t)
		s := mustOpenStoreAt(t, path)
		u := mustCreateUser(t, s, "ann")
		before := mustPost(t, s, GeneralRoom, u, "one")
		s.DB.Exec(`DELETE FROM messages WHERE id = $1`, before.ID)
		s.Close()
		s = mustOpenStoreAt(t, path)
		if after := mustPost(t, s, GeneralRoom, u, "two"); after.ID <= before.ID {
			t.Errorf("id after restart %d; want more than %d", after.ID, before.ID)
		}
	})

	t.Run("GroupCommitInOrder", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		var mu sync.Mutex
		var published []int64
		s.AfterCommit = func(msgs []Message) {
			mu.Lock()
			for _, m := range msgs {
				published = append(published, m.ID)
			}
			mu.Unlock()
		}
		var wg sync.WaitGroup
		for w := range 8 {
			wg.Go(func() {
				for i := range 25 {
					mustPost(t, s, GeneralRoom, u, fmt.Sprint(w, "-", i))
				}
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(published) != 200 || !slices.IsSorted(published) {
			t.Errorf("published %d ids, sorted=%v; want 200 in increasing order", len(published), slices.IsSorted(published))
		}
	})

	t.Run("HasMessageBy", func(t *testing.T) {
		s := mustOpenStore(t)
		u := mustCreateUser(t, s, "ann")
		if ok, _ := s.HasMessageBy(ctx, GeneralRoom, u.ID); ok {
			t.Error("HasMessageBy before any message = true")
		}
		mustPost(t, s, GeneralRoom, u, "hi")
		if ok, _ := s.HasMessageBy(ctx, GeneralRoom, u.ID); !ok {
			t.Error("HasMessageBy after a message = false")
		}
	})
}

func TestRenameUser(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	mustCreateUser(t, s, "bob")
	if _, err := s.CreateRoom(ctx, "random", KindPublic, ann.ID); err != nil {
		t.Fatal(err)
	}

	t.Run("OK", func(t *testing.T) {
		old, notices, err := s.RenameUser(ctx, ann.ID, "Annie", []string{GeneralRoom, "random"})
		if err != nil {
			t.Fatal(err)
		}
		if old.Handle != "ann" || len(notices) != 2 || notices[0].Body != "ann is now Annie" || notices[1].Room != "random" {
			t.Errorf("old = %+v, notices = %+v", old, notices)
		}
		if u, _ := s.User(ctx, ann.ID); u.Handle != "Annie" {
			t.Errorf("handle = %s; want Annie", u.Handle)
		}
	})

	t.Run("ErrHandleTaken", func(t *testing.T) {
		_, _, err := s.RenameUser(ctx, ann.ID, "BOB", []string{GeneralRoom})
		if !errors.Is(err, ErrHandleTaken) {
			t.Fatalf("err = %v; want ErrHandleTaken", err)
		}
		if u, _ := s.User(ctx, ann.ID); u.Handle != "Annie" {
			t.Errorf("handle = %s; want it unchanged", u.Handle)
		}
		latest, _ := s.LatestMessages(ctx, GeneralRoom, 10)
		if len(latest) != 1 {
			t.Errorf("%d messages in general; want only the first rename notice", len(latest))
		}
	})
}

func TestLogins(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	bob := mustCreateUser(t, s, "bob")
	for _, tok := range []string{"a1", "a2"} {
		if err := s.CreateLogin(ctx, tok, ann.ID); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateLogin(ctx, "b1", bob.ID); err != nil {
		t.Fatal(err)
	}

	l, err := s.Login(ctx, "a1")
	if err != nil || l.User.ID != ann.ID || l.User.Handle != "ann" {
		t.Fatalf("Login(a1) = %+v, %v; want ann", l, err)
	}
	if _, err := s.Login(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Login(nope) err = %v; want ErrNotFound", err)
	}

	now := time.Now()
	live, err := s.LiveLogins(ctx, []string{"a1", "a2", "b1", "zz"}, now.Add(-time.Hour), now.Add(-time.Hour))
	if err != nil || len(live) != 3 || live["zz"] {
		t.Errorf("LiveLogins = %v, %v; want a1 a2 b1", live, err)
	}
	live, _ = s.LiveLogins(ctx, []string{"a1"}, now.Add(time.Hour), now.Add(-time.Hour))
	if live["a1"] {
		t.Error("LiveLogins counts a login idle since before the cutoff")
	}

	if err := s.DeleteLogin(ctx, "a1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "a1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after DeleteLogin, err = %v; want ErrNotFound", err)
	}
	tokens, err := s.DeleteUserLogins(ctx, ann.ID)
	if err != nil || !slices.Equal(tokens, []string{"a2"}) {
		t.Errorf("DeleteUserLogins = %v, %v; want [a2]", tokens, err)
	}
	if _, err := s.Login(ctx, "b1"); err != nil {
		t.Errorf("bob's login was touched: %v", err)
	}
}

func TestValidateHandle(t *testing.T) {
	tests := []struct {
		handle string
		ok     bool
	}{
		{"ab", true},
		{strings.Repeat("a", 32), true},
		{"A.b-c_9", true},
		{"", false},
		{"a", false},
		{strings.Repeat("a", 33), false},
		{"ann smith", false},
		{"änn", false},
		{"ann<", false},
		{"ann@x", false},
		{"ann\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.handle, func(t *testing.T) {
			if err := ValidateHandle(tt.handle); (err == nil) != tt.ok {
				t.Errorf("ValidateHandle(%q) = %v; want ok=%v", tt.handle, err, tt.ok)
			}
		})
	}
}

func TestLoginCache(t *testing.T) {
	ctx := context.Background()
	s := mustOpenStore(t)
	ann := mustCreateUser(t, s, "ann")
	if err := s.CreateLogin(ctx, "tok", ann.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "tok"); err != nil { // now cached
		t.Fatal(err)
	}
	if _, _, err := s.RenameUser(ctx, ann.ID, "annie", nil); err != nil {
		t.Fatal(err)
	}
	if l, _ := s.Login(ctx, "tok"); l.User.Handle != "annie" {
		t.Errorf("handle after rename = %q; want annie at once", l.User.Handle)
	}
	if err := s.DeleteLogin(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "tok"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Login after DeleteLogin err = %v; want ErrNotFound at once", err)
	}
	s.CreateLogin(ctx, "tok2", ann.ID)
	s.Login(ctx, "tok2")
	s.DeleteUserLogins(ctx, ann.ID)
	if _, err := s.Login(ctx, "tok2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Login after DeleteUserLogins err = %v; want ErrNotFound at once", err)
	}
}

func TestCloseLeavesCompactFile(t *testing.T) {
	sqliteOnly(t, "the write-ahead log of the file")
	path := filepath.Join(t.TempDir(), "parley.db")
	s := mustOpenStoreAt(t, path)
	u := mustCreateUser(t, s, "ann")
	for i := range 50 {
		mustPost(t, s, GeneralRoom, u, fmt.Sprint("m", i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("write-ahead log holds %d bytes after Close; want it checkpointed", fi.Size())
	}
	s = mustOpenStoreAt(t, path)
	if latest, _ := s.LatestMessages(context.Background(), GeneralRoom, 100); len(latest) != 50 {
		t.Errorf("%d messages after reopening; want 50", len(latest))
	}
}
