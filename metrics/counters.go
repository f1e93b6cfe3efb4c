package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"parley/handlers"
	"parley/store"
)

var (
	streamsDesc = prometheus.NewDesc("parley_streams_open",
		"Event streams open now.", nil, nil)
	storedDesc = prometheus.NewDesc("parley_messages_stored_total",
		"Messages and notices stored since start.", nil, nil)
	slowDesc = prometheus.NewDesc("parley_slow_streams_dropped_total",
		"Event streams ended because their client did not read fast enough.", nil, nil)
	refusedDesc = prometheus.NewDesc("parley_signins_refused_total",
		"Sign-ins refused, by reason: wrong_password (wrong handle or password) or throttled (too many failures).",
		[]string{"reason"}, nil)
)

// counters reads the counters of the web front and the store when
// Prometheus scrapes: the cost is paid per scrape, not per event.
type counters struct {
	app *handlers.App
	st  *store.Store
}

var _ prometheus.Collector = (*counters)(nil)

// Describe sends the descriptions of the metrics Collect sends.
func (c *counters) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{streamsDesc, storedDesc, slowDesc, refusedDesc} {
		ch <- d
	}
}

// Collect sends the current values.
func (c *counters) Collect(ch chan<- prometheus.Metric) {
	web, st := c.app.Stats(), c.st.Stats()
	ch <- prometheus.MustNewConstMetric(streamsDesc, prometheus.GaugeValue, float64(web.Hub.Streams))
	ch <- prometheus.MustNewConstMetric(storedDesc, prometheus.CounterValue, float64(st.MessagesStored))
	ch <- prometheus.MustNewConstMetric(slowDesc, prometheus.CounterValue, float64(web.Hub.SlowDropped))
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue,
		float64(web.RefusedWrongPassword), "wrong_password")
	ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue,
		float64(web.RefusedThrottled), "throttled")
}
