// Command load is Enroute's load generator. It registers devices, replays
// real recorded drives (../shared/data: Chicago shuttles, Porto taxis) as
// those devices over the native batch API, the native stream or OsmAnd,
// while customer watchers and dispatcher boards are connected, and reports
// accepted fixes/s, fix-to-watcher latency (from the fix's own timestamp),
// server memory, and whether every accepted fix was stored.
//
// Throughput modes (batch, stream, osmand) send fixes as fast as -conns
// senders can, with timestamps on a virtual clock in the past (phones
// uploading what they recorded). Live mode sends each device's next fix
// every -interval with the current time, for latency.
//
//	go run ./bench/load -mode batch -devices 1000 -duration 20s -pid $(pgrep enroute) -sqlite data/enroute.db
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

type config struct {
	url, osmand, token, data, mode, sqlitePath, pgURL, pprof  string
	fleet                                                     string // -fleet: the set-up devices' file
	setupOnly                                                 bool
	devices, batch, conns, watchers, boards, timedBoards, pid int
	duration, interval, warmup, sample                        time.Duration
	timeline                                                  bool
	profile                                                   *os.File // -cpuprofile: the sending phase only
	// nodes are the API base URLs of -url (several, comma-separated, when
	// Enroute runs on several nodes); url is the first, for setup.
	nodes []string
}

