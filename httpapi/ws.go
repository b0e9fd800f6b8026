package httpapi

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"
	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/tracker"
)

// WebSocket timings and limits.
const (
	pongWait       = 60 * time.Second // a peer silent this long is gone
	pingPeriod     = 25 * time.Second // under pongWait, and under most proxies' idle timeout
	maxClientFrame = 64 << 10         // a device stream batch; viewers send far less
	// sendBuffer caps the kernel's send buffer per WebSocket. Linux would
	// let it grow to 4 MiB behind a peer that stopped reading; capped, a
	// stalled peer blocks our write within a few screens of updates and is
	// dropped after the write timeout.
	sendBuffer = 128 << 10
)

// WebSocket close codes.
const (
	closeGoingAway    = websocket.CloseGoingAway       // 1001: shutdown
	closePolicy       = websocket.ClosePolicyViolation // 1008: bad token
	closeUnauthorized = 4001
	closeSlowConsumer = 4008
)

// newUpgrader keeps buffers small (most connections idle) and lends write
// buffers from a pool only while writing (BENCHMARKS.md: memory per idle
// watcher). The Origin check is on: browsers may connect only from this
// server's own origin or its public URL; clients without an Origin header
// (phones, scripts) are not browsers and may connect.
func (s *Server) newUpgrader() *websocket.Upgrader {
	public, _ := url.Parse(s.cfg.PublicURL)
	return &websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   0, // the 512-byte reader upgrade's hijack lends (hijacker)
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin: func(r *http.Request) bool {
			origin := r.Header.Get("Origin")
			if origin == "" {
				return true
			}
			u, err := url.Parse(origin)
			if err != nil {
				return false
			}
			return strings.EqualFold(u.Host, r.Host) || (public != nil && public.Host != "" && strings.EqualFold(u.Host, public.Host))
		},
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(ErrorResponse{Error: ErrorBody{Code: enroute.EINVALID, Message: "WebSocket handshake refused: " + reason.Error()}})
		},
	}
}

// conns tracks open WebSockets so shutdown can close them with 1001:
// http.Server.Shutdown does not close hijacked connections. Each has the
// function that closes it (closeWith, or its viewer's, which takes the
// viewer's write lock first).
type conns struct {
	mu     sync.Mutex
	m      map[*websocket.Conn]func(code int, reason string)
	closed bool
}

func (cs *conns) add(c *websocket.Conn) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	if cs.m == nil {
		cs.m = map[*websocket.Conn]func(int, string){}
	}
	cs.m[c] = func(code int, reason string) { closeWith(c, code, reason) }
	return true
}

// closeBy makes f the function that closes c.
func (cs *conns) closeBy(c *websocket.Conn, f func(code int, reason string)) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, ok := cs.m[c]; ok {
		cs.m[c] = f
	}
}

func (s *Server) release(ws *websocket.Conn) {
	s.conns.remove(ws)
	s.ingestMetrics.wsOpen.Dec()
}

func (cs *conns) remove(c *websocket.Conn) {
	cs.mu.Lock()
	delete(cs.m, c)
	cs.mu.Unlock()
}

// spawn runs f on a connection goroutine counted in wg, unless shutdown
// has begun: Close waits on wg after closeAll, and a WaitGroup must not
// gain its first count while it is waited on (a board's handler detaching
// as Close began was a data race).
func (cs *conns) spawn(wg *sync.WaitGroup, f func()) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return false
	}
	wg.Go(f)
	return true
}

func (cs *conns) closeAll() {
	cs.mu.Lock()
	cs.closed = true
	all := make([]func(int, string), 0, len(cs.m))
	for _, f := range cs.m {
		all = append(all, f)
	}
	cs.mu.Unlock()
	// Together: a peer that stopped reading holds its close up to a second.
	var wg sync.WaitGroup
	for _, f := range all {
		wg.Go(func() { f(closeGoingAway, "server shutting down") })
	}
	wg.Wait()
}

// closeWith sends a close frame (concurrent-safe in gorilla, for the
// connections gorilla writes to: not viewers') and closes the socket,
// which also unblocks a writer stuck on a full connection.
func closeWith(c *websocket.Conn, code int, reason string) {
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	_ = c.Close()
}

