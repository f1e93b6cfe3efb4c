package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// server is one Parley process on a SQLite file in the test's temporary
// directory. It keeps its address across restarts.
type server struct {
	t    *testing.T
	db   string   // a SQLite file or a PostgreSQL URL
	args []string // more flags, given at every start
	addr string   // host:port; "127.0.0.1:0" until the first start
	URL  string   // http://host:port, or https:// with a certificate

	cmd  *exec.Cmd
	done chan error
	log  syncBuffer // stdout and stderr of every run
}

// syncBuffer is a bytes.Buffer safe for the writers of a process and a
// reading test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startServer starts Parley on a free port with a new database. The server
// is stopped, and must exit 0, when the test ends.
func startServer(t *testing.T) *server {
	t.Helper()
	return startServerOn(t, filepath.Join(t.TempDir(), "parley.db"))
}

// startServerOn starts Parley on a free port with the database db (a file
// or a PostgreSQL URL, which several servers may share) and more flags.
// The server is stopped, and must exit 0, when the test ends, unless the
// test killed it.
func startServerOn(t *testing.T, db string, args ...string) *server {
	t.Helper()
	s := &server{t: t, db: db, args: args, addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(func() {
		s.stop()
		out := s.log.String()
		if strings.Contains(out, "WARNING: DATA RACE") {
			t.Errorf("the server reported a data race:\n%s", out)
		} else if t.Failed() {
			t.Logf("server log:\n%s", tail(out, 60))
		}
	})
	return s
}

var listeningRE = regexp.MustCompile(`listening on (https?://\S+)`)

// start runs the binary and waits for its "listening on" line.
func (s *server) start() {
	s.t.Helper()
	cmd := exec.Command(binPath, append([]string{"-addr", s.addr, "-db", s.db}, s.args...)...)
	lw := &lineWatch{re: listeningRE, found: make(chan string, 1), w: &s.log}
	cmd.Stdout = lw
	cmd.Stderr = &s.log
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case u := <-lw.found:
		s.URL = u
		s.addr = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	case err := <-done:
		s.t.Fatalf("server exited before listening: %v\n%s", err, s.log.String())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		s.t.Fatalf("server printed no listening line within 30 s:\n%s", s.log.String())
	}
	s.cmd, s.done = cmd, done
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		s.t.Errorf("signal server: %v", err)
	}
	select {
	case err := <-done:
		if err != nil {
			s.t.Errorf("server exit after SIGTERM: %v; want status 0", err)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		s.t.Errorf("server did not exit within 30 s of SIGTERM")
	}
}

// kill ends the server with SIGKILL, as a crash would, and waits for it.
func (s *server) kill() {
	s.t.Helper()
	if s.cmd == nil {
		return
	}
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	if err := cmd.Process.Kill(); err != nil {
		s.t.Errorf("kill server: %v", err)
	}
	<-done
}

// restart stops the server and starts it again on the same address and
// database file.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// lineWatch passes a process's output on and reports the first submatch of
// re in a complete line.
type lineWatch struct {
	re      *regexp.Regexp
	found   chan string
	w       *syncBuffer
	partial []byte
	seen    bool
}

func (l *lineWatch) Write(p []byte) (int, error) {
	l.w.Write(p)
	if l.seen {
		return len(p), nil
	}
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := l.partial[:i]
		l.partial = l.partial[i+1:]
		if m := l.re.FindSubmatch(line); m != nil {
			l.seen = true
			l.found <- string(m[1])
			return len(p), nil
		}
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("… %d lines before", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
