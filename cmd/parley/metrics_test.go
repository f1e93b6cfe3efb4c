package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"parley/internal/sse"
)

var metricsLine = regexp.MustCompile(`metrics on (http://[0-9.:\[\]a-z]+/metrics)`)

// startWithMetrics runs Parley in process with -metrics-addr and returns
// its base URL, its metrics URL and a function that stops it and returns
// run's error.
func startWithMetrics(t *testing.T) (base, metricsURL string, stop func() error) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "parley.db")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-db", db, "-metrics-addr", "127.0.0.1:0"},
			func(string) string { return "" }, pw, io.Discard)
		pw.Close()
	}()
	found := make(chan [2]string, 1)
	go func() {
		var addrs [2]string
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addrs[0] = m[1]
			}
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				addrs[1] = m[1]
			}
			if addrs[0] != "" && addrs[1] != "" {
				found <- addrs
				break
			}
		}
		io.Copy(io.Discard, pr)
	}()
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			t.Fatal("run did not return within 10s of the signal")
		}
		return nil
	}
	t.Cleanup(func() { stop() })
	select {
	case a := <-found:
		return a[0], a[1], stop
	case err := <-done:
		t.Fatalf("run = %v before printing its listening and metrics lines", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no listening and metrics lines within 30s")
	}
	return "", "", stop
}

// scrape fetches and parses the metrics.
func scrape(t *testing.T, metricsURL string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(metricsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: Status = %d; want 200", metricsURL, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse metrics: %v", err)
	}
	return families
}

// value returns the value of the family's metric whose labels include
// the given name="value" pairs: a gauge, a counter, or a histogram's count.
func value(t *testing.T, families map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	t.Helper()
	f := families[name]
	if f == nil {
		t.Fatalf("metric %s missing", name)
	}
next:
	for _, m := range f.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			ok := false
			for _, l := range m.GetLabel() {
				ok = ok || l.GetName() == labels[i] && l.GetValue() == labels[i+1]
			}
			if !ok {
				continue next
			}
		}
		switch f.GetType() {
		case dto.MetricType_GAUGE:
			return m.GetGauge().GetValue()
		case dto.MetricType_COUNTER:
			return m.GetCounter().GetValue()
		case dto.MetricType_HISTOGRAM:
			return float64(m.GetHistogram().GetSampleCount())
		}
		t.Fatalf("metric %s has type %v", name, f.GetType())
	}
	t.Fatalf("metric %s%v missing", name, labels)
	return 0
}

