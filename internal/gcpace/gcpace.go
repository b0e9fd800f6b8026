// Package gcpace spaces the Go collector's cycles out in time.
//
// A cycle's marking takes a quarter of the cores for as long as the live
// heap takes to scan (45–200 ms at 5,000–10,000 technicians on two
// cores), and pushes due meanwhile wait for it. With Go's default
// (GOGC=100: a cycle each time the heap doubles) a busy server marks every
// 2–3 s, 4–7% of the time, and its slowest pushes are the ones that fall
// there. After each cycle the pacer sets the next one's goal to the bytes
// the server allocates in Spacing at its recent rate, within Ceiling: a
// quiet server keeps Go's default, a busy one trades memory (up to
// Ceiling) for markings at most once a Spacing. While it lets the heap
// grow past Go's default, a memory limit a quarter past Ceiling holds it.
//
// Concurrency: Start is called once; the stop it returns may be called
// from any goroutine.
package gcpace

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// Config sets the pacing.
type Config struct {
	// Spacing is the time wanted between two cycles; 0 turns pacing off.
	Spacing time.Duration
	// Ceiling bounds the heap goal the pacer sets, in bytes: past it
	// cycles come as often as Go's default makes them.
	Ceiling uint64
	// Base is the GOGC the pacer never goes under (Go's default, 100, when
	// 0).
	Base int
}

// heapMinimum is Go's least heap goal at GOGC=100; it scales with GOGC,
// so a GOGC set while the live heap is tiny (at start) is bounded by it.
const heapMinimum = 4 << 20

// pacer follows the collector's cycles. mu guards the rest: cleanups may
// run on more than one goroutine.
type pacer struct {
	cfg     Config
	stopped atomic.Bool

	mu      sync.Mutex
	limit   int64 // the memory limit before Start (GOMEMLIMIT's)
	limited bool  // a limit of the pacer's own is set
	samples []metrics.Sample
	at      time.Time // when the last cycle was seen
	allocs  uint64    // bytes allocated in all, then
	rate    float64   // bytes allocated a second, smoothed over cycles
	percent int       // the GOGC last set
}

// Start paces the collector after each of its cycles until stop is
// called, which puts the GOGC and the memory limit in effect before Start
// back.
func Start(cfg Config) (stop func()) {
	if cfg.Spacing <= 0 {
		return func() {}
	}
	if cfg.Base <= 0 {
		cfg.Base = 100
	}
	p := &pacer{cfg: cfg, samples: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/scan/stack:bytes"},
		{Name: "/gc/scan/globals:bytes"},
	}}
	was := debug.SetGCPercent(cfg.Base)
	p.percent = cfg.Base
	p.limit = debug.SetMemoryLimit(-1) // negative: read, not set
	p.arm()
	var once sync.Once
	return func() {
		once.Do(func() {
			p.stopped.Store(true)
			p.mu.Lock()
			defer p.mu.Unlock()
			debug.SetGCPercent(was)
			if p.limited {
				debug.SetMemoryLimit(p.limit)
			}
		})
	}
}

// arm makes the next cycle call cycle: an object of its own, unreachable
// at once, whose cleanup runs once the collector has found it so. It is
// 16 bytes so that it is not batched with others (the tiny allocator's
// objects may never be cleaned up).
func (p *pacer) arm() {
	runtime.AddCleanup(new([16]byte), (*pacer).cycle, p)
}

func (p *pacer) cycle() {
	if p.stopped.Load() {
		return
	}
	p.tune(time.Now())
	p.arm()
}

// tune sets the GOGC of the next cycle from the live heap the last one
// found and the allocation rate since the one before.
func (p *pacer) tune(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped.Load() {
		return
	}
	metrics.Read(p.samples)
	live, allocs := p.samples[0].Value.Uint64(), p.samples[1].Value.Uint64()
	roots := p.samples[2].Value.Uint64() + p.samples[3].Value.Uint64()
	if !p.at.IsZero() && now.After(p.at) && allocs >= p.allocs {
		rate := float64(allocs-p.allocs) / now.Sub(p.at).Seconds()
		if p.rate == 0 {
			p.rate = rate
		} else {
			p.rate = (p.rate + rate) / 2
		}
	}
	p.at, p.allocs = now, allocs
	pct := Percent(live, roots, p.rate, p.cfg)
	if pct == p.percent {
		return
	}
	// While the heap is let grow, a memory limit a quarter past the
	// ceiling holds it should the live heap grow before the next cycle
	// tunes again (the GOGC set applies to whatever it then is); at
	// Go's default, the limit before Start.
	if pct > p.cfg.Base && !p.limited {
		debug.SetMemoryLimit(min(p.limit, int64(p.cfg.Ceiling+p.cfg.Ceiling/4)))
		p.limited = true
	} else if pct <= p.cfg.Base && p.limited {
		debug.SetMemoryLimit(p.limit)
		p.limited = false
	}
	debug.SetGCPercent(pct)
	p.percent = pct
}

// Percent is the GOGC that makes the next cycle come once rate bytes a
// second have been allocated for cfg.Spacing past a live heap of live
// bytes, the goal within cfg.Ceiling, and never under cfg.Base. Go grows
// the heap by GOGC% of the live heap and the roots (goroutine stacks and
// globals, roots bytes), so the percent is of both; and it never aims
// under heapMinimum × GOGC/100, so the percent stays under what would
// put that past the ceiling.
func Percent(live, roots uint64, rate float64, cfg Config) int {
	base := cfg.Base
	if base <= 0 {
		base = 100
	}
	if live == 0 || live >= cfg.Ceiling {
		return base
	}
	extra := math.Min(rate*cfg.Spacing.Seconds(), float64(cfg.Ceiling-live))
	pct := extra * 100 / float64(live+roots)
	if pct <= float64(base) {
		return base
	}
	return max(base, int(math.Min(pct, float64(cfg.Ceiling)*100/heapMinimum)))
}
