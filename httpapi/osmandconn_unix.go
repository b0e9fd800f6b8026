//go:build unix

package httpapi

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns c's socket (nil: none).
func rawConnOf(c net.Conn) syscall.RawConn {
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			return raw
		}
	}
	return nil
}

// readRaw waits for raw to be readable, holding no buffer meanwhile, then
// reads what it has into one from pool. err is the wait's (a deadline, a
// closed connection), rerr the read's.
func readRaw(raw syscall.RawConn, pool buffers) (b *[readAhead]byte, n int, rerr, err error) {
	err = raw.Read(func(fd uintptr) bool {
		b = pool.get()
		for {
			n, rerr = syscall.Read(int(fd), b[:])
			if !errors.Is(rerr, syscall.EINTR) {
				break
			}
		}
		if errors.Is(rerr, syscall.EAGAIN) {
			pool.put(b)
			b = nil
			return false // not readable yet: wait, holding nothing
		}
		return true
	})
	return b, n, rerr, err
}
