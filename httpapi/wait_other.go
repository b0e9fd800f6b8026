//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package httpapi

import "net"

// waitReadable reports conn readable at once: without a peek, viewer.read
// waits in gorilla's reader instead (a deeper stack per idle connection).
func waitReadable(net.Conn) error { return nil }
