//go:build !unix

package hub

import "syscall"

// On systems without the Unix socket calls, taken-over connections are not
// supported: Attach fails and the handler serves the stream itself.
type rawWriter struct{}

func newRawWriter() *rawWriter { return &rawWriter{} }

func (w *rawWriter) writeNonblock(rc syscall.RawConn, b []byte) (int, error) { return 0, errNotRaw }

func peerClosed(rc syscall.RawConn) bool { return false }
