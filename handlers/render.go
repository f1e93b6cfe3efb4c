package handlers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"

	"parley/store"
	"parley/views"
)

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// render writes c with status; on a rendering failure, the error page.
func (a *App) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	if err := writePage(w, r, status, c); err != nil {
		a.fail(w, r, err)
	}
}

// writePage renders c in full before writing anything, so that a failure
// never leaves a half-written page behind a 200; it then writes c with
// status. On a rendering error it writes nothing and returns the error.
func writePage(w http.ResponseWriter, r *http.Request, status int, c templ.Component) error {
	buf := bufPool.Get().(*bytes.Buffer)
	buf.Reset()
	defer bufPool.Put(buf)
	if err := c.Render(r.Context(), buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
	return nil
}

// renderBytes renders c into a fresh byte slice.
func renderBytes(ctx context.Context, c templ.Component) ([]byte, error) {
	var buf bytes.Buffer
	if err := c.Render(ctx, &buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// fail answers a request that could not be served. It maps the error to a
// status and a message for people; only unexpected errors are logged, and
// no error text reaches the browser.
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	var tooBig *http.MaxBytesError
	var status int
	var title, msg string
	switch {
	case errors.Is(err, context.Canceled):
		return // the client went away
	case errors.Is(err, store.ErrNotFound):
		status, title, msg = http.StatusNotFound, "Not found", "There is nothing here. Check the address."
	case errors.Is(err, store.ErrNotAuthor):
		status, title, msg = http.StatusForbidden, "Not yours", "Only the person who wrote a message may edit or delete it. Nothing was changed."
	case errors.Is(err, store.ErrNotice):
		status, title, msg = http.StatusConflict, "A notice", "Notices of the room cannot be changed. Nothing was changed."
	case errors.Is(err, errBadRequest):
		status, title, msg = http.StatusBadRequest, "Not a page", "That address asks for something Parley does not have. Check the address."
	case errors.As(err, &tooBig):
		w.Header().Set("Connection", "close")
		status, title, msg = http.StatusRequestEntityTooLarge, "Too large", "That request is too large (at most 1 MiB)."
	case errors.Is(err, store.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		a.log.Warn("unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		w.Header().Set("Retry-After", "5")
		status, title, msg = http.StatusServiceUnavailable, "Busy",
			"Parley cannot reach its database just now. Nothing was lost; please try again in a few seconds."
	default:
		a.log.Error("internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		status, title, msg = http.StatusInternalServerError, "Something went wrong",
			"Parley could not finish that. Please try again."
	}
	a.renderError(w, r, status, title, msg)
}

// renderError writes an error page, or a short text for the event stream,
// which shows no pages (and as the last resort if the page fails).
func (a *App) renderError(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	if isStream(r) || writePage(w, r, status, views.ErrorPage(title, msg)) != nil {
		http.Error(w, msg, status)
	}
}

func (a *App) notFound(w http.ResponseWriter, r *http.Request) {
	a.fail(w, r, store.ErrNotFound)
}

func (a *App) crossOrigin(w http.ResponseWriter, r *http.Request) {
	a.renderError(w, r, http.StatusForbidden, "Refused",
		"This form was sent from another site, so Parley refused it. Nothing was changed.")
}

// sessionError handles a failure to load or save the session, which lives
// in the database: it is the database being unwell.
func (a *App) sessionError(w http.ResponseWriter, r *http.Request, err error) {
	a.fail(w, r, fmt.Errorf("session: %w: %w", store.ErrUnavailable, err))
}

func (a *App) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := a.store.Ping(r.Context()); err != nil {
		a.log.Warn("health check", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("database unavailable\n"))
		return
	}
	w.Write([]byte("ok"))
}

func (a *App) favicon(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/assets/favicon.svg", http.StatusMovedPermanently)
}
