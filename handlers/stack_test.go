//go:build !race

// The race detector makes every frame larger; the figure below is for the
// build people run.

package handlers_test

import (
	"bufio"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"golang.org/x/net/http2"

	"parley/internal/sse"
)

// An idle stream over HTTP/2 keeps its request's goroutine, waiting
// beneath the whole middleware chain. The runtime halves a waiting stack
// only while less than a quarter of it is in use, so the frames on that
// path must stay small, or every stream keeps 16 KiB of stack instead of
// 8 KiB. Client and server share this process: each stream costs the
// server's goroutine plus the client's, about 4 KiB.
func TestHTTP2StreamStackShrinks(t *testing.T) {
	sqliteOnly(t, "there the stream's goroutine never grows past 8 KiB, so nothing shrinks, "+
		"and the holes the client's shrunk stacks leave in shared spans blur the figure")
	const people = 200
	ts := newTestServer(t, fastConfig())
	tokens := ts.seedPeople("stack", people)
	srv := httptest.NewUnstartedServer(ts.app.Handler())
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	hc := &http.Client{Transport: &http2.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

	stackInUse := func() uint64 {
		runtime.GC() // a collection shrinks each waiting stack by half at most
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.StackInuse
	}
	before := stackInUse()
	for _, tok := range tokens {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+events, nil)
		req.Header.Set("Cookie", "parley_session="+tok)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("stream over %s; want HTTP/2", resp.Proto)
		}
		// The start (the online list) is written once the stream is set up.
		if _, err := sse.NewReader(bufio.NewReader(resp.Body)).Next(); err != nil {
			t.Fatal(err)
		}
	}
	if n := ts.app.Streams(); n != people {
		t.Fatalf("%d streams open; want %d", n, people)
	}
	perStream := float64(stackInUse()-before) / people / 1024
	t.Logf("stack per idle HTTP/2 stream, server and client: %.1f KiB", perStream)
	if perStream > 14 {
		t.Errorf("stack per idle HTTP/2 stream %.1f KiB; want the server's goroutine shrunk to 8 KiB (about 12 KiB with the client's)", perStream)
	}
}