// upgrade upgrades the request and registers the connection. It returns
// the connection's buffered reader too, which gorilla reads frames from
// (never nil when the upgrade succeeds): a viewer looks at what it holds
// before waiting for the socket.
func (s *Server) upgrade(c echo.Context) (*websocket.Conn, *bufio.Reader, error) {
	h := &hijacker{ResponseWriter: c.Response()}
	ws, err := s.upgrader.Upgrade(h, c.Request(), nil)
	if err != nil {
		return nil, nil, err // the upgrader has answered
	}
	if !s.conns.add(ws) {
		closeWith(ws, closeGoingAway, "server shutting down")
		return nil, nil, websocket.ErrCloseSent
	}
	s.ingestMetrics.wsOpen.Inc()
	if tc, ok := ws.NetConn().(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(sendBuffer)
	}
	ws.SetReadLimit(maxClientFrame)
	_ = ws.SetReadDeadline(time.Now().Add(pongWait))
	ws.SetPongHandler(func(string) error { return ws.SetReadDeadline(time.Now().Add(pongWait)) })
	return ws, h.br, nil
}

// readBuffer is a WebSocket's read buffer: what a viewer sends is small.
const readBuffer = 512

// hijacker hands gorilla a reader of readBuffer bytes in place of
// net/http's 4 KiB one, and keeps it: gorilla reads frames through the
// hijacked reader when it is over 256 bytes and ReadBufferSize is 0, and
// does not say how much it holds (viewer.read must know).
type hijacker struct {
	http.ResponseWriter
	br *bufio.Reader
}

func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("websocket: response does not implement http.Hijacker")
	}
	conn, brw, err := hj.Hijack()
	if err != nil || brw.Reader.Buffered() > 0 {
		return conn, brw, err // gorilla refuses data sent before the handshake
	}
	h.br = bufio.NewReaderSize(conn, readBuffer)
	brw.Reader = h.br
	return conn, brw, nil
}

// positionMsg is a live position on the wire.
type positionMsg struct {
	Type         string    `json:"type"`
	TechnicianID int64     `json:"technician_id"`
	TS           time.Time `json:"ts"`
	Lat          float64   `json:"lat"`
	Lng          float64   `json:"lng"`
	AccuracyM    float64   `json:"accuracy_m"`
	SpeedMPS     float64   `json:"speed_mps"`
	HeadingDeg   float64   `json:"heading_deg"`
}

// EncodePosition renders a live position message, as positionMsg would
// encode, without reflection: the hub encodes each fix once for all its
// watchers (tracker.HubConfig.Encode).
func EncodePosition(p *enroute.Position) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"type":"position","technician_id":`...)
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, `,"ts":"`...)
	b = p.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lat":`...)
	b = strconv.AppendFloat(b, p.Lat, 'f', -1, 64)
	b = append(b, `,"lng":`...)
	b = strconv.AppendFloat(b, p.Lng, 'f', -1, 64)
	b = append(b, `,"accuracy_m":`...)
	b = strconv.AppendFloat(b, p.AccuracyM, 'f', -1, 64)
	b = append(b, `,"speed_mps":`...)
	b = strconv.AppendFloat(b, p.SpeedMPS, 'f', -1, 64)
	b = append(b, `,"heading_deg":`...)
	b = strconv.AppendFloat(b, p.HeadingDeg, 'f', -1, 64)
	return append(b, '}')
}

func positionOf(p *enroute.Position) positionMsg {
	return positionMsg{Type: "position", TechnicianID: p.TechnicianID, TS: p.Time, Lat: p.Lat, Lng: p.Lng,
		AccuracyM: p.AccuracyM, SpeedMPS: p.SpeedMPS, HeadingDeg: p.HeadingDeg}
}

// progressMsg tells a customer the distance and ETA.
type progressMsg struct {
	Type string `json:"type"`
	*enroute.Progress
	ETAS float64 `json:"eta_s"`
}

// EncodeProgress renders a progress message once for all its watchers
// (tracker.HubConfig.EncodeProgress), as progressMsg would encode, without
// reflection (json.Marshal was 1.2% of the server at 5,000 estimates a
// second).
func EncodeProgress(p *enroute.Progress) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"type":"progress","assignment_id":`...)
	b = strconv.AppendInt(b, p.AssignmentID, 10)
	b = append(b, `,"technician_id":`...)
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, `,"distance_m":`...)
	b = strconv.AppendFloat(b, p.DistanceM, 'f', -1, 64)
	b = append(b, `,"eta":"`...)
	b = p.ETA.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","at":"`...)
	b = p.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","eta_s":`...)
	b = strconv.AppendFloat(b, etaSeconds(p), 'f', -1, 64)
	return append(b, '}')
}

