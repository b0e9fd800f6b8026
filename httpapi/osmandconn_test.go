package httpapi

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// A readAheadConn gives its reader the bytes the socket brought, in order,
// however the reader asks (a first byte alone, then through a buffer, as
// fasthttp does), and holds no buffer once they are taken.
func TestReadAheadConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
		_, _ = io.WriteString(c, second)
	}()
	raw, err := readAheadListener{ln}.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := raw.(*readAheadConn)
	var got bytes.Buffer
	for {
		var b [1]byte // the first byte alone, as fasthttp's acquireByteReader reads it
		n, err := c.Read(b[:])
		got.Write(b[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("a one-byte read gave %d bytes", n)
		}
		// Then the rest through a reader of 1 KiB, up to what is buffered.
		br := bufio.NewReaderSize(c, 1024)
		if _, err := br.Peek(1); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		rest, _ := br.Peek(br.Buffered())
		got.Write(rest)
	}
	if got.String() != first+second {
		t.Fatalf("read %d bytes, not the %d sent in order", got.Len(), len(first+second))
	}
	if c.buf != nil {
		t.Fatal("a buffer held after everything was read")
	}
}
