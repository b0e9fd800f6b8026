package wsconn

import (
	"bufio"
	"context"
	"errors"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// A Source holds updates a connection has yet to send, coalesced by its
// owner (a hub subscription: latest position per technician). Its owner
// calls the connection's Notify when it has some.
type Source interface {
	// Next appends everything pending, as one message, to b and returns
	// it (b unchanged: nothing pending), with the time the oldest update
	// in it was accepted (zero: not timed).
	Next(b []byte) ([]byte, time.Time)
	// Pending reports whether Next would return anything.
	Pending() bool
}

// Conn is one WebSocket connection. See the package doc for who may call
// what.
type Conn struct {
	reg  *Registry
	ws   *websocket.Conn
	br   *bufio.Reader   // gorilla's reader of ws (hijacker): Read looks at what it holds
	raw  syscall.RawConn // ws's socket, to wait for the peer without reading (nil: none)
	ping *time.Timer
	done chan struct{} // closed once the socket is
	once sync.Once

	// running is true while a writing goroutine has the turn; closing
	// once the socket is being closed (shutdown).
	running, closing atomic.Bool

	opts     Options
	woken    chan struct{} // with a gap: closed by Close, so a writer waiting out the gap stops
	gapTimer *time.Timer   // the writer's: waitGap's, made on first use (only a board waits)
	lastSrc  time.Time     // the writer's: when the source was last written
	gap      time.Duration // the writer's: the spacing its source's writes keep now (adaptGap)
	flow     float64       // the writer's: the source's bytes a second, smoothed (adaptGap)
	load     *busyGauge    // with a gap: the machine's load (busy); nil: the flow alone

	mu      sync.Mutex
	queue   [][]byte    // messages, in order, before the source's updates
	pingDue bool        // a ping is due
	pong    []byte      // the payload of the pong due (nil: none)
	closed  *closeFrame // once Close is called
	src     Source
	life    *life // Context's, made on first use
}

// closeFrame is the close a connection was asked for: its payload, and
// when it must have gone out.
type closeFrame struct {
	payload []byte
	by      time.Time
}

// life is a connection's context (Conn.Context), apart: only device
// streams ask for it, and an idle watcher should not pay for it.
type life struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Options are one connection's.
type Options struct {
	// Gap is the longest spacing between two writes of the source's
	// updates: what comes meanwhile joins the next message (a
	// dispatcher's board, which would otherwise take a write per
	// position). The spacing kept adapts to the source's flow, from
	// MinGap for a quiet one to Gap for a heavy one, and widens toward
	// Gap as the machine's cores fill up (adaptGap). Zero: none.
	Gap time.Duration
	// Delays, if not nil, times each source message from its oldest
	// update's acceptance to its write.
	Delays prometheus.Observer
}

func newConn(r *Registry, ws *websocket.Conn, br *bufio.Reader, opts Options) *Conn {
	c := &Conn{reg: r, ws: ws, br: br, raw: rawConnOf(ws.NetConn()), done: make(chan struct{}), opts: opts, gap: MinGap}
	if opts.Gap > 0 {
		c.woken = make(chan struct{})
		c.load = &busy
	}
	ws.SetReadLimit(r.cfg.ReadLimit)
	_ = ws.SetReadDeadline(time.Now().Add(r.cfg.PongWait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(r.cfg.PongWait)) })
	// gorilla's own handlers would write the pong and the close's echo
	// themselves, beside the writer.
	ws.SetPingHandler(func(data string) error {
		c.mu.Lock()
		c.pong = []byte(data)
		c.mu.Unlock()
		c.kick()
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		c.Close(code, "")
		return nil
	})
	c.ping = time.AfterFunc(r.cfg.PingPeriod, c.pinger)
	return c
}

func (c *Conn) pinger() {
	if c.closing.Load() {
		return
	}
	c.mu.Lock()
	c.pingDue = true
	c.mu.Unlock()
	c.kick()
	c.ping.Reset(c.reg.cfg.PingPeriod)
}

