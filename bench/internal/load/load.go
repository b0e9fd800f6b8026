// Package load is Enroute's load generator (bench/load is its command;
// bench/peers runs it beside Enroute's peers). It registers devices,
// replays real recorded drives (../shared/data: Chicago shuttles, Porto
// taxis) as those devices over the native batch API, the native stream or
// OsmAnd, while customer watchers and dispatcher boards are connected, and
// reports accepted fixes/s, fix-to-watcher latency (from the fix's own
// timestamp), server memory, and whether every accepted fix was stored.
//
// Throughput modes (batch, stream, osmand) send fixes as fast as Conns
// senders can, with timestamps on a virtual clock in the past (phones
// uploading what they recorded). Live mode sends each device's next fix
// every Interval with the current time, for latency.
//
// Concurrency: Run is one run at a time per Config; its goroutines end
// before it returns, but for the watchers' readers, which end as their
// sockets close. Latencies is safe for concurrent use.
package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Config is one run's load (bench/load's flags, which document each).
type Config struct {
	// URL is Enroute's API base URL; several nodes' comma-separated.
	URL, OsmAnd, Token string
	Data, Mode         string // the trace CSV; batch, stream, osmand, live, livestream or osmand-idle
	// SQLitePath or PGURL: the server's store, to count the fixes stored.
	SQLitePath, PGURL                       string
	Pprof                                   string // the server's pprof address, to collect garbage before memory readings
	Fleet                                   string // the set-up devices' file
	SetupOnly                               bool
	Devices, Batch, Conns, Watchers, Boards int
	TimedBoards                             int // -1: all
	PID                                     int // the server's, for its RSS and CPU
	// Duration is how long to send after Warmup; 0 with watchers or boards:
	// connect them, report their memory, and send nothing.
	Duration, Interval, Warmup, Sample time.Duration
	Timeline                           bool
	Profile                            io.Writer // the generator's CPU profile while sending
	Out                                io.Writer // the report; nil: os.Stdout
	// Nodes are the API base URLs of URL (several when Enroute runs on
	// several nodes); set by Run.
	Nodes []string
}

func (c Config) out() io.Writer {
	if c.Out == nil {
		return os.Stdout
	}
	return c.Out
}

// node is the i-th node, round robin: device i sends to node(i), and its
// customer watches on node(i+1), another node whenever there are several,
// so the latency measured crosses the bus.
func (c Config) node(i int) string { return c.Nodes[i%len(c.Nodes)] }

// Result is what a run measured: counts, CPU and latencies of the measured
// time (after the warm-up), and the idle connections' memory.
type Result struct {
	Elapsed                          time.Duration
	Sent, Accepted, Rejected, Errors int64
	ServerCPU, GeneratorCPU          float64 // CPU seconds used while sending
	PeakRSSKiB                       int64
	// Watchers and Boards are the fix-to-receiver latencies of every
	// position received while measuring (untimed boards' not).
	Watchers, Boards *Latencies
	// The watchers and boards connected before sending, and the server's
	// growth per connection: RSS, and Go heap and stacks (after a garbage
	// collection when Pprof is set). OsmAnd's idle connections in
	// osmand-idle mode.
	IdleConns             int
	IdleRSSKiB, IdleGoKiB float64
}

