//go:build linux || darwin || openbsd

package wsconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// tcpPair returns the two ends of a loopback TCP connection and the
// server end's socket; they are closed when the test ends.
func tcpPair(t *testing.T) (client, server net.Conn, raw syscall.RawConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if client, err = net.Dial("tcp", ln.Addr().String()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	if server, err = ln.Accept(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Close() })
	if raw = rawConnOf(server); raw == nil {
		t.Fatal("no socket under a TCP conn")
	}
	return client, server, raw
}

// waitReadable returns when the peer sends, without consuming what it
// sent; when the peer closes; and, with a silent peer, at the read
// deadline (the pongs' keepalive depends on it: a phone gone without a
// FIN is dropped then).
func TestWaitReadable(t *testing.T) {
	client, server, raw := tcpPair(t)

	// Silent peer: the deadline ends the wait.
	_ = server.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	if err := waitReadable(raw); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("silent peer: %v, want the deadline", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond || d > 5*time.Second {
		t.Fatalf("waited %v for a 100 ms deadline", d)
	}

	// The peer sends: ready, and the bytes are still there to read.
	_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
	go func() {
		time.Sleep(50 * time.Millisecond)
		_, _ = client.Write([]byte("hi"))
	}()
	if err := waitReadable(raw); err != nil {
		t.Fatalf("peer sent: %v", err)
	}
	buf := make([]byte, 2)
	if n, err := server.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read after the wait = %q, %v", buf[:n], err)
	}

	// The peer closes: ready (the read then sees the end).
	_ = client.Close()
	if err := waitReadable(raw); err != nil {
		t.Fatalf("peer closed: %v", err)
	}
	if _, err := server.Read(buf); err == nil {
		t.Fatal("read after the peer closed succeeded")
	}

	// Closed here: the wait ends with an error.
	_ = server.Close()
	if err := waitReadable(raw); err == nil {
		t.Fatal("wait on a closed conn succeeded")
	}
}

// tryWrite never waits: against a peer that stopped reading it returns
// what the socket took, down to nothing; what it took arrives, in order,
// once the peer reads; an expired write deadline is nothing taken, not
// an error; a closed connection is an error.
func TestTryWrite(t *testing.T) {
	client, server, raw := tcpPair(t)
	_ = client.(*net.TCPConn).SetReadBuffer(4096)
	_ = server.(*net.TCPConn).SetWriteBuffer(4096)

	// Write numbered chunks, each in two parts, until the socket takes
	// only some of one, then once more: each call returns (one that
	// blocked would hang here: the peer never reads).
	var sent []byte
	chunk := make([]byte, 1000)
	write := func(i int) int {
		t.Helper()
		for j := range chunk {
			chunk[j] = byte(i + j)
		}
		n, err := tryWrite(raw, chunk[:10], chunk[10:])
		if err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		sent = append(sent, chunk[:n]...)
		return n
	}
	i := 0
	for ; write(i) == len(chunk); i++ {
		if len(sent) > 64<<20 {
			t.Fatalf("the socket took %d bytes from a peer that never reads", len(sent))
		}
	}
	write(i + 1)
	t.Logf("took %d bytes in %d writes", len(sent), i+2)

	// What it took arrives, whole and in order.
	got := make([]byte, len(sent))
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.ReadFull(client, got); err != nil {
		t.Fatalf("read back: %v", err)
	}
	if !bytes.Equal(got, sent) {
		t.Fatal("the bytes read back differ from those tryWrite reported taken")
	}

	// A deadline in the past: nothing taken, no error (the caller's
	// blocking write sets its own).
	_ = server.SetWriteDeadline(time.Now().Add(-time.Second))
	if n, err := tryWrite(raw, nil, []byte("x")); n != 0 || err != nil {
		t.Fatalf("past deadline: %d, %v; want 0, nil", n, err)
	}
	_ = server.SetWriteDeadline(time.Time{})
	if n, err := tryWrite(raw, nil, []byte("x")); n != 1 || err != nil {
		t.Fatalf("no deadline: %d, %v; want 1, nil", n, err)
	}

	_ = server.Close()
	if _, err := tryWrite(raw, nil, []byte("x")); err == nil {
		t.Fatal("write on a closed conn succeeded")
	}
}
