// Command parley runs the Parley chat server: one binary, one SQLite file
// (or a PostgreSQL database that several servers share).
//
//	parley [-addr 127.0.0.1:8080] [-db parley.db] [-secure-cookies]
//	parley -addr :443 -tls-cert cert.pem -tls-key key.pem
//	parley -addr :443 -acme-domain chat.example.org
//	parley backup [-db parley.db] FILE
//
// The backup subcommand writes a consistent copy of the database into the
// new FILE, also while a server runs on it.
//
// With -debug-addr (loopback only) a second listener serves the runtime's
// profiles (net/http/pprof) and counters (expvar, /debug/vars), for
// measuring a running server; it is off by default. With -metrics-addr a
// listener of its own serves Prometheus metrics at /metrics.
//
// Every flag has an environment fallback (PARLEY_ADDR, PARLEY_DB, ...);
// parley -h lists them.
package main

import (
	"context"
	"errors"
	"expvar"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/acme"

	"parley/handlers"
	"parley/hub"
	"parley/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(2)
	}
}

// options are the settings from flags and environment.
type options struct {
	addr            string
	db              string
	secureCookies   bool
	sessionIdle     time.Duration
	sessionLifetime time.Duration
	maxStreams      int
	postRate        float64
	shutdownTimeout time.Duration
	debugAddr       string
	trustedProxies  []netip.Prefix
	tlsCert         string
	tlsKey          string
	acmeDomain      string
	acmeDirectory   string
	metricsAddr     string
	presenceExpiry  time.Duration

	// acmeHTTPClient, when set (by tests only), is the ACME client's HTTP
	// client, so it can trust a test authority's certificate.
	acmeHTTPClient *http.Client
}

// parseOptions reads the flags; a flag not given takes its environment
// variable, and failing that its default.
func parseOptions(args []string, getenv func(string) string, stderr io.Writer) (o options, err error) {
	e := envReader{getenv: getenv}
	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.addr, "addr", e.str("PARLEY_ADDR", "127.0.0.1:8080"),
		"`host:port` to listen on; port 0 picks a free one [PARLEY_ADDR]")
	fs.StringVar(&o.db, "db", e.str("PARLEY_DB", "parley.db"),
		"`file|URL` of the database: a SQLite file, created on first start, or a PostgreSQL URL (postgres://user:password@host:5432/name) that several servers may share [PARLEY_DB]")
	fs.BoolVar(&o.secureCookies, "secure-cookies", e.boolean("PARLEY_SECURE_COOKIES", false),
		"mark the session cookie Secure and send HSTS; for serving over HTTPS [PARLEY_SECURE_COOKIES]")
	fs.DurationVar(&o.sessionIdle, "session-idle", e.duration("PARLEY_SESSION_IDLE", 7*24*time.Hour),
		"sign out a session after this long without activity [PARLEY_SESSION_IDLE]")
	fs.DurationVar(&o.sessionLifetime, "session-lifetime", e.duration("PARLEY_SESSION_LIFETIME", 30*24*time.Hour),
		"sign out a session this long after sign-in [PARLEY_SESSION_LIFETIME]")
	fs.IntVar(&o.maxStreams, "max-streams", e.integer("PARLEY_MAX_STREAMS", 50000),
		"most event streams open at once on this server [PARLEY_MAX_STREAMS]")
	fs.Float64Var(&o.postRate, "post-rate", e.float("PARLEY_POST_RATE", 100),
		"messages per second one account may post, sustained (bursts of up to 200) [PARLEY_POST_RATE]")
	fs.StringVar(&o.debugAddr, "debug-addr", e.str("PARLEY_DEBUG_ADDR", ""),
		"loopback `host:port` serving /debug/pprof/ and /debug/vars; empty is off [PARLEY_DEBUG_ADDR]")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", e.duration("PARLEY_SHUTDOWN_TIMEOUT", 15*time.Second),
		"how long shutdown waits for requests in flight [PARLEY_SHUTDOWN_TIMEOUT]")
	proxies := fs.String("trusted-proxies", e.str("PARLEY_TRUSTED_PROXIES", ""),
		"comma-separated `CIDRs` of reverse proxies whose X-Forwarded-For is believed [PARLEY_TRUSTED_PROXIES]")
	fs.StringVar(&o.tlsCert, "tls-cert", e.str("PARLEY_TLS_CERT", ""),
		"serve HTTPS (and HTTP/2) with this PEM certificate `file`; needs -tls-key [PARLEY_TLS_CERT]")
	fs.StringVar(&o.tlsKey, "tls-key", e.str("PARLEY_TLS_KEY", ""),
		"the PEM private key `file` of -tls-cert [PARLEY_TLS_KEY]")
	fs.StringVar(&o.acmeDomain, "acme-domain", e.str("PARLEY_ACME_DOMAIN", ""),
		"serve HTTPS for this `domain` with a certificate got and renewed by ACME, kept in the database [PARLEY_ACME_DOMAIN]")
	fs.StringVar(&o.acmeDirectory, "acme-directory", e.str("PARLEY_ACME_DIRECTORY", acme.LetsEncryptURL),
		"the ACME directory `URL` of the certificate authority [PARLEY_ACME_DIRECTORY]")
	fs.StringVar(&o.metricsAddr, "metrics-addr", e.str("PARLEY_METRICS_ADDR", ""),
		"`host:port` serving Prometheus metrics at /metrics; empty is off [PARLEY_METRICS_ADDR]")
	fs.DurationVar(&o.presenceExpiry, "presence-expiry", e.duration("PARLEY_PRESENCE_EXPIRY", 20*time.Second),
		"with several servers on PostgreSQL, how long a server's people stay online after its last heartbeat [PARLEY_PRESENCE_EXPIRY]")
	if e.err != nil {
		return o, e.err
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.trustedProxies, err = handlers.ParseProxies(*proxies); err != nil {
		return o, fmt.Errorf("-trusted-proxies: %w", err)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case o.sessionIdle <= 0 || o.sessionLifetime <= 0 || o.shutdownTimeout <= 0:
		return o, errors.New("durations must be positive")
	case o.presenceExpiry < time.Second:
		return o, errors.New("-presence-expiry must be at least 1s")
	case o.maxStreams < 1:
		return o, errors.New("-max-streams must be at least 1")
	case !(o.postRate > 0):
		return o, errors.New("-post-rate must be positive")
	}
	return o, checkTLSOptions(o)
}