// Context returns a context that ends when the connection closes, or the
// registry does.
func (c *Conn) Context() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.life == nil {
		ctx, cancel := context.WithCancel(c.reg.ctx)
		c.life = &life{ctx, cancel}
		if c.closing.Load() {
			cancel()
		}
	}
	return c.life.ctx
}

// Send queues msg to be written as one text message. A peer that lets
// Config.MaxQueue messages wait is dropped as a slow consumer; Send then
// returns ErrClosed, as it does once the connection is closing.
func (c *Conn) Send(msg []byte) error { return c.Switch(nil, msg) }

// Switch queues first (a snapshot; nil: none) and makes src (nil: keep the
// current one) the connection's source, in one step: first goes out before
// src's updates.
func (c *Conn) Switch(src Source, first []byte) error {
	c.mu.Lock()
	if c.closed != nil || c.closing.Load() {
		c.mu.Unlock()
		return ErrClosed
	}
	full := len(c.queue) >= c.reg.cfg.MaxQueue
	if !full {
		if first != nil {
			c.queue = append(c.queue, first)
		}
		if src != nil {
			c.src = src
		}
	}
	c.mu.Unlock()
	if full {
		c.Evict()
		return ErrClosed
	}
	c.kick()
	return nil
}

// Notify tells the connection its source has updates. It never waits:
// the hub calls it on the publisher's goroutine.
//
// When no writer has the turn, a connection without a gap (a customer's)
// takes it here, on the publisher's goroutine, and offers the socket the
// source's message without waiting (writeNow): almost always the socket
// takes it whole and the turn ends here, with no goroutine woken. That is
// the one place a turn may move between goroutines: a frame the socket
// took only part of is handed, with the bytes left, to a writing goroutine
// started for it, which finishes the turn. Measured in one run, both
// builds alternating (BENCHMARKS.md, "the fix-to-watcher tail"), a writer
// goroutine for every update instead cost 13% more server CPU and 12% on
// the customers' p99 at 10,000 devices, watchers and 20 boards.
func (c *Conn) Notify() {
	if c.running.Load() || !c.running.CompareAndSwap(false, true) {
		return
	}
	if c.opts.Gap == 0 && c.raw != nil {
		c.writeNow()
		return
	}
	c.startWriter(nil)
}

// Evict drops a peer that reads too slowly, with 4008: what is queued is
// dropped, and the close goes as Close's. It never waits.
func (c *Conn) Evict() {
	c.mu.Lock()
	c.queue, c.src = nil, nil // the peer gets no more of them: only the close
	c.mu.Unlock()
	if c.closeWith(CloseSlowConsumer, "slow consumer") && c.reg.cfg.Evictions != nil {
		c.reg.cfg.Evictions.Inc()
	}
}

// Close closes the connection with code and reason: the writer sends what
// is queued and the close frame, within a second (a write in progress
// included), and closes the socket.
// It never waits, and only the first call counts.
func (c *Conn) Close(code int, reason string) {
	c.closeWith(code, reason)
}

// closeWith is Close, reporting whether this call was the first.
func (c *Conn) closeWith(code int, reason string) bool {
	c.mu.Lock()
	first := c.closed == nil && !c.closing.Load()
	var by time.Time
	if first {
		by = time.Now().Add(closeWait)
		c.closed = &closeFrame{payload: closePayload(code, reason), by: by}
	}
	c.mu.Unlock()
	if !first {
		return false
	}
	// A write in progress gets the close's deadline too.
	_ = c.ws.NetConn().SetWriteDeadline(by)
	if c.woken != nil {
		close(c.woken)
	}
	c.kick()
	return true
}

// Done is closed once the connection is.
func (c *Conn) Done() <-chan struct{} { return c.done }

// kick makes sure what is pending gets written: it starts a writing
// goroutine unless one has the turn. running is read before it is swapped:
// a board's writer runs most of the time (it waits out its gap) and every
// position published is a kick for each board; a read leaves the cache
// line shared between the cores, where even a failing swap takes it for
// one core.
func (c *Conn) kick() {
	if c.running.Load() || !c.running.CompareAndSwap(false, true) {
		return
	}
	c.startWriter(nil)
}

