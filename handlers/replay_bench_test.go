package handlers_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"parley/handlers"
	"parley/hub"
	"parley/internal/sse"
	"parley/store"
)

// BenchmarkReplay resumes an event stream from before the room's 1 000
// messages, through the whole stack (session check, store, rendering,
// taken-over connection) over loopback TCP, and reads until the newest
// message has arrived.
func BenchmarkReplay(b *testing.B) {
	const messages = 1000
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	// Every resumed stream stays open until the hub notices its client
	// left, so one session opens many.
	app := handlers.New(handlers.Config{Hub: hub.Config{MaxPerSession: 1 << 30}},
		st, slog.New(slog.DiscardHandler))
	defer app.Shutdown()
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(srv.URL+"/register", url.Values{"handle": {"ann"}, "password": {"correct horse battery"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		b.Fatalf("register: Status = %d; want 303", res.StatusCode)
	}
	var cookie string
	for _, c := range res.Cookies() {
		if c.Name == "parley_session" {
			cookie = c.Name + "=" + c.Value
		}
	}

	var last int64
	for i := range messages {
		m, err := st.CreateMessage(ctx, store.Message{
			Room: store.GeneralRoom, Kind: store.KindText, Author: "ann",
			Body: "Message number " + strconv.Itoa(i) + ": the quick brown fox jumps over the lazy dog.",
		})
		if err != nil {
			b.Fatal(err)
		}
		last = m.ID
	}
	want := strconv.FormatInt(last, 10)

	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/rooms/general/events?last_event_id=0", nil)
		req.Header.Set("Cookie", cookie)
		res, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		if res.StatusCode != http.StatusOK {
			b.Fatalf("GET events: Status = %d; want 200", res.StatusCode)
		}
		r := sse.NewReader(res.Body)
		n := 0
		for {
			ev, err := r.Next()
			if err != nil {
				b.Fatalf("stream ended after %d messages: %v", n, err)
			}
			if ev.Type != "message" {
				continue
			}
			n++
			if ev.ID == want {
				break
			}
			if !strings.Contains(ev.Data, `class="body"`) {
				b.Fatalf("message %s has no body: %q", ev.ID, ev.Data)
			}
		}
		res.Body.Close()
		if n < messages {
			b.Fatalf("got %d messages; want %d", n, messages)
		}
	}
}
