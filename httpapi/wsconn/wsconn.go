// Package wsconn is Enroute's WebSocket transport, under the endpoints of
// httpapi: it upgrades requests, keeps the set of open connections (to
// close them with 1001 at shutdown: http.Server does not close hijacked
// connections), and gives each connection one way of writing, the model
// being centrifuge's writer: what is to be sent waits in the connection
// (a bounded queue of messages, and a Source of updates such as a hub
// subscription that coalesces them), and one writing goroutine, started
// when there is something to write and gone when it is written, sends it.
// A peer that lets the queue fill, or does not take a write within the
// write timeout, is dropped as a slow consumer (4008).
//
// Concurrency: each connection's writes, every frame of them (messages,
// pings, pongs and the close), are made by whoever holds its write turn,
// one at a time: its writing goroutine, or, for a connection without a
// gap, the publisher's goroutine in Notify when the socket takes the
// frame at once (see Notify for why, and the one handoff). Send, Switch,
// Notify, Evict and Close may be called from any goroutine and never wait
// for the peer. Read is called once, by the goroutine that runs the
// connection (Registry.Go), and is the only reader. An idle connection
// holds one goroutine, a shallow one waiting for the peer (Read), and no
// buffers (BENCHMARKS.md, memory per idle watcher).
package wsconn

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Close codes the server sends.
const (
	CloseGoingAway    = websocket.CloseGoingAway       // 1001: shutdown
	ClosePolicy       = websocket.ClosePolicyViolation // 1008: a message refused, a bad token
	CloseUnauthorized = 4001                           // credentials no longer good
	CloseSlowConsumer = 4008                           // the peer reads too slowly
)

// Config configures a Registry's connections. Zero values mean the
// defaults.
type Config struct {
	// WriteTimeout bounds one write: a peer that takes nothing for this
	// long is dropped as a slow consumer. Default 5 s.
	WriteTimeout time.Duration
	// PingPeriod is how often a connection is pinged; PongWait how long
	// a silent peer is kept. Defaults 25 s (under most proxies' idle
	// timeout) and 60 s.
	PingPeriod, PongWait time.Duration
	// ReadLimit bounds a message from the peer; default 64 KiB (a device
	// stream's batch; viewers send far less).
	ReadLimit int64
	// SendBuffer caps the kernel's send buffer per connection; default 128
	// KiB. Linux would let it grow to 4 MiB behind a peer that stopped
	// reading; capped, a stalled peer blocks a write within a few screens
	// of updates and is dropped after WriteTimeout.
	SendBuffer int
	// MaxQueue bounds the messages waiting to be written (Send, Switch);
	// a peer that lets more wait is dropped as a slow consumer. Default 64.
	// A Source's updates are not counted: its owner bounds them.
	MaxQueue int
	// CheckOrigin reports whether a browser's Origin may connect; nil
	// refuses every request with an Origin header.
	CheckOrigin func(r *http.Request) bool
	// Refuse answers a refused handshake; nil: a plain-text error.
	Refuse func(w http.ResponseWriter, r *http.Request, status int, reason error)
	// Open counts the open connections, Evictions the peers dropped for
	// reading too slowly, Waited the frames the socket did not take at
	// once (a peer reading slowly: the write waited for it); any may be
	// nil.
	Open      prometheus.Gauge
	Evictions prometheus.Counter
	Waited    prometheus.Counter
}

func (cfg *Config) defaults() {
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = 5 * time.Second
	}
	if cfg.PingPeriod <= 0 {
		cfg.PingPeriod = 25 * time.Second
	}
	if cfg.PongWait <= 0 {
		cfg.PongWait = 60 * time.Second
	}
	if cfg.ReadLimit <= 0 {
		cfg.ReadLimit = 64 << 10
	}
	if cfg.SendBuffer <= 0 {
		cfg.SendBuffer = 128 << 10
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 64
	}
	if cfg.CheckOrigin == nil {
		cfg.CheckOrigin = func(r *http.Request) bool { return r.Header.Get("Origin") == "" }
	}
}

// closeWait is how long a close frame may take to go out: a peer that
// stopped reading is closed without it after this.
const closeWait = time.Second

// ErrClosed is returned for a connection that is closing or closed, and
// by Upgrade once the registry is closing.
var ErrClosed = errors.New("websocket: connection closed")

// Registry upgrades connections and keeps those open.
//
// Concurrency: safe for concurrent use.
type Registry struct {
	cfg      Config
	upgrader websocket.Upgrader
	ctx      context.Context // ends at Close: connections' Context
	cancel   context.CancelFunc

	mu     sync.Mutex
	conns  map[*Conn]struct{}
	state  state
	wg     sync.WaitGroup // connections' goroutines: Go's and writers
	closed chan struct{}  // closed once closeAll is over: wg gains no count after
}