// startWriter starts a writing goroutine for the turn the caller holds,
// finishing rest first if not nil.
func (c *Conn) startWriter(rest *partial) {
	if c.closing.Load() || !c.reg.spawn(func() { c.write(rest) }) {
		c.running.Store(false)
		c.shutdown()
	}
}

// partial is what the socket did not take of a frame writeNow offered it,
// and when the frame's oldest update was accepted.
type partial struct {
	rest   []byte
	oldest time.Time
}

// writeNow is a write turn on the notifier's goroutine (Notify): when the
// source alone has something to send, it offers the socket the message
// without waiting. The turn ends here unless the socket took only part of
// the frame: a writer then gets the rest, and the turn.
func (c *Conn) writeNow() {
	c.mu.Lock()
	src, alone := c.src, len(c.queue) == 0 && !c.pingDue && c.pong == nil && c.closed == nil
	c.mu.Unlock()
	if src == nil || !alone || c.closing.Load() {
		c.startWriter(nil)
		return
	}
	buf := bufPool.Get().(*[]byte)
	defer putBuf(buf)
	msg, oldest := src.Next((*buf)[:0])
	*buf = msg
	if len(msg) == 0 {
		c.endTurn()
		return
	}
	var h [maxHeader]byte
	hdr := appendHeader(h[:0], websocket.TextMessage, len(msg))
	n, err := tryWrite(c.raw, hdr, msg)
	switch {
	case err != nil:
		c.fail(err)
	case n < len(hdr)+len(msg):
		if c.reg.cfg.Waited != nil {
			c.reg.cfg.Waited.Inc()
		}
		var rest []byte
		for _, b := range unwritten(hdr, msg, n) {
			rest = append(rest, b...)
		}
		c.startWriter(&partial{rest: rest, oldest: oldest})
	default:
		c.observe(oldest)
		c.endTurn()
	}
}

// endTurn gives the turn back, and takes it again for a writer if
// something came meanwhile.
func (c *Conn) endTurn() {
	c.running.Store(false)
	if c.pending() && c.running.CompareAndSwap(false, true) {
		c.startWriter(nil)
	}
}

// observe times a source message just written whose oldest update was
// accepted at oldest (zero: untimed).
func (c *Conn) observe(oldest time.Time) {
	if c.opts.Delays != nil && !oldest.IsZero() {
		c.opts.Delays.Observe(time.Since(oldest).Seconds())
	}
}

// shutdown closes the socket, which ends a read or a write in progress.
// It is idempotent.
func (c *Conn) shutdown() {
	c.once.Do(func() {
		c.closing.Store(true)
		c.ping.Stop()
		_ = c.ws.Close()
		c.mu.Lock()
		if c.life != nil {
			c.life.cancel()
		}
		c.src, c.queue = nil, nil // what they point to may go
		c.mu.Unlock()
		close(c.done)
	})
}

// finish ends the connection once its reading is over: a close asked for
// (by the server, or the echo of the peer's) is given its second to go out.
func (c *Conn) finish() {
	c.mu.Lock()
	closing := c.closed != nil
	c.mu.Unlock()
	if closing {
		t := time.NewTimer(closeWait)
		select {
		case <-c.done:
		case <-t.C:
		}
		t.Stop()
	}
	c.shutdown()
}

// closeNow writes a close frame on the caller's goroutine and closes the
// connection: for one that never got a writer (Upgrade, shutting down).
func (c *Conn) closeNow(code int, reason string) {
	_ = c.writeFrame(websocket.CloseMessage, closePayload(code, reason), time.Now().Add(closeWait))
	c.shutdown()
}

// errClosing ends a writer that wrote the close frame.
var errClosing = errors.New("close frame written")

