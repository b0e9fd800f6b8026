package httpapi

import (
	"net"
	"sync"
)

// readAhead is how much an OsmAnd connection reads at once when fasthttp
// asks for its first byte: a whole Traccar Client request (a few hundred
// bytes) with room to spare.
const readAhead = 4 << 10

// readAheadListener gives fasthttp connections that read ahead.
//
// With ReduceMemoryUsage (an idle connection gives its buffers back),
// fasthttp reads each request's first byte alone, then the rest through a
// fresh buffer: two reads a request where one would do. On this kind of
// machine a system call costs about 5 µs, a tenth of an OsmAnd request's
// server CPU (profile: the first-byte read 5% of the server, besides the
// one that brings the request). A readAheadConn answers that one-byte
// read from a read of readAhead bytes into a pooled buffer, which goes
// back to the pool once fasthttp has taken what it holds: an idle
// connection still holds no buffer.
type readAheadListener struct{ net.Listener }

func (l readAheadListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readAheadConn{Conn: c}, nil
}

// readAheadConn is a connection whose short reads read ahead. Only its
// reader (fasthttp's goroutine for the connection) calls Read.
type readAheadConn struct {
	net.Conn
	buf  *[readAhead]byte // what was read ahead (nil: nothing)
	r, n int              // buf[r:n] is yet to be read
}

var readAheadPool = sync.Pool{New: func() any { return new([readAhead]byte) }}

func (c *readAheadConn) Read(p []byte) (int, error) {
	if c.buf == nil {
		if len(p) >= readAhead {
			return c.Conn.Read(p)
		}
		b := readAheadPool.Get().(*[readAhead]byte)
		n, err := c.Conn.Read(b[:])
		if n == 0 {
			readAheadPool.Put(b)
			return 0, err
		}
		// An error with bytes is met again by the next read.
		c.buf, c.r, c.n = b, 0, n
	}
	k := copy(p, c.buf[c.r:c.n])
	if c.r += k; c.r == c.n {
		readAheadPool.Put(c.buf)
		c.buf = nil
	}
	return k, nil
}