// node is the i-th node, round robin: device i sends to node(i), and its
// customer watches on node(i+1), another node whenever there are several,
// so the latency measured crosses the bus.
func (c config) node(i int) string { return c.nodes[i%len(c.nodes)] }

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8080", "Enroute's API; several nodes' comma-separated (native devices and stream senders go round robin, each customer watches on the next node; OsmAnd uses -osmand)")
	flag.StringVar(&c.osmand, "osmand", "http://127.0.0.1:5055", "Enroute's OsmAnd listener")
	flag.StringVar(&c.token, "token", os.Getenv("ENROUTE_ADMIN_TOKEN"), "an admin API key (default $ENROUTE_ADMIN_TOKEN)")
	flag.StringVar(&c.data, "data", "../shared/data/chicago/chicago_points.csv", "trace CSV: trip_id,seq,t,lat,lon")
	flag.StringVar(&c.mode, "mode", "batch", "batch, stream, osmand, live (HTTP), livestream (each device on its stream) or osmand-idle (one kept OsmAnd connection per device, its memory)")
	flag.IntVar(&c.devices, "devices", 100, "devices to register and replay")
	flag.IntVar(&c.batch, "batch", 100, "fixes per request (batch, stream)")
	flag.IntVar(&c.conns, "conns", 16, "concurrent senders (throughput modes)")
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "how long to send")
	flag.DurationVar(&c.warmup, "warmup", 0, "send this long before measuring (live modes: the first seconds fill the server's caches)")
	flag.BoolVar(&c.timeline, "timeline", false, "live modes: also print the watchers' latency per second")
	flag.DurationVar(&c.sample, "sample", 0, "a soak test: read the server's RSS, Go heap, goroutines and WebSockets this often while measuring, and say whether they stayed flat; 0: off")
	flag.DurationVar(&c.interval, "interval", time.Second, "live mode: each device's fix period")
	flag.IntVar(&c.watchers, "watchers", 0, "customer watchers (one per device, up to -devices)")
	flag.IntVar(&c.boards, "boards", 0, "dispatcher boards watching everything")
	flag.IntVar(&c.timedBoards, "timed-boards", -1, "time the updates of only this many boards (the others read everything, untimed: every board gets the same updates, and timing them all was a seventh of the generator's CPU); -1: all")
	flag.IntVar(&c.pid, "pid", 0, "the server's pid, to read its RSS")
	flag.StringVar(&c.sqlitePath, "sqlite", "", "the server's SQLite file, to count stored fixes")
	flag.StringVar(&c.pgURL, "pg", "", "the server's PostgreSQL URL, to count stored fixes")
	flag.StringVar(&c.pprof, "pprof", "", "the server's pprof address (--pprof-addr), to collect garbage before measuring memory")
	flag.StringVar(&c.fleet, "fleet", "", "a file of set-up devices and watchers: read instead of setting up when it exists, else written after setup (a server restarted between two runs meets a fleet it knows: RESTART=1 bench/nodes.sh)")
	flag.BoolVar(&c.setupOnly, "setup-only", false, "set up (and write -fleet), then exit")
	cpuprofile := flag.String("cpuprofile", "", "write the generator's own CPU profile, while sending, here")
	gogc := flag.Int("gogc", 400, "the generator's own GOGC: it allocates per message read, and its garbage collection must not delay the reads it times")
	flag.Parse()
	debug.SetGCPercent(*gogc)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		c.profile = f
	}
	c.nodes = strings.Split(c.url, ",")
	c.url = c.nodes[0]
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	trips, err := loadTrips(c.data)
	if err != nil {
		return err
	}
	t0 := time.Now()
	devs, known, err := readFleet(c.fleet, trips)
	if err != nil {
		return err
	}
	if !known {
		if devs, err = setup(c, trips); err != nil {
			return err
		}
		fmt.Printf("setup: %d devices, %d watchers in %v (%d trips from %s)\n", len(devs), min(c.watchers, len(devs)), time.Since(t0).Round(time.Millisecond), len(trips), c.data)
		if err := writeFleet(c.fleet, devs); err != nil {
			return err
		}
	} else {
		fmt.Printf("fleet: %d devices, %d watchers from %s\n", len(devs), min(c.watchers, len(devs)), c.fleet)
	}
	if c.setupOnly {
		return nil
	}

	if c.mode == "osmand-idle" {
		return idleOsmAnd(c, devs)
	}
	var watchers, boards latencies
	var measuring atomic.Bool
	h0, s0 := goHeapStacks(c)
	rss0, heap0 := rssKiB(c.pid), h0+s0
	conns, err := connect(c, devs, &watchers, &boards, &measuring)
	if err != nil {
		return err
	}
	if len(conns) > 0 {
		time.Sleep(2 * time.Second) // let snapshots drain and the server settle
		h1, s1 := goHeapStacks(c)
		rss1, heap1 := rssKiB(c.pid), h1+s1
		n := float64(len(conns))
		fmt.Printf("idle connections: %d; server RSS %d -> %d KiB (%.1f KiB each); Go heap+stacks %.1f KiB each (heap %.1f, stacks %.1f)\n",
			len(conns), rss0, rss1, float64(rss1-rss0)/n, float64(heap1-heap0)/1024/n, float64(h1-h0)/1024/n, float64(s1-s0)/1024/n)
	}

	var accepted, rejected, sent, errs atomic.Int64
	var peakRSS atomic.Int64
	var streams []*websocket.Conn // the devices' own streams, when they send on them
	if c.mode == "stream" || c.mode == "livestream" {
		if streams, err = dialStreams(c, devs); err != nil {
			return err
		}
		defer func() {
			for _, s := range streams {
				s.Close()
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.warmup+c.duration)
	defer cancel()
	// The measured time starts after -warmup: counts, CPU, latencies and
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
		base.cpuServer, base.cpuGen = cpuSeconds(c.pid), cpuSeconds(0)
		base.sched, base.push = readSchedWaits(), readPushDelays(c)
		start = time.Now()
		if c.timeline {
			watchers.start, boards.start = start, start
		}
		if c.profile != nil {
			pprof.StartCPUProfile(c.profile)
		}
		peakRSS.Store(0)
		measuring.Store(true)
		close(began)
	}
	if c.warmup > 0 {
		time.AfterFunc(c.warmup, begin)
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
				if r := rssKiB(c.pid); r > peakRSS.Load() {
					peakRSS.Store(r)
				}
			}
		}
	}()
	var soak chan []soakSample
	if c.sample > 0 {
		soak = make(chan []soakSample, 1)
		go func() { <-began; soak <- sampleServer(ctx, c, start) }()
	}
	switch c.mode {
	case "batch", "osmand":
		err = throughputHTTP(ctx, c, devs, &accepted, &rejected, &sent, &errs)
	case "stream":
		err = throughputStream(ctx, c, devs, streams, &accepted, &rejected, &sent, &errs)
	case "live":
		err = live(ctx, c, devs, &accepted, &rejected, &sent, &errs)
	case "livestream":
		err = liveStream(ctx, c, devs, streams, &accepted, &rejected, &sent, &errs)
	default:
		err = fmt.Errorf("unknown -mode %q", c.mode)
	}
	<-began
	elapsed := time.Since(start)
	cpuServer, cpuGen := cpuSeconds(c.pid)-base.cpuServer, cpuSeconds(0)-base.cpuGen
	sched := readSchedWaits()
	if c.profile != nil {
		pprof.StopCPUProfile()
	}
	time.Sleep(500 * time.Millisecond) // the last updates reach the watchers
	push := readPushDelays(c)
	measuring.Store(false)
	if err != nil {
		return err
	}
	if c.warmup > 0 {
		fmt.Printf("after a warm-up of %v (sent %d, not measured):\n", c.warmup, base.sent)
	}
	measured := accepted.Load() - base.accepted
	fmt.Printf("mode %s: %d fixes sent in %v: %d accepted (%.0f/s), %d rejected, %d request errors\n",
		c.mode, sent.Load()-base.sent, elapsed.Round(time.Millisecond), measured, float64(measured)/elapsed.Seconds(), rejected.Load()-base.rejected, errs.Load()-base.errs)
	if c.pid != 0 {
		fmt.Printf("server RSS peak %d KiB; CPU while sending: server %.2f cores, generator %.2f cores\n",
			peakRSS.Load(), cpuServer/elapsed.Seconds(), cpuGen/elapsed.Seconds())
	}
	watchers.report("watchers")
	boards.report("boards")
	push.report(base.push)
	sched.report(base.sched)
	if c.timeline {
		watchers.timeline("watchers")
	}
	if soak != nil {
		reportSoak(<-soak)
	}
	for _, conn := range conns {
		conn.Close()
	}
	return checkStored(c, accepted.Load())
}

