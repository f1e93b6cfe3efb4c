package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"parley/handlers"
	"parley/metrics"
	"parley/store"
)

// metricsHook is the -metrics-addr wiring: nil when metrics are off.
type metricsHook struct {
	addr string
	m    *metrics.Metrics
}

// hookMetrics builds the metrics when addr is set and hooks the store's
// commit latency into them; the hub's hook goes into its Config.
func hookMetrics(addr string, st *store.Store) *metricsHook {
	if addr == "" {
		return nil
	}
	mx := &metricsHook{addr: addr, m: metrics.New()}
	st.ObserveCommit = mx.m.ObserveCommit
	return mx
}

// observeFanout returns the hub's fan-out hook, or nil when metrics are off.
func (mx *metricsHook) observeFanout() func(time.Duration) {
	if mx == nil {
		return nil
	}
	return mx.m.ObserveFanout
}

// serve listens on the metrics address, says where, and serves /metrics
// there on a server of its own until the returned stop is called.
func (mx *metricsHook) serve(app *handlers.App, st *store.Store, log *slog.Logger, stdout io.Writer) (stop func(), err error) {
	if mx == nil {
		return func() {}, nil
	}
	mx.m.Watch(app, st)
	ln, err := net.Listen("tcp", mx.addr)
	if err != nil {
		return nil, fmt.Errorf("-metrics-addr: %w", err)
	}
	fmt.Fprintf(stdout, "parley: metrics on http://%s/metrics\n", ln.Addr())
	srv := newHTTPServer(mx.m.Handler(), log)
	go srv.Serve(ln)
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	}, nil
}
