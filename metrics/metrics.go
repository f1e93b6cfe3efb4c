// Package metrics serves Parley's numbers to Prometheus. Nothing here sits
// on the delivery path: the hub, the store and the web front keep plain
// atomic counters that the collector reads when Prometheus scrapes, and the
// two latencies arrive through small hooks (hub.Config.ObserveFanout,
// store.Store.ObserveCommit), called once per message and once per batch,
// never per copy sent. The Go runtime's and the process's own metrics come
// with them.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"parley/handlers"
	"parley/store"
)

// Metrics holds Parley's metrics and the registry that serves them.
type Metrics struct {
	reg    *prometheus.Registry
	fanout prometheus.Histogram
	commit prometheus.Histogram
}

// New builds the metrics with the Go runtime's and the process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		fanout: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "parley_fanout_seconds",
			Help: "Time from a message's commit until its last copy was written to the open streams.",
			// 0.5 ms to about 8 s; a slow client holds its copies for up to 5 s.
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 15),
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "parley_store_commit_seconds",
			Help:    "Time the database's single writer took to run and commit one batch of writes.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 15), // 0.1 ms to about 1.6 s
		}),
	}
	m.reg.MustRegister(m.fanout, m.commit,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveFanout records one message's fan-out latency; it is the hub's
// ObserveFanout hook.
func (m *Metrics) ObserveFanout(d time.Duration) { m.fanout.Observe(d.Seconds()) }

// ObserveCommit records one batch's commit latency; it is the store's
// ObserveCommit hook.
func (m *Metrics) ObserveCommit(d time.Duration) { m.commit.Observe(d.Seconds()) }

// Watch adds the counters of the web front and the store, read at each
// scrape. Call it once.
func (m *Metrics) Watch(app *handlers.App, st *store.Store) {
	m.reg.MustRegister(&counters{app: app, st: st})
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	return mux
}
