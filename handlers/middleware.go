package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"parley/store"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// contentSecurityPolicy allows nothing inline and nothing from elsewhere.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// statusWriter records the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection beneath, to
// flush or take over an event stream.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// requestState is what the outermost middleware keeps of a request, in
// one allocation: the response's status and size, and the context that
// carries the client's address to the handlers.
type requestState struct {
	sw  statusWriter
	ctx clientCtx
}

// logRequests settles the request's client address, once (see
// proxies.client), for the limits and the log, then logs one line when
// the request is done.
func (a *App) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		st := &requestState{sw: statusWriter{ResponseWriter: w}}
		st.ctx = clientCtx{Context: r.Context(), addr: a.proxies.client(r)}
		if len(a.proxies) > 0 {
			// Only then does the address need carrying: without proxies it
			// is the peer's, and a copy of the request is saved.
			r = r.WithContext(&st.ctx)
		}
		next.ServeHTTP(&st.sw, r)
		a.logRequest(r, st, start)
	})
}

// logRequest logs the request's line once it has been served. It is kept
// out of the middleware's frame (see waitFrames).
//
//go:noinline
func (a *App) logRequest(r *http.Request, st *requestState, start time.Time) {
	status := st.sw.status
	if status == 0 {
		status = http.StatusOK // a taken-over event stream writes its own head
	}
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelWarn
	}
	if !a.log.Enabled(r.Context(), level) {
		return
	}
	now := time.Now()
	ln := line{time: now, level: level, method: r.Method, path: r.URL.Path, status: status,
		bytes: st.sw.bytes, duration: now.Sub(start), remote: st.ctx.addr}
	if a.reqlog == nil {
		ln.slog(r.Context(), a.log)
		return
	}
	a.reqlog.add(&ln)
}

func (a *App) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.Error("panic", "method", r.Method, "path", r.URL.Path,
					"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				a.fail(w, r, errors.New("panic"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (a *App) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if a.cfg.SecureCookies {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds every request body; reading past the bound fails with
// *http.MaxBytesError, which fail turns into 413. A declared length over
// the bound is refused before any reading.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			w.Header().Set("Connection", "close")
			http.Error(w, "Request body too large (at most 1 MiB).", http.StatusRequestEntityTooLarge)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const (
	loginKey  ctxKey = iota
	clientKey        // the request's *clientCtx
)

// touchEvery is how stale a sign-in's last activity may get before a
// request records it again; coarser than every request to save writes.
const touchEvery = time.Minute

// loadUser finds the signed-in account of the request's session, if any,
// and keeps its activity time fresh. A session whose sign-in was revoked,
// sat idle too long or outlived its lifetime counts as signed out.
func (a *App) loadUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r, ok := a.withLogin(w, r); ok {
			next.ServeHTTP(w, r)
		}
	})
}

// waitFrames: an event stream over HTTP/2 is served by its request's
// goroutine, which waits beneath every middleware for as long as the
// stream is open, and the runtime shrinks a waiting goroutine's stack only
// when little of it is in use. So the middleware on that path do their
// work in functions of their own (not inlined), which have returned by
// the time the stream waits, and keep their own frames small.

// withLogin returns r carrying the session's sign-in when it is valid,
// or r itself when signed out; false when it answered with an error.
// It is kept out of loadUser's frame (see waitFrames).
//
//go:noinline
func (a *App) withLogin(w http.ResponseWriter, r *http.Request) (*http.Request, bool) {
	ctx := r.Context()
	token := a.sessions.Token(ctx)
	if token == "" || a.sessions.GetInt64(ctx, sessionUserKey) == 0 {
		return r, true
	}
	l, err := a.store.Login(ctx, token)
	if errors.Is(err, store.ErrNotFound) {
		return r, true
	} else if err != nil {
		a.fail(w, r, err)
		return r, false
	}
	now := a.store.Now()
	if now.Sub(l.SeenAt) > a.cfg.SessionIdle || now.Sub(l.CreatedAt) > a.cfg.SessionLifetime {
		if err := a.store.DeleteLogin(ctx, token); err != nil {
			a.log.Warn("expire login", "err", err)
		}
		return r, true
	}
	if now.Sub(l.SeenAt) > touchEvery && !isStream(r) {
		if err := a.store.TouchLogin(ctx, token); err != nil {
			a.log.Warn("touch login", "err", err)
		}
	}
	return r.WithContext(context.WithValue(ctx, loginKey, &l)), true
}

func isStream(r *http.Request) bool {
	p := r.URL.Path
	return r.Method == http.MethodGet && len(p) > len("/events") && strings.HasSuffix(p, "/events")
}

// currentLogin returns the request's sign-in, or nil when signed out.
func currentLogin(r *http.Request) *store.Login {
	l, _ := r.Context().Value(loginKey).(*store.Login)
	return l
}

// currentUser returns the signed-in account; only for handlers behind
// requireUser.
func currentUser(r *http.Request) store.User { return currentLogin(r).User }

// requireUser sends a visitor who is not signed in to the sign-in page.
func (a *App) requireUser(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentLogin(r) == nil {
			if r.Header.Get("HX-Request") == "true" {
				w.Header().Set("HX-Redirect", "/login")
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		h(w, r)
	})
}

// requireStreamUser answers 401 to an event stream without a signed-in
// session; EventSource gives up on it instead of retrying.
func (a *App) requireStreamUser(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if currentLogin(r) == nil {
			http.Error(w, "Sign in to follow this room.", http.StatusUnauthorized)
			return
		}
		h(w, r)
	})
}
