//go:build unix

package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// h2Row is what holding streams open over HTTP/2 cost the server.
type h2Row struct {
	streams, opened, conns int
	elapsed                time.Duration
	failed                 map[string]int
	rssBefore, rssAfter    int64
	heapBefore, heapAfter  int64
	goroutines             int
}

// runH2 opens one stream for each of the first -h2-people prepared people
// over HTTP/2, -h2-per-conn streams to a connection, as browsers with many
// tabs would, waits until every stream has received its start, and
// measures the server's memory before and after.
func (b *bench) runH2(ctx context.Context) error {
	n := b.o.h2People
	if n > len(b.people) {
		return fmt.Errorf("-h2-people wants %d people; -people-tokens has %d (parley-bench prepare -people %d)", n, len(b.people), n)
	}
	row := h2Row{streams: n, failed: map[string]int{}}
	row.rssBefore, row.heapBefore, _, _ = b.serverMemory(ctx)

	protos := new(http.Protocols)
	protos.SetHTTP2(true)
	tr := &http.Transport{
		// The server's certificate is one made for the run: trust it.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		Protocols:       protos,
	}
	defer tr.CloseIdleConnections()
	host := b.h2URL.Host
	events := b.h2URL.JoinPath("rooms", b.o.room, "events").String()

	var opened atomic.Int64
	b.progress.set(func() string { return fmt.Sprintf("opening HTTP/2 streams: %d/%d open", opened.Load(), n) })
	var (
		mu     sync.Mutex
		conns  []*http.ClientConn
		bodies []io.Closer
	)
	defer func() {
		for _, c := range bodies {
			c.Close()
		}
		for _, c := range conns {
			c.Close()
		}
	}()
	fail := func(err error) {
		mu.Lock()
		row.failed[err.Error()]++
		mu.Unlock()
	}
	start := time.Now()
	per := b.o.h2PerConn
	// Connections are set up a few at a time; each opens its streams at
	// once, as a browser restoring its tabs would.
	err := parallel(ctx, 8, 0, (n+per-1)/per, func(c int) error {
		cc, err := tr.NewClientConn(ctx, "https", host)
		if err != nil {
			fail(err)
			return nil
		}
		mu.Lock()
		conns = append(conns, cc)
		mu.Unlock()
		var wg sync.WaitGroup
		for i := c * per; i < min(n, (c+1)*per); i++ {
			wg.Go(func() {
				body, err := openH2Stream(ctx, cc, events, b.people[i].Cookie)
				if err != nil {
					fail(err)
					return
				}
				opened.Add(1)
				mu.Lock()
				bodies = append(bodies, body)
				mu.Unlock()
			})
		}
		wg.Wait()
		return nil
	})
	row.elapsed, row.opened, row.conns = time.Since(start), int(opened.Load()), len(conns)
	if err != nil {
		return err
	}
	b.progress.println(fmt.Sprintf("opened %d/%d HTTP/2 streams on %d connections in %s%s",
		row.opened, n, row.conns, round(row.elapsed), failures(row.failed)))
	b.progress.set(func() string { return fmt.Sprintf("holding %d HTTP/2 streams idle", row.opened) })
	sleep(ctx, b.o.settle)
	row.rssAfter, row.heapAfter, row.goroutines, _ = b.serverMemory(ctx)
	b.h2Rows = append(b.h2Rows, row)
	if row.opened == 0 {
		return fmt.Errorf("no HTTP/2 stream opened%s", failures(row.failed))
	}
	return nil
}

// openH2Stream opens the room's event stream with cookie on cc and reads
// it until its start (the first event) has arrived; the stream stays open
// for the caller to close.
func openH2Stream(ctx context.Context, cc *http.ClientConn, events, cookie string) (io.Closer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, events, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cookie", cookie)
	req.Header.Set("Accept", "text/event-stream")
	res, err := cc.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		res.Body.Close()
		return nil, fmt.Errorf("status %d", res.StatusCode)
	}
	if res.ProtoMajor != 2 {
		res.Body.Close()
		return nil, fmt.Errorf("answered over %s", res.Proto)
	}
	// The start is the preamble (comments and retry) and then an event:
	// wait for the blank line that ends the first block naming one.
	var got []byte
	buf := make([]byte, 1024)
	for {
		if i := bytes.Index(got, []byte("event:")); i >= 0 && bytes.Contains(got[i:], []byte("\n\n")) {
			return res.Body, nil
		}
		k, err := res.Body.Read(buf)
		got = append(got, buf[:k]...)
		if err != nil {
			res.Body.Close()
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading the stream's start: %w", err)
		}
	}
}

// h2Report writes the table of the HTTP/2 streams.
func (b *bench) h2Report(w io.Writer) {
	if len(b.h2Rows) == 0 {
		return
	}
	fmt.Fprintln(w, "\n### Streams over HTTP/2: connect and idle memory")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| streams | people | connections | all open in | failed | server RSS before → after | RSS per stream | Go heap before → after | heap per stream | server goroutines |")
	fmt.Fprintln(w, "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
	for _, r := range b.h2Rows {
		fmt.Fprintf(w, "| %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |\n",
			r.opened, r.streams, r.conns, round(r.elapsed), orNone(failures(r.failed)),
			memSpan(r.rssBefore, r.rssAfter), perStream(r.rssBefore, r.rssAfter, r.opened),
			memSpan(r.heapBefore, r.heapAfter), perStream(r.heapBefore, r.heapAfter, r.opened),
			count(r.goroutines))
	}
}

// newH2 sets the bench up for the HTTP/2 scenario alone.
func (b *bench) newH2(o options) error {
	u, err := url.Parse(o.url)
	if err != nil || u.Host == "" {
		return fmt.Errorf("-url %q: want https://HOST:PORT", o.url)
	}
	b.h2URL = u
	b.people, err = readPeople(o.peopleTokens)
	return err
}