// etaSeconds is the time left until the ETA, from now.
func etaSeconds(p *enroute.Progress) float64 {
	return max(0, time.Until(p.ETA).Seconds())
}

// statusMsg tells a watcher an assignment's new status.
type statusMsg struct {
	Type         string                   `json:"type"`
	AssignmentID int64                    `json:"assignment_id"`
	TechnicianID int64                    `json:"technician_id"`
	Status       enroute.AssignmentStatus `json:"status"`
	ArrivedAt    *time.Time               `json:"arrived_at,omitempty"` // once working
}

// viewer is a watcher's connection: a goroutine waiting for the peer to
// send, one reading what it sent that exists only while there is something
// to read, and a goroutine writing that exists only while there is
// something to write, so an idle connection holds one goroutine on a
// shallow stack (BENCHMARKS.md, memory per watcher). Pings come from a
// timer.
//
// Writing. One writer at a time has the turn (running): a customer's
// writes are made at once on the publisher's goroutine, in the hub's
// notify (writeNow), whenever the socket takes the frame without waiting,
// which saves waking a goroutine per fix (BENCHMARKS.md: the fix-to-watcher
// tail); otherwise, and for boards, which wait out their gap, a writing
// goroutine takes the turn. The viewer frames its messages itself and
// writes them to the socket, so that a write can stop short without
// blocking: wl is held by whoever writes a frame (the writer, pings,
// pongs, closes), from its first byte to its last, even when a goroutine
// finishes what writeNow began. gorilla writes nothing to a viewer's
// connection; its reader only reads.
type viewer struct {
	s       *Server
	ws      *websocket.Conn
	br      *bufio.Reader   // gorilla's reader of ws (upgrade)
	raw     syscall.RawConn // ws's socket: waits for the peer, writes that do not wait (nil: none)
	wl      wlock
	running atomic.Bool // a writer has the turn
	closed  atomic.Bool
	ping    *time.Timer
	// gap is the shortest time between two writes (boards' BoardFlush; 0
	// for customers, who get one technician's positions); lastWrite is
	// touched by the writer only.
	gap       time.Duration
	lastWrite time.Time
	// rest is what writeNow's frame the socket did not take: the writing
	// goroutine sends it first, holding wl since writeNow; restSince is
	// its oldest fix's acceptance.
	rest      []byte
	restSince time.Time
	// delays, for customers, times each frame's oldest fix from its
	// acceptance to its write (nil for boards, whose frames wait for
	// their gap by design).
	delays prometheus.Observer

	mu    sync.Mutex
	queue [][]byte     // frames to send before updates: snapshots
	sub   *tracker.Sub // the current subscription; changed under mu with queue
}

// wlock is a connection's write lock, a channel so that it can be tried
// and waited for a while.
type wlock chan struct{}

func (l wlock) lock()         { l <- struct{}{} }
func (l wlock) unlock()       { <-l }
func (l wlock) tryLock() bool { return l.lockWithin(0) }

// lockWithin takes the lock if it is free within d.
func (l wlock) lockWithin(d time.Duration) bool {
	select {
	case l <- struct{}{}:
		return true
	default:
	}
	if d <= 0 {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case l <- struct{}{}:
		return true
	case <-t.C:
		return false
	}
}

func (s *Server) newViewer(ws *websocket.Conn, br *bufio.Reader) *viewer {
	v := &viewer{s: s, ws: ws, br: br, raw: rawConnOf(ws.NetConn()), wl: make(wlock, 1)}
	// gorilla's handlers would answer pings and closes with writes of
	// their own, beside the viewer's.
	ws.SetPingHandler(func(data string) error {
		if v.send(websocket.PongMessage, []byte(data)) != nil {
			v.close()
		}
		return nil
	})
	ws.SetCloseHandler(func(code int, _ string) error {
		_ = v.send(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""))
		return nil
	})
	s.conns.closeBy(ws, func(code int, reason string) { v.closeWith(code, reason, time.Second) })
	v.ping = time.AfterFunc(pingPeriod, v.pinger)
	return v
}

func (v *viewer) pinger() {
	if v.closed.Load() {
		return
	}
	if v.send(websocket.PingMessage, nil) != nil {
		v.close()
		return
	}
	v.ping.Reset(pingPeriod)
}

