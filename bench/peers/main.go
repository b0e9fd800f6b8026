// Command peers measures Enroute beside its peers on this machine, in one
// run: Centrifugo for fan-out (customers and boards) and idle WebSockets,
// Tile38 for ingest with every fix stored and for near and box queries.
// Each part runs round after round, Enroute then the peer (A, B, A, B...),
// each server started afresh for it and alone on the machine beside the
// generator, and the table gives each figure's median over the rounds
// and the ratio of Enroute's to the peer's.
//
// It installs Centrifugo with go install into -dir/bin/centrifugo-VERSION
// (once), unpacks
// Tile38 from -peers (../shared/peers) there, and runs -enroute
// (bin/enroute, built with make build when missing) on a fresh embedded
// store, or a fresh PostgreSQL database with -pg. Enroute's side is
// bench/load's (bench/internal/load); the peers' sides use its pacing,
// recorded drives, latency histogram and /proc readings. Every server's
// output and each round's details go to a log file in -dir.
//
//	make bench-peers                               # the full run
//	go run ./bench/peers -quick                    # a smoke run of a couple of minutes
//	go run ./bench/peers -parts query -techs 100000 -rounds 3
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

// options are the flags, and what main derives from them.
type options struct {
	rounds                                 int
	parts                                  []string
	quick, verbose                         bool
	devices, boards, fanoutConns           int
	warmup, duration                       time.Duration
	idle                                   int
	ingestDuration                         time.Duration
	ingestDevices, batch, ingestConns      int
	osmandDevices, osmandConns             int
	techs, queryConns                      int
	profile                                string
	queryDuration                          time.Duration
	radiusM                                float64
	seed                                   uint64
	pg, data, dir, peersDir, centrifugoVer string
	enrouteBin, centrifugoBin, tile38Bin   string
	log                                    io.Writer // the run's log file (and stderr with -v); one Write at a time
}

// progress reports a side's figures of a round, on stderr and in the log.
func (o *options) progress(part string, round int, side, summary string) {
	line := fmt.Sprintf("%s round %d/%d  %-14s %s\n", part, round, o.rounds, side, summary)
	fmt.Fprint(o.log, line)
	if !o.verbose {
		fmt.Fprint(os.Stderr, line)
	}
}

var allParts = []string{"fanout", "idle", "ingest", "query"}

func main() {
	o := &options{}
	flag.IntVar(&o.rounds, "rounds", 3, "rounds of each part (Enroute, then its peer, each round)")
	parts := flag.String("parts", strings.Join(allParts, ","), "the parts to run, comma-separated: "+strings.Join(allParts, ", "))
	flag.BoolVar(&o.quick, "quick", false, "a smoke run: 2 rounds, small loads, a few seconds each (flags given still win)")
	flag.BoolVar(&o.verbose, "v", false, "also write the log (servers' output, each run's report) to stderr")
	flag.IntVar(&o.devices, "devices", 2000, "fanout: devices sending a fix a second, each followed by one customer watcher")
	flag.IntVar(&o.boards, "boards", 20, "fanout: dispatcher boards seeing every fix")
	flag.IntVar(&o.fanoutConns, "fanout-conns", 256, "fanout: the senders' connections (devices spread over them, as bench/load -conns)")
	flag.DurationVar(&o.warmup, "warmup", 5*time.Second, "fanout: sending before measuring")
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "fanout: the measured time")
	flag.IntVar(&o.idle, "idle", 10_000, "idle: the idle WebSockets opened to each server")
	flag.DurationVar(&o.ingestDuration, "ingest-duration", 15*time.Second, "ingest: the measured time of each run")
	flag.IntVar(&o.ingestDevices, "ingest-devices", 1000, "ingest: devices replayed by the batch API and by Tile38 SET")
	flag.IntVar(&o.batch, "batch", 100, "ingest: a device's fixes per request (batch API) or pipeline (Tile38)")
	flag.IntVar(&o.ingestConns, "ingest-conns", 16, "ingest: connections sending batches (both sides)")
	flag.IntVar(&o.osmandDevices, "osmand-devices", 2000, "ingest: devices sending one OsmAnd request per fix")
	flag.IntVar(&o.osmandConns, "osmand-conns", 256, "ingest: connections sending OsmAnd requests")
	flag.IntVar(&o.techs, "techs", 10_000, "query: live technicians loaded into both (100000: the issue's second size)")
	flag.IntVar(&o.queryConns, "query-conns", 16, "query: connections asking at once")
	flag.DurationVar(&o.queryDuration, "query-duration", 10*time.Second, "query: the measured time of each kind of query")
	flag.Float64Var(&o.radiusM, "radius-m", 200, "query: the near radius; the box is the square around that circle")
	flag.Uint64Var(&o.seed, "seed", 1, "query: the seed of the technicians' places and the query points")
	flag.StringVar(&o.pg, "pg", "", "run Enroute on PostgreSQL at this server (postgres://postgres@127.0.0.1:5432), a fresh database each run; default the embedded store in a temporary directory")
	flag.StringVar(&o.data, "data", "../shared/data/chicago/chicago_points.csv", "recorded drives (trip_id,seq,t,lat,lon), as bench/load reads them")
	flag.StringVar(&o.dir, "dir", "bench/.peers", "where the peers are installed and the logs written (git-ignored)")
	flag.StringVar(&o.peersDir, "peers", "../shared/peers", "the folder of tile38-server.gz")
	flag.StringVar(&o.centrifugoVer, "centrifugo-version", "v6.9.1", "the Centrifugo version go install fetches")
	flag.StringVar(&o.enrouteBin, "enroute", "bin/enroute", "the Enroute binary (make build when missing)")
	flag.StringVar(&o.profile, "profile", "", "save CPU profiles of Enroute into this folder: during each near query run (enroute-near.pprof) and OsmAnd ingest run (enroute-osmand.pprof)")
	flag.Parse()
	if o.quick {
		quick(o)
	}
	o.parts = strings.Split(*parts, ",")
	for _, p := range o.parts {
		if !slices.Contains(allParts, p) {
			fail(fmt.Errorf("unknown part %q in -parts: want some of %s", p, strings.Join(allParts, ",")))
		}
	}
	if o.rounds < 1 {
		fail(fmt.Errorf("-rounds must be at least 1"))
	}
	// As bench/load: the generator allocates per message read, and its
	// garbage collection must not delay the reads it times.
	debug.SetGCPercent(400)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fail(err)
	}
}

