// Command load is Enroute's load generator (the package
// bench/internal/load). It registers devices, replays real recorded drives
// (../shared/data: Chicago shuttles, Porto taxis) as those devices over the
// native batch API, the native stream or OsmAnd, while customer watchers
// and dispatcher boards are connected, and reports accepted fixes/s,
// fix-to-watcher latency (from the fix's own timestamp), server memory, and
// whether every accepted fix was stored.
//
// Throughput modes (batch, stream, osmand) send fixes as fast as -conns
// senders can, with timestamps on a virtual clock in the past (phones
// uploading what they recorded). Live mode sends each device's next fix
// every -interval with the current time, for latency.
//
//	go run ./bench/load -mode batch -devices 1000 -duration 20s -pid $(pgrep enroute) -sqlite data/enroute.db
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/enroutehq/enroute/bench/internal/load"
)

func main() {
	var c load.Config
	flag.StringVar(&c.URL, "url", "http://127.0.0.1:8080", "Enroute's API; several nodes' comma-separated (native devices and stream senders go round robin, each customer watches on the next node; OsmAnd uses -osmand)")
	flag.StringVar(&c.OsmAnd, "osmand", "http://127.0.0.1:5055", "Enroute's OsmAnd listener")
	flag.StringVar(&c.Token, "token", os.Getenv("ENROUTE_ADMIN_TOKEN"), "an admin API key (default $ENROUTE_ADMIN_TOKEN)")
	flag.StringVar(&c.Data, "data", "../shared/data/chicago/chicago_points.csv", "trace CSV: trip_id,seq,t,lat,lon")
	flag.StringVar(&c.Mode, "mode", "batch", "batch, stream, osmand, live (HTTP), livestream (each device on its stream) or osmand-idle (one kept OsmAnd connection per device, its memory)")
	flag.IntVar(&c.Devices, "devices", 100, "devices to register and replay")
	flag.IntVar(&c.Batch, "batch", 100, "fixes per request (batch, stream)")
	flag.IntVar(&c.Conns, "conns", 16, "concurrent senders (throughput modes)")
	flag.DurationVar(&c.Duration, "duration", 20*time.Second, "how long to send; 0 with -watchers or -boards: connect them, report their memory, send nothing")
	flag.DurationVar(&c.Warmup, "warmup", 0, "send this long before measuring (live modes: the first seconds fill the server's caches)")
	flag.BoolVar(&c.Timeline, "timeline", false, "live modes: also print the watchers' latency per second")
	flag.DurationVar(&c.Sample, "sample", 0, "a soak test: read the server's RSS, Go heap, goroutines and WebSockets this often while measuring, and say whether they stayed flat; 0: off")
	flag.DurationVar(&c.Interval, "interval", time.Second, "live mode: each device's fix period")
	flag.IntVar(&c.Watchers, "watchers", 0, "customer watchers (one per device, up to -devices)")
	flag.IntVar(&c.Boards, "boards", 0, "dispatcher boards watching everything")
	flag.IntVar(&c.TimedBoards, "timed-boards", -1, "time the updates of only this many boards (the others read everything, untimed: every board gets the same updates, and timing them all was a seventh of the generator's CPU); -1: all")
	flag.IntVar(&c.PID, "pid", 0, "the server's pid, to read its RSS")
	flag.StringVar(&c.SQLitePath, "sqlite", "", "the server's SQLite file, to count stored fixes")
	flag.StringVar(&c.PGURL, "pg", "", "the server's PostgreSQL URL, to count stored fixes")
	flag.StringVar(&c.Pprof, "pprof", "", "the server's pprof address (--pprof-addr), to collect garbage before measuring memory")
	flag.StringVar(&c.Fleet, "fleet", "", "a file of set-up devices and watchers: read instead of setting up when it exists, else written after setup (a server restarted between two runs meets a fleet it knows: RESTART=1 bench/nodes.sh)")
	flag.BoolVar(&c.SetupOnly, "setup-only", false, "set up (and write -fleet), then exit")
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
		c.Profile = f
	}
	if _, err := load.Run(c); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}