// kick makes sure what is pending gets written. The hub calls it (via the
// subscription's notify) on the publisher's goroutine, with no locks
// held: it never waits for the peer. A board's writer runs most of the
// time (it waits out the board's gap), so running is read before it is
// swapped: a read leaves the cache line shared between the cores, where
// even a failing swap takes it for one core, and every position published
// is a kick for each board.
func (v *viewer) kick() {
	if v.closed.Load() || v.running.Load() || !v.running.CompareAndSwap(false, true) {
		return
	}
	if v.gap == 0 && v.raw != nil && v.writeNow() {
		return
	}
	if !v.s.conns.spawn(&v.s.wsWG, v.write) && v.rest != nil {
		v.rest = nil // shutting down: what writeNow began goes no further
		v.wl.unlock()
	}
}

// switchTo queues first (a snapshot) and makes sub the subscription, in one
// step, so the snapshot goes out before the new subscription's updates.
func (v *viewer) switchTo(sub *tracker.Sub, first any) error {
	b, err := json.Marshal(first)
	if err != nil {
		return err
	}
	v.mu.Lock()
	v.queue = append(v.queue, b)
	v.sub = sub
	v.mu.Unlock()
	v.kick()
	return nil
}

// writeNow is a write turn on the caller's goroutine: it takes what the
// subscription has pending and writes it as one frame, as far as the
// socket takes it at once. It reports whether the turn is over; false
// hands it to a writing goroutine: snapshots are queued, a control frame
// is being written, the socket took only part of the frame (v.rest holds
// the rest, and the goroutine inherits wl), or more came meanwhile.
func (v *viewer) writeNow() bool {
	if !v.wl.tryLock() {
		return false
	}
	v.mu.Lock()
	sub, snapshots := v.sub, len(v.queue) > 0
	v.mu.Unlock()
	if sub == nil || snapshots {
		v.wl.unlock()
		return false
	}
	bufs := getDrainBufs()
	defer putDrainBufs(bufs)
	bufs.ps, bufs.ev = sub.TakeInto(bufs.ps, bufs.ev)
	if len(bufs.ps) == 0 && len(bufs.ev) == 0 {
		v.wl.unlock()
		return v.endTurn()
	}
	frame := bufs.frame(websocket.TextMessage, bufs.updates())
	n, err := tryWrite(v.raw, frame)
	if err != nil {
		v.wl.unlock()
		v.close()
		return true // closed: the turn is never given back
	}
	if n < len(frame) {
		v.rest, v.restSince = append([]byte(nil), frame[n:]...), v.oldest(bufs.ps)
		v.s.ingestMetrics.deferred.Inc()
		return false
	}
	v.wl.unlock()
	v.written(v.oldest(bufs.ps))
	return v.endTurn()
}

// oldest returns the earliest acceptance among ps (zero for none), for a
// stream whose frames are timed: a board's hold thousands of positions,
// and nobody times them.
func (v *viewer) oldest(ps []tracker.Update) time.Time {
	var t time.Time
	if v.delays == nil {
		return t
	}
	for _, u := range ps {
		if u.Pos != nil && (t.IsZero() || u.Pos.ReceivedAt.Before(t)) {
			t = u.Pos.ReceivedAt
		}
	}
	return t
}

// written times a frame just written whose oldest fix was accepted at
// since (zero: not timed, see oldest).
func (v *viewer) written(since time.Time) {
	if !since.IsZero() {
		v.delays.Observe(time.Since(since).Seconds())
	}
}

// endTurn gives the turn back. It reports false when something came
// meanwhile and the turn was taken again, for a writing goroutine.
func (v *viewer) endTurn() bool {
	v.running.Store(false)
	return !v.pending() || !v.running.CompareAndSwap(false, true)
}

// write is a writing goroutine's turn: it finishes the frame writeNow
// began, drains, then exits; a notification that raced with its exit
// finds work pending and takes over again.
func (v *viewer) write() {
	if rest := v.rest; rest != nil {
		v.rest = nil
		err := v.writeAll(&net.Buffers{rest})
		v.wl.unlock()
		if err != nil {
			v.fail(err)
			return
		}
		v.written(v.restSince)
	}
	for {
		if err := v.drain(); err != nil {
			v.fail(err)
			return
		}
		if v.endTurn() {
			return
		}
	}
}

func (v *viewer) pending() bool {
	v.mu.Lock()
	q, sub := len(v.queue) > 0, v.sub
	v.mu.Unlock()
	return q || (sub != nil && sub.Pending())
}

