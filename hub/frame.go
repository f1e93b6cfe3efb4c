package hub

import (
	"strconv"
)

// Frame is one complete Server-Sent Events frame. A frame is encoded once
// and the same bytes go to every stream that should get it.
type Frame struct {
	// ID is the message id the frame carries in its "id:" field, or 0 for a
	// frame without one (presence, heartbeat, logout).
	ID   int64
	Data []byte
	// Committed, when not zero, is when the frame's message was committed
	// (Unix nanoseconds): the start of its fan-out latency, which the hub
	// reports to Config.ObserveFanout.
	Committed int64
}

// Encode builds the frame for one event. Each line of data becomes one
// "data:" field; CR, LF and CR LF all end a line, as they do for the
// client's parser, so no text inside data can start a field of its own.
func Encode(id int64, event string, data []byte) Frame {
	b := make([]byte, 0, len(data)+len(event)+32)
	if id > 0 {
		b = append(b, "id: "...)
		b = strconv.AppendInt(b, id, 10)
		b = append(b, '\n')
	}
	if event != "" {
		b = append(b, "event: "...)
		b = append(b, event...)
		b = append(b, '\n')
	}
	for {
		i := indexEOL(data)
		b = append(b, "data: "...)
		if i < 0 {
			b = append(b, data...)
			b = append(b, '\n')
			break
		}
		b = append(b, data[:i]...)
		b = append(b, '\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	b = append(b, '\n')
	return Frame{ID: id, Data: b}
}

func indexEOL(b []byte) int {
	for i, c := range b {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}

// Comment returns a frame holding one comment line, which clients ignore
// and proxies see as traffic.
func Comment(text string) Frame {
	return Frame{Data: []byte(": " + text + "\n\n")}
}

var (
	heartbeat   = Comment("heartbeat")
	logoutFrame = Encode(0, "logout", []byte("signed out"))
)
