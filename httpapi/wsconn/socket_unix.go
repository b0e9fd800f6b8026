//go:build linux || darwin || openbsd

package wsconn

import (
	"errors"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// rawConnOf returns conn's socket, for waitReadable and tryWrite, or nil
// when conn is not one.
func rawConnOf(conn net.Conn) syscall.RawConn {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return raw
}

// waitReadable waits until raw has something to read, has been closed by
// its peer or has failed, without reading it; it returns an error when the
// read deadline passes or raw is closed here. It parks on Go's poller
// directly, a few frames deep (Conn.Read). Without a socket (nil), it
// reports readable at once.
func waitReadable(raw syscall.RawConn) error {
	if raw == nil {
		return nil
	}
	var b [1]byte
	return raw.Read(func(fd uintptr) bool {
		// Peek: the poller may wake us for data already read.
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return err != syscall.EAGAIN && err != syscall.EINTR
	})
}

// tryWrite writes bufs to raw in one system call without waiting: it
// returns how many bytes the kernel took at once, 0 when the socket's
// send buffer is full or a write deadline has passed (the caller's
// blocking write then sets its own). An error means the connection is
// gone.
func tryWrite(raw syscall.RawConn, bufs [][]byte) (int, error) {
	var (
		n    int
		werr error
	)
	err := raw.Write(func(fd uintptr) bool {
		n, werr = unix.Writev(int(fd), bufs)
		return true // never wait for the socket
	})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return 0, nil
	case err != nil:
		return 0, err
	case werr == unix.EAGAIN || werr == unix.EINTR:
		return 0, nil
	case werr != nil:
		return 0, werr
	}
	return max(n, 0), nil
}