// drainBufs are a write turn's buffers, pooled: a writer exists only while
// there is something to write, and holding them per connection would cost
// every idle watcher memory.
type drainBufs struct {
	ps   []tracker.Update
	ev   []tracker.Event
	msg  []byte // updates' message
	wire []byte // frame's: header and payload
}

var drainPool = sync.Pool{New: func() any { return new(drainBufs) }}

func getDrainBufs() *drainBufs { return drainPool.Get().(*drainBufs) }

func putDrainBufs(bufs *drainBufs) {
	clear(bufs.ps) // they point to positions' encodings
	clear(bufs.ev)
	bufs.ps, bufs.ev = bufs.ps[:0], bufs.ev[:0]
	drainPool.Put(bufs)
}

// frame returns payload as one WebSocket frame of type op (appendFrame),
// in bufs: writeNow's single system call takes it whole.
func (bufs *drainBufs) frame(op int, payload []byte) []byte {
	bufs.wire = appendFrame(bufs.wire[:0], op, payload)
	return bufs.wire
}

// maxHeader is the longest frame header a server writes.
const maxHeader = 10

// appendHeader appends the header of an unmasked, final frame of type op
// carrying n bytes (RFC 6455, section 5.2: a server does not mask).
// Viewers' connections never negotiate compression (newUpgrader), so
// their payloads go as they are.
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

// drain writes queued frames, then the subscription's updates (everything
// pending as one frame: one write per drain, BENCHMARKS.md) and events,
// until nothing is left. An error means the connection must go.
func (v *viewer) drain() error {
	bufs := getDrainBufs()
	defer putDrainBufs(bufs)
	for !v.closed.Load() {
		// With a gap, wait until it has passed since the last write: what
		// arrives meanwhile joins the frame.
		if v.gap > 0 {
			if d := v.gap - time.Since(v.lastWrite); d > 0 {
				time.Sleep(d)
			}
		}
		v.mu.Lock()
		q, sub := v.queue, v.sub
		v.queue = nil
		v.mu.Unlock()
		for _, b := range q {
			if err := v.send(websocket.TextMessage, b); err != nil {
				return err
			}
		}
		bufs.ps, bufs.ev = bufs.ps[:0], bufs.ev[:0]
		if sub != nil {
			bufs.ps, bufs.ev = sub.TakeInto(bufs.ps, bufs.ev)
		}
		if len(q) == 0 && len(bufs.ps) == 0 && len(bufs.ev) == 0 {
			return nil
		}
		if len(bufs.ps) > 0 || len(bufs.ev) > 0 {
			if err := v.send(websocket.TextMessage, bufs.updates()); err != nil {
				return err
			}
			v.lastWrite = time.Now()
			v.written(v.oldest(bufs.ps))
		}
	}
	return nil
}

// send writes payload as one frame of type op (text, or a ping, pong or
// close between the writer's), holding wl: the header and the payload in
// one system call, without copying the payload (a board's snapshot may
// hold thousands of positions).
func (v *viewer) send(op int, payload []byte) error {
	var h [maxHeader]byte
	bufs := net.Buffers{appendHeader(h[:0], op, len(payload)), payload}
	v.wl.lock()
	defer v.wl.unlock()
	return v.writeAll(&bufs)
}

// writeAll writes bufs, under wl, waiting at most the write timeout for
// the peer to take them. It leaves no deadline behind: tryWrite would take
// an expired one for a full socket.
func (v *viewer) writeAll(bufs *net.Buffers) error {
	c := v.ws.NetConn()
	_ = c.SetWriteDeadline(time.Now().Add(v.s.cfg.WSWriteTimeout))
	_, err := bufs.WriteTo(c)
	if err == nil {
		_ = c.SetWriteDeadline(time.Time{})
	}
	return err
}

// fail ends the connection after a failed write: a write blocked past its
// deadline marks a slow consumer. No close frame: the peer is not reading.
func (v *viewer) fail(err error) {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		v.s.ingestMetrics.evictions.Inc()
	}
	v.close()
}

// evict drops a peer that reads too slowly (close 4008). The hub calls it
// on the publisher's goroutine, which never waits: the close frame goes
// only if no write holds the connection and the socket takes it at once.
func (v *viewer) evict() {
	v.s.ingestMetrics.evictions.Inc()
	v.closeWith(closeSlowConsumer, "slow consumer", 0)
}

