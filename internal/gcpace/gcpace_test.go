package gcpace

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	cfg := Config{Spacing: 20 * time.Second, Ceiling: 1024 * mib}
	for _, tc := range []struct {
		name  string
		live  uint64
		roots uint64
		rate  float64
		cfg   Config
		want  int
	}{
		// 40 MiB/s for 20 s past 90 MiB live: 800 MiB more, 888%.
		{"busy", 90 * mib, 0, 40 * mib, cfg, 888},
		// With 10 MiB of stacks and globals, Go adds GOGC% of 100 MiB.
		{"stacks", 90 * mib, 10 * mib, 40 * mib, cfg, 800},
		// The same within 512 MiB: 422 MiB more, 468%.
		{"ceiling", 90 * mib, 0, 40 * mib, Config{Spacing: 20 * time.Second, Ceiling: 512 * mib}, 468},
		// 1 MiB/s: 20 MiB, under the live heap: Go's default.
		{"quiet", 90 * mib, 0, 1 * mib, cfg, 100},
		{"quiet, base 150", 90 * mib, 0, 1 * mib, Config{Spacing: 20 * time.Second, Ceiling: 1024 * mib, Base: 150}, 150},
		{"past the ceiling", 1100 * mib, 0, 40 * mib, cfg, 100},
		{"nothing live yet", 0, 0, 40 * mib, cfg, 100},
		// Go's least goal, 4 MiB at 100%, within the ceiling: 25,600%.
		{"a tiny heap", 1024, 0, 40 * mib, cfg, 25600},
		{"no rate yet", 90 * mib, 0, 0, cfg, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Percent(tc.live, tc.roots, tc.rate, tc.cfg)
			if got != tc.want {
				t.Fatalf("Percent(%d, %d, %.0f) = %d, want %d", tc.live, tc.roots, tc.rate, got, tc.want)
			}
			// Go's goal at that percent, and its least goal, within the
			// ceiling whenever the pacer went past Go's default.
			goal := tc.live + (tc.live+tc.roots)*uint64(got)/100
			if got > 100 && max(goal, heapMinimum*uint64(got)/100) > tc.cfg.Ceiling {
				t.Fatalf("GOGC %d aims at %d bytes, past the ceiling %d", got, max(goal, heapMinimum*uint64(got)/100), tc.cfg.Ceiling)
			}
		})
	}
}

// gogc reads the GOGC in effect.
func gogc() int {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	return int(s[0].Value.Uint64())
}

var sink []byte

// cycles allocates garbage and collects n times.
func cycles(n int) {
	for range n {
		for range 1000 {
			sink = make([]byte, 4096)
		}
		runtime.GC()
	}
}

// memLimit reads the memory limit in effect.
func memLimit() int64 { return debug.SetMemoryLimit(-1) }

func TestStartPacesAndStops(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(math.MaxInt64))
	stop := Start(Config{Spacing: time.Hour, Ceiling: 1 << 30})
	// A rate needs two cycles; the cleanup runs after each, on a goroutine
	// of the runtime's.
	deadline := time.Now().Add(10 * time.Second)
	for gogc() <= 100 && time.Now().Before(deadline) {
		cycles(2)
	}
	if got := gogc(); got <= 100 {
		t.Fatalf("GOGC %d after an hour's spacing was asked of a busy heap, want more than 100", got)
	}
	if got := memLimit(); got != 1<<30+1<<28 {
		t.Fatalf("memory limit %d while pacing, want a quarter past the ceiling", got)
	}
	stop()
	if got := gogc(); got != 100 {
		t.Fatalf("GOGC %d after stop, want the 100 before Start", got)
	}
	if got := memLimit(); got != math.MaxInt64 {
		t.Fatalf("memory limit %d after stop, want none, as before Start", got)
	}
	cycles(3) // a cleanup armed before stop must not pace again
	if got := gogc(); got != 100 {
		t.Fatalf("GOGC %d after cycles past stop, want 100", got)
	}
	stop() // twice is fine
}

func TestStartOff(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(130))
	stop := Start(Config{Ceiling: 1 << 30})
	cycles(3)
	if got := gogc(); got != 130 {
		t.Fatalf("GOGC %d with no spacing, want the 130 set before", got)
	}
	stop()
}

// A ceiling under the live heap leaves Go's default in place.
func TestStartUnderCeiling(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	stop := Start(Config{Spacing: time.Hour, Ceiling: 1024})
	defer stop()
	cycles(4)
	if got := gogc(); got != 100 {
		t.Fatalf("GOGC %d with the live heap past the ceiling, want 100", got)
	}
}