// quick shrinks every part to a few seconds, for a smoke run; flags given
// on the command line keep their values.
func quick(o *options) {
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range map[string]string{
		"rounds": "2", "devices": "200", "fanout-conns": "32", "warmup": "1s", "duration": "3s", "idle": "500",
		"ingest-duration": "3s", "ingest-devices": "200", "osmand-devices": "200", "osmand-conns": "32",
		"techs": "1000", "query-duration": "2s",
	} {
		if !set[name] {
			if err := flag.Set(name, v); err != nil {
				fail(err)
			}
		}
	}
}

func run(ctx context.Context, o *options) error {
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(o.dir, "run-"+time.Now().Format("20060102-150405")+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer f.Close()
	o.log = f
	if o.verbose {
		o.log = io.MultiWriter(f, os.Stderr)
	}
	o.log = &lockedWriter{w: o.log}
	fmt.Fprintf(o.log, "command: %s\n", commandLine())

	if err := buildEnroute(ctx, o.enrouteBin, o.log); err != nil {
		return err
	}
	bin := filepath.Join(o.dir, "bin")
	if o.tile38Bin, err = unpackTile38(o.peersDir, bin); err != nil {
		return err
	}
	if o.centrifugoBin, err = installCentrifugo(ctx, filepath.Join(bin, "centrifugo-"+o.centrifugoVer), o.centrifugoVer, o.log); err != nil {
		return err
	}

	store := "embedded SQLite"
	if o.pg != "" {
		store = "PostgreSQL"
	}
	header := []string{
		fmt.Sprintf("Enroute %s (%s, %s store), Centrifugo %s, Tile38 (%s/tile38-server.gz)", version(o.enrouteBin), o.enrouteBin, store, o.centrifugoVer, o.peersDir),
		fmt.Sprintf("machine: %d cores, %s; generator beside the servers; rounds alternating: %d, medians; ratio = Enroute / peer", runtime.NumCPU(), cpuModel(), o.rounds),
	}
	if o.pg != "" {
		header = append(header, "server CPU is Enroute's process's, not PostgreSQL's")
	}
	for _, h := range header {
		fmt.Fprintln(o.log, h)
		fmt.Fprintln(os.Stderr, h)
	}

	parts := map[string]func(context.Context, *options, *table, int) error{"fanout": fanout, "idle": idle, "ingest": ingest, "query": query}
	var t table
	var failed []string
	for _, p := range o.parts {
		for r := 1; r <= o.rounds && ctx.Err() == nil; r++ {
			err := parts[p](ctx, o, &t, r)
			if ctx.Err() != nil {
				break // interrupted: the table holds the rounds measured in full
			}
			if err != nil {
				fmt.Fprintf(o.log, "%s round %d: %v\n", p, r, err)
				fmt.Fprintf(os.Stderr, "%s round %d: %v\n", p, r, err)
				failed = append(failed, p)
				break
			}
		}
	}
	t.rounds(o.log)

	fmt.Println()
	for _, h := range header {
		fmt.Println(h)
	}
	fmt.Println()
	t.print(os.Stdout)
	t.print(o.log)
	fmt.Println()
	fmt.Printf("command: %s\n", commandLine())
	fmt.Printf("log (every round, each server's output): %s\n", logPath)
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted: the table holds the rounds measured in full")
	}
	if len(failed) > 0 {
		return fmt.Errorf("parts that failed: %s (see the log)", strings.Join(failed, ", "))
	}
	return nil
}

// lockedWriter serialises writes: the servers' output and the reports
// share the log.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func commandLine() string {
	args := []string{"go run ./bench/peers"}
	for _, a := range os.Args[1:] {
		if strings.ContainsAny(a, " \t\"'$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// version is what bin --version says.
func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "(version unknown)"
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "enroute ")
}

// cpuModel is the first processor's model name.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "peers:", err)
	os.Exit(1)
}