// closeWith sends a close frame, if the connection is free to write it
// within wait (with no wait: free, and the socket takes it at once), and
// closes it.
func (v *viewer) closeWith(code int, reason string, wait time.Duration) {
	deadline := time.Now().Add(wait)
	if v.wl.lockWithin(wait) {
		var b [2 + 125]byte
		frame := appendFrame(b[:0], websocket.CloseMessage, closePayload(code, reason))
		switch c := v.ws.NetConn(); {
		case wait > 0:
			_ = c.SetWriteDeadline(deadline)
			_, _ = c.Write(frame)
		case v.raw != nil:
			_, _ = tryWrite(v.raw, frame) // a part of it is as good as none: the socket closes
		}
		v.wl.unlock()
	}
	v.close()
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

// batchPrefix opens a message holding several: a drain's positions and
// events go out as one WebSocket message, one system call (the position
// and the progress it gave, for a customer), clients handle each inside.
const batchPrefix = `{"type":"batch","messages":[`

// updates encodes what a turn took as one message: the positions (one, or
// several in a "positions" message) and the events; several such messages
// are wrapped in a "batch".
func (bufs *drainBufs) updates() []byte {
	b := append(bufs.msg[:0], batchPrefix...)
	n := 0
	if len(bufs.ps) > 0 {
		b = appendPositions(b, bufs.ps)
		n++
	}
	for _, e := range bufs.ev {
		if n > 0 {
			b = append(b, ',')
		}
		n++
		switch {
		case e.Msg != nil:
			b = append(b, e.Msg...)
		case e.Progress != nil:
			b = append(b, EncodeProgress(e.Progress)...)
		default:
			m, _ := json.Marshal(statusMsg{Type: "status", AssignmentID: e.Assignment.ID, TechnicianID: e.Assignment.TechnicianID, Status: e.Assignment.Status, ArrivedAt: e.Assignment.WorkingAt})
			b = append(b, m...)
		}
	}
	bufs.msg = b
	if n == 1 {
		return b[len(batchPrefix):]
	}
	bufs.msg = append(b, "]}"...)
	return bufs.msg
}

func (v *viewer) close() {
	v.closed.Store(true)
	v.ping.Stop()
	_ = v.ws.Close() // unblocks the reader
}

// read reads until the connection ends (onMessage handles client
// messages; nil ignores them), then closes it.
//
// Waiting and reading are split: a goroutine's stack grows to the deepest
// call it has made and, in practice, never shrinks back (the runtime
// halves a stack only when under a quarter of it is in use), and
// gorilla's frame reader is deep enough to double a reader's stack from 2
// to 4 KiB, for the life of the connection. So this goroutine only waits,
// shallow, for the peer to send (waitReadable, which respects the read
// deadline the pongs extend), and a short-lived goroutine reads and
// handles what came while it waits (BENCHMARKS.md, memory per watcher).
func (v *viewer) read(onMessage func([]byte) error) {
	done := make(chan bool, 1)
	for v.br.Buffered() > 0 || waitReadable(v.raw) == nil {
		go func() { done <- v.readBuffered(onMessage) }()
		if !<-done {
			break
		}
	}
	v.close()
}

// readBuffered reads one message and then those already buffered, handing
// each to onMessage; it reports whether the connection goes on.
func (v *viewer) readBuffered(onMessage func([]byte) error) bool {
	for {
		_, msg, err := v.ws.ReadMessage()
		if err != nil {
			return false
		}
		if onMessage != nil {
			if err := onMessage(msg); err != nil {
				v.closeWith(closePolicy, enroute.ErrorMessage(err), time.Second)
				return false
			}
		}
		if v.br.Buffered() == 0 {
			return true
		}
	}
}

// appendPositions appends one position message, or
// {"type":"positions","positions":[...]} holding several, to b.
func appendPositions(b []byte, ps []tracker.Update) []byte {
	msg := func(u *tracker.Update) []byte {
		if u.Msg != nil {
			return u.Msg
		}
		return EncodePosition(u.Pos)
	}
	if len(ps) == 1 {
		return append(b, msg(&ps[0])...)
	}
	b = append(b, `{"type":"positions","positions":[`...)
	for i := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, msg(&ps[i])...)
	}
	return append(b, "]}"...)
}