// eventually scrapes until the metric has the value wanted, failing after
// 10 s (the hub notices a client that hung up within a few seconds).
func eventually(t *testing.T, metricsURL, name string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := value(t, scrape(t, metricsURL), name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 10s; want %v", name, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// signIn posts the login form and returns the status.
func signIn(t *testing.T, base, handle, password string) int {
	t.Helper()
	resp, err := http.PostForm(base+"/login", url.Values{"handle": {handle}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestMetrics(t *testing.T) {
	base, metricsURL, stop := startWithMetrics(t)
	u := newUser(t, base, "Ann")

	before := scrape(t, metricsURL)
	if got := value(t, before, "parley_streams_open"); got != 0 {
		t.Errorf("parley_streams_open = %v before any stream; want 0", got)
	}
	if _, ok := before["go_goroutines"]; !ok {
		t.Error("go_goroutines missing; want the Go runtime's metrics")
	}
	if _, ok := before["parley_store_commit_seconds"]; !ok {
		t.Error("parley_store_commit_seconds missing")
	}

	const k = 3
	var streams []*sse.Reader
	var closers []func()
	closeAll := func() {
		for _, c := range closers {
			c()
		}
	}
	for range k {
		events, closeStream := u.stream(t, 0)
		streams, closers = append(streams, events), append(closers, closeStream)
	}
	defer closeAll()
	// A stream that stalls fails the test rather than hanging it.
	watchdog := time.AfterFunc(30*time.Second, closeAll)
	defer watchdog.Stop()
	eventually(t, metricsURL, "parley_streams_open", k)
	// Ann's first stream stores her join notice; count from after it.
	for _, events := range streams {
		if ev := nextMessage(t, events); !strings.Contains(ev.Data, "joined") {
			t.Fatalf("first message %q; want Ann's join notice", ev.Data)
		}
	}

	before = scrape(t, metricsURL)
	const m = 5
	for range m {
		if ok, err := u.post("hello"); !ok || err != nil {
			t.Fatalf("post: acknowledged %v, %v", ok, err)
		}
	}
	for _, events := range streams {
		for range m {
			if ev := nextMessage(t, events); !strings.Contains(ev.Data, "hello") {
				t.Fatalf("message %q; want hello", ev.Data)
			}
		}
	}
	fanoutBefore := value(t, before, "parley_fanout_seconds")
	eventually(t, metricsURL, "parley_fanout_seconds", fanoutBefore+m)
	after := scrape(t, metricsURL)
	if got := value(t, after, "parley_messages_stored_total") - value(t, before, "parley_messages_stored_total"); got != m {
		t.Errorf("parley_messages_stored_total grew by %v after %d posts; want %d", got, m, m)
	}
	if got := value(t, after, "parley_store_commit_seconds") - value(t, before, "parley_store_commit_seconds"); got < m {
		t.Errorf("parley_store_commit_seconds counted %v commits after %d posts; want at least %d", got, m, m)
	}

	wrong := value(t, after, "parley_signins_refused_total", "reason", "wrong_password")
	if status := signIn(t, base, "Ann", "not the password"); status != http.StatusUnauthorized {
		t.Fatalf("sign-in with a wrong password: Status = %d; want 401", status)
	}
	after = scrape(t, metricsURL)
	if got := value(t, after, "parley_signins_refused_total", "reason", "wrong_password") - wrong; got != 1 {
		t.Errorf("refused wrong_password grew by %v after one failed sign-in; want 1", got)
	}
	if got := value(t, after, "parley_slow_streams_dropped_total"); got != 0 {
		t.Errorf("parley_slow_streams_dropped_total = %v; want 0 (every client reads)", got)
	}

	// The limit on failed sign-ins for one handle turns the next into a
	// refusal of the other kind.
	throttled := value(t, after, "parley_signins_refused_total", "reason", "throttled")
	for tries, status := 0, 0; status != http.StatusTooManyRequests; tries++ {
		status = signIn(t, base, "Ann", "not the password")
		if status != http.StatusUnauthorized && status != http.StatusTooManyRequests || tries == 20 {
			t.Fatalf("failed sign-in %d: Status = %d; want 401, then 429 within 20", tries+1, status)
		}
	}
	after = scrape(t, metricsURL)
	if got := value(t, after, "parley_signins_refused_total", "reason", "throttled") - throttled; got != 1 {
		t.Errorf("refused throttled grew by %v after one 429; want 1", got)
	}

	closeAll()
	eventually(t, metricsURL, "parley_streams_open", 0)

	if err := stop(); err != nil {
		t.Fatalf("run = %v; want nil", err)
	}
	if _, err := http.Get(metricsURL); err == nil {
		t.Error("metrics still served after shutdown")
	}
}

// nextMessage returns the stream's next message event.
func nextMessage(t *testing.T, events *sse.Reader) sse.Event {
	t.Helper()
	for {
		ev, err := events.Next()
		if err != nil {
			t.Fatalf("stream ended: %v; want a message", err)
		}
		if ev.Type == "message" {
			return ev
		}
	}
}

func TestMetricsAddrOption(t *testing.T) {
	o, err := parseOptions(nil, func(k string) string {
		return map[string]string{"PARLEY_METRICS_ADDR": "127.0.0.1:9100"}[k]
	}, io.Discard)
	if err != nil || o.metricsAddr != "127.0.0.1:9100" {
		t.Errorf("PARLEY_METRICS_ADDR: metricsAddr = %q, %v; want 127.0.0.1:9100", o.metricsAddr, err)
	}
	o, err = parseOptions(nil, func(string) string { return "" }, io.Discard)
	if err != nil || o.metricsAddr != "" {
		t.Errorf("default metricsAddr = %q, %v; want empty (off)", o.metricsAddr, err)
	}
}
