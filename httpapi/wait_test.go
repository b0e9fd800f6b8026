//go:build linux || darwin || freebsd || netbsd || openbsd

package httpapi

import (
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// waitReadable returns when the peer sends, without consuming what it
// sent; when the peer closes; and, with a silent peer, at the read
// deadline (the pongs' keepalive depends on it: a phone gone without a
// FIN is dropped then).
func TestWaitReadable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	// Silent peer: the deadline ends the wait.
	_ = server.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	start := time.Now()
	if err := waitReadable(server); !errors.Is(err, os.ErrDeadlineExceeded) {
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
	if err := waitReadable(server); err != nil {
		t.Fatalf("peer sent: %v", err)
	}
	buf := make([]byte, 2)
	if n, err := server.Read(buf); err != nil || string(buf[:n]) != "hi" {
		t.Fatalf("read after the wait = %q, %v", buf[:n], err)
	}

	// The peer closes: ready (the read then sees the end).
	_ = client.Close()
	if err := waitReadable(server); err != nil {
		t.Fatalf("peer closed: %v", err)
	}
	if _, err := server.Read(buf); err == nil {
		t.Fatal("read after the peer closed succeeded")
	}

	// Closed here: the wait ends with an error.
	_ = server.Close()
	if err := waitReadable(server); err == nil {
		t.Fatal("wait on a closed conn succeeded")
	}
}
