//go:build unix

package hub

import (
	"syscall"
)

// writeNonblock writes b with one system call that never waits: on a full
// socket it returns what fit and errWouldBlock.
func writeNonblock(rc syscall.RawConn, b []byte) (int, error) {
	var n int
	var werr error
	err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = syscall.Write(int(fd), b)
			if werr != syscall.EINTR {
				return true
			}
		}
	})
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