// write is a writing goroutine's turn: it finishes the frame writeNow
// began (p, if not nil), writes until nothing is pending, then gives the
// turn back; a Notify that raced with its end finds work
// pending and takes the turn again.
func (c *Conn) write(p *partial) {
	if p != nil {
		conn := c.ws.NetConn()
		_ = conn.SetWriteDeadline(time.Now().Add(c.reg.cfg.WriteTimeout))
		if _, err := conn.Write(p.rest); err != nil {
			c.fail(err)
			return
		}
		_ = conn.SetWriteDeadline(time.Time{}) // see writeFrame
		c.observe(p.oldest)
	}
	buf := bufPool.Get().(*[]byte)
	defer putBuf(buf)
	for {
		if err := c.drain(buf); err != nil {
			c.fail(err)
			return
		}
		c.running.Store(false)
		if !c.pending() || !c.running.CompareAndSwap(false, true) {
			return
		}
	}
}

// bufPool holds writers' message buffers: a writer exists only while there
// is something to write, and a buffer per connection would cost every idle
// watcher memory.
var bufPool = sync.Pool{New: func() any { return new([]byte) }}

func putBuf(buf *[]byte) {
	*buf = (*buf)[:0]
	bufPool.Put(buf)
}

func (c *Conn) pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) > 0 || c.pingDue || c.pong != nil || c.closed != nil || (c.src != nil && c.src.Pending())
}

// drain writes, until nothing is left: the control frames due, the queued
// messages, then the close frame if one was asked for, or else the
// source's updates, everything pending as one message (one write).
func (c *Conn) drain(buf *[]byte) error {
	for !c.closing.Load() {
		if c.opts.Gap > 0 {
			c.waitGap()
		}
		c.mu.Lock()
		ping, pong, q, src, closed := c.pingDue, c.pong, c.queue, c.src, c.closed
		c.pingDue, c.pong, c.queue = false, nil, nil
		c.mu.Unlock()
		deadline := time.Now().Add(c.reg.cfg.WriteTimeout)
		if closed != nil {
			deadline = closed.by // what is left goes within the close's second, or not at all
		}
		if ping {
			if err := c.writeFrame(websocket.PingMessage, nil, deadline); err != nil {
				return err
			}
		}
		if pong != nil {
			if err := c.writeFrame(websocket.PongMessage, pong, deadline); err != nil {
				return err
			}
		}
		for _, m := range q {
			if err := c.writeFrame(websocket.TextMessage, m, deadline); err != nil {
				return err
			}
		}
		if closed != nil {
			_ = c.writeFrame(websocket.CloseMessage, closed.payload, deadline)
			return errClosing
		}
		wrote := ping || pong != nil || len(q) > 0
		if src != nil {
			msg, oldest := src.Next((*buf)[:0])
			*buf = msg
			if len(msg) > 0 {
				if err := c.writeFrame(websocket.TextMessage, msg, deadline); err != nil {
					return err
				}
				c.adaptGap(len(msg))
				c.observe(oldest)
				wrote = true
			}
		}
		if !wrote {
			return nil
		}
	}
	return errClosing
}

// MinGap is the spacing a board's writes keep when its source is quiet:
// an update then goes at once (the first after a pause) or within a
// tenth of a millisecond.
const MinGap = 100 * time.Microsecond

// The spacing grows with the square of the flow up to refFlow bytes a
// second, then with the flow: refGap at refFlow bytes
// a second (10,000 technicians' fixes a second, each a position and its
// progress, about 360 bytes: a write every 10 ms carrying a hundred), a
// 25th of it at a fifth of that flow (2,000 fixes a second: 0.4 ms,
// about one fix a write, as a customer's stream goes). A board's CPU is
// then that of a write per fix where fixes are few, and level past
// refFlow, where writes a second stay about 100 whatever the flow (until
// Options.Gap). A linear law (2 ms at 2,000 fixes) made a board's p50
// ten times a customer's there.
const (
	refGap  = 10 * time.Millisecond
	refFlow = 3.6e6
	// flowTau is how long the flow's estimate remembers: a few writes at
	// the widest spacing, so one burst does not stretch the next gaps.
	flowTau = 100 * time.Millisecond
)

