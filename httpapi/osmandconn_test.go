package httpapi

import (
	"bufio"
	"bytes"
	"errors"
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

func (c *countingBuffers) put(*[readAhead]byte) { c.out.Add(-1) }

func listen(t *testing.T, pool buffers) readAheadListener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return readAheadListener{Listener: ln, pool: pool}
}

// connect dials ln and accepts the connection: the client's end and the
// server's (a readAheadConn), both closed when the test ends.
func connect(t *testing.T, ln readAheadListener) (client, server net.Conn) {
	t.Helper()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	return client, server
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
	firstRead := make(chan struct{})
	go func() {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.WriteString(c, first)
		<-firstRead // the second write apart from the first
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
		if i == 0 {
			if got.String() != first {
				t.Fatalf("the first write read as %q", got.String())
			}
			close(firstRead)
		}
	}
	if got.String() != first+second {
		t.Fatalf("read %d bytes, not the %d sent in order", got.Len(), len(first+second))
	}
	if n := pool.out.Load(); n != 0 {
		t.Fatalf("%d buffers out after everything was read", n)
	}
}

// Connections waiting for their next request hold no buffer: they wait
// under their read deadline, and a Close ends the wait.
func TestReadAheadIdle(t *testing.T) {
	pool := &countingBuffers{}
	ln := listen(t, pool)
	const conns = 20
	var clients, servers []net.Conn
	for range conns {
		cl, c := connect(t, ln)
		clients, servers = append(clients, cl), append(servers, c)
	}
	// Every connection waits out a deadline with nothing to read.
	var wg sync.WaitGroup
	for _, c := range servers {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		wg.Go(func() {
			var b [1]byte
			n, err := c.Read(b[:])
			var ne net.Error
			if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
				t.Errorf("an idle read past its deadline: %d bytes, %v", n, err)
			}
		})
	}
	// Each tried its read at once, taking a buffer and giving it back on
	// finding nothing; by now they wait.
	time.Sleep(100 * time.Millisecond)
	if n := pool.out.Load(); n != 0 {
		t.Errorf("%d buffers held by connections waiting", n)
	}
	wg.Wait()
	// Then each gets two bytes and reads one: each holds the other.
	for i, c := range servers {
		_ = c.SetReadDeadline(time.Time{})
		_, _ = io.WriteString(clients[i], "xy")
		var b [1]byte
		if n, err := c.Read(b[:]); n != 1 || err != nil || b[0] != 'x' {
			t.Fatalf("read %q, %v", b[:n], err)
		}
	}
	if n := pool.out.Load(); n != conns {
		t.Fatalf("%d buffers out, want one each holding the byte not yet read", n)
	}
	// A Close ends a wait.
	_, c := connect(t, ln)
	done := make(chan error, 1)
	go func() {
		var b [1]byte
		_, err := c.Read(b[:])
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // the read waiting, most likely
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("a read ended by Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not end a read waiting")
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
