package handlers

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLineMatchesSlog formats lines by hand and through slog's
// TextHandler, which the log used before, and wants the same bytes, odd
// paths quoted alike and read back whole.
func TestLineMatchesSlog(t *testing.T) {
	paths := []string{"/", "/rooms/general", "", "/a b", `/say "hi"`, "/x=y", "/tab\there",
		"/new\nline", "/caf\u00e9", "/bad\xffutf8", `/back\slash`, "/nbsp\u00a0x", "/sep\u2028x",
		"/del\x7f", "/ctl\x01", "/emoji\U0001F600", "/repl\uFFFD"}
	zones := []*time.Location{time.UTC, time.FixedZone("", 2*3600+30*60), time.FixedZone("", -5*3600)}
	var c clock
	for i, p := range paths {
		ln := line{
			time:  time.Date(2026, 11, 29, 3, 4, 5, i*7_000_000+999_999, zones[i%len(zones)]),
			level: slog.LevelInfo, method: "GET", path: p, status: 200 + i, bytes: int64(i * 1000),
			duration: time.Duration(i) * 1234567 * time.Nanosecond, remote: "192.0.2.7",
		}
		if i%4 == 3 {
			ln.level, ln.method, ln.remote = slog.LevelWarn, "PO ST", "2001:db8::1"
		}
		var want bytes.Buffer
		rec := slog.NewRecord(ln.time, ln.level, "request", 0)
		rec.AddAttrs(slog.String("method", ln.method), slog.String("path", ln.path),
			slog.Int("status", ln.status), slog.Int64("bytes", ln.bytes),
			slog.Duration("duration", ln.duration), slog.String("remote", ln.remote))
		if err := slog.NewTextHandler(&want, nil).Handle(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
		got := string(ln.append(nil, &c))
		if got != want.String() {
			t.Errorf("path %q:\n got %s\nwant %s", p, got, want.String())
			continue
		}
		if back := fieldValue(t, got, "path"); back != p && strings.ToValidUTF8(p, "\uFFFD") == p {
			t.Errorf("path %q read back as %q", p, back)
		}
	}
}

// fieldValue reads the value of key from a logfmt line.
func fieldValue(t *testing.T, line, key string) string {
	t.Helper()
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		t.Fatalf("no %s= in %q", key, line)
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, `"`) {
		q, err := strconv.QuotedPrefix(v)
		if err != nil {
			t.Fatalf("%s: %v in %q", key, err, line)
		}
		s, _ := strconv.Unquote(q)
		return s
	}
	if j := strings.IndexAny(v, " \n"); j >= 0 {
		v = v[:j]
	}
	return v
}

// countingWriter counts the writes that reach a file.
type countingWriter struct {
	f      *os.File
	writes atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return w.f.Write(p)
}

// TestRequestLogFile logs from many goroutines into a real file: every
// line arrives whole, lines share writes, and a line logged after close
// is written at once.
func TestRequestLogFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "requests.log")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &countingWriter{f: f}
	l := newRequestLog(w)
	const goroutines, each = 8, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				l.add(&line{time: time.Now(), method: "GET", path: "/rooms/r" + strconv.Itoa(g),
					status: 200, bytes: int64(i), remote: "192.0.2.1"})
			}
		})
	}
	wg.Wait()
	l.close()
	batched := w.writes.Load()
	l.add(&line{time: time.Now(), method: "GET", path: "/after-close", status: 200, remote: "192.0.2.1"})
	if w.writes.Load() != batched+1 {
		t.Errorf("a line logged after close was not written at once")
	}
	if batched > goroutines*each/10 {
		t.Errorf("%d writes for %d lines; want them batched", batched, goroutines*each)
	}

	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	n := 0
	for sc.Scan() {
		n++
		ln := sc.Text()
		if !strings.HasPrefix(ln, "time=") || fieldValue(t, ln, "remote") != "192.0.2.1" {
			t.Fatalf("line %d is not whole: %q", n, ln)
		}
		seen[fieldValue(t, ln, "path")]++
	}
	if n != goroutines*each+1 {
		t.Errorf("%d lines; want %d", n, goroutines*each+1)
	}
	for g := range goroutines {
		if p := "/rooms/r" + strconv.Itoa(g); seen[p] != each {
			t.Errorf("%s: %d lines; want %d", p, seen[p], each)
		}
	}
	t.Logf("%d lines in %d writes", n, batched+1)
}
