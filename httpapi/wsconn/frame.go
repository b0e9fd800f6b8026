package wsconn

import (
	"encoding/binary"
	"unicode/utf8"

	"github.com/gorilla/websocket"
)

// maxHeader is the longest frame header a server writes.
const maxHeader = 10

// appendHeader appends the header of an unmasked, final frame of type op
// carrying n bytes (RFC 6455, section 5.2: a server does not mask).
// Connections never negotiate compression (the Upgrader's default), so
// payloads go as they are.
func appendHeader(b []byte, op, n int) []byte {
	b = append(b, 0x80|byte(op))
	switch {
	case n < 126:
		return append(b, byte(n))
	case n <= 0xffff:
		return append(b, 126, byte(n>>8), byte(n))
	default:
		return binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
}

func appendFrame(b []byte, op int, payload []byte) []byte {
	return append(appendHeader(b, op, len(payload)), payload...)
}

// closePayload is a close frame's payload: the code, and the reason cut to
// fit a control frame (125 bytes) at a character's boundary.
func closePayload(code int, reason string) []byte {
	if len(reason) > 123 {
		reason = reason[:123]
		for !utf8.ValidString(reason) { // cut inside a character
			reason = reason[:len(reason)-1]
		}
	}
	return websocket.FormatCloseMessage(code, reason)
}