// watchAssignment is the customer's live stream, /t/{token}/live: the
// assigned technician's positions while the assignment is dispatched, then
// a status event and no more positions. An unknown or expired token gets a
// policy close (1008).
func (s *Server) watchAssignment(c echo.Context) error {
	ctx := c.Request().Context()
	a, loc, lerr := s.trackedAssignment(ctx, c.Param("token"))
	ws, br, err := s.upgrade(c)
	if err != nil {
		return nil
	}
	if lerr != nil {
		closeWith(ws, closePolicy, "this link is no longer active")
		s.release(ws)
		return nil
	}
	v := s.newViewer(ws, br)
	v.delays = s.ingestMetrics.pushDelay
	// Subscribe before reading the snapshot, so no update falls between.
	sub := s.hub.SubscribeAssignment(a, loc.Verified, v.kick, v.evict)
	snap := map[string]any{"type": "snapshot", "assignment_id": a.ID, "status": a.Status}
	if a.WorkingAt != nil {
		snap["arrived_at"] = a.WorkingAt
	}
	if a.Status == enroute.StatusDispatched && loc.Verified {
		if p, ok := s.tracker.Live.Get(a.TechnicianID); ok {
			snap["position"] = positionOf(&p)
		}
	}
	_ = v.switchTo(sub, snap)
	s.detach(ws, func() {
		defer s.hub.Unsubscribe(sub)
		v.read(nil)
	})
	return nil
}

// trackedAssignment resolves a tracking token to its assignment and the
// job's location. Returns ENOTFOUND for an unknown or expired token.
func (s *Server) trackedAssignment(ctx context.Context, token string) (*enroute.Assignment, *enroute.Location, error) {
	link, err := s.store.FindTrackingLink(ctx, enroute.HashSecret(token))
	if err != nil {
		return nil, nil, err
	}
	a, err := s.store.FindAssignmentByID(ctx, link.AssignmentID)
	if err != nil {
		return nil, nil, err
	}
	job, err := s.store.FindJobByID(ctx, a.JobID)
	if err != nil {
		return nil, nil, err
	}
	loc, err := s.store.FindLocationByID(ctx, job.LocationID)
	if err != nil {
		return nil, nil, err
	}
	return a, loc, nil
}

// detach runs a connection on fresh goroutines and lets the handler return.
// The handler's goroutine grew its stack serving the request (echo, SQLite);
// an idle connection should not keep it (BENCHMARKS.md, memory per watcher).
func (s *Server) detach(ws *websocket.Conn, run func()) {
	if !s.conns.spawn(&s.wsWG, func() {
		defer s.release(ws)
		run()
	}) {
		s.release(ws) // shutting down: closeAll has closed it
	}
}

// viewMsg is a dispatcher's subscribe message: a viewport
// [minLat, minLng, maxLat, maxLng], or everything when bbox is absent.
type viewMsg struct {
	Type string    `json:"type"`
	BBox []float64 `json:"bbox"`
}

// watchBoard is the dispatcher's live stream, /api/v1/live: send
// {"type":"subscribe","bbox":[minLat,minLng,maxLat,maxLng]} (or no bbox
// for everything); the answer is a snapshot, then updates inside it. A new
// subscribe message replaces the viewport.
func (s *Server) watchBoard(c echo.Context) error {
	ws, br, err := s.upgrade(c)
	if err != nil {
		return nil
	}
	s.detach(ws, func() { s.board(ws, br) })
	return nil
}

// board reads a dispatcher's subscribe messages and serves them.
func (s *Server) board(ws *websocket.Conn, br *bufio.Reader) {
	v := s.newViewer(ws, br)
	v.gap = max(0, s.cfg.BoardFlush)
	var cur *tracker.Sub // touched by the reading goroutine only
	defer func() {
		if cur != nil {
			s.hub.Unsubscribe(cur)
		}
	}()
	v.read(func(msg []byte) error {
		box, err := decodeView(msg)
		if err != nil {
			return err
		}
		sub := s.hub.SubscribeView(box, v.kick, v.evict)
		if cur != nil {
			s.hub.Unsubscribe(cur)
		}
		cur = sub
		var snapshot []enroute.Position
		if box != nil {
			snapshot = s.tracker.Live.InBBox(*box, s.tracker.Config().MaxViewCells)
		} else {
			snapshot = s.tracker.Live.All()
		}
		msgs := make([]positionMsg, len(snapshot))
		inView := map[int64]bool{}
		for i := range snapshot {
			msgs[i] = positionOf(&snapshot[i])
			inView[snapshot[i].TechnicianID] = true
		}
		// The distance and ETA of assignments en route in view, so a board
		// opened mid-drive shows them at once.
		progress := []progressMsg{}
		if s.progress != nil {
			for _, p := range s.progress.AllProgress() {
				if inView[p.TechnicianID] {
					progress = append(progress, progressMsg{Type: "progress", Progress: p, ETAS: etaSeconds(p)})
				}
			}
		}
		return v.switchTo(sub, map[string]any{"type": "snapshot", "positions": msgs, "progress": progress})
	})
}

