package wsconn

import (
	"math"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

// The process's CPU load, as a board's spacing needs it: the share of
// goroutines' waits to run, once ready, that lasted about busyWait or
// more (runtime/metrics' /sched/latencies:seconds: the runtime samples
// one move in eight from runnable to running, into buckets whose edge
// next above 1 ms is 1.05 ms). Quiet, it is about 0; with both cores of
// a 2-core machine taken it is 10-25%. Unlike the CPU's use, it says
// what matters here: whether the writes a board saves would leave a
// customer's update waiting for a core.
//
// It is read by boards' writers, and refreshed by whichever reads it
// first after busyEvery: no goroutine of its own, and nothing read while
// no board writes. Process-wide, as the scheduler it measures.
var busy busyGauge

const (
	busyWait  = time.Millisecond
	busyEvery = 100 * time.Millisecond
	// busyTau smooths the share over a few refreshes, so that the
	// spacing it sets settles rather than swinging with each window.
	busyTau = 500 * time.Millisecond
	// busyLow and busyHigh: below busyLow a board's spacing follows its
	// flow only; from busyHigh up it is the widest (Options.Gap),
	// linear between. On a 2-core machine (DecodeNative 140 µs) with
	// bench/load's generator beside the server, 1,000, 2,500 and 5,000
	// devices (each a customer, and 20 boards) gave 0.3%, 3-7% and
	// 10-26%: a board at 2,000 keeps its quick spacing there, and one
	// at 5,000 waits (bench/peers and bench/alternate.sh, BENCHMARKS.md).
	busyLow  = 0.05
	busyHigh = 0.15
	// busyMinSamples: a window with fewer scheduling samples says too
	// little; it goes on into the next refresh's. A window of busyLongest
	// or more (thin all along, or no board read the gauge for a while)
	// says nothing of now: it counts as quiet (0).
	busyMinSamples = 50
	busyLongest    = time.Second
)

// busyEpoch anchors the refresh schedule to the monotonic clock: a step
// of the wall clock must not hold the gauge still.
var busyEpoch = time.Now()

type busyGauge struct {
	next  atomic.Int64  // the next refresh, in nanoseconds since busyEpoch
	share atomic.Uint64 // math.Float64bits of the smoothed share

	mu     sync.Mutex // the refresher's, taken with TryLock: sample, prev, at
	sample []metrics.Sample
	prev   []uint64
	at     time.Time
}

// load returns the smoothed share at now, refreshing it first if it is
// due and no other caller is.
func (g *busyGauge) load(now time.Time) float64 {
	if n := int64(now.Sub(busyEpoch)); n >= g.next.Load() && g.mu.TryLock() {
		if n >= g.next.Load() {
			g.refresh(now)
			g.next.Store(n + int64(busyEvery))
		}
		g.mu.Unlock()
	}
	return math.Float64frombits(g.share.Load())
}

// refresh reads the scheduler's histogram and folds the window since the
// last one closed (g.at) into the share, or lets it go on. Under g.mu.
func (g *busyGauge) refresh(now time.Time) {
	if g.sample == nil {
		g.sample = []metrics.Sample{{Name: "/sched/latencies:seconds"}}
	}
	metrics.Read(g.sample)
	if g.sample[0].Value.Kind() != metrics.KindFloat64Histogram {
		return // not this runtime's: the spacing follows the flow alone
	}
	h := g.sample[0].Value.Float64Histogram()
	first := g.prev == nil
	s, n := waitedShare(g.prev, h.Counts, h.Buckets, busyWait.Seconds())
	dt := now.Sub(g.at)
	switch {
	case first:
	case dt >= busyLongest:
		s = 0 // stale, or thin to the end: quiet
	case n < busyMinSamples:
		return // too few yet: the window goes on
	}
	g.prev = append(g.prev[:0], h.Counts...)
	g.at = now
	if first {
		return // the first read is the process's whole life: a baseline only
	}
	old := math.Float64frombits(g.share.Load())
	a := 1 - math.Exp(-dt.Seconds()/busyTau.Seconds())
	g.share.Store(math.Float64bits(old + a*(s-old)))
}

// waitedShare returns the number n of samples counted between prev and
// cur (a cumulative histogram's counts, bucket i between buckets[i] and
// buckets[i+1]) and the share of them that lie wholly at or above least
// (0 when n is). A prev of another length (none yet) counts from zero.
func waitedShare(prev, cur []uint64, buckets []float64, least float64) (share float64, n uint64) {
	var total, over uint64
	for i, c := range cur {
		if len(prev) == len(cur) {
			c -= prev[i]
		}
		total += c
		if buckets[i] >= least {
			over += c
		}
	}
	if total == 0 {
		return 0, 0
	}
	return float64(over) / float64(total), total
}

// busyGap is the spacing the load asks of a board whose widest is
// widest: none below busyLow, widest from busyHigh, linear between.
func busyGap(share float64, widest time.Duration) time.Duration {
	f := (share - busyLow) / (busyHigh - busyLow)
	if f <= 0 {
		return 0
	}
	return time.Duration(math.Min(f, 1) * float64(widest))
}
