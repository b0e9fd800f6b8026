package wsconn

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// serve starts a server whose every connection is upgraded by a registry
// configured by cfg, with opts, and run by run (nil: Read(nil)); dial
// connects a client and returns it with the server's end.
type harness struct {
	t       testing.TB
	reg     *Registry
	srv     *httptest.Server
	conns   chan *Conn
	evicted prometheus.Counter
	open    prometheus.Gauge
}

func serve(t testing.TB, cfg Config, opts Options, run func(c *Conn)) *harness {
	t.Helper()
	h := &harness{t: t, conns: make(chan *Conn, 16),
		evicted: prometheus.NewCounter(prometheus.CounterOpts{Name: "evicted"}),
		open:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "open"})}
	cfg.Evictions, cfg.Open = h.evicted, h.open
	h.reg = NewRegistry(cfg)
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := h.reg.Upgrade(w, r, opts)
		if err != nil {
			return
		}
		h.reg.Go(c, func() {
			if run != nil {
				run(c)
			} else {
				c.Read(nil)
			}
		})
		h.conns <- c // after Go: a test that closes the registry then finds it counted
	}))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := h.reg.Close(ctx); err != nil {
			t.Errorf("registry close: %v", err)
		}
		h.srv.Close()
	})
	return h
}

func (h *harness) dial() (*websocket.Conn, *Conn) {
	h.t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http"), nil)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { ws.Close() })
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	select {
	case c := <-h.conns:
		return ws, c
	case <-time.After(10 * time.Second):
		h.t.Fatal("no connection on the server")
		return nil, nil
	}
}

// counter is a Source of numbered updates: Next gives what was added since
// the last one, comma-separated.
type counter struct {
	mu    sync.Mutex
	items []string
	nexts int
}

func (s *counter) add(v string) {
	s.mu.Lock()
	s.items = append(s.items, v)
	s.mu.Unlock()
}

func (s *counter) Next(b []byte) ([]byte, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) == 0 {
		return b, time.Time{}
	}
	s.nexts++
	b = append(b, strings.Join(s.items, ",")...)
	s.items = s.items[:0]
	return b, time.Now().Add(-time.Millisecond)
}

func (s *counter) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.items) > 0
}

func read(t *testing.T, ws *websocket.Conn) string {
	t.Helper()
	typ, msg, err := ws.ReadMessage()
	if err != nil || typ != websocket.TextMessage {
		t.Fatalf("read: type %d, %v", typ, err)
	}
	return string(msg)
}

// closeCode reads until the close frame, and returns its code and reason.
func closeCode(t *testing.T, ws *websocket.Conn) (int, string) {
	t.Helper()
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) {
				t.Fatalf("read ended with %v, not a close frame", err)
			}
			return ce.Code, ce.Text
		}
	}
}

// A snapshot queued with the source goes out before the source's updates,
// and every update notified from many goroutines at once arrives, in
// order per goroutine, with nothing written twice.
func TestSwitchThenUpdates(t *testing.T) {
	h := serve(t, Config{}, Options{Delays: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "d"})}, nil)
	ws, c := h.dial()
	src := &counter{}
	src.add("before")
	if err := c.Switch(src, []byte("snapshot")); err != nil {
		t.Fatal(err)
	}
	if got := read(t, ws); got != "snapshot" {
		t.Fatalf("first message %q, want the snapshot", got)
	}
	const writers, each = 8, 200
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				src.add(fmt.Sprintf("%d.%d", w, i))
				c.Notify()
			}
		})
	}
	last := map[string]int{}
	seen := 0
	for seen < writers*each+1 {
		for _, v := range strings.Split(read(t, ws), ",") {
			seen++
			if v == "before" {
				continue
			}
			w, i, _ := strings.Cut(v, ".")
			n, _ := strconv.Atoi(i)
			if p, ok := last[w]; ok && n != p+1 {
				t.Fatalf("writer %s: %d after %d", w, n, p)
			}
			last[w] = n
		}
	}
	wg.Wait()
	if seen != writers*each+1 {
		t.Fatalf("%d updates read, want %d", seen, writers*each+1)
	}
	// Idle again: no writer holds the turn.
	deadline := time.Now().Add(10 * time.Second)
	for c.running.Load() {
		if time.Now().After(deadline) {
			t.Fatal("a writer still has the turn with nothing to write")
		}
		time.Sleep(time.Millisecond)
	}
}

