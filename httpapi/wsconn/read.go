package wsconn

import (
	"encoding/binary"
	"time"

	"github.com/gorilla/websocket"
)

// Read reads until the connection ends, handing each message to onMessage
// (nil ignores them) on a goroutine of its own, one message at a time, in
// order; an error from it closes the connection with 1008 and the error's
// text as the reason, which the peer reads: say what to send instead.
// Read returns once the connection is closed.
//
// Waiting and reading are split: a goroutine's stack grows to the deepest
// call it has made and, in practice, never shrinks back (the runtime halves
// a stack only when under a quarter of it is in use), and gorilla's frame
// reader is deep enough to double a reader's stack from 2 to 4 KiB, for the
// life of the connection. So the calling goroutine only waits, shallow,
// for the peer to send (waitReadable, which respects the read deadline the
// pongs extend), and a short-lived goroutine reads and handles what came
// (BENCHMARKS.md, memory per idle watcher).
func (c *Conn) Read(onMessage func([]byte) error) {
	done := make(chan bool, 1)
	for c.br.Buffered() > 0 || waitReadable(c.raw) == nil {
		go func() { done <- c.readBuffered(onMessage) }()
		if !<-done {
			break
		}
	}
	c.finish()
}

// readBuffered reads what the peer sent: the control frames at its head
// itself (readControl), then messages through gorilla, handing each to
// onMessage, until nothing is left buffered; it reports whether the
// connection goes on.
func (c *Conn) readBuffered(onMessage func([]byte) error) bool {
	for {
		data, ok := c.readControl()
		if !ok {
			return false
		}
		if !data {
			return true
		}
		_, msg, err := c.ws.ReadMessage()
		if err != nil {
			return false
		}
		if onMessage != nil {
			if err := onMessage(msg); err != nil {
				c.Close(ClosePolicy, err.Error())
				return false
			}
		}
		if c.br.Buffered() == 0 {
			return true
		}
	}
}

// readControl reads the whole control frames at the head of what the peer
// sent (a pong every ping period, a ping, a close) and handles them as
// gorilla's handlers would. gorilla's reader, given a control frame, handles
// it and then waits inside, deep, for a data message, which a customer never
// sends: its goroutine would stay, grown, for the life of the connection
// (BENCHMARKS.md, memory per idle watcher). It reports whether a data frame
// (or anything else for gorilla to read, and refuse if it must) comes next,
// and whether the connection goes on; with neither, nothing is left.
func (c *Conn) readControl() (data, ok bool) {
	for {
		if c.br.Buffered() == 0 {
			if _, err := c.br.Peek(1); err != nil {
				return false, false
			}
		}
		hdr, err := c.br.Peek(2)
		if err != nil {
			return false, false
		}
		op, n := int(hdr[0]&0x0f), int(hdr[1]&0x7f)
		// A final, masked control frame with no reserved bits and a short
		// payload, as RFC 6455 (5.5) requires; anything else is gorilla's.
		if op < websocket.CloseMessage || hdr[0]&0xf0 != 0x80 || hdr[1]&0x80 == 0 || n > 125 {
			return true, true
		}
		frame, err := c.br.Peek(2 + 4 + n)
		if err != nil {
			return false, false
		}
		payload := make([]byte, n)
		for i := range payload {
			payload[i] = frame[6+i] ^ frame[2+i%4]
		}
		_, _ = c.br.Discard(len(frame))
		switch op {
		case websocket.PongMessage:
			_ = c.ws.SetReadDeadline(time.Now().Add(c.reg.cfg.PongWait))
		case websocket.PingMessage:
			c.mu.Lock()
			c.pong = payload
			c.mu.Unlock()
			c.kick()
		case websocket.CloseMessage:
			code := websocket.CloseNoStatusReceived
			if n >= 2 {
				code = int(binary.BigEndian.Uint16(payload))
			}
			c.Close(code, "")
			return false, false
		default:
			return true, true // an unknown control opcode: gorilla refuses it
		}
		if c.br.Buffered() == 0 {
			return false, true
		}
	}
}
