package handlers

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"parley/hub"
)

// replayPage is how many stored messages a resuming stream reads at once.
const replayPage = 500

// streamWriteTimeout bounds each write the handler makes itself (the head
// and the replay) before it hands the stream to the hub.
const streamWriteTimeout = 10 * time.Second

// streamEvents serves a room's event stream: first every stored message
// after the client's cursor, then live events, with no gap and no
// duplicate. The stream subscribes before it reads the replay from the
// database, and the hub skips live frames the replay already carried.
//
// Over HTTP/1.1 the handler takes the connection over once the session is
// checked, writes the head and the replay, and hands the connection to the
// hub's writers: an idle stream then costs no goroutine and no buffers.
// Where that is impossible (HTTP/2, TLS) the handler's goroutine serves it.
func (a *App) streamEvents(w http.ResponseWriter, r *http.Request) {
	if sub, rc := a.openStream(w, r); sub != nil {
		sub.Serve(r.Context(), w, rc.Flush, rc.SetWriteDeadline)
	}
}

// openStream subscribes the request to its room and writes the start of
// the stream. A plain HTTP/1.1 connection is handed to the hub and nil is
// returned, as on any failure (answered here); otherwise the stream is
// this goroutine's to serve, through rc. It is kept out of streamEvents'
// frame, so that the frame an HTTP/2 stream waits in stays small (see
// waitFrames).
//
//go:noinline
func (a *App) openStream(w http.ResponseWriter, r *http.Request) (*hub.Sub, *http.ResponseController) {
	rm, err := a.room(r)
	if err != nil {
		a.fail(w, r, err)
		return nil, nil
	}
	room := rm.Name
	cursor, hasCursor, err := lastEventID(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, nil
	}
	l := currentLogin(r)
	sub, err := a.hub.Subscribe(room, l.Token, l.User.ID, l.User.Handle)
	switch {
	case errors.Is(err, hub.ErrSessionLimit):
		w.Header().Set("Retry-After", "10")
		http.Error(w, "Too many open streams for this session. Close some tabs.", http.StatusTooManyRequests)
		return nil, nil
	case err != nil:
		w.Header().Set("Retry-After", "5")
		http.Error(w, "The server cannot take more live streams now.", http.StatusServiceUnavailable)
		return nil, nil
	}
	if hasCursor {
		sub.Replayed(cursor)
	}

	rc := http.NewResponseController(w)
	// The hub's writers write to the socket itself, so they can take over
	// plain HTTP/1.1 only; over TLS this goroutine serves the stream.
	if r.ProtoMajor == 1 && r.TLS == nil {
		conn, brw, err := rc.Hijack()
		if err == nil {
			a.serveTakenOver(r, conn, brw, w.Header(), sub, room, cursor, hasCursor)
			return nil, nil
		}
		if !errors.Is(err, http.ErrNotSupported) {
			sub.Abandon()
			return nil, nil
		}
	}

	setStreamHeaders(w.Header())
	w.WriteHeader(http.StatusOK)
	rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if err := a.writeStart(r, w, sub, room, cursor, hasCursor); err != nil {
		sub.Abandon()
		return nil, nil
	}
	if err := rc.Flush(); err != nil {
		sub.Abandon()
		return nil, nil
	}
	// Over HTTP/2 a write deadline is a timer that resets the stream when
	// it passes, written or not: clear it, or an idle stream would end.
	rc.SetWriteDeadline(time.Time{})
	return sub, rc
}

// serveTakenOver writes the response head and the start of the stream to a
// taken-over connection and hands it to the hub.
func (a *App) serveTakenOver(r *http.Request, conn net.Conn, brw *bufio.ReadWriter, h http.Header,
	sub *hub.Sub, room string, cursor int64, hasCursor bool) {
	conn.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	bw := brw.Writer
	setStreamHeaders(h)
	h.Set("Connection", "close")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	h.Del("Content-Length")
	h.Del("Transfer-Encoding")
	fmt.Fprintf(bw, "HTTP/1.1 200 OK\r\n")
	h.Write(bw)
	bw.WriteString("\r\n")
	err := a.writeStart(r, bw, sub, room, cursor, hasCursor)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		sub.Abandon()
		conn.Close()
		return
	}
	if err := sub.Attach(conn); err != nil {
		a.log.Warn("stream attach", "err", err)
	}
}

func setStreamHeaders(h http.Header) {
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
}

// streamPreamble opens every stream: a comment, so the client sees bytes at
// once, and a short reconnection delay.
const streamPreamble = ": parley\nretry: 1000\n\n"

// writeStart writes the preamble, the replay of every message and change
// after the cursor (each message as it now is), and the room's online list as last sent to its streams (or as it
// is, when none was sent yet).
func (a *App) writeStart(r *http.Request, w io.Writer, sub *hub.Sub, room string, cursor int64, hasCursor bool) error {
	if _, err := io.WriteString(w, streamPreamble); err != nil {
		return err
	}
	if hasCursor {
		for {
			msgs, err := a.store.EventsAfter(r.Context(), room, cursor, replayPage)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				f, err := messageFrame(m)
				if err != nil {
					return err
				}
				if _, err := w.Write(f.Data); err != nil {
					return err
				}
				cursor = m.EventID()
			}
			sub.Replayed(cursor)
			if len(msgs) < replayPage {
				break
			}
		}
	}
	f, ok := sub.StartPresence()
	if !ok {
		var err error
		if f, err = a.presence.frame(room); err != nil {
			return err
		}
	}
	if _, err := w.Write(f.Data); err != nil {
		return err
	}
	// A browser reconnecting after a drop (it sends Last-Event-ID) may
	// have missed changes of the person's counts: it gets their list.
	// A page's first stream does not need it: the page has it.
	if r.Header.Get("Last-Event-ID") == "" {
		return nil
	}
	f, err := a.personal.listFrame(sub.UserID)
	if err != nil {
		return err
	}
	_, err = w.Write(f.Data)
	return err
}

// lastEventID reads the client's cursor: the Last-Event-ID header an
// EventSource sends when it reconnects, or the last_event_id query a page
// puts in the URL. With both, the later one counts.
func lastEventID(r *http.Request) (id int64, ok bool, err error) {
	for _, v := range []string{r.Header.Get("Last-Event-ID"), r.URL.Query().Get("last_event_id")} {
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0, false, errors.New("Last-Event-ID must be a message id.")
		}
		id, ok = max(id, n), true
	}
	return id, ok, nil
}

// liveSessions is the hub's backstop: of the tokens with open streams, it
// returns those still signed in.
func (a *App) liveSessions(tokens []string) (map[string]bool, error) {
	now := a.store.Now()
	return a.store.LiveLogins(bgCtx, tokens, now.Add(-a.cfg.SessionIdle), now.Add(-a.cfg.SessionLifetime))
}
