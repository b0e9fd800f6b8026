// Command coldstart measures how long the enroute binary takes from exec to
// its first 200 on /readyz, on the embedded store: "fresh" runs start on an
// empty data directory (migrations and the first admin key included),
// "restart" runs on the directory the fresh run left.
//
// With -history-techs, each fresh directory is then given a position history
// (that many technicians, a fix every -history-every for -history-hours up
// to now), and two restarts are measured: the first relearns the ETA model
// from the last 48 hours of history (no model saved yet), the second loads
// the model its predecessor saved at shutdown. Peak RSS is reported too.
//
//	go build -o bin/enroute ./cmd/enroute
//	go run ./bench/coldstart -bin bin/enroute -n 20
//	go run ./bench/coldstart -bin bin/enroute -n 3 -history-techs 200 -history-hours 47 -history-every 10s
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/sqlite"
)

type run struct {
	took   time.Duration
	peakKB int
}

func main() {
	bin := flag.String("bin", "bin/enroute", "the enroute binary")
	n := flag.Int("n", 20, "runs of each kind")
	techs := flag.Int("history-techs", 0, "technicians in a position history given to each directory after its fresh start (0: none)")
	hours := flag.Float64("history-hours", 47, "hours of that history, up to now")
	every := flag.Duration("history-every", 10*time.Second, "a technician's fix interval in that history")
	flag.Parse()
	runs := map[string][]run{}
	var names []string
	add := func(name string, r run) {
		if _, ok := runs[name]; !ok {
			names = append(names, name)
		}
		runs[name] = append(runs[name], r)
	}
	for range *n {
		dir, err := os.MkdirTemp("", "enroute-coldstart-")
		if err != nil {
			fail(err)
		}
		add("fresh data dir", measure(*bin, dir))
		if *techs > 0 {
			fill(dir, *techs, time.Duration(*hours*float64(time.Hour)), *every)
			add("restart, relearning 48 h", measure(*bin, dir))
			add("restart, model saved", measure(*bin, dir))
		} else {
			add("restart", measure(*bin, dir))
		}
		os.RemoveAll(dir)
	}
	for _, name := range names {
		report(name, runs[name])
	}
}

// fill stores techs technicians' fixes, one every every for span up to now,
// driving in small loops around Porto.
func fill(dir string, techs int, span, every time.Duration) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "enroute.db"))
	if err != nil {
		fail(err)
	}
	defer s.Close()
	t0 := time.Now().Add(-span).UTC()
	batch := make([]enroute.Position, 0, 1000)
	flush := func() {
		if err := s.InsertPositions(ctx, batch); err != nil {
			fail(err)
		}
		batch = batch[:0]
	}
	for tech := 1; tech <= techs; tech++ {
		for i := range int(span / every) {
			at := t0.Add(time.Duration(i) * every)
			batch = append(batch, enroute.Position{TechnicianID: int64(tech), DeviceID: int64(tech), Time: at,
				Lat: 41.10 + float64(tech%20)*0.005 + float64(i%300)*0.0002, Lng: -8.65 + float64(tech/20)*0.005,
				AccuracyM: 5, SpeedMPS: 8, HeadingDeg: 0, Battery: 80, ReceivedAt: at})
			if len(batch) == cap(batch) {
				flush()
			}
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

func measure(bin, dir string) run {
	addr := freeAddr()
	cmd := exec.Command(bin, "--addr", addr, "--osmand-addr", freeAddr(), "--data-dir", dir)
	cmd.Env = append(os.Environ(), "ENROUTE_DATABASE_URL=")
	client := &http.Client{Timeout: time.Second}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fail(err)
	}
	deadline := start.Add(2 * time.Minute)
	var took time.Duration
	for {
		res, err := client.Get("http://" + addr + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				took = time.Since(start)
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			fail(fmt.Errorf("no /readyz within 2m"))
		}
		time.Sleep(time.Millisecond)
	}
	peak := peakKB(cmd.Process.Pid)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	return run{took, peak}
}

// peakKB is a process's peak resident memory (VmHWM), or 0 where /proc
// does not say.
func peakKB(pid int) int {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb
		}
	}
	return 0
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fail(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func report(name string, rs []run) {
	d := make([]time.Duration, len(rs))
	kb := make([]int, len(rs))
	for i, r := range rs {
		d[i], kb[i] = r.took, r.peakKB
	}
	slices.Sort(d)
	slices.Sort(kb)
	fmt.Printf("%-26s n=%d  min %v  median %v  p90 %v  max %v  peak RSS median %.1f MB\n", name, len(d),
		d[0].Round(time.Millisecond/10), d[len(d)/2].Round(time.Millisecond/10),
		d[len(d)*9/10].Round(time.Millisecond/10), d[len(d)-1].Round(time.Millisecond/10), float64(kb[len(kb)/2])/1024)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "coldstart:", err)
	os.Exit(1)
}
