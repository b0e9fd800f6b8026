//go:build unix

package httpapi

import (
	"errors"
	"net"
	"sync"
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
	r := rawReaders.Get().(*rawReader)
	r.pool = pool
	err = raw.Read(r.read)
	b, n, rerr = r.b, r.n, r.err
	*r = rawReader{read: r.read}
	rawReaders.Put(r)
	return b, n, rerr, err
}

// rawReader is one readRaw's read and its outcome, pooled with its method
// value bound once: a closure made per read, and the variables it set,
// escaped to the heap on every OsmAnd request.
type rawReader struct {
	pool buffers
	b    *[readAhead]byte
	n    int
	err  error
	read func(fd uintptr) bool // do
}

func (r *rawReader) do(fd uintptr) bool {
	r.b = r.pool.get()
	for {
		r.n, r.err = syscall.Read(int(fd), r.b[:])
		if !errors.Is(r.err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(r.err, syscall.EAGAIN) {
		r.pool.put(r.b)
		r.b = nil
		return false // not readable yet: wait, holding nothing
	}
	return true
}

var rawReaders = sync.Pool{New: func() any {
	r := &rawReader{}
	r.read = r.do
	return r
}}
