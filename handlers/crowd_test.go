package handlers_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"

	"parley/handlers"
	"parley/store"
)

// Three hundred distinct people, each with one stream, arrive in a room
// over real HTTP: a person already there receives an online list at most
// once a second, naming at most a hundred people, and a bounded number of
// bytes in all; only the first fifty arrivals are announced.
func TestCrowdArrivalIsCheap(t *testing.T) {
	const n = 300
	ts := newTestServer(t, handlers.Config{})
	tokens := ts.seedPeople("person", n)

	observer := ts.newClient().withToken(tokens[0]).open(events)
	first := observer.next("presence")
	start := time.Now()
	for _, tok := range tokens[1:] {
		openIdle(t, ts, tok)
	}
	t.Logf("opened %d streams in %v", n-1, time.Since(start))

	// The hub's tests time the gap between two lists at its source; here,
	// over a loaded machine's loopback, only their number and size are
	// measured, which delivery delays cannot make look better.
	var lists int
	var bytes int
	deadline := time.Now().Add(20 * time.Second)
	for {
		ev := observer.next("presence")
		now := time.Now()
		lists++
		bytes += len(ev.Data)
		d, err := goquery.NewDocumentFromReader(strings.NewReader(ev.Data))
		if err != nil {
			t.Fatal(err)
		}
		names := d.Find("li[data-handle]").Length()
		if names > 100 {
			t.Errorf("a list names %d people; want 100 at most", names)
		}
		if names == 100 && d.Find("li.others").Text() == "and 200 others" {
			break
		}
		if now.After(deadline) {
			t.Fatalf("the list never counted all %d people; the last had %d names and %q", n, names, d.Find("li.others").Text())
		}
	}
	elapsed := time.Since(start)
	t.Logf("%d lists, %d bytes of list data (the first list %d bytes) over %v", lists, bytes, len(first.Data), elapsed)
	if max := int(elapsed/time.Second) + 2; lists > max {
		t.Errorf("%d lists over %v; want at most %d", lists, elapsed, max)
	}
	if bytes > 64<<10 {
		t.Errorf("the observer received %d bytes of online lists; want at most 64 KiB", bytes)
	}
	if j := ts.countMessages(store.KindJoin); j != 50 {
		t.Errorf("%d join notices; want 50 (none past 50 people online)", j)
	}
}

// openIdle opens an event stream with the session token and reads it to
// the end, keeping nothing, until the test ends.
func openIdle(t *testing.T, ts *testServer, token string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.srv.URL+events, nil)
	req.Header.Set("Cookie", "parley_session="+token)
	resp, err := ts.srv.Client().Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		t.Fatalf("stream: status %d", resp.StatusCode)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		io.Copy(io.Discard, resp.Body)
	}()
	t.Cleanup(func() {
		cancel()
		resp.Body.Close()
		<-done
	})
}
