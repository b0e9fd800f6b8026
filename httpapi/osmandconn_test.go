package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
)

// countingBuffers lends buffers and counts those out.
type countingBuffers struct{ out atomic.Int64 }

func (c *countingBuffers) get() *[readAhead]byte { c.out.Add(1); return new([readAhead]byte) }
func (c *countingBuffers) put(*[readAhead]byte)  { c.out.Add(-1) }

func listen(t *testing.T, pool buffers) readAheadListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return readAheadListener{Listener: ln, pool: pool}
}

// A readAheadConn gives its reader the bytes the socket brought, in order,
// read as fasthttp reads them: a first byte alone, then up to 4,095
// through its buffer, or a large body in reads of its own size; and lends
// no buffer once they are taken.
func TestReadAheadConn(t *testing.T) {
	pool := &countingBuffers{}
	ln := listen(t, pool)
	// Two requests in one write (pipelined), then one larger than the
	// read-ahead.
	first := "GET /?id=1&lat=1&lon=2 HTTP/1.1\r\nHost: x\r\n\r\nGET /?id=2 HTTP/1.1\r\nHost: x\r\n\r\n"
	second := "POST / HTTP/1.1\r\nContent-Length: 9000\r\n\r\n" + strings.Repeat("a", 9000)
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, first)
		time.Sleep(50 * time.Millisecond)
		_, _ = io.WriteString(c, second)
	}()
	raw, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := raw.(*readAheadConn)
	if c.raw == nil {
		t.Fatal("a TCP connection without its socket: reads would wait holding a buffer")
	}
	var got bytes.Buffer
	big := make([]byte, 8192)
	for i := 0; ; i++ {
		var b [1]byte
		n, err := c.Read(b[:])
		got.Write(b[:n])
		if err == io.EOF {
			break
		}
		if err != nil || n != 1 {
			t.Fatalf("a one-byte read: %d bytes, %v", n, err)
		}
		p := big[:4095] // fasthttp's firstByteReader, past the first byte
		if i%2 == 1 {
			p = big // a reader of its own size
		}
		n, err = c.Read(p)
		got.Write(p[:n])
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if i == 0 && got.String() != first {
			t.Fatalf("the first write read as %q", got.String())
		}
	}
	if got.String() != first+second {
		t.Fatalf("read %d bytes, not the %d sent in order", got.Len(), len(first+second))
	}
	if n := pool.out.Load(); n != 0 {
		t.Fatalf("%d buffers out after everything was read", n)
	}
}

// Connections waiting for their next request hold no buffer.
func TestReadAheadIdle(t *testing.T) {
	pool := &countingBuffers{}
	ln := listen(t, pool)
	const conns = 20
	var clients []net.Conn
	var wg sync.WaitGroup
	read := make(chan string, conns)
	for range conns {
		cl, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		clients = append(clients, cl)
		c, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		wg.Go(func() {
			var b [1]byte
			if n, err := c.Read(b[:]); n == 1 && err == nil {
				read <- string(b[:])
			}
		})
	}
	time.Sleep(200 * time.Millisecond)
	if n := pool.out.Load(); n != 0 {
		t.Fatalf("%d idle connections hold a buffer", n)
	}
	for _, cl := range clients {
		_, _ = io.WriteString(cl, "xy")
	}
	wg.Wait()
	close(read)
	k := 0
	for b := range read {
		if b != "x" {
			t.Fatalf("read %q", b)
		}
		k++
	}
	if k != conns {
		t.Fatalf("%d of %d reads returned", k, conns)
	}
	if n := pool.out.Load(); n != conns {
		t.Fatalf("%d buffers out, want one each holding the byte not yet read", n)
	}
}

// fasthttp on a readAheadListener, as the OsmAnd listener runs it,
// answers pipelined requests in order and keep-alive requests after a
// pause.
func TestReadAheadFasthttp(t *testing.T) {
	ln := listen(t, nil)
	srv := &fasthttp.Server{
		Handler:           func(ctx *fasthttp.RequestCtx) { ctx.SetBody(ctx.QueryArgs().Peek("n")) },
		ReduceMemoryUsage: true,
		ReadBufferSize:    maxOsmAndHead,
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Shutdown()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	expect := func(want string) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != want {
			t.Fatalf("answered %q, want %q", body, want)
		}
	}
	_, _ = io.WriteString(c, "GET /?n=1 HTTP/1.1\r\nHost: x\r\n\r\nGET /?n=2 HTTP/1.1\r\nHost: x\r\n\r\n")
	expect("1")
	expect("2")
	time.Sleep(100 * time.Millisecond) // idle between requests
	_, _ = io.WriteString(c, "POST /?n=3 HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"+strings.Repeat("b", 5000))
	expect("3")
}