// Run sets up the fleet (or reads c.Fleet), connects the watchers and
// boards, sends c.Mode's load, writes its report to c.Out, and checks
// that every accepted fix was stored (an error when not).
func Run(c Config) (Result, error) {
	c.Nodes = strings.Split(c.URL, ",")
	c.URL = c.Nodes[0]
	w := c.out()
	res := Result{Watchers: new(Latencies), Boards: new(Latencies)}
	trips, err := ReadTrips(c.Data)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	devs, known, err := readFleet(c.Fleet, trips)
	if err != nil {
		return res, err
	}
	if !known {
		if devs, err = Setup(c, trips); err != nil {
			return res, err
		}
		fmt.Fprintf(w, "setup: %d devices, %d watchers in %v (%d trips from %s)\n", len(devs), min(c.Watchers, len(devs)), time.Since(t0).Round(time.Millisecond), len(trips), c.Data)
		if err := writeFleet(c.Fleet, devs); err != nil {
			return res, err
		}
	} else {
		fmt.Fprintf(w, "fleet: %d devices, %d watchers from %s\n", len(devs), min(c.Watchers, len(devs)), c.Fleet)
	}
	if c.SetupOnly {
		return res, nil
	}

	if c.Mode == "osmand-idle" {
		return idleOsmAnd(c, devs)
	}
	watchers, boards := res.Watchers, res.Boards
	var measuring atomic.Bool
	h0, s0 := goHeapStacks(c)
	rss0, heap0 := RSSKiB(c.PID), h0+s0
	conns, err := connect(c, devs, watchers, boards, &measuring)
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
	}()
	if err != nil {
		return res, err
	}
	if len(conns) > 0 {
		time.Sleep(2 * time.Second) // let snapshots drain and the server settle
		h1, s1 := goHeapStacks(c)
		rss1, heap1 := RSSKiB(c.PID), h1+s1
		n := float64(len(conns))
		res.IdleConns, res.IdleRSSKiB, res.IdleGoKiB = len(conns), float64(rss1-rss0)/n, float64(heap1-heap0)/1024/n
		fmt.Fprintf(w, "idle connections: %d; server RSS %d -> %d KiB (%.1f KiB each); Go heap+stacks %.1f KiB each (heap %.1f, stacks %.1f)\n",
			len(conns), rss0, rss1, res.IdleRSSKiB, res.IdleGoKiB, float64(h1-h0)/1024/n, float64(s1-s0)/1024/n)
		if c.Duration == 0 {
			return res, nil
		}
	}

	var accepted, rejected, sent, errs atomic.Int64
	var peakRSS atomic.Int64
	var streams []*websocket.Conn // the devices' own streams, when they send on them
	if c.Mode == "stream" || c.Mode == "livestream" {
		if streams, err = dialStreams(c, devs); err != nil {
			return res, err
		}
		defer func() {
			for _, s := range streams {
				s.Close()
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Warmup+c.Duration)
	defer cancel()
	// The measured time starts after the warm-up: counts, CPU, latencies and
	// the profile are the steady state's; the stored check counts all.
	var (
		start time.Time
		base  struct {
			accepted, rejected, sent, errs int64
			cpuServer, cpuGen              float64
			sched                          schedWaits
			push                           pushDelays
		}
		began = make(chan struct{})
	)
	begin := func() {
		base.accepted, base.rejected, base.sent, base.errs = accepted.Load(), rejected.Load(), sent.Load(), errs.Load()
		base.cpuServer, base.cpuGen = CPUSeconds(c.PID), CPUSeconds(0)
		base.sched, base.push = readSchedWaits(), readPushDelays(c)
		start = time.Now()
		if c.Timeline {
			watchers.start, boards.start = start, start
		}
		if c.Profile != nil {
			pprof.StartCPUProfile(c.Profile)
		}
		peakRSS.Store(0)
		measuring.Store(true)
		close(began)
	}
	if c.Warmup > 0 {
		time.AfterFunc(c.Warmup, begin)
	} else {
		begin()
	}
	go func() {
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if r := RSSKiB(c.PID); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
			}
		}
	}()
	var soak chan []soakSample
	if c.Sample > 0 {
		soak = make(chan []soakSample, 1)
		go func() { <-began; soak <- sampleServer(ctx, c, start) }()
	}
	switch c.Mode {
	case "batch", "osmand":
		err = throughputHTTP(ctx, c, devs, &accepted, &rejected, &sent, &errs)
	case "stream":
		err = throughputStream(ctx, c, devs, streams, &accepted, &rejected, &sent, &errs)
	case "live":
		err = live(ctx, c, devs, &accepted, &rejected, &sent, &errs)
	case "livestream":
		err = liveStream(ctx, c, devs, streams, &accepted, &rejected, &sent, &errs)
	default:
		err = fmt.Errorf("unknown -mode %q", c.Mode)
	}
	<-began
	elapsed := time.Since(start)
	cpuServer, cpuGen := CPUSeconds(c.PID)-base.cpuServer, CPUSeconds(0)-base.cpuGen
	sched := readSchedWaits()
	if c.Profile != nil {
		pprof.StopCPUProfile()
	}
	time.Sleep(500 * time.Millisecond) // the last updates reach the watchers
	push := readPushDelays(c)
	measuring.Store(false)
	if err != nil {
		return res, err
	}
	if c.Warmup > 0 {
		fmt.Fprintf(w, "after a warm-up of %v (sent %d, not measured):\n", c.Warmup, base.sent)
	}
	measured := accepted.Load() - base.accepted
	res.Elapsed, res.ServerCPU, res.GeneratorCPU, res.PeakRSSKiB = elapsed, cpuServer, cpuGen, peakRSS.Load()
	res.Sent, res.Accepted, res.Rejected, res.Errors = sent.Load()-base.sent, measured, rejected.Load()-base.rejected, errs.Load()-base.errs
	fmt.Fprintf(w, "mode %s: %d fixes sent in %v: %d accepted (%.0f/s), %d rejected, %d request errors\n",
		c.Mode, sent.Load()-base.sent, elapsed.Round(time.Millisecond), measured, float64(measured)/elapsed.Seconds(), rejected.Load()-base.rejected, errs.Load()-base.errs)
	if c.PID != 0 {
		fmt.Fprintf(w, "server RSS peak %d KiB; CPU while sending: server %.2f cores, generator %.2f cores\n",
			peakRSS.Load(), cpuServer/elapsed.Seconds(), cpuGen/elapsed.Seconds())
	}
	watchers.report(w, "watchers")
	boards.report(w, "boards")
	push.report(w, base.push)
	sched.report(w, base.sched)
	if c.Timeline {
		watchers.timeline(w, "watchers")
	}
	if soak != nil {
		reportSoak(w, <-soak)
	}
	return res, checkStored(c, accepted.Load())
}

