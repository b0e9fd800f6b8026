//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package httpapi

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns nil: viewers wait in gorilla's reader (a deeper stack
// per idle connection), and every write goes through the writing goroutine.
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// waitReadable reports readable at once.
func waitReadable(syscall.RawConn) error { return nil }

// tryWrite is never called without a raw connection.
func tryWrite(syscall.RawConn, []byte) (int, error) { return 0, errors.ErrUnsupported }
