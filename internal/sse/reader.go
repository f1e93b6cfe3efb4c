// Package sse reads Server-Sent Events streams the way a browser's
// EventSource does. Parley's tests and load tool use it to check what the
// server sends.
package sse

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Event is one dispatched event.
type Event struct {
	ID    string // the stream's last event id when the event was dispatched
	Type  string // "message" when the stream named none
	Data  string
	Retry int // milliseconds, if the event's block set it; else 0
}

// Reader parses an event stream.
type Reader struct {
	r      *bufio.Reader
	lastID string
	// Comments counts the comment lines seen so far.
	Comments int
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReaderSize(r, 64<<10)} }

// LastID returns the last event id the stream set.
func (r *Reader) LastID() string { return r.lastID }

// Next returns the next event. It returns io.EOF (or the read error) when
// the stream ends; an event cut off by the end is not dispatched, as the
// specification says.
func (r *Reader) Next() (Event, error) {
	var data strings.Builder
	var typ string
	hasData := false
	retry := 0
	for {
		line, err := r.line()
		if err != nil {
			return Event{}, err
		}
		if line == "" {
			if !hasData {
				typ, retry = "", 0
				continue
			}
			if typ == "" {
				typ = "message"
			}
			return Event{ID: r.lastID, Type: typ, Data: data.String(), Retry: retry}, nil
		}
		if line[0] == ':' {
			r.Comments++
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "event":
			typ = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		case "id":
			if !strings.ContainsRune(value, 0) {
				r.lastID = value
			}
		case "retry":
			if n, err := strconv.Atoi(value); err == nil {
				retry = n
			}
		}
	}
}

// line reads one line ended by CR, LF or CR LF.
func (r *Reader) line() (string, error) {
	var b strings.Builder
	for {
		c, err := r.r.ReadByte()
		if err != nil {
			return "", err
		}
		switch c {
		case '\n':
			return b.String(), nil
		case '\r':
			if next, err := r.r.Peek(1); err == nil && next[0] == '\n' {
				r.r.ReadByte()
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
}