// Close sends the code and reason, after what was queued; later sends are
// refused, and the connection's context ends.
func TestClose(t *testing.T) {
	h := serve(t, Config{}, Options{}, nil)
	ws, c := h.dial()
	ctx := c.Context()
	_ = c.Send([]byte("last words"))
	c.Close(CloseUnauthorized, "token replaced")
	c.Close(ClosePolicy, "second close: ignored")
	if got := read(t, ws); got != "last words" {
		t.Fatalf("read %q before the close", got)
	}
	if code, reason := closeCode(t, ws); code != CloseUnauthorized || reason != "token replaced" {
		t.Fatalf("close %d %q", code, reason)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("connection not closed")
	}
	<-ctx.Done()
	if err := c.Send([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	if testutil.ToFloat64(h.evicted) != 0 {
		t.Fatal("a close counted as an eviction")
	}
}

// A board's writer waits out its spacing before it writes again,
// batching what comes meanwhile, and a Close ends the wait at once. The
// spacing is set here (an hour) rather than grown from a flow: a flow
// spaces writes by no more than the peer reads (TestAdaptiveGap has the
// law), and a loaded machine under the race detector outlasted the tens
// of milliseconds that gave.
func TestGapHoldsAndCloseWakes(t *testing.T) {
	h := serve(t, Config{}, Options{Gap: 2 * time.Hour}, nil)
	ws, c := h.dial()
	if c.running.Load() {
		t.Fatal("a write turn before the test's")
	}
	// No writer yet: the writer's fields are the test's until Switch.
	c.gap, c.lastSrc = time.Hour, time.Now()
	src := &counter{}
	src.add("1")
	_ = c.Switch(src, nil)
	for _, v := range []string{"2", "3"} {
		src.add(v)
		c.Notify()
	}
	// Time for a writer that did not wait to write (with the wait, none
	// would in an hour).
	time.Sleep(50 * time.Millisecond)
	c.Close(CloseGoingAway, "bye")
	if code, _ := closeCode(t, ws); code != CloseGoingAway {
		t.Fatalf("close %d: the gap held the close, or an update went first", code)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.nexts != 0 {
		t.Fatalf("source taken %d times within the spacing", src.nexts)
	}
}

// The spacing follows the square of the flow: 2,000 fixes a second (a
// position and its progress, about 360 bytes each) keep 0.4 ms, 10,000
// keep 10 ms, then linear (15,000: 15 ms), a trickle MinGap, a flood the Gap.
func TestAdaptiveGap(t *testing.T) {
	for _, tc := range []struct {
		perSecond int
		want      time.Duration
	}{{2000, 400 * time.Microsecond}, {5000, 2500 * time.Microsecond}, {10_000, 10 * time.Millisecond}, {15_000, 15 * time.Millisecond}, {10, MinGap}, {100_000, 25 * time.Millisecond}} {
		c := &Conn{opts: Options{Gap: 25 * time.Millisecond}, gap: MinGap}
		every := 5 * time.Millisecond
		for range 200 { // a steady flow: a write of what 5 ms brought, every 5 ms
			c.lastSrc = time.Now().Add(-every)
			c.adaptGap(tc.perSecond * 360 * int(every) / int(time.Second))
		}
		if c.gap < tc.want*9/10 || c.gap > tc.want*11/10 {
			t.Errorf("%d positions/s: spacing %v, want about %v", tc.perSecond, c.gap, tc.want)
		}
	}
}

// A flow of single fixes at random times (2,000 a second, as a board at
// 2,000 devices writes them) keeps about the steady flow's
// spacing: a short interval now and then does not stretch the next gaps.
func TestAdaptiveGapNoisy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	c := &Conn{opts: Options{Gap: 25 * time.Millisecond}, gap: MinGap}
	var sum time.Duration
	for i := range 4000 {
		c.lastSrc = time.Now().Add(-time.Duration(r.ExpFloat64() * float64(500*time.Microsecond)))
		c.adaptGap(360)
		if i >= 1000 {
			sum += c.gap
		}
	}
	if mean := sum / 3000; mean < 200*time.Microsecond || mean > 800*time.Microsecond {
		t.Fatalf("mean spacing %v, want about 400µs", mean)
	}
}

// A peer that stops reading is dropped: its write times out, or its queue
// fills, and it counts as an eviction either way.
func TestSlowConsumer(t *testing.T) {
	big := make([]byte, 1<<20)
	t.Run("write timeout", func(t *testing.T) {
		h := serve(t, Config{WriteTimeout: 200 * time.Millisecond, SendBuffer: 4096}, Options{}, nil)
		_, c := h.dial() // never reads
		for range 8 {
			if c.Send(big) != nil {
				break
			}
		}
		select {
		case <-c.Done():
		case <-time.After(10 * time.Second):
			t.Fatal("a peer that reads nothing is still connected")
		}
		if testutil.ToFloat64(h.evicted) != 1 {
			t.Fatalf("evictions = %v, want 1", testutil.ToFloat64(h.evicted))
		}
	})
	t.Run("queue full", func(t *testing.T) {
		h := serve(t, Config{WriteTimeout: time.Hour, SendBuffer: 4096, MaxQueue: 4}, Options{}, nil)
		ws, c := h.dial()
		var err error
		for range 100 {
			if err = c.Send(big); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrClosed) {
			t.Fatalf("send past the queue: %v", err)
		}
		if testutil.ToFloat64(h.evicted) != 1 {
			t.Fatalf("evictions = %v, want 1", testutil.ToFloat64(h.evicted))
		}
		// Read on: the message in progress, then 4008.
		for {
			typ, _, err := ws.ReadMessage()
			if err != nil {
				var ce *websocket.CloseError
				if !errors.As(err, &ce) || ce.Code != CloseSlowConsumer {
					t.Fatalf("ended with %v, want close %d", err, CloseSlowConsumer)
				}
				break
			}
			if typ != websocket.TextMessage {
				t.Fatalf("message of type %d", typ)
			}
		}
	})
}

// Pings go out on time; the peer's pings get pongs, and its close an echo.
func TestControlFrames(t *testing.T) {
	h := serve(t, Config{PingPeriod: 20 * time.Millisecond}, Options{}, nil)
	ws, _ := h.dial()
	pinged := make(chan struct{}, 1)
	ponged := make(chan string, 1)
	ws.SetPingHandler(func(string) error {
		select {
		case pinged <- struct{}{}:
		default:
		}
		return nil
	})
	ws.SetPongHandler(func(s string) error { ponged <- s; return nil })
	if err := ws.WriteControl(websocket.PingMessage, []byte("there?"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { _, _, _ = ws.ReadMessage() }() // control frames are handled inside reads
	for got := 0; got < 2; {
		select {
		case <-pinged:
			pinged = nil
			got++
		case s := <-ponged:
			if s != "there?" {
				t.Fatalf("pong %q", s)
			}
			got++
		case <-time.After(10 * time.Second):
			t.Fatal("no ping or no pong")
		}
	}
}

func TestPeerCloseEchoed(t *testing.T) {
	h := serve(t, Config{}, Options{}, nil)
	ws, c := h.dial()
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"), time.Now().Add(time.Second))
	if code, _ := closeCode(t, ws); code != websocket.CloseNormalClosure {
		t.Fatalf("echo %d", code)
	}
	select {
	case <-c.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not closed after the peer's close")
	}
}

// A message the handler refuses closes the connection with 1008 and the
// handler's words.
func TestReadRefused(t *testing.T) {
	var got []string
	h := serve(t, Config{}, Options{}, func(c *Conn) {
		c.Read(func(msg []byte) error {
			got = append(got, string(msg))
			if string(msg) == "bad" {
				return errors.New(`send "good"`)
			}
			return nil
		})
	})
	ws, c := h.dial()
	for _, m := range []string{"good", "good", "bad", "never read"} {
		_ = ws.WriteMessage(websocket.TextMessage, []byte(m))
	}
	if code, reason := closeCode(t, ws); code != ClosePolicy || reason != `send "good"` {
		t.Fatalf("close %d %q", code, reason)
	}
	<-c.Done()
	if len(got) != 3 {
		t.Fatalf("handled %q", got)
	}
}

// Closing the registry closes every connection with 1001, refuses new
// ones, and waits for their goroutines.
func TestRegistryClose(t *testing.T) {
	h := serve(t, Config{}, Options{}, nil)
	a, _ := h.dial()
	b, _ := h.dial()
	if n := h.reg.Len(); n != 2 || testutil.ToFloat64(h.open) != 2 {
		t.Fatalf("open %d (gauge %v), want 2", n, testutil.ToFloat64(h.open))
	}
	if err := h.reg.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []*websocket.Conn{a, b} {
		if code, _ := closeCode(t, ws); code != CloseGoingAway {
			t.Fatalf("close %d, want 1001", code)
		}
	}
	if n := h.reg.Len(); n != 0 || testutil.ToFloat64(h.open) != 0 {
		t.Fatalf("open after close %d (gauge %v)", n, testutil.ToFloat64(h.open))
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	if code, _ := closeCode(t, ws); code != CloseGoingAway {
		t.Fatalf("a connection after close got %d, want 1001", code)
	}
}

// latest is a Source holding only its newest message (positions are
// state: latest wins), as a hub subscription does per technician.
type latest struct {
	mu  sync.Mutex
	msg []byte
}

func (s *latest) put(b []byte) {
	s.mu.Lock()
	s.msg = b
	s.mu.Unlock()
}

func (s *latest) Next(b []byte) ([]byte, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b = append(b, s.msg...)
	s.msg = nil
	return b, time.Time{}
}

func (s *latest) Pending() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.msg != nil
}

// A customer's updates are offered to the socket on the notifier's
// goroutine; frames a slow reader's socket takes only part of are finished
// by a writer, whole and in order, and nothing is interleaved with them.
func TestNotifyHandsOffPartialFrames(t *testing.T) {
	h := serve(t, Config{SendBuffer: 4096}, Options{}, nil)
	waited := prometheus.NewCounter(prometheus.CounterOpts{Name: "waited"})
	h.reg.cfg.Waited = waited
	ws, c := h.dial()
	_ = ws.UnderlyingConn().(interface{ SetReadBuffer(int) error }).SetReadBuffer(4096)
	src := &latest{}
	if err := c.Switch(src, []byte("snapshot")); err != nil {
		t.Fatal(err)
	}
	const n = 300
	go func() {
		for i := 1; i <= n; i++ {
			b := []byte(fmt.Sprintf("%06d:", i))
			src.put(append(b, strings.Repeat(string(rune('a'+i%26)), 64<<10)...))
			c.Notify()
			time.Sleep(time.Millisecond)
		}
	}()
	if got := read(t, ws); got != "snapshot" {
		t.Fatalf("first %q", got)
	}
	last := 0
	for last < n {
		msg := read(t, ws)
		i, err := strconv.Atoi(msg[:6])
		if err != nil || i <= last {
			t.Fatalf("message %q... after %d", msg[:min(len(msg), 12)], last)
		}
		if want := strings.Repeat(string(rune('a'+i%26)), 64<<10); msg[7:] != want {
			t.Fatalf("message %d is not whole", i)
		}
		last = i
		time.Sleep(2 * time.Millisecond) // a slow reader: the socket fills
	}
	if testutil.ToFloat64(waited) == 0 {
		t.Fatal("no frame waited for the reader: the handoff was not exercised")
	}
}

// A write that waited for the peer leaves no deadline behind: once it
// would have passed, the next update is still offered, and taken, at once.
func TestNoDeadlineLeftBehind(t *testing.T) {
	h := serve(t, Config{SendBuffer: 4096, WriteTimeout: 2 * time.Second}, Options{}, nil)
	waited := prometheus.NewCounter(prometheus.CounterOpts{Name: "waited"})
	h.reg.cfg.Waited = waited
	ws, c := h.dial()
	src := &latest{}
	if err := c.Switch(src, make([]byte, 1<<20)); err != nil { // a snapshot larger than the socket takes at once
		t.Fatal(err)
	}
	if got := read(t, ws); len(got) != 1<<20 {
		t.Fatalf("snapshot of %d bytes", len(got))
	}
	if testutil.ToFloat64(waited) == 0 {
		t.Fatal("the large snapshot did not wait for the reader")
	}
	time.Sleep(2100 * time.Millisecond) // past the deadline that write had
	before := testutil.ToFloat64(waited)
	src.put([]byte("small"))
	c.Notify()
	if got := read(t, ws); got != "small" {
		t.Fatalf("read %q", got)
	}
	if testutil.ToFloat64(waited) != before {
		t.Fatal("a small update waited: a deadline was left behind")
	}
}

// An idle connection whose peer answers pings keeps no reader: the pongs
// are read without gorilla, whose reader would handle one and then wait,
// grown, for a data message that a customer never sends.
func TestPongsLeaveNoReader(t *testing.T) {
	h := serve(t, Config{PingPeriod: 20 * time.Millisecond}, Options{}, nil)
	ws, _ := h.dial()
	var pings atomic.Int32
	ws.SetPingHandler(func(s string) error {
		pings.Add(1)
		return ws.WriteControl(websocket.PongMessage, []byte(s), time.Now().Add(time.Second))
	})
	go func() { _, _, _ = ws.ReadMessage() }() // answers pings inside
	readers := func() int {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "wsconn.(*Conn).readBuffered")
	}
	deadline := time.Now().Add(10 * time.Second)
	for pings.Load() < 3 || readers() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d pongs, %d goroutines still in readBuffered", pings.Load(), readers())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A customer's update written on the notifier's goroutine, taken whole by
// the socket (waited/op 0), allocates nothing on the server's side (the
// allocations reported are the test client's reads): a write was 7
// allocations, 168 bytes, before the writev's closure and the frame's
// buffers were kept off the heap.
func BenchmarkNotify(b *testing.B) {
	h := serve(b, Config{}, Options{}, nil)
	waited := prometheus.NewCounter(prometheus.CounterOpts{Name: "waited"})
	h.reg.cfg.Waited = waited
	ws, c := h.dial()
	src := &latest{}
	if err := c.Switch(src, nil); err != nil {
		b.Fatal(err)
	}
	go func() {
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	}()
	msg := []byte(strings.Repeat("p", 300))
	b.ReportAllocs()
	for b.Loop() {
		src.put(msg)
		c.Notify()
		for src.Pending() || c.running.Load() {
			runtime.Gosched()
		}
	}
	b.ReportMetric(testutil.ToFloat64(waited)/float64(b.N), "waited/op")
}
