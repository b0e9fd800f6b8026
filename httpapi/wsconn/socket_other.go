//go:build !(linux || darwin || openbsd)

package wsconn

import (
	"errors"
	"net"
	"syscall"
)

// rawConnOf returns nil: connections wait in gorilla's reader (a deeper
// stack per idle connection).
func rawConnOf(net.Conn) syscall.RawConn { return nil }

// waitReadable reports readable at once.
func waitReadable(syscall.RawConn) error { return nil }

// tryWrite is never called without a raw connection.
func tryWrite(syscall.RawConn, []byte, []byte) (int, error) { return 0, errors.ErrUnsupported }
