//go:build !unix

package httpapi

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns nil: connections read ahead with a plain read, holding
// a buffer while they wait.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// readRaw is never called without a raw connection.
func readRaw(syscall.RawConn, buffers) (*[readAhead]byte, int, error, error) {
	return nil, 0, nil, errors.ErrUnsupported
}
