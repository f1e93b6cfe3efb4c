package handlers

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// requestLog writes the one line per request, in the format of slog's
// TextHandler, without slog: each line is formatted by hand straight into
// a shared buffer, and a goroutine of its own writes what gathered once
// flushDelay passed or flushAt bytes are waiting. A request pays neither an
// allocation nor a system call nor, mostly, a wake-up for its line, and
// at peak one write carries the lines of hundreds of requests.
type requestLog struct {
	w          io.Writer
	wake       chan struct{} // a first line came, or flushAt was reached
	quit, done chan struct{}
	mu         sync.Mutex
	room       sync.Cond // the writer took the waiting lines
	buf, spare []byte
	clock      clock
	stopped    bool // the writer ended: add writes itself
}

const (
	// flushDelay is how long a line may wait for others to share its write.
	flushDelay = 20 * time.Millisecond
	// flushAt is how many waiting bytes are written without waiting more.
	flushAt = 32 << 10
	// maxPending bounds the lines waiting for a slow writer; past it
	// requests wait, as they would on the writer itself. The two buffers
	// are kept for reuse, so the log holds at most twice this.
	maxPending = 1 << 20
)

func newRequestLog(w io.Writer) *requestLog {
	l := &requestLog{w: w, wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	l.room.L = &l.mu
	go l.run()
	return l
}

// line is one finished request.
type line struct {
	time     time.Time
	level    slog.Level
	method   string
	path     string
	status   int
	bytes    int64
	duration time.Duration
	remote   string
}

// add logs one line. Once the log is closed it writes the line itself.
func (l *requestLog) add(ln *line) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.buf) >= maxPending && !l.stopped {
		l.room.Wait()
	}
	if l.stopped {
		l.spare = ln.append(l.spare[:0], &l.clock)
		l.w.Write(l.spare)
		return
	}
	before := len(l.buf)
	l.buf = ln.append(l.buf, &l.clock)
	if before == 0 || before < flushAt && len(l.buf) >= flushAt {
		select {
		case l.wake <- struct{}{}:
		default: // a wake-up is pending already
		}
	}
}

// run writes the waiting lines until the log is closed, then the rest.
func (l *requestLog) run() {
	defer close(l.done)
	t := time.NewTimer(flushDelay)
	t.Stop()
	for {
		select {
		case <-l.wake:
		case <-l.quit:
			l.mu.Lock()
			for len(l.buf) > 0 {
				l.flushLocked()
			}
			l.stopped = true
			l.room.Broadcast()
			l.mu.Unlock()
			return
		}
		l.mu.Lock()
		if len(l.buf) < flushAt {
			l.mu.Unlock()
			t.Reset(flushDelay)
			select {
			case <-t.C:
			case <-l.wake:
			case <-l.quit:
			}
			t.Stop()
			l.mu.Lock()
		}
		l.flushLocked()
		l.mu.Unlock()
	}
}

// flushLocked writes the waiting lines, with l.mu held, letting go of it
// for the write.
func (l *requestLog) flushLocked() {
	out := l.buf
	l.buf, l.spare = l.spare[:0], nil
	l.room.Broadcast()
	l.mu.Unlock()
	if len(out) > 0 {
		l.w.Write(out) // a log that cannot be written has nowhere to complain
	}
	l.mu.Lock()
	l.spare = out[:0]
}

// close writes what is waiting; lines that come later are written at once.
func (l *requestLog) close() {
	close(l.quit)
	<-l.done
}

// append formats the line as slog's TextHandler does:
//
//	time=2006-01-02T15:04:05.000Z07:00 level=INFO msg=request method=GET path=/ status=200 bytes=12 duration=1.5ms remote=192.0.2.1
func (ln *line) append(b []byte, c *clock) []byte {
	b = append(b, "time="...)
	b = c.append(b, ln.time)
	b = append(b, " level="...)
	b = append(b, ln.level.String()...)
	b = append(b, " msg=request method="...)
	b = appendText(b, ln.method)
	b = append(b, " path="...)
	b = appendText(b, ln.path)
	b = append(b, " status="...)
	b = strconv.AppendInt(b, int64(ln.status), 10)
	b = append(b, " bytes="...)
	b = strconv.AppendInt(b, ln.bytes, 10)
	b = append(b, " duration="...)
	b = append(b, ln.duration.String()...)
	b = append(b, " remote="...)
	b = appendText(b, ln.remote)
	return append(b, '\n')
}

// clock keeps the text of the second the last line was logged in, which
// the lines logged within it share: formatting a time costs more than
// the rest of the line.
type clock struct {
	sec        int64
	head, zone []byte // "2006-01-02T15:04:05", "Z07:00"
}

// append appends t as slog's TextHandler does, to the millisecond.
func (c *clock) append(b []byte, t time.Time) []byte {
	if s := t.Unix(); s != c.sec || c.head == nil {
		c.sec = s
		c.head = t.AppendFormat(c.head[:0], "2006-01-02T15:04:05")
		c.zone = t.AppendFormat(c.zone[:0], "Z07:00")
	}
	b = append(b, c.head...)
	ms := t.Nanosecond() / 1e6
	b = append(b, '.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
	return append(b, c.zone...)
}

// slog logs the line through log, for an App without a request log of its
// own.
func (ln *line) slog(ctx context.Context, log *slog.Logger) {
	log.LogAttrs(ctx, ln.level, "request",
		slog.String("method", ln.method),
		slog.String("path", ln.path),
		slog.Int("status", ln.status),
		slog.Int64("bytes", ln.bytes),
		slog.Duration("duration", ln.duration),
		slog.String("remote", ln.remote))
}

// appendText appends s, quoted when slog's TextHandler would quote it.
func appendText(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting reports whether s must be quoted to stay one value: empty,
// or holding a space, '=', '"', an ASCII control character other than
// DEL, an unprintable or space rune, or invalid UTF-8 (the rule of slog's
// TextHandler).
func needsQuoting(s string) bool {
	if s == "" {
		return true
	}
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b <= ' ' || b == '=' || b == '"' {
				return true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += n
	}
	return false
}
