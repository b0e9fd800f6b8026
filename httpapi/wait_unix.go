//go:build linux || darwin || freebsd || netbsd || openbsd

package httpapi

import (
	"net"
	"syscall"
)

// waitReadable waits until conn has something to read, has been closed by
// its peer or has failed, without reading it; it returns an error when the
// read deadline passes or conn is closed here. It parks on Go's poller
// directly, a few frames deep (viewer.read). A conn that is not a socket
// is reported readable at once.
func waitReadable(conn net.Conn) error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var b [1]byte
	return raw.Read(func(fd uintptr) bool {
		// Peek: the poller may wake us for data already read.
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN && err != syscall.EINTR
	})
}
