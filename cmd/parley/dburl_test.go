package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"parley/internal/pgtest"
)

func TestDisplayDB(t *testing.T) {
	for _, tc := range []struct{ db, want string }{
		{"parley.db", "parley.db"},
		{"/var/lib/parley/chat:1.db", "/var/lib/parley/chat:1.db"},
		{"postgres://parley:s3cret@db.example:5432/parley?sslmode=require", "postgres://parley:xxxxx@db.example:5432/parley?sslmode=require"},
		{"postgresql://parley@db.example/parley", "postgresql://parley@db.example/parley"},
		{"postgres://db.example/parley?password=s3cret&sslmode=disable", "postgres://db.example/parley?password=xxxxx&sslmode=disable"},
		{"postgres://parley:s3cret%zz@db.example/parley", "postgres://(a URL that does not parse)"},
	} {
		if got := displayDB(tc.db); got != tc.want {
			t.Errorf("displayDB(%q) = %q; want %q", tc.db, got, tc.want)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe for a server writing and a test
// reading.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A server on PostgreSQL never prints the database's password: not in its
// listening line, its log, nor the error when the database cannot be
// reached.
func TestPostgresPasswordNeverPrinted(t *testing.T) {
	const secret = "s3cret-Pa55"
	db, err := pgtest.Own(t).NewDatabase(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The test cluster trusts every local connection: the password is
	// sent and ignored.
	db = strings.Replace(db, "postgres@", "postgres:"+secret+"@", 1)
	getenv := func(string) string { return "" }

	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr lockedBuffer
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db}, getenv, io.MultiWriter(pw, &stdout), &stderr)
		pw.Close()
	}()
	base := waitListening(t, pr)
	newUser(t, base, "ann")
	if resp, err := http.Get(base + "/nowhere"); err == nil {
		resp.Body.Close()
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := stdout.String()
	if !strings.Contains(out, "(database postgres://postgres:xxxxx@127.0.0.1:") {
		t.Errorf("listening line does not name the database without its password:\n%s", out)
	}
	if strings.Contains(out+stderr.String(), secret) {
		t.Errorf("the password was printed:\n%s\n%s", out, stderr.String())
	}

	host := db[strings.Index(db, "@")+1 : strings.LastIndex(db, "/")]
	for _, bad := range []string{
		strings.Replace(db, host, "127.0.0.1:1", 1),     // nothing listens there
		strings.Replace(db, host, "127.0.0.1:99999", 1), // no such port
	} {
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", bad}, getenv, io.Discard, io.Discard)
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("run on %s: %v; want an error without the password", displayDB(bad), err)
		}
	}
}