// idleOsmAnd is -mode osmand-idle: every device opens a connection to the
// OsmAnd listener, sends one fix on it as Traccar Client does and keeps it
// open, as the app does between fixes; it reports the server's memory per
// idle connection.
func idleOsmAnd(c Config, devs []*Device) (Result, error) {
	var res Result
	h0, s0 := goHeapStacks(c)
	rss0, heap0 := RSSKiB(c.PID), h0+s0
	u, err := url.Parse(c.OsmAnd)
	if err != nil {
		return res, err
	}
	conns := make([]net.Conn, 0, len(devs))
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	for _, d := range devs {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			return res, err
		}
		conns = append(conns, conn)
		p, ts := d.Step(true)
		fmt.Fprintf(conn, "POST /?id=%s&timestamp=%d&lat=%.6f&lon=%.6f&speed=18.5&bearing=90&accuracy=8&batt=80 HTTP/1.1\r\nHost: %s\r\nUser-Agent: Traccar Client\r\nContent-Length: 0\r\n\r\n",
			d.ident, ts.Unix(), p.Lat, p.Lng, u.Host)
		answer, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return res, err
		}
		io.Copy(io.Discard, answer.Body)
		answer.Body.Close()
		if answer.StatusCode != http.StatusOK || answer.Close {
			return res, fmt.Errorf("osmand: %s (connection close: %v)", answer.Status, answer.Close)
		}
	}
	time.Sleep(2 * time.Second) // let the server settle
	h1, s1 := goHeapStacks(c)
	rss1, heap1 := RSSKiB(c.PID), h1+s1
	n := float64(len(conns))
	res.IdleConns, res.IdleRSSKiB, res.IdleGoKiB = len(conns), float64(rss1-rss0)/n, float64(heap1-heap0)/1024/n
	fmt.Fprintf(c.out(), "idle OsmAnd connections: %d; server RSS %d -> %d KiB (%.1f KiB each); Go heap+stacks %.1f KiB each (heap %.1f, stacks %.1f)\n",
		len(conns), rss0, rss1, res.IdleRSSKiB, res.IdleGoKiB, float64(h1-h0)/1024/n, float64(s1-s0)/1024/n)
	return res, checkStored(c, int64(len(conns)))
}
