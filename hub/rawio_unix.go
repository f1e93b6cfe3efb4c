//go:build unix

package hub

import (
	"syscall"
)

// rawWriter makes non-blocking writes through a RawConn. It is reused for
// every write of one writer goroutine, so that a write allocates nothing
// (a closure per call would cost allocations on every copy of a frame).
type rawWriter struct {
	b   []byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newRawWriter() *rawWriter {
	w := &rawWriter{}
	w.fn = w.write
	return w
}

func (w *rawWriter) write(fd uintptr) bool {
	for {
		w.n, w.err = syscall.Write(int(fd), w.b)
		if w.err != syscall.EINTR {
			return true
		}
	}
}

// writeNonblock writes b with one system call that never waits: on a full
// socket it returns what fit and errWouldBlock.
func (w *rawWriter) writeNonblock(rc syscall.RawConn, b []byte) (int, error) {
	w.b, w.n, w.err = b, 0, nil
	err := rc.Write(w.fn)
	n, werr := w.n, w.err
	w.b = nil
	if err != nil {
		return 0, err
	}
	if n < 0 {
		n = 0
	}
	if werr == syscall.EAGAIN {
		return n, errWouldBlock
	}
	if werr == nil && n < len(b) {
		return n, errWouldBlock
	}
	return n, werr
}

// peerClosed reports whether the client hung up, by peeking at the socket
// without waiting. A client never sends anything on an event stream, so a
// readable end of file (or an error) means it is gone.
func peerClosed(rc syscall.RawConn) bool {
	gone := false
	err := rc.Read(func(fd uintptr) bool {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		gone = err == nil && n == 0 || err != nil && err != syscall.EAGAIN && err != syscall.EINTR
		return true
	})
	return err != nil || gone
}
