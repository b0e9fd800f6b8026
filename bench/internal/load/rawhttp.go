package load

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// RawConn is one keep-alive HTTP/1.1 connection that sends a request and
// reads its answer on the caller's goroutine: one write and (mostly) one
// read system call per request, no goroutines or allocations of its own.
// net/http's client spends two goroutine hand-offs and several allocations
// per request; the generator shares the machine's two cores with the server
// it measures, so its own cost is kept low. Only what the generator needs:
// answers with Content-Length or chunked bodies.
type RawConn struct {
	host string // host:port
	c    net.Conn
	r    *bufio.Reader
	req  []byte
	body []byte
}

// NewRawConn returns a connection to base (a URL: its host is dialled on
// the first Do).
func NewRawConn(base string) (*RawConn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	return &RawConn{host: u.Host}, nil
}

// Do sends method target with the given header lines ("Name: value") and
// body, and returns the status and the answer's body (valid until the next
// call). A broken connection is redialled on the next call.
func (rc *RawConn) Do(method, target string, headers []string, body []byte) (int, []byte, error) {
	if rc.c == nil {
		c, err := net.DialTimeout("tcp", rc.host, 10*time.Second)
		if err != nil {
			return 0, nil, err
		}
		rc.c, rc.r = c, bufio.NewReaderSize(c, 4096)
	}
	b := append(rc.req[:0], method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, rc.host...)
	b = append(b, "\r\n"...)
	for _, h := range headers {
		b = append(b, h...)
		b = append(b, "\r\n"...)
	}
	if body != nil {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	b = append(b, body...)
	rc.req = b
	_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
	status, resBody, err := rc.exchange(b)
	if err != nil {
		rc.c.Close()
		rc.c = nil
	}
	return status, resBody, err
}

// Close closes the connection, if open; a later Do dials again.
func (rc *RawConn) Close() {
	if rc.c != nil {
		rc.c.Close()
		rc.c = nil
	}
}

func (rc *RawConn) exchange(req []byte) (int, []byte, error) {
	if _, err := rc.c.Write(req); err != nil {
		return 0, nil, err
	}
	line, err := rc.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, nil, fmt.Errorf("bad status line %q", line)
	}
	length, chunked, closing := -1, false, false
	for {
		line, err = rc.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("content-length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return 0, nil, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("transfer-encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	rc.body = rc.body[:0]
	switch {
	case chunked:
		for {
			line, err = rc.r.ReadSlice('\n')
			if err != nil {
				return 0, nil, err
			}
			n, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 32)
			if err != nil {
				return 0, nil, fmt.Errorf("bad chunk size %q", line)
			}
			if n == 0 {
				if _, err := rc.r.ReadSlice('\n'); err != nil {
					return 0, nil, err
				}
				break
			}
			if rc.body, err = readN(rc.r, rc.body, int(n)+2); err != nil {
				return 0, nil, err
			}
			rc.body = rc.body[:len(rc.body)-2]
		}
	case length >= 0:
		if rc.body, err = readN(rc.r, rc.body, length); err != nil {
			return 0, nil, err
		}
	default:
		return 0, nil, errors.New("an answer without a length")
	}
	if closing {
		rc.c.Close()
		rc.c = nil
	}
	return status, rc.body, nil
}

func readN(r *bufio.Reader, dst []byte, n int) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	_, err := io.ReadFull(r, dst[start:])
	return dst, err
}
