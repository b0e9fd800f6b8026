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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/bits"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/enroutehq/enroute/internal/trips"
	"github.com/enroutehq/enroute/postgres"
	"github.com/enroutehq/enroute/sqlite"
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

// point is one recorded fix of a trip.
type point struct {
	t        int64
	lat, lng float64
}

func loadTrips(path string) ([][]point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := trips.Read(bufio.NewReader(f), 20)
	if err != nil {
		return nil, err
	}
	out := make([][]point, len(ts))
	for i, t := range ts {
		for _, x := range t.Fixes {
			out[i] = append(out[i], point{x.Time.Unix(), x.Lat, x.Lng})
		}
	}
	return out, nil
}

// device is a registered device replaying a trip.
type device struct {
	n          int // its index: it sends to node(n)
	tech       int64
	ident, tok string
	trip       []point
	next       int
	clock      time.Time // the virtual time of the next fix
	assignment int64
	watchToken string
}

// step returns the device's next fix and its time (on the virtual clock,
// or now in live mode), looping its trip.
func (d *device) step(live bool) (point, time.Time) {
	p := d.trip[d.next]
	dt := time.Second
	if d.next+1 < len(d.trip) {
		dt = max(time.Duration(d.trip[d.next+1].t-p.t)*time.Second, time.Second)
		d.next++
	} else {
		d.next = 0
		dt = 10 * time.Minute // a new lap: a pause, not a jump
	}
	ts := d.clock
	d.clock = d.clock.Add(dt)
	if live {
		ts = time.Now()
	}
	return p, ts
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}, Timeout: 30 * time.Second}