// adaptGap records a write of n bytes of the source's and sets the
// spacing the next keeps from the flow (the bytes a second, an average
// of each write's over the time it covered, decaying over flowTau) and
// from the process's load (busy).
func (c *Conn) adaptGap(n int) {
	now := time.Now()
	if c.opts.Gap > 0 && !c.lastSrc.IsZero() {
		dt := now.Sub(c.lastSrc).Seconds()
		if dt > 0 {
			c.flow += (1 - math.Exp(-dt/flowTau.Seconds())) * (float64(n)/dt - c.flow)
		}
		r := c.flow / refFlow
		g := r * float64(refGap) // linear past refFlow: writes a second level
		if r < 1 {
			g *= r
		}
		// A busy machine widens it further: the writes a board saves
		// are CPU its customers' updates wait for (busy.go).
		var b time.Duration
		if c.load != nil {
			b = busyGap(c.load.load(now), c.opts.Gap)
		}
		c.gap = min(max(time.Duration(g), MinGap, b), c.opts.Gap)
	}
	c.lastSrc = now
}

// waitGap waits until the spacing kept has passed since the source was
// last written, or Close is called.
func (c *Conn) waitGap() {
	d := min(max(c.gap, MinGap), c.opts.Gap) - time.Since(c.lastSrc)
	if d <= 0 {
		return
	}
	// One timer for the connection's life, not one a wait: a board may
	// wait out its spacing a couple of thousand times a second, and a
	// timer a wait was 9% of the bytes the server allocated (5,000
	// devices, 5,000 customers, 20 boards). Since Go 1.23 a stopped
	// timer's channel holds nothing stale.
	if c.gapTimer == nil {
		c.gapTimer = time.NewTimer(d)
	} else {
		c.gapTimer.Reset(d)
	}
	select {
	case <-c.gapTimer.C:
	case <-c.woken:
		c.gapTimer.Stop()
	}
}

// writeFrame writes payload as one frame of type op, the header and the
// payload in one system call without copying the payload (a board's
// snapshot may hold thousands of positions), by deadline. Hand-framed
// rather than through gorilla's NextWriter, which copies through a write
// buffer of Upgrader.WriteBufferSize (1 KiB here, for idle connections'
// sake) and so would take a system call per KiB of a large message.
//
// The socket is offered the frame without waiting first: almost always it
// takes it whole, and no deadline need be set; a frame it does not take
// whole is counted (Config.Waited: a peer reading slowly), and the rest
// waits for the peer until deadline.
func (c *Conn) writeFrame(op int, payload []byte, deadline time.Time) error {
	var h [maxHeader]byte
	hdr := appendHeader(h[:0], op, len(payload))
	n := 0
	if c.raw != nil {
		var err error
		if n, err = tryWrite(c.raw, hdr, payload); err != nil {
			return err
		}
		if n == len(hdr)+len(payload) {
			return nil
		}
		if c.reg.cfg.Waited != nil {
			c.reg.cfg.Waited.Inc()
		}
	}
	conn := c.ws.NetConn()
	_ = conn.SetWriteDeadline(deadline)
	bufs := unwritten(hdr, payload, n)
	if _, err := bufs.WriteTo(conn); err != nil {
		return err
	}
	// No deadline left behind: once passed, it would fail every later
	// offer without waiting (tryWrite), as if the socket were full. A
	// Close meanwhile sets its own again before the next write.
	_ = conn.SetWriteDeadline(time.Time{})
	return nil
}

// unwritten is what is left of a frame, its header hdr and its payload,
// once n bytes of it are written: the header's rest copied (hdr may be on
// the caller's stack, and stays there), the payload's not.
func unwritten(hdr, payload []byte, n int) net.Buffers {
	if n < len(hdr) {
		return net.Buffers{append([]byte(nil), hdr[n:]...), payload}
	}
	return net.Buffers{payload[n-len(hdr):]}
}

// fail ends the connection after its writer stopped: a write blocked past
// its deadline marks a slow consumer, closed without a close frame (the
// peer is not reading).
func (c *Conn) fail(err error) {
	c.mu.Lock()
	closing := c.closed != nil || c.closing.Load()
	c.mu.Unlock()
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && !closing && c.reg.cfg.Evictions != nil {
		c.reg.cfg.Evictions.Inc()
	}
	c.running.Store(false)
	c.shutdown()
}
