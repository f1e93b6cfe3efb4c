package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"parley/internal/sse"
	"parley/internal/testcert"
)

func noEnv(string) string { return "" }

// runServer runs Parley in this process with start (run or serve) until
// the test ends, or until the returned stop is called, and returns the URL
// it listens on.
func runServer(t *testing.T, start func(ctx context.Context, stdout io.Writer) error) (base string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- start(ctx, pw)
		pw.Close()
	}()
	base = waitListening(t, pr)
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run = %v; want nil", err)
		}
	}
	t.Cleanup(stop)
	return base, stop
}

// serverArgs returns the arguments of a server on a new database in dir,
// with extra flags.
func serverArgs(dir string, extra ...string) []string {
	return append([]string{"-addr", "127.0.0.1:0", "-db", filepath.Join(dir, "parley.db")}, extra...)
}

// countingTransport trusts pool and counts the connections it dials. With
// h2 it speaks HTTP/2 where the server offers it, else only HTTP/1.1.
func countingTransport(pool *x509.CertPool, h2 bool, dials *atomic.Int32) *http.Transport {
	var d net.Dialer
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return d.DialContext(ctx, network, addr)
		},
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return tr
}

// waitMessage waits until every stream has received a message whose data
// holds body.
func waitMessage(t *testing.T, streams []*sse.Reader, body string) {
	t.Helper()
	errs := make(chan error, len(streams))
	for _, s := range streams {
		go func() {
			for {
				ev, err := s.Next()
				if err != nil {
					errs <- err
					return
				}
				if ev.Type == "message" && strings.Contains(ev.Data, body) {
					errs <- nil
					return
				}
			}
		}()
	}
	timeout := time.After(10 * time.Second)
	for i := range streams {
		select {
		case err := <-errs:
			if err != nil {
				t.Fatalf("a stream ended before %q: %v", body, err)
			}
		case <-timeout:
			t.Fatalf("%d of %d streams got %q within 10s", i, len(streams), body)
		}
	}
}

// TestHTTPS serves HTTPS from a certificate file: a browser's tabs share
// one HTTP/2 connection, each with its live stream, and the session cookie
// is Secure without -secure-cookies.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	cert, key, pool := testcert.Write(t, dir)
	args := serverArgs(dir, "-tls-cert", cert, "-tls-key", key)
	base, _ := runServer(t, func(ctx context.Context, stdout io.Writer) error {
		return run(ctx, args, noEnv, stdout, io.Discard)
	})
	if !strings.HasPrefix(base, "https://") {
		t.Fatalf("listening on %s; want https://", base)
	}

	t.Run("HTTP2", func(t *testing.T) {
		var dials atomic.Int32
		tr := countingTransport(pool, true, &dials)
		defer tr.CloseIdleConnections()
		u, resp := register(t, base, "Ann", tr)
		if resp.ProtoMajor != 2 {
			t.Fatalf("sign-up answered over %s; want HTTP/2", resp.Proto)
		}
		var secure bool
		for _, c := range resp.Cookies() {
			secure = secure || c.Name == "parley_session" && c.Secure
		}
		if !secure {
			t.Errorf("Set-Cookie %q: want a Secure parley_session cookie", resp.Header.Values("Set-Cookie"))
		}
		if resp.Header.Get("Strict-Transport-Security") == "" {
			t.Error("no Strict-Transport-Security header over HTTPS")
		}

		// Ten tabs of one session, each with its stream.
		var streams []*sse.Reader
		for range 10 {
			s, closeStream := u.stream(t, 0)
			defer closeStream()
			streams = append(streams, s)
		}
		if ok, err := u.post("ten tabs, one connection"); !ok || err != nil {
			t.Fatalf("post: %v %v", ok, err)
		}
		waitMessage(t, streams, "ten tabs, one connection")
		// Past every write deadline the server set, the streams still live.
		time.Sleep(streamIdleCheck)
		if ok, err := u.post("still live"); !ok || err != nil {
			t.Fatalf("post: %v %v", ok, err)
		}
		waitMessage(t, streams, "still live")
		if n := dials.Load(); n != 1 {
			t.Errorf("the client dialed %d connections; want 1", n)
		}
	})

	// A client without HTTP/2 gets its streams over HTTPS all the same.
	t.Run("HTTP1", func(t *testing.T) {
		var dials atomic.Int32
		tr := countingTransport(pool, false, &dials)
		defer tr.CloseIdleConnections()
		u, resp := register(t, base, "Bob", tr)
		if resp.ProtoMajor != 1 {
			t.Fatalf("sign-up answered over %s; want HTTP/1.1", resp.Proto)
		}
		s, closeStream := u.stream(t, 0)
		defer closeStream()
		if ok, err := u.post("over HTTP/1.1 and TLS"); !ok || err != nil {
			t.Fatalf("post: %v %v", ok, err)
		}
		waitMessage(t, []*sse.Reader{s}, "over HTTP/1.1 and TLS")
	})
}

// streamIdleCheck is how long TestHTTPS leaves its streams idle: longer
// than the write deadline a stream's start is written under.
const streamIdleCheck = 11 * time.Second

func TestTLSOptions(t *testing.T) {
	dir := t.TempDir()
	cert, key, _ := testcert.Write(t, dir)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"CertWithoutKey", []string{"-tls-cert", cert}, "-tls-cert and -tls-key go together"},
		{"KeyWithoutCert", []string{"-tls-key", key}, "-tls-cert and -tls-key go together"},
		{"ACMEAndCert", []string{"-acme-domain", "chat.example.org", "-tls-cert", cert, "-tls-key", key}, "-acme-domain gets its own certificate"},
		{"ACMENotADomain", []string{"-acme-domain", "127.0.0.1"}, "want a domain name"},
		{"ACMEPlainDirectory", []string{"-acme-domain", "chat.example.org", "-acme-directory", "http://ca.example.org/dir"}, "want an https:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseOptions(tc.args, noEnv, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("parseOptions(%q) = %v; want an error saying %q", tc.args, err, tc.want)
			}
		})
	}
	t.Run("Environment", func(t *testing.T) {
		env := map[string]string{"PARLEY_TLS_CERT": cert, "PARLEY_TLS_KEY": key}
		o, err := parseOptions(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil || o.tlsCert != cert || o.tlsKey != key || !o.servesTLS() {
			t.Fatalf("options = %+v, %v", o, err)
		}
		env = map[string]string{"PARLEY_ACME_DOMAIN": "chat.example.org", "PARLEY_ACME_DIRECTORY": "https://ca.example.org/dir"}
		o, err = parseOptions(nil, func(k string) string { return env[k] }, io.Discard)
		if err != nil || o.acmeDomain != "chat.example.org" || o.acmeDirectory != "https://ca.example.org/dir" {
			t.Fatalf("options = %+v, %v", o, err)
		}
	})
	// A file that is missing or not a certificate stops the start.
	for name, files := range map[string][2]string{
		"MissingFile": {filepath.Join(dir, "nope.pem"), key},
		"NotACert":    {key, key},
	} {
		t.Run(name, func(t *testing.T) {
			err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-db", filepath.Join(t.TempDir(), "p.db"),
				"-tls-cert", files[0], "-tls-key", files[1]}, noEnv, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), "-tls-cert") {
				t.Fatalf("run = %v; want an error naming -tls-cert", err)
			}
		})
	}
}