type state int8

const (
	open    state = iota
	closing       // no new connections; the open ones write their close
	closed        // no goroutine starts
)

// NewRegistry returns a registry of connections configured by cfg.
func NewRegistry(cfg Config) *Registry {
	cfg.defaults()
	r := &Registry{cfg: cfg, conns: map[*Conn]struct{}{}, closed: make(chan struct{})}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	// Small buffers: most connections idle. Reads go through the 512-byte
	// reader the hijacker lends; gorilla writes nothing but the handshake
	// (Conn frames its own writes), so its write buffers are pooled.
	r.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   0,
		WriteBufferSize:  1024,
		WriteBufferPool:  &sync.Pool{},
		CheckOrigin:      cfg.CheckOrigin,
		Error:            cfg.Refuse,
	}
	return r
}

// Upgrade upgrades the request to a WebSocket and registers it. On an
// error the client has had its answer. Every connection upgraded must
// then be run by Go.
func (r *Registry) Upgrade(w http.ResponseWriter, req *http.Request, opts Options) (*Conn, error) {
	h := &hijacker{ResponseWriter: w}
	ws, err := r.upgrader.Upgrade(h, req, nil)
	if err != nil {
		return nil, err // the upgrader has answered
	}
	if tc, ok := ws.NetConn().(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(r.cfg.SendBuffer)
	}
	c := newConn(r, ws, h.br, opts)
	r.mu.Lock()
	ok := r.state == open
	if ok {
		r.conns[c] = struct{}{}
	}
	r.mu.Unlock()
	if !ok {
		c.closeNow(CloseGoingAway, "server shutting down")
		return nil, ErrClosed
	}
	if r.cfg.Open != nil {
		r.cfg.Open.Inc()
	}
	return c, nil
}

// Go runs c's life, run (nil: none, for a connection only closed), on a
// fresh goroutine, and lets the caller return: the handler's goroutine
// grew its stack serving the request (echo, SQLite), and an idle
// connection should not keep it (BENCHMARKS.md, memory per idle watcher).
// When run returns, c is closed (its close frame, if one was asked for,
// written first) and forgotten. Once the registry is closed, run runs on
// the caller's goroutine, on a connection already closed.
func (r *Registry) Go(c *Conn, run func()) {
	life := func() {
		defer r.forget(c)
		if run != nil {
			run()
		}
		c.finish()
	}
	if !r.spawn(life) {
		life()
	}
}

func (r *Registry) forget(c *Conn) {
	r.mu.Lock()
	_, ok := r.conns[c]
	delete(r.conns, c)
	r.mu.Unlock()
	if ok && r.cfg.Open != nil {
		r.cfg.Open.Dec()
	}
}

// spawn runs f on a goroutine counted in wg, unless the registry is
// closed: Close waits on wg then, and a WaitGroup must not gain its first
// count while it is waited on.
func (r *Registry) spawn(f func()) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.state == closed {
		return false
	}
	r.wg.Go(f)
	return true
}

// Len returns the number of open connections.
func (r *Registry) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.conns)
}

// Close closes every connection with 1001, giving each up to a second to
// take its close frame (together: a peer that stopped reading holds only
// its own), then waits, until ctx ends, for their goroutines. Called
// again, it only waits.
func (r *Registry) Close(ctx context.Context) error {
	r.mu.Lock()
	again := r.state != open
	r.state = max(r.state, closing)
	r.mu.Unlock()
	if !again {
		r.closeAll()
	}
	select { // a WaitGroup is waited on only once it can gain no count
	case <-r.closed:
	case <-ctx.Done():
		return ctx.Err()
	}
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeAll closes the connections open, and lets no goroutine start after.
func (r *Registry) closeAll() {
	r.mu.Lock()
	all := make([]*Conn, 0, len(r.conns))
	for c := range r.conns {
		all = append(all, c)
	}
	r.mu.Unlock()
	for _, c := range all {
		c.Close(CloseGoingAway, "server shutting down")
	}
	t := time.NewTimer(closeWait + 100*time.Millisecond)
	defer t.Stop()
wait:
	for _, c := range all {
		select {
		case <-c.done:
		case <-t.C:
			break wait
		}
	}
	for _, c := range all {
		c.shutdown()
	}
	r.mu.Lock()
	r.state = closed
	r.mu.Unlock()
	r.cancel()
	close(r.closed)
}

// readBuffer is a connection's read buffer: what a peer sends is small.
const readBuffer = 512

// hijacker hands gorilla a reader of readBuffer bytes in place of
// net/http's 4 KiB one, and keeps it: gorilla reads frames through the
// hijacked reader when it is over 256 bytes and ReadBufferSize is 0, and
// does not say how much it holds (Conn.Read must know).
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