// envReader reads typed environment variables, keeping the first error.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) str(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

func (e *envReader) boolean(name string, def bool) bool {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q is not true or false", name, v)
	}
	return b
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q is not a duration such as 30s or 24h", name, v)
	}
	return d
}

func (e *envReader) integer(name string, def int) int {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q is not a whole number", name, v)
	}
	return n
}

// newHTTPServer returns the server Parley listens with. Reading a request
// is bounded in time and size, so slow or endless headers cannot hold a
// connection; there is no server-wide write timeout, which would cut the
// long-lived event streams (they bound each write themselves).
func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func (e *envReader) float(name string, def float64) float64 {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s=%q is not a number", name, v)
	}
	return f
}

// run starts Parley and serves until ctx is done, then shuts down in
// order: stop accepting, end the event streams, finish requests in flight,
// close the database. With "backup" first in args it copies the database
// instead (see runBackup).
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "backup" {
		return runBackup(ctx, args[1:], getenv, stdout, stderr)
	}
	o, err := parseOptions(args, getenv, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, o, stdout, stderr)
}

// serve is run after the options are read.
func serve(ctx context.Context, o options, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, nil))

	st, err := store.Open(ctx, o.db)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("close database", "err", err)
		}
	}()
	tlsConf, err := tlsConfig(o, st)
	if err != nil {
		return err
	}

	mx := hookMetrics(o.metricsAddr, st)
	app := handlers.New(handlers.Config{
		SecureCookies:   o.secureCookies || o.servesTLS(),
		SessionIdle:     o.sessionIdle,
		SessionLifetime: o.sessionLifetime,
		Hub:             hub.Config{MaxStreams: o.maxStreams, ObserveFanout: mx.observeFanout()},
		Limits:          handlers.Limits{PostsPerSecond: o.postRate},
		TrustedProxies:  o.trustedProxies,
		RequestLog:      stderr,
		PresenceExpiry:  o.presenceExpiry,
	}, st, log)

	if o.debugAddr != "" {
		dln, err := listenDebug(o.debugAddr)
		if err != nil {
			app.Shutdown()
			return err
		}
		defer dln.Close()
		publishVars(app)
		fmt.Fprintf(stdout, "parley: debug endpoints on http://%s/debug/\n", dln.Addr())
		go http.Serve(dln, debugHandler())
	}

	stopMetrics, err := mx.serve(app, st, log, stdout)
	if err != nil {
		app.Shutdown()
		return err
	}
	defer stopMetrics()

	srv := newHTTPServer(app.Handler(), log)
	srv.TLSConfig = tlsConf
	// Shutdown waits for connections to go idle, and event streams never
	// do: end them first.
	srv.RegisterOnShutdown(app.Shutdown)

	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		app.Shutdown()
		return err
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	fmt.Fprintf(stdout, "parley: listening on %s://%s (database %s)\n", scheme, ln.Addr(), displayDB(o.db))

	serveErr := make(chan error, 1)
	go func() { serveErr <- serveHTTP(srv, ln) }()

	select {
	case err := <-serveErr:
		app.Shutdown()
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "streams", app.Streams())
	sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown: requests still in flight were cut", "err", err)
		srv.Close()
	}
	app.Shutdown() // waits for the streams ended by the hook above
	log.Info("stopped")
	return nil
}

// listenDebug listens on addr for the debug endpoints. Profiles and
// counters reveal the server's inner workings, so addr must be a loopback
// address.
func listenDebug(addr string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("-debug-addr: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("-debug-addr %q: must be a loopback address such as 127.0.0.1:6060", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-debug-addr: %w", err)
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
		ln.Close()
		return nil, fmt.Errorf("-debug-addr %q: must be a loopback address", addr)
	}
	return ln, nil
}

// debugHandler serves the runtime's profiles and the expvar counters.
func debugHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.Handle("/debug/vars", expvar.Handler())
	// /debug/free collects garbage and returns free memory to the system at
	// once, so that a measurement of the resident size counts live memory
	// only (the runtime otherwise hands memory back over minutes).
	mux.HandleFunc("/debug/free", func(w http.ResponseWriter, r *http.Request) {
		debug.FreeOSMemory()
		io.WriteString(w, "freed\n")
	})
	return mux
}

var publishOnce sync.Once

// publishVars adds Parley's own counters to /debug/vars (once per
// process: expvar names are global).
func publishVars(app *handlers.App) {
	publishOnce.Do(func() {
		expvar.Publish("streams", expvar.Func(func() any { return app.Streams() }))
		expvar.Publish("goroutines", expvar.Func(func() any { return runtime.NumGoroutine() }))
	})
}
