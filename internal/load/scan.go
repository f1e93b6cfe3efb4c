package load

import (
	"bytes"
	"strconv"
)

// Marker starts the tag the load tool puts in every message body it posts:
// "pbx-WAVE-SEQ-SENTNS". The tag holds only letters, digits and '-', so
// the server's HTML escaping leaves it as it is.
const Marker = "pbx-"

// Tag returns the tag of message seq of wave, sent at sentNS (Unix
// nanoseconds).
func Tag(wave, seq int, sentNS int64) string {
	b := make([]byte, 0, 48)
	b = append(b, Marker...)
	b = strconv.AppendInt(b, int64(wave), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(seq), 10)
	b = append(b, '-')
	b = strconv.AppendInt(b, sentNS, 10)
	return string(b)
}

// message is one "message" event as the scanner saw it.
type message struct {
	id     int64 // the event's id field
	tagged bool  // the data carried a tag
	wave   int
	seq    int
	sentNS int64
}

// scanner is a minimal, allocation-free Server-Sent Events parser for one
// stream: it keeps only what a message event needs (its id and the tag in
// its data) and a partial line between reads. It understands what Parley
// sends: LF line ends (a trailing CR is dropped), fields "id", "event",
// "data", and comments.
type scanner struct {
	carry []byte // an unfinished line from the previous read
	id    int64
	isMsg bool
	cur   message

	isPresence     bool
	isRooms        bool
	roomsEvents    int   // "rooms" events so far
	eventBytes     int64 // of the event being read
	presenceBytes  int64 // of every presence event so far
	presenceEvents int
}

// feed parses b and calls emit for every complete message event.
func (s *scanner) feed(b []byte, emit func(message)) {
	if len(s.carry) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.carry = append(s.carry, b...)
			return
		}
		s.carry = append(s.carry, b[:i]...)
		s.line(s.carry, emit)
		s.carry = s.carry[:0]
		b = b[i+1:]
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			s.carry = append(s.carry, b...)
			return
		}
		s.line(b[:i], emit)
		b = b[i+1:]
	}
}

func (s *scanner) line(l []byte, emit func(message)) {
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	if len(l) > 0 {
		s.eventBytes += int64(len(l)) + 1
	}
	switch {
	case len(l) == 0:
		if s.isMsg {
			s.cur.id = s.id
			emit(s.cur)
		}
		if s.isPresence {
			s.presenceBytes += s.eventBytes + 1
			s.presenceEvents++
		}
		if s.isRooms {
			s.roomsEvents++
		}
		s.isMsg, s.isPresence, s.isRooms, s.cur, s.eventBytes = false, false, false, message{}, 0
	case l[0] == ':':
	case bytes.HasPrefix(l, []byte("data:")):
		if s.cur.tagged {
			return
		}
		if i := bytes.Index(l, []byte(Marker)); i >= 0 {
			s.cur.wave, s.cur.seq, s.cur.sentNS, s.cur.tagged = parseTag(l[i+len(Marker):])
		}
	case bytes.HasPrefix(l, []byte("id:")):
		s.id = parseInt(bytes.TrimPrefix(l[3:], []byte(" ")))
	case bytes.HasPrefix(l, []byte("event:")):
		ev := bytes.TrimPrefix(l[6:], []byte(" "))
		s.isMsg = string(ev) == "message"
		s.isPresence = string(ev) == "presence"
		s.isRooms = string(ev) == "rooms"
	}
}

// parseTag reads "WAVE-SEQ-SENTNS" from the start of b.
func parseTag(b []byte) (wave, seq int, sentNS int64, ok bool) {
	var parts [3]int64
	for k := range parts {
		n, used := digits(b)
		if used == 0 {
			return 0, 0, 0, false
		}
		parts[k] = n
		b = b[used:]
		if k < 2 {
			if len(b) == 0 || b[0] != '-' {
				return 0, 0, 0, false
			}
			b = b[1:]
		}
	}
	return int(parts[0]), int(parts[1]), parts[2], true
}

func digits(b []byte) (n int64, used int) {
	for used < len(b) && '0' <= b[used] && b[used] <= '9' {
		n = n*10 + int64(b[used]-'0')
		used++
	}
	return n, used
}

func parseInt(b []byte) int64 {
	n, used := digits(b)
	if used != len(b) {
		return -1
	}
	return n
}