// idleOsmAnd is -mode osmand-idle: every device opens a connection to the
// OsmAnd listener, sends one fix on it as Traccar Client does and keeps it
// open, as the app does between fixes; it reports the server's memory per
// idle connection.
func idleOsmAnd(c config, devs []*device) error {
	h0, s0 := goHeapStacks(c)
	rss0, heap0 := rssKiB(c.pid), h0+s0
	u, err := url.Parse(c.osmand)
	if err != nil {
		return err
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
			return err
		}
		conns = append(conns, conn)
		p, ts := d.step(true)
		fmt.Fprintf(conn, "POST /?id=%s&timestamp=%d&lat=%.6f&lon=%.6f&speed=18.5&bearing=90&accuracy=8&batt=80 HTTP/1.1\r\nHost: %s\r\nUser-Agent: Traccar Client\r\nContent-Length: 0\r\n\r\n",
			d.ident, ts.Unix(), p.lat, p.lng, u.Host)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Close {
			return fmt.Errorf("osmand: %s (connection close: %v)", res.Status, res.Close)
		}
	}
	time.Sleep(2 * time.Second) // let the server settle
	h1, s1 := goHeapStacks(c)
	rss1, heap1 := rssKiB(c.pid), h1+s1
	n := float64(len(conns))
	fmt.Printf("idle OsmAnd connections: %d; server RSS %d -> %d KiB (%.1f KiB each); Go heap+stacks %.1f KiB each (heap %.1f, stacks %.1f)\n",
		len(conns), rss0, rss1, float64(rss1-rss0)/n, float64(heap1-heap0)/1024/n, float64(h1-h0)/1024/n, float64(s1-s0)/1024/n)
	return checkStored(c, int64(len(conns)))
}