func api(c config, method, path string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// parallel runs fn(i) for i in [0,n) on k goroutines, returning the first error.
func parallel(n, k int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		first atomic.Value
		wg    sync.WaitGroup
	)
	for range k {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && first.Load() == nil; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

func setup(c config, trips [][]point) ([]*device, error) {
	devs := make([]*device, c.devices)
	start := time.Now().Add(-20 * time.Hour)
	err := parallel(c.devices, 16, func(i int) error {
		var tech struct{ ID int64 }
		if err := api(c, "POST", "/api/v1/technicians", map[string]any{"name": fmt.Sprintf("Load %d", i)}, &tech); err != nil {
			return err
		}
		var dev struct{ Identifier, Token string }
		if err := api(c, "POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech.ID), nil, &dev); err != nil {
			return err
		}
		devs[i] = &device{n: i, tech: tech.ID, ident: dev.Identifier, tok: dev.Token, trip: trips[i%len(trips)], clock: start}
		return nil
	})
	if err != nil || c.watchers == 0 {
		return devs, err
	}
	var cust, loc struct{ ID int64 }
	if err := api(c, "POST", "/api/v1/customers", map[string]any{"name": "Load Customer"}, &cust); err != nil {
		return nil, err
	}
	p := devs[0].trip[len(devs[0].trip)-1]
	if err := api(c, "POST", "/api/v1/locations", map[string]any{"customer_id": cust.ID, "address": "Load St", "lat": p.lat, "lng": p.lng, "verified": true}, &loc); err != nil {
		return nil, err
	}
	err = parallel(min(c.watchers, c.devices), 16, func(i int) error {
		var job, a struct{ ID int64 }
		if err := api(c, "POST", "/api/v1/jobs", map[string]any{"number": fmt.Sprintf("LOAD-%d-%d", time.Now().UnixNano(), i), "customer_id": cust.ID,
			"location_id": loc.ID, "window_start": time.Now().Format(time.RFC3339), "window_end": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}, &job); err != nil {
			return err
		}
		if err := api(c, "POST", fmt.Sprintf("/api/v1/jobs/%d/assignments", job.ID), map[string]any{"technician_id": devs[i].tech}, &a); err != nil {
			return err
		}
		if err := api(c, "POST", fmt.Sprintf("/api/v1/assignments/%d/dispatch", a.ID), nil, nil); err != nil {
			return err
		}
		var link struct{ Token string }
		if err := api(c, "POST", fmt.Sprintf("/api/v1/assignments/%d/tracking-link", a.ID), nil, &link); err != nil {
			return err
		}
		devs[i].assignment, devs[i].watchToken = a.ID, link.Token
		return nil
	})
	return devs, err
}

// fleetDevice is a set-up device as -fleet keeps it.
type fleetDevice struct {
	Tech       int64  `json:"tech"`
	Ident      string `json:"ident"`
	Token      string `json:"token"`
	Assignment int64  `json:"assignment,omitempty"`
	WatchToken string `json:"watch_token,omitempty"`
}

// readFleet reads the devices of an earlier setup from path, if there is
// one: known is false when path is empty or does not exist.
func readFleet(path string, trips [][]point) (devs []*device, known bool, err error) {
	if path == "" {
		return nil, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	var fs []fleetDevice
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	start := time.Now().Add(-20 * time.Hour)
	for i, f := range fs {
		devs = append(devs, &device{n: i, tech: f.Tech, ident: f.Ident, tok: f.Token, trip: trips[i%len(trips)], clock: start,
			assignment: f.Assignment, watchToken: f.WatchToken})
	}
	return devs, true, nil
}

// writeFleet writes the set-up devices to path, unless it is empty.
func writeFleet(path string, devs []*device) error {
	if path == "" {
		return nil
	}
	fs := make([]fleetDevice, len(devs))
	for i, d := range devs {
		fs[i] = fleetDevice{Tech: d.tech, Ident: d.ident, Token: d.tok, Assignment: d.assignment, WatchToken: d.watchToken}
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// latencies collects fix-to-receiver latencies in a log-linear histogram
// (64 buckets per power of two: within 1.6%), with atomic counters: ten
// thousand watchers and twenty boards add 200,000 samples a second, and a
// shared slice under a mutex (growing to millions, copied as it grew) cost
// the generator CPU and stalls that showed up as latency.
type latencies struct {
	buckets [64 * 64]atomic.Int64
	n       atomic.Int64
	max     atomic.Int64
	// Per second since start (-timeline): samples, those over 10 ms, the
	// largest.
	start         time.Time
	secN, secSlow [3600]atomic.Int64
	secMax        [3600]atomic.Int64
}

// timeline prints, per second, how many samples there were, how many
// took over 10 ms, and the largest: a tail that comes in bursts shows
// when.
func (l *latencies) timeline(name string) {
	fmt.Printf("%s per second: samples, over 10 ms, max\n", name)
	for i := range l.secN {
		if n := l.secN[i].Load(); n > 0 {
			fmt.Printf("  %4ds %7d %7d %10v\n", i, n, l.secSlow[i].Load(), time.Duration(l.secMax[i].Load()).Round(100*time.Microsecond))
		}
	}
}

// bucketOf maps a duration (ns) to its bucket: below 64 ns one each, then
// the power of two and the next 6 bits below the leading one.
func bucketOf(ns int64) int {
	if ns < 64 {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // ns in [2^e, 2^(e+1))
	return (e-5)*64 + int(ns>>(e-6))&63
}

// lowerBound is the smallest duration in bucket b.
func lowerBound(b int) time.Duration {
	if b < 64 {
		return time.Duration(b)
	}
	e := b/64 + 5
	return time.Duration(int64(64+b%64) << (e - 6))
}

func (l *latencies) add(d time.Duration) {
	l.n.Add(1)
	l.buckets[min(bucketOf(int64(d)), len(l.buckets)-1)].Add(1)
	raise(&l.max, int64(d))
	if !l.start.IsZero() {
		i := min(int(time.Since(l.start)/time.Second), len(l.secN)-1)
		l.secN[i].Add(1)
		if d > 10*time.Millisecond {
			l.secSlow[i].Add(1)
		}
		raise(&l.secMax[i], int64(d))
	}
}

// raise sets m to v if v is larger.
func raise(m *atomic.Int64, v int64) {
	for old := m.Load(); v > old && !m.CompareAndSwap(old, v); old = m.Load() {
	}
}

// quantile is the lower bound of the bucket holding the q-th sample.
func (l *latencies) quantile(q float64) time.Duration {
	rank := int64(q * float64(l.n.Load()))
	var seen int64
	for b := range l.buckets {
		if seen += l.buckets[b].Load(); seen > rank {
			return lowerBound(b)
		}
	}
	return time.Duration(l.max.Load())
}

func (l *latencies) report(name string) {
	n := l.n.Load()
	if n == 0 {
		fmt.Printf("%-9s no updates\n", name)
		return
	}
	fmt.Printf("%-9s %d updates: p50 %v  p99 %v  max %v\n", name, n,
		l.quantile(0.5).Round(10*time.Microsecond), l.quantile(0.99).Round(10*time.Microsecond), time.Duration(l.max.Load()).Round(10*time.Microsecond))
}

// tsKey is `"ts":"` without its first quote: bytes.Index looks for a
// pattern's first byte first, and a quote is everywhere in JSON (board
// messages are tens of kilobytes: the search was 12% of the generator).
var tsKey = []byte(`ts":"`)

// watch reads a WebSocket, timing every position by its fix timestamp
// (nil lat: reading only).
// Messages are read into one buffer per connection (boards' are tens of
// kilobytes): the generator shares the server's cores, so it spends little.
func watch(ws *websocket.Conn, lat *latencies, measuring *atomic.Bool) {
	var buf bytes.Buffer
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		msg := buf.Bytes()
		now := time.Now()
		if lat == nil || !(bytes.HasPrefix(msg, []byte(`{"type":"position`)) || bytes.HasPrefix(msg, []byte(`{"type":"batch"`))) || !measuring.Load() {
			continue // snapshots, status and progress events
		}
		eachTS(msg, func(ts time.Time) { lat.add(now.Sub(ts)) })
	}
}

// eachTS calls fn with every "ts" of a message: it holds one position or
// several, or a batch of them and events (only positions have a "ts").
func eachTS(msg []byte, fn func(time.Time)) {
	for rest := msg; ; {
		i := bytes.Index(rest, tsKey)
		if i < 0 {
			return
		}
		quoted := i > 0 && rest[i-1] == '"'
		rest = rest[i+len(tsKey):]
		if !quoted {
			continue
		}
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if ts, ok := parseUTC(rest[:j]); ok {
				fn(ts)
			}
		}
	}
}

// parseUTC parses the server's timestamps, RFC 3339 in UTC with up to
// nine fractional digits ("2006-01-02T15:04:05.999999999Z"), without
// time.Parse's generality; anything else goes to time.Parse.
func parseUTC(b []byte) (time.Time, bool) {
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		sec, ok6 := num(b[17:19])
		ns, frac := 0, b[19:len(b)-1]
		ok7 := true
		if len(frac) > 0 {
			if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
				ok7 = false
			} else if ns, ok7 = num(frac[1:]); ok7 {
				for range 10 - len(frac) {
					ns *= 10
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

func connect(c config, devs []*device, watchers, boards *latencies, measuring *atomic.Bool) ([]*websocket.Conn, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 512}
	conns := make([]*websocket.Conn, min(c.watchers, len(devs))+c.boards)
	err := parallel(len(conns), 32, func(i int) error {
		var (
			conn *websocket.Conn
			err  error
		)
		ws := strings.Replace(c.node(i+1), "http", "ws", 1)
		if i < c.watchers {
			conn, _, err = dialer.Dial(ws+"/t/"+devs[i].watchToken+"/live", nil)
		} else {
			conn, _, err = dialer.Dial(ws+"/api/v1/live", http.Header{"Authorization": {"Bearer " + c.token}})
			if err == nil {
				err = conn.WriteJSON(map[string]any{"type": "subscribe"})
			}
		}
		if err != nil {
			return err
		}
		conns[i] = conn
		switch board := i - c.watchers; {
		case board < 0:
			go watch(conn, watchers, measuring)
		case c.timedBoards < 0 || board < c.timedBoards:
			go watch(conn, boards, measuring)
		default:
			go watch(conn, nil, measuring)
		}
		return nil
	})
	return conns, err
}

// rssKiB reads a process's resident set size.
func rssKiB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// cpuSeconds is the user+system CPU time a process has used, from
// /proc/<pid>/stat (clock ticks of 1/100 s); pid 0 is the generator itself.
func cpuSeconds(pid int) float64 {
	path := "/proc/self/stat"
	if pid != 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100
}

// goHeapStacks reads the server's Go heap and stack bytes in use, after a
// garbage collection when -pprof is given (which also shrinks stacks).
func goHeapStacks(c config) (heap, stacks int64) {
	if c.pprof != "" {
		if res, err := client.Get("http://" + c.pprof + "/debug/pprof/heap?gc=1"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	res, err := client.Get(c.url + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		l := sc.Text()
		if v, ok := strings.CutPrefix(l, "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			heap = int64(f)
		}
		if v, ok := strings.CutPrefix(l, "go_memstats_stack_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			stacks = int64(f)
		}
	}
	return heap, stacks
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

// checkStored compares the stored count with the accepted count.
func checkStored(c config, accepted int64) error {
	ctx := context.Background()
	var n int64
	switch {
	case c.sqlitePath != "":
		s, err := sqlite.Open(ctx, c.sqlitePath)
		if err != nil {
			return err
		}
		defer s.Close()
		if n, err = s.CountPositions(ctx); err != nil {
			return err
		}
	case c.pgURL != "":
		s, err := postgres.Open(ctx, c.pgURL)
		if err != nil {
			return err
		}
		defer s.Close()
		if n, err = s.CountPositions(ctx); err != nil {
			return err
		}
	default:
		return nil
	}
	fmt.Printf("stored %d, accepted %d: ", n, accepted)
	if n != accepted {
		fmt.Println("MISMATCH")
		return fmt.Errorf("stored %d fixes but %d were accepted", n, accepted)
	}
	fmt.Println("equal")
	return nil
}

// nativeBody builds a batch with append-style formatting: the generator
// shares the machine with the server and must not waste its cores.
func nativeBody(d *device, n int, live bool) []byte {
	b := make([]byte, 0, n*140+2)
	b = append(b, '[')
	for i := range n {
		p, ts := d.step(live)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ts":"`...)
		b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","lat":`...)
		b = strconv.AppendFloat(b, p.lat, 'f', 6, 64)
		b = append(b, `,"lng":`...)
		b = strconv.AppendFloat(b, p.lng, 'f', 6, 64)
		b = append(b, `,"accuracy_m":8,"speed_mps":9.5,"heading_deg":90,"battery":80}`...)
	}
	return append(b, ']')
}

type ingestResult struct {
	Accepted int               `json:"accepted"`
	Rejected []json.RawMessage `json:"rejected"`
}

// parseAllAccepted reads the common answer, nothing rejected, without
// reflection (encoding/json was 6% of the generator at 10,000 requests a
// second); anything else is left to json.Unmarshal.
func (r *ingestResult) parseAllAccepted(raw []byte) bool {
	rest, ok := bytes.CutPrefix(bytes.TrimSpace(raw), []byte(`{"accepted":`))
	if !ok {
		return false
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 || !bytes.HasSuffix(rest, []byte(`,"rejected":[]}`)) {
		return false
	}
	n, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		return false
	}
	r.Accepted, r.Rejected = n, nil
	return true
}

// sender is one sending goroutine's connections, one per node.
type sender map[string]*rawConn

func (s sender) conn(base string) *rawConn {
	rc := s[base]
	if rc == nil {
		rc, _ = newRawConn(base)
		s[base] = rc
	}
	return rc
}

// postBatch posts fixes on the native batch API and counts the answer.
func (s sender) postBatch(base, token string, body []byte, n int, accepted, rejected, sent, errs *atomic.Int64) {
	status, raw, err := s.conn(base).do("POST", "/api/v1/positions", []string{"Authorization: Bearer " + token, "Content-Type: application/json"}, body)
	sent.Add(int64(n))
	var r ingestResult
	if err == nil && status != 200 {
		err = fmt.Errorf("status %d: %s", status, raw)
	}
	if err == nil && !r.parseAllAccepted(raw) {
		err = json.Unmarshal(raw, &r)
	}
	if err != nil {
		errs.Add(1)
		return
	}
	accepted.Add(int64(r.Accepted))
	rejected.Add(int64(len(r.Rejected)))
}

// throughputHTTP sends as fast as c.conns senders can: each takes a
// device at a time (one device is never sent for by two senders at once).
func throughputHTTP(ctx context.Context, c config, devs []*device, accepted, rejected, sent, errs *atomic.Int64) error {
	free := make(chan *device, len(devs))
	for _, d := range devs {
		free <- d
	}
	var wg sync.WaitGroup
	for range c.conns {
		wg.Go(func() {
			s := sender{}
			for ctx.Err() == nil {
				d := <-free
				if c.mode == "osmand" {
					p, ts := d.step(false)
					q := fmt.Appendf(nil, "/?id=%s&timestamp=%d&lat=%.6f&lon=%.6f&speed=18.5&bearing=90&accuracy=8&batt=80", d.ident, ts.Unix(), p.lat, p.lng)
					status, _, err := s.conn(c.osmand).do("GET", string(q), nil, nil)
					sent.Add(1)
					switch {
					case err != nil:
						errs.Add(1)
					case status == 200:
						accepted.Add(1)
					default:
						rejected.Add(1)
					}
				} else {
					s.postBatch(c.node(d.n), d.tok, nativeBody(d, c.batch, false), c.batch, accepted, rejected, sent, errs)
				}
				free <- d
			}
		})
	}
	wg.Wait()
	return nil
}

// throughputStream gives each of c.conns senders its own devices, each on
// its own stream, sending a batch and waiting for its ack.
func throughputStream(ctx context.Context, c config, devs []*device, streams []*websocket.Conn, accepted, rejected, sent, errs *atomic.Int64) error {
	var wg sync.WaitGroup
	for k := range min(c.conns, len(devs)) {
		wg.Go(func() {
			for seq, j := 1, k; ctx.Err() == nil; seq, j = seq+1, j+c.conns {
				if j >= len(devs) {
					j = k
				}
				sent.Add(int64(c.batch))
				streamBatch(streams[j], seq, nativeBody(devs[j], c.batch, false), accepted, rejected, errs)
			}
		})
	}
	wg.Wait()
	return nil
}

// dialStreams opens each device's stream (device i on node(i)), before
// the measured time starts.
func dialStreams(c config, devs []*device) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, len(devs))
	err := parallel(len(devs), 32, func(i int) error {
		url := strings.Replace(c.node(i), "http", "ws", 1) + "/api/v1/devices/stream"
		conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + devs[i].tok}})
		conns[i] = conn
		return err
	})
	return conns, err
}

// paced calls send every c.interval until ctx ends, the i-th of n callers
// starting i/n of an interval late, so n devices spread evenly over it.
func paced(ctx context.Context, c config, i, n int, send func()) {
	select {
	case <-time.After(time.Duration(int64(c.interval) * int64(i) / int64(n))):
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		send()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// live sends each device's next fix every c.interval, stamped now, spread
// evenly over the interval: device i at i/n of it. Sender k of c.conns
// sends for devices k, k+conns, ... in turn on its own connections; one
// that falls behind sends at once (fewer fixes/s, reported, never older
// timestamps).
func live(ctx context.Context, c config, devs []*device, accepted, rejected, sent, errs *atomic.Int64) error {
	var wg sync.WaitGroup
	start := time.Now()
	for k := range min(c.conns, len(devs)) {
		wg.Go(func() {
			s := sender{}
			for round := int64(0); ; round++ {
				for i := k; i < len(devs); i += c.conns {
					due := start.Add(time.Duration(round*int64(c.interval) + int64(c.interval)*int64(i)/int64(len(devs))))
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					} else if ctx.Err() != nil {
						return
					}
					s.postBatch(c.node(i), devs[i].tok, nativeBody(devs[i], 1, true), 1, accepted, rejected, sent, errs)
				}
			}
		})
	}
	wg.Wait()
	return nil
}

// liveStream is live mode with each device on its own device stream, as the
// native app sends: one fix per interval, stamped now, acknowledged after
// commit.
func liveStream(ctx context.Context, c config, devs []*device, conns []*websocket.Conn, accepted, rejected, sent, errs *atomic.Int64) error {
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() {
			conn := conns[i]
			seq := 0
			paced(ctx, c, i, len(devs), func() {
				seq++
				sent.Add(1)
				streamBatch(conn, seq, nativeBody(d, 1, true), accepted, rejected, errs)
			})
		})
	}
	wg.Wait()
	return nil
}

// streamBatch sends fixes on a device stream and counts its acknowledgement.
func streamBatch(conn *websocket.Conn, seq int, fixes []byte, accepted, rejected, errs *atomic.Int64) {
	msg := append([]byte(`{"seq":`+strconv.Itoa(seq)+`,"fixes":`), fixes...)
	msg = append(msg, '}')
	var ack struct {
		Accepted int               `json:"accepted"`
		Rejected []json.RawMessage `json:"rejected"`
		Error    *json.RawMessage  `json:"error"`
	}
	if conn.WriteMessage(websocket.TextMessage, msg) != nil || conn.ReadJSON(&ack) != nil || ack.Error != nil {
		errs.Add(1)
		return
	}
	accepted.Add(int64(ack.Accepted))
	rejected.Add(int64(len(ack.Rejected)))
}
