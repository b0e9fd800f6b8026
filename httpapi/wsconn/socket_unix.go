//go:build linux || darwin || openbsd

package wsconn

import (
	"errors"
	"net"
	"os"
	"sync"
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

// tryWrite writes a frame's header hdr and its payload to raw in one
// system call without waiting: it returns how many bytes the kernel took
// at once, 0 when the socket's send buffer is full or a write deadline
// has passed (the caller's blocking write then sets its own). An error
// means the connection is gone. hdr is copied: a caller's header may stay
// on its stack.
func tryWrite(raw syscall.RawConn, hdr, payload []byte) (int, error) {
	w := vecWriters.Get().(*vecWriter)
	w.vec = [2][]byte{append(w.hdr[:0], hdr...), payload}
	err := raw.Write(w.write)
	n, werr := w.n, w.err
	w.vec, w.n, w.err = [2][]byte{}, 0, nil
	vecWriters.Put(w)
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

// vecWriter is one tryWrite's system call and its outcome, pooled with
// its method value bound once and room for the header: a closure made per
// write, and the frame's header and buffers, escaped to the heap (9% of
// the bytes the server allocated at 5,000 devices, customers and 20
// boards).
type vecWriter struct {
	hdr   [maxHeader]byte
	vec   [2][]byte
	n     int
	err   error
	write func(fd uintptr) bool // do
}

func (w *vecWriter) do(fd uintptr) bool {
	w.n, w.err = unix.Writev(int(fd), w.vec[:])
	return true // never wait for the socket
}

var vecWriters = sync.Pool{New: func() any {
	w := &vecWriter{}
	w.write = w.do
	return w
}}
