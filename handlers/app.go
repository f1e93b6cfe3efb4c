// Package handlers is Parley's web front: the routes, the one middleware
// chain every request passes through, the pages and forms, and the event
// stream. It joins the store (data), the views (HTML) and the hub (live
// delivery).
package handlers

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"parley/assets"
	"parley/hub"
	"parley/store"
)

// Config holds the settings of the web front. Zero fields take defaults.
type Config struct {
	// SecureCookies marks the session cookie Secure and sends HSTS.
	SecureCookies bool
	// SessionIdle signs a session out after this long without a page
	// request or form post (default 7 days).
	SessionIdle time.Duration
	// SessionLifetime signs a session out this long after sign-in, active
	// or not (default 30 days).
	SessionLifetime time.Duration
	// LeaveGrace is how long a user may be without an open stream in a
	// room before a leave notice is stored (default 15 s), so a reload or
	// a short drop does not announce leave and join.
	LeaveGrace time.Duration
	// OnlineShown is how many names a room's online list shows at most;
	// the others are counted (default 100).
	OnlineShown int
	// QuietAbove is how many people may be online in a room before their
	// arrivals and departures store no notices (default 50).
	QuietAbove int
	// Hub tunes live delivery.
	Hub hub.Config
	// Limits tunes the throttles.
	Limits Limits
	// TrustedProxies are the peers whose X-Forwarded-For is believed, for
	// the per-address limits and the request log (see ParseProxies).
	// Without them the peer's own address counts.
	TrustedProxies []netip.Prefix
	// RequestLog, when set, receives the line logged for every request, in
	// the format of slog's TextHandler, written by a goroutine of its own
	// (cheaper than the Logger at high request rates), so a writer shared
	// with the Logger must be safe for concurrent use, as an *os.File is.
	// Without it the lines go to the Logger.
	RequestLog io.Writer
	// PresenceExpiry is how long, with several servers on one PostgreSQL
	// database, a server's people count after its last heartbeat, sent
	// every quarter of it (default 20 s): a server that dies stops
	// counting within about that time.
	PresenceExpiry time.Duration
}

func (c *Config) setDefaults() {
	if c.SessionIdle <= 0 {
		c.SessionIdle = 7 * 24 * time.Hour
	}
	if c.SessionLifetime <= 0 {
		c.SessionLifetime = 30 * 24 * time.Hour
	}
	if c.LeaveGrace <= 0 {
		c.LeaveGrace = 15 * time.Second
	}
	if c.OnlineShown <= 0 {
		c.OnlineShown = 100
	}
	if c.QuietAbove <= 0 {
		c.QuietAbove = 50
	}
	if c.PresenceExpiry <= 0 {
		c.PresenceExpiry = 20 * time.Second
	}
	if c.Hub.PresenceGap <= 0 {
		c.Hub.PresenceGap = time.Second
	}
	c.Limits.setDefaults()
}

// App serves Parley over HTTP.
type App struct {
	cfg      Config
	store    *store.Store
	sessions *scs.SessionManager
	hub      *hub.Hub
	broker   hub.Broker
	presence *presence
	personal *personal
	servers  *servers // nil unless other servers share the database
	changes  *changeMerger
	limits   *limiter
	signIns  signInLimits // on limits, or in the database (throttle.go)
	unwatch  func()       // stops watchDatabase (outage.go)
	proxies  proxies
	log      *slog.Logger
	reqlog   *requestLog // nil: request lines go to log
	sstore   store.SessionStore
	shutdown sync.Once
	refused  refusals
}

