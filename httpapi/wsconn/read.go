package wsconn

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

// readBuffered reads one message and then those already buffered, handing
// each to onMessage; it reports whether the connection goes on.
func (c *Conn) readBuffered(onMessage func([]byte) error) bool {
	for {
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
