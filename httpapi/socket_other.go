//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package httpapi

import (
	"errors"
	"net"
	"syscall"
)

// waitReadable reports conn readable at once: without a peek, viewer.read
// waits in gorilla's reader instead (a deeper stack per idle connection).
func waitReadable(net.Conn) error { return nil }

// rawConnOf returns nil: without tryWrite, every write of a viewer goes
// through its writing goroutine.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// tryWrite is never called without a raw connection.
func tryWrite(syscall.RawConn, []byte) (int, error) { return 0, errors.ErrUnsupported }