// New builds the web front on st. It becomes the store's AfterCommit hook:
// every committed message is rendered once and published. On a database
// other servers share, it follows their events too (broker.go).
func New(cfg Config, st *store.Store, log *slog.Logger) *App {
	cfg.setDefaults()
	a := &App{cfg: cfg, store: st, log: log, limits: newLimiter(cfg.Limits), proxies: cfg.TrustedProxies}
	a.signIns = newSignInLimits(st, a.limits)
	if cfg.RequestLog != nil {
		a.reqlog = newRequestLog(cfg.RequestLog)
	}

	a.sstore = st.SessionStore()
	a.sessions = scs.New()
	a.sessions.Store = newSessionStore(a.sstore)
	a.sessions.Lifetime = cfg.SessionLifetime
	a.sessions.Cookie.Name = "parley_session"
	a.sessions.Cookie.HttpOnly = true
	a.sessions.Cookie.SameSite = http.SameSiteLaxMode
	a.sessions.Cookie.Path = "/"
	a.sessions.Cookie.Secure = cfg.SecureCookies
	a.sessions.ErrorFunc = a.sessionError
	a.sessions.Codec = sessionCodec{}

	a.presence = newPresence(a, cfg)
	a.personal = newPersonal(a)
	a.changes = newChangeMerger(a)
	hc := cfg.Hub
	hc.Observer = a.presence
	hc.CheckSessions = a.liveSessions
	a.hub = hub.New(hc)
	a.broker = a.hub
	st.AfterCommit = a.publishMessages
	a.unwatch = a.watchDatabase()
	a.followServers()
	return a
}

// Handler returns every route behind the one middleware chain, outermost
// first: request log (which settles the client address), panic recovery,
// security headers, cross-origin protection, body limit, session
// load/save, signed-in user.
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /register", a.showRegister)
	mux.HandleFunc("POST /register", a.register)
	mux.HandleFunc("GET /login", a.showLogin)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.Handle("POST /profile", a.requireUser(a.rename))
	mux.Handle("GET /rooms", a.requireUser(a.directory))
	mux.Handle("POST /rooms", a.requireUser(a.createRoom))
	mux.Handle("POST /rooms/{room}/join", a.requireUser(a.join))
	mux.Handle("POST /rooms/{room}/leave", a.requireUser(a.leave))
	mux.Handle("POST /rooms/{room}/members", a.requireUser(a.addMember))
	mux.Handle("GET /dm/{handle}", a.requireUser(a.direct))
	mux.Handle("GET /mentions", a.requireUser(a.mentions))
	mux.Handle("GET /rooms/{room}", a.requireUser(a.showRoom))
	mux.Handle("POST /rooms/{room}/messages", a.requireUser(a.postMessage))
	mux.Handle("GET /rooms/{room}/messages/{id}/edit", a.requireUser(a.showEdit))
	mux.Handle("POST /rooms/{room}/messages/{id}/edit", a.requireUser(a.editMessage))
	mux.Handle("POST /rooms/{room}/messages/{id}/delete", a.requireUser(a.deleteMessage))
	mux.Handle("POST /rooms/{room}/messages/{id}/reactions", a.requireUser(a.react))
	mux.Handle("GET /rooms/{room}/events", a.requireStreamUser(a.streamEvents))
	mux.Handle("GET /rooms/{room}/people", a.requireUser(a.people))
	mux.Handle("GET /search", a.requireUser(a.showSearch))
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.Handle("GET "+assets.Prefix, assets.Handler())
	mux.HandleFunc("GET /favicon.ico", a.favicon)
	mux.HandleFunc("/", a.notFound)

	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(a.crossOrigin))

	return a.logRequests(
		a.recoverPanics(
			a.securityHeaders(
				cop.Handler(
					limitBody(
						a.sessions.LoadAndSave(
							a.loadUser(mux)))))))
}

// Shutdown ends every open event stream and stops the background work. The
// streams' clients reconnect and resume once the server is back.
// It is safe to call more than once; every call returns when it is done.
func (a *App) Shutdown() {
	a.shutdown.Do(func() {
		a.unwatch()
		a.presence.stop()
		a.personal.stop()
		a.servers.stop()
		a.hub.Close()
		a.sstore.StopCleanup()
		if a.reqlog != nil {
			a.reqlog.close() // lines logged later are written at once
		}
	})
}

// Streams returns the number of open event streams.
func (a *App) Streams() int { return a.hub.Streams() }