var errViewMsg = errorf(enroute.EINVALID, `Send {"type":"subscribe","bbox":[minLat,minLng,maxLat,maxLng]} or {"type":"subscribe"}.`)

// decodeView reads a dispatcher's subscribe message: the viewport it asks
// for, or nil for everything.
func decodeView(msg []byte) (*geo.BBox, error) {
	var m viewMsg
	if err := json.Unmarshal(msg, &m); err != nil || m.Type != "subscribe" || (m.BBox != nil && len(m.BBox) != 4) {
		return nil, errViewMsg
	}
	if m.BBox == nil {
		return nil, nil
	}
	b, err := geo.NewBBox(m.BBox[0], m.BBox[1], m.BBox[2], m.BBox[3])
	if err != nil {
		return nil, errorf(enroute.EINVALID, "The bbox %v: [minLat,minLng,maxLat,maxLng].", err)
	}
	return &b, nil
}

// deviceAck acknowledges one batch on the device stream, once its fixes
// are committed: the phone may then discard them.
type deviceAck struct {
	Type string `json:"type"`
	Seq  int64  `json:"seq"`
	*tracker.Result
	Error *ErrorBody `json:"error,omitempty"`
}

// streamBatch is a batch on the device stream: {"seq":n,"fixes":[...]}.
type streamBatch struct {
	Seq   int64           `json:"seq"`
	Fixes json.RawMessage `json:"fixes"`
}

// decodeBatch reads one batch of the device stream: its sequence number
// (0 when the message is not a batch at all) and its fixes.
func decodeBatch(msg []byte) (int64, []tracker.Item, error) {
	var b streamBatch
	if err := json.Unmarshal(msg, &b); err != nil || b.Fixes == nil {
		return 0, nil, errorf(enroute.EINVALID, `Send {"seq":n,"fixes":[...]}.`)
	}
	items, err := tracker.DecodeNative(b.Fixes)
	if err != nil {
		return b.Seq, nil, errorf(enroute.EINVALID, "%s", err.Error())
	}
	return b.Seq, items, nil
}

// deviceStream is /api/v1/devices/stream: a device sends batches
// {"seq":n,"fixes":[...]} continuously and gets {"type":"ack","seq":n,...}
// for each once its fixes are committed (or an error to resend it later).
// Batches are handled in order, one at a time.
func (s *Server) deviceStream(c echo.Context, dev *enroute.Device) error {
	ws, _, err := s.upgrade(c)
	if err != nil {
		return nil
	}
	s.detach(ws, func() { s.stream(ws, dev) })
	return nil
}

// stream reads a device's batches and acknowledges each once committed,
// until the device is revoked, given a new token or deleted: its streams
// are closed then, and a batch read meanwhile is not taken.
func (s *Server) stream(ws *websocket.Conn, dev *enroute.Device) {
	ctx := context.Background() // the request's context ends with the handler
	gone := s.streams.add(dev.ID, dev.TokenHash, ws)
	defer s.streams.remove(dev.ID, ws)
	// Keepalive from a timer: WriteControl may run beside the acks below.
	var ping *time.Timer
	ping = time.AfterFunc(pingPeriod, func() {
		if ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.cfg.WSWriteTimeout)) == nil {
			ping.Reset(pingPeriod)
		}
	})
	defer func() { ping.Stop(); ws.Close() }()
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil || gone.Load() {
			return
		}
		ack := deviceAck{Type: "ack"}
		seq, items, err := decodeBatch(msg)
		ack.Seq = seq
		if err != nil {
			ack.Error = &ErrorBody{Code: enroute.ErrorCode(err), Message: enroute.ErrorMessage(err)}
		} else {
			res, err := s.ingest(ctx, "stream", dev, items)
			if err != nil {
				ack.Error = &ErrorBody{Code: enroute.ErrorCode(err), Message: enroute.ErrorMessage(err)}
			} else {
				ack.Result = res
			}
		}
		_ = ws.SetWriteDeadline(time.Now().Add(s.cfg.WSWriteTimeout))
		if ws.WriteJSON(ack) != nil {
			return
		}
	}
}
