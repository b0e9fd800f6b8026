package load

// Readings of the server: its RSS and CPU from /proc, its Go memory from
// /metrics, and the count of fixes stored.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/enroutehq/enroute/postgres"
	"github.com/enroutehq/enroute/sqlite"
)

// RSSKiB reads a process's resident set size.
func RSSKiB(pid int) int64 {
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

// CPUSeconds is the user+system CPU time a process has used, from
// /proc/<pid>/stat (clock ticks of 1/100 s); pid 0 is the generator itself.
func CPUSeconds(pid int) float64 {
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
func goHeapStacks(c Config) (heap, stacks int64) {
	if c.Pprof != "" {
		if res, err := client.Get("http://" + c.Pprof + "/debug/pprof/heap?gc=1"); err == nil {
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
	}
	res, err := client.Get(c.URL + "/metrics")
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

// checkStored compares the stored count with the accepted count.
func checkStored(c Config, accepted int64) error {
	ctx := context.Background()
	var n int64
	switch {
	case c.SQLitePath != "":
		s, err := sqlite.Open(ctx, c.SQLitePath)
		if err != nil {
			return err
		}
		defer s.Close()
		if n, err = s.CountPositions(ctx); err != nil {
			return err
		}
	case c.PGURL != "":
		s, err := postgres.Open(ctx, c.PGURL)
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
	fmt.Fprintf(c.out(), "stored %d, accepted %d: ", n, accepted)
	if n != accepted {
		fmt.Fprintln(c.out(), "MISMATCH")
		return fmt.Errorf("stored %d fixes but %d were accepted", n, accepted)
	}
	fmt.Fprintln(c.out(), "equal")
	return nil
}
