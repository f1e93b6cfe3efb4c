package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/store"
)

// posters keeps signed-in people posting to general, each message a
// distinct body, until stop, which returns when each message the server
// acknowledged was acknowledged.
func posters(users []*user) (stop func() map[string]time.Time) {
	var mu sync.Mutex
	acked := map[string]time.Time{}
	var wg sync.WaitGroup
	quit := make(chan struct{})
	for i, u := range users {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-quit:
					return
				default:
				}
				body := fmt.Sprintf("p%d-%d", i, n)
				ok, err := u.post(body)
				if err != nil {
					return // the server is gone
				}
				if ok {
					at := time.Now()
					mu.Lock()
					acked[body] = at
					mu.Unlock()
				}
			}
		})
	}
	return func() map[string]time.Time {
		close(quit)
		wg.Wait()
		return acked
	}
}

var wrote = regexp.MustCompile(`^backup: wrote (.+) \(\d+\.\d MiB, (\d+) messages\) in \d+\.\ds\n$`)

// TestBackupWhilePosting takes a backup with `parley backup` while 20
// people post to the running server: the copy opens, holds every message
// acknowledged before the backup started, and is one moment of the
// source: exactly the source's messages up to the copy's newest.
func TestBackupWhilePosting(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "parley.db"), filepath.Join(dir, "copy.db")
	ctx, stopServer := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", src}, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	base := waitListening(t, pr)
	users := make([]*user, 20)
	for i := range users {
		users[i] = newUser(t, base, fmt.Sprint("poster", i))
	}
	stopPosting := posters(users)
	time.Sleep(500 * time.Millisecond)

	started := time.Now()
	var out bytes.Buffer
	err := run(context.Background(), []string{"backup", "-db", src, dst}, func(string) string { return "" }, &out, io.Discard)
	time.Sleep(200 * time.Millisecond)
	acked := stopPosting()
	stopServer()
	if err := <-done; err != nil {
		t.Fatalf("server: %v", err)
	}
	if err != nil {
		t.Fatalf("backup: %v", err)
	}
	m := wrote.FindStringSubmatch(out.String())
	if m == nil || m[1] != dst {
		t.Fatalf("backup printed %q; want a line like %q", out.String(), "backup: wrote "+dst+" (1.2 MiB, 345 messages) in 0.1s")
	}

	copied := messages(t, dst)
	source := messages(t, src)
	var before, after int
	for body, at := range acked {
		if at.Before(started) {
			before++
			if _, ok := copied.byBody[body]; !ok {
				t.Errorf("%q, acknowledged %v before the backup began, is not in the copy", body, started.Sub(at))
			}
		} else {
			after++
		}
	}
	if before < 20 || after == 0 {
		t.Fatalf("%d messages acknowledged before the backup, %d after; want posting on both sides", before, after)
	}
	if n, _ := strconv.Atoi(m[2]); n != len(copied.ids) {
		t.Errorf("backup said %d messages; the copy holds %d", n, len(copied.ids))
	}
	newest := copied.ids[len(copied.ids)-1]
	var want []int64
	for _, id := range source.ids {
		if id <= newest {
			want = append(want, id)
		}
	}
	if fmt.Sprint(want) != fmt.Sprint(copied.ids) {
		t.Errorf("the copy's ids up to %d differ from the source's: %d in the copy, %d in the source",
			newest, len(copied.ids), len(want))
	}
	for body, id := range copied.byBody {
		if source.byBody[body] != id {
			t.Errorf("%q is message %d in the copy, %d in the source", body, id, source.byBody[body])
		}
	}
	t.Logf("%d acknowledged before the backup, %d after; the copy holds %d messages up to id %d of %d",
		before, after, len(copied.ids), newest, source.ids[len(source.ids)-1])
}

// storedMessages are a database's messages in general, in id order.
type storedMessages struct {
	ids    []int64
	byBody map[string]int64
}

// messages opens the database at path as the server would and reads
// general.
func messages(t *testing.T, path string) storedMessages {
	t.Helper()
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Fatalf("%s: integrity check = %q, %v", path, res, err)
	}
	msgs, err := st.MessagesAfter(context.Background(), "general", 0, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	s := storedMessages{byBody: map[string]int64{}}
	for _, m := range msgs {
		s.ids = append(s.ids, m.ID)
		s.byBody[m.Body] = m.ID
	}
	return s
}

// TestBackupCommand checks the subcommand's arguments: the database from
// PARLEY_DB, a FILE that exists refused, FILE required.
func TestBackupCommand(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "parley.db")
	st, err := store.Open(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	env := func(k string) string {
		if k == "PARLEY_DB" {
			return src
		}
		return ""
	}
	dst := filepath.Join(dir, "copy.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"backup", dst}, env, &out, io.Discard); err != nil {
		t.Fatalf("backup with PARLEY_DB: %v", err)
	}
	if !wrote.MatchString(out.String()) || strings.Contains(out.String(), "\r") {
		t.Errorf("output %q; want only the final line when not on a terminal", out.String())
	}
	before, _ := os.ReadFile(dst)
	err = run(context.Background(), []string{"backup", "-db", src, dst}, env, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("backup onto an existing file: %v; want an error saying it exists", err)
	}
	if after, _ := os.ReadFile(dst); !bytes.Equal(before, after) {
		t.Error("backup changed the existing file")
	}
	if err := run(context.Background(), []string{"backup"}, env, io.Discard, io.Discard); err == nil {
		t.Error("backup without FILE succeeded")
	}
}
