package httpapi

import (
	"io"
	"net"
	"sync"
	"syscall"
)

// readAhead is how much an OsmAnd connection reads at once when fasthttp
// asks for its first byte: a whole Traccar Client request (a few hundred
// bytes) with room to spare.
const readAhead = 4 << 10

// readAheadListener gives fasthttp connections that read ahead.
//
// With ReduceMemoryUsage (an idle connection gives its buffers back),
// fasthttp reads each request's first byte alone, then the rest through a
// fresh buffer: two reads a request where one would do (strace over an
// OsmAnd load: 2.10 reads a request; read ahead, 1.14). A readAheadConn
// answers that one-byte read from a read of readAhead bytes into a pooled
// buffer, taken only once the socket is readable and given back once
// fasthttp has taken what it holds: an idle connection, waiting for its
// next request, holds no buffer.
type readAheadListener struct {
	net.Listener
	pool buffers // nil: readAheadPool
}

// buffers lend read-ahead buffers (a pool; tests count them).
type buffers interface {
	get() *[readAhead]byte
	put(*[readAhead]byte)
}

type syncBuffers struct{ p sync.Pool }

func (s *syncBuffers) get() *[readAhead]byte {
	if b, ok := s.p.Get().(*[readAhead]byte); ok {
		return b
	}
	return new([readAhead]byte)
}

func (s *syncBuffers) put(b *[readAhead]byte) { s.p.Put(b) }

var readAheadPool = &syncBuffers{}

func (l readAheadListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	rc := &readAheadConn{Conn: c, pool: l.pool}
	if rc.pool == nil {
		rc.pool = readAheadPool
	}
	rc.raw = rawConnOf(c)
	return rc, nil
}

// readAheadConn is a connection whose short reads read ahead. Only its
// reader (fasthttp's goroutine for the connection) calls Read.
type readAheadConn struct {
	net.Conn
	raw  syscall.RawConn // the socket, to wait for it without a buffer (nil: none)
	pool buffers
	buf  *[readAhead]byte // what was read ahead (nil: nothing)
	r, n int              // buf[r:n] is yet to be read
}

func (c *readAheadConn) Read(p []byte) (int, error) {
	if c.buf == nil {
		if len(p) == 0 || len(p) >= readAhead {
			return c.Conn.Read(p)
		}
		b, n, err := c.fill()
		if n == 0 {
			if b != nil {
				c.pool.put(b)
			}
			return 0, err
		}
		// An error with bytes is met again by the next read.
		c.buf, c.r, c.n = b, 0, n
	}
	k := copy(p, c.buf[c.r:c.n])
	if c.r += k; c.r == c.n {
		c.pool.put(c.buf)
		c.buf = nil
	}
	return k, nil
}

// fill reads what the socket has into a buffer taken once it is readable
// (waiting under the connection's read deadline, as its Read does). n is
// zero at the end of the stream (io.EOF) or on an error.
func (c *readAheadConn) fill() (b *[readAhead]byte, n int, err error) {
	if c.raw == nil {
		b = c.pool.get()
		n, err = c.Conn.Read(b[:])
		return b, n, err
	}
	b, n, rerr, err := readRaw(c.raw, c.pool)
	switch {
	case err != nil: // the deadline, or the connection closed
		return b, 0, err
	case rerr != nil:
		return b, 0, &net.OpError{Op: "read", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: rerr}
	case n <= 0:
		return b, 0, io.EOF
	}
	return b, n, nil
}
