package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"parley/internal/sse"
	"parley/store"
)

func TestParseOptions(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	t.Run("Defaults", func(t *testing.T) {
		o, err := parseOptions(nil, env(nil), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.addr != "127.0.0.1:8080" || o.db != "parley.db" || o.secureCookies {
			t.Errorf("options = %+v", o)
		}
	})
	t.Run("Environment", func(t *testing.T) {
		o, err := parseOptions(nil, env(map[string]string{
			"PARLEY_ADDR": "127.0.0.1:9999", "PARLEY_DB": "/tmp/x.db", "PARLEY_SECURE_COOKIES": "true",
		}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.addr != "127.0.0.1:9999" || o.db != "/tmp/x.db" || !o.secureCookies {
			t.Errorf("options = %+v", o)
		}
	})
	t.Run("FlagsWin", func(t *testing.T) {
		o, err := parseOptions([]string{"-addr", "127.0.0.1:0", "-db", "a.db", "-secure-cookies"},
			env(map[string]string{"PARLEY_ADDR": "127.0.0.1:9999", "PARLEY_DB": "b.db"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if o.addr != "127.0.0.1:0" || o.db != "a.db" || !o.secureCookies {
			t.Errorf("options = %+v", o)
		}
		o, _ = parseOptions([]string{"-secure-cookies=false"}, env(map[string]string{"PARLEY_SECURE_COOKIES": "1"}), io.Discard)
		if o.secureCookies {
			t.Error("-secure-cookies=false did not override the environment")
		}
	})
	t.Run("TrustedProxies", func(t *testing.T) {
		o, err := parseOptions(nil, env(map[string]string{"PARLEY_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"}), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(o.trustedProxies) != "[10.0.0.0/8 127.0.0.1/32]" {
			t.Errorf("trustedProxies = %v", o.trustedProxies)
		}
		_, err = parseOptions([]string{"-trusted-proxies", "10.0.0.0/8,10.0.0.0/40"}, env(nil), io.Discard)
		if err == nil || !strings.Contains(err.Error(), "-trusted-proxies") || !strings.Contains(err.Error(), "10.0.0.0/40") {
			t.Errorf("error = %v; want one naming -trusted-proxies and 10.0.0.0/40", err)
		}
	})
	t.Run("Invalid", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			env  map[string]string
		}{
			{nil, map[string]string{"PARLEY_SECURE_COOKIES": "yes please"}},
			{nil, map[string]string{"PARLEY_SESSION_IDLE": "forever"}},
			{[]string{"-max-streams", "0"}, nil},
			{[]string{"-nope"}, nil},
			{[]string{"extra"}, nil},
		} {
			if _, err := parseOptions(tc.args, env(tc.env), io.Discard); err == nil {
				t.Errorf("parseOptions(%v, %v) succeeded; want an error", tc.args, tc.env)
			}
		}
	})
}

var listening = regexp.MustCompile(`listening on (https?://[0-9.:\[\]a-z]+)`)

// waitListening reads lines from r until the listening line and returns
// the address it names; the rest of r is drained in the background.
func waitListening(t *testing.T, r io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, r)
	}()
	select {
	case u := <-found:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("no listening line within 30s")
	}
	return ""
}

// user is an HTTP client signed in to a running server.
type user struct {
	base string
	hc   *http.Client
}

func newUser(t *testing.T, base, handle string) *user {
	u, _ := register(t, base, handle, nil)
	return u
}

// register signs up handle through rt (nil: the default transport) and
// returns the signed-in user and the response to the sign-up.
func register(t *testing.T, base, handle string, rt http.RoundTripper) (*user, *http.Response) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u := &user{base: base, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: rt,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	resp, err := u.hc.PostForm(base+"/register", url.Values{"handle": {handle}, "password": {"correct horse"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("register %s: status %d", handle, resp.StatusCode)
	}
	return u, resp
}

// post sends a message and reports whether the server acknowledged it.
func (u *user) post(body string) (bool, error) {
	req, _ := http.NewRequest(http.MethodPost, u.base+"/rooms/general/messages", strings.NewReader(url.Values{"body": {body}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	resp, err := u.hc.Do(req)
	if err != nil {
		return false, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK, nil
}

// stream opens the room's event stream after the cursor.
func (u *user) stream(t *testing.T, cursor int64) (*sse.Reader, func()) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u.base+"/rooms/general/events", nil)
	req.Header.Set("Last-Event-ID", strconv.FormatInt(cursor, 10))
	hc := *u.hc
	hc.Timeout = 0
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	return sse.NewReader(resp.Body), func() { resp.Body.Close() }
}

func TestRun(t *testing.T) {
	db := filepath.Join(t.TempDir(), "parley.db")
	ctx, stop := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db}, func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	base := waitListening(t, pr)

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(b) != "ok" {
		t.Fatalf("healthz: %d %q", resp.StatusCode, b)
	}
	u := newUser(t, base, "Ann")
	events, closeStream := u.stream(t, 0)
	defer closeStream()

	stop() // as SIGINT or SIGTERM would
	for {
		if _, err := events.Next(); err != nil {
			break // the stream ended
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v; want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of the signal")
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if res, err := st.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Errorf("integrity check = %q, %v", res, err)
	}
}

// buildBinary builds cmd/parley once per test binary run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "parley-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "parley")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// server is the real binary, running.
type server struct {
	cmd  *exec.Cmd
	base string
}

func startServer(t *testing.T, db string, args ...string) *server {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0", "-db", db}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	s.base = waitListening(t, stdout)
	return s
}

func TestSignals(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			s := startServer(t, filepath.Join(t.TempDir(), "parley.db"))
			u := newUser(t, s.base, "Ann")
			events, closeStream := u.stream(t, 0)
			defer closeStream()
			s.cmd.Process.Signal(sig)
			ended := make(chan struct{})
			go func() {
				for {
					if _, err := events.Next(); err != nil {
						close(ended)
						return
					}
				}
			}()
			select {
			case <-ended:
			case <-time.After(5 * time.Second):
				t.Fatal("event stream still open 5s after the signal")
			}
			if err := s.cmd.Wait(); err != nil {
				t.Fatalf("exit: %v; want status 0", err)
			}
		})
	}
}

// TestCrashSafety kills the server with SIGKILL while 20 clients post, then
// restarts it on the same file: every acknowledged message is there, ids
// keep increasing, the file is sound, and a stream resumes without a gap.
func TestCrashSafety(t *testing.T) {
	db := filepath.Join(t.TempDir(), "parley.db")
	s := startServer(t, db)
	users := make([]*user, 20)
	for i := range users {
		users[i] = newUser(t, s.base, fmt.Sprint("poster", i))
	}
	stopPosting := posters(users)
	time.Sleep(700 * time.Millisecond)
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	acked := stopPosting()
	if len(acked) == 0 {
		t.Fatal("no post was acknowledged before the kill")
	}

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := st.IntegrityCheck(context.Background()); err != nil || res != "ok" {
		t.Fatalf("integrity check = %q, %v; want ok", res, err)
	}
	msgs, err := st.MessagesAfter(context.Background(), "general", 0, 1_000_000)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	var maxID int64
	for _, m := range msgs {
		stored[m.Body] = true
		maxID = max(maxID, m.ID)
	}
	lost := 0
	for body := range acked {
		if !stored[body] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%d of %d acknowledged messages lost", lost, len(acked))
	}
	t.Logf("%d acknowledged messages, all stored, before SIGKILL", len(acked))

	s = startServer(t, db)
	u := newUser(t, s.base, "after")
	mid := msgs[len(msgs)/2].ID
	events, closeStream := u.stream(t, mid)
	defer closeStream()
	if ok, err := u.post("after the crash"); !ok || err != nil {
		t.Fatalf("post after restart: %v %v", ok, err)
	}
	// First every stored message after the cursor, exactly, then the new.
	var want []int64
	for _, m := range msgs {
		if m.ID > mid {
			want = append(want, m.ID)
		}
	}
	next := func() (int64, string) {
		for {
			ev, err := events.Next()
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type == "message" {
				id, _ := strconv.ParseInt(ev.ID, 10, 64)
				return id, ev.Data
			}
		}
	}
	for _, w := range want {
		if id, _ := next(); id != w {
			t.Fatalf("resumed stream sent %d; want %d", id, w)
		}
	}
	for {
		id, data := next()
		if id <= maxID {
			t.Fatalf("new id %d not above %d", id, maxID)
		}
		if strings.Contains(data, "after the crash") {
			break
		}
	}
}

func TestSlowHeaders(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	srv := newHTTPServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if srv.ReadHeaderTimeout <= 0 || srv.IdleTimeout <= 0 || srv.WriteTimeout != 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("server limits %+v; want header, idle and size bounds and no write timeout", srv)
	}
	srv.ReadHeaderTimeout = 300 * time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	// A client that sends its headers a byte at a time, too slowly.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	closed := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(closed)
	}()
	for _, b := range []byte("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ") {
		select {
		case <-closed:
		default:
			conn.Write([]byte{b})
			time.Sleep(50 * time.Millisecond)
			continue
		}
		break
	}
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("the server still holds the slow connection")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("slow client held its connection for %v", d)
	}
	// Others are served meanwhile and after.
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
}
