package wsconn

import (
	"math"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// The share counts the window's samples only (the difference from the
// last read), from the first bucket wholly at or above the least wait.
func TestWaitedShare(t *testing.T) {
	buckets := []float64{0, 1e-4, 1e-3, 1e-2, math.Inf(1)} // 4 buckets
	for _, tc := range []struct {
		name      string
		prev, cur []uint64
		want      float64
		n         uint64
	}{
		{"first read, from zero", nil, []uint64{60, 20, 15, 5}, 0.2, 100},
		{"the window only", []uint64{1000, 0, 0, 0}, []uint64{1060, 20, 15, 5}, 0.2, 100},
		{"all quick", []uint64{5, 5, 0, 0}, []uint64{105, 5, 0, 0}, 0, 100},
		{"all slow", []uint64{0, 0, 0, 0}, []uint64{0, 0, 3, 7}, 1, 10},
		{"nothing", []uint64{1, 2, 3, 4}, []uint64{1, 2, 3, 4}, 0, 0},
	} {
		got, n := waitedShare(tc.prev, tc.cur, buckets, 1e-3)
		if math.Abs(got-tc.want) > 1e-9 || n != tc.n {
			t.Errorf("%s: share %v of %d, want %v of %d", tc.name, got, n, tc.want, tc.n)
		}
	}
}

// A window of too few samples goes on into the next refresh's, and one
// that lasts busyLongest counts as quiet: the share then decays rather
// than holding what the last busy window said.
func TestBusyGaugeThinWindows(t *testing.T) {
	g := &busyGauge{}
	t0 := time.Now()
	g.load(t0) // the baseline
	g.share.Store(math.Float64bits(0.5))
	at, prev := g.at, slices.Clone(g.prev)
	g.refresh(t0.Add(busyEvery)) // this test's goroutine alone: a thin window, surely
	if g.at != at || !slices.Equal(g.prev, prev) {
		// The runtime scheduled 50 goroutines meanwhile: nothing to check.
		t.Skip("the window was not thin")
	}
	if s := math.Float64frombits(g.share.Load()); s != 0.5 {
		t.Fatalf("share after a thin window: %v, want it held at 0.5", s)
	}
	g.refresh(t0.Add(busyLongest + busyEvery))
	if s := math.Float64frombits(g.share.Load()); s >= 0.5 || !g.at.Equal(t0.Add(busyLongest+busyEvery)) {
		t.Fatalf("share after a thin window past busyLongest: %v (window from %v), want it decayed and the window closed", s, g.at)
	}
}

// The load asks nothing of a quiet machine, the widest spacing of a
// saturated one, and a part of it between.
func TestBusyGap(t *testing.T) {
	widest := 25 * time.Millisecond
	for _, tc := range []struct {
		share float64
		want  time.Duration
	}{{0, 0}, {busyLow, 0}, {(busyLow + busyHigh) / 2, widest / 2}, {busyHigh, widest}, {0.5, widest}} {
		if got := busyGap(tc.share, widest); got < tc.want-time.Microsecond || got > tc.want+time.Microsecond {
			t.Errorf("share %v: %v, want %v", tc.share, got, tc.want)
		}
	}
}

// gaugeAt is a gauge that holds share and never refreshes.
func gaugeAt(share float64) *busyGauge {
	g := &busyGauge{}
	g.share.Store(math.Float64bits(share))
	g.next.Store(math.MaxInt64)
	return g
}

// A board's spacing is the wider of its flow's and its load's: a trickle
// on a saturated machine waits the widest, a flood on a quiet one keeps
// the flow's law (TestAdaptiveGap), and between they meet.
func TestAdaptiveGapUnderLoad(t *testing.T) {
	widest := 25 * time.Millisecond
	for _, tc := range []struct {
		perSecond int
		share     float64
		want      time.Duration
	}{{10, 0, MinGap}, {10, 0.5, widest}, {2000, busyLow + (busyHigh-busyLow)/5, widest / 5},
		{10_000, 0, 10 * time.Millisecond}, {10_000, busyLow + (busyHigh-busyLow)/5, 10 * time.Millisecond}, {10_000, busyHigh, widest}} {
		c := &Conn{opts: Options{Gap: widest}, gap: MinGap, load: gaugeAt(tc.share)}
		every := 5 * time.Millisecond
		for range 200 {
			c.lastSrc = time.Now().Add(-every)
			c.adaptGap(tc.perSecond * 360 * int(every) / int(time.Second))
		}
		if c.gap < tc.want*9/10 || c.gap > tc.want*11/10 {
			t.Errorf("%d positions/s, busy %.3f: spacing %v, want about %v", tc.perSecond, tc.share, c.gap, tc.want)
		}
	}
}

// The gauge reads this runtime's scheduler: on one core taken by fifty
// goroutines that each work 50 µs and yield, a goroutine waits the
// others' turns (about 2.5 ms) each time it is ready, and the share says
// so; once they stop, and only a sleeper's wakes are left (which run at
// once), it falls back.
func TestBusyGaugeReadsTheScheduler(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	g := &busyGauge{}
	g.load(time.Now()) // the baseline read
	if len(g.prev) == 0 {
		t.Fatal("no histogram read: is /sched/latencies:seconds still the runtime's?")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for t0 := time.Now(); time.Since(t0) < 50*time.Microsecond; {
				}
				runtime.Gosched()
			}
		})
	}
	// A load every busyEvery: each refreshes, over the window before it.
	var busyShare float64
	for range 5 {
		time.Sleep(busyEvery)
		busyShare = g.load(time.Now())
	}
	close(stop)
	wg.Wait()
	if busyShare < busyHigh {
		t.Errorf("share with the core taken: %.3f, want at least %.2f", busyShare, busyHigh)
	}
	var quiet float64
	for range 20 { // 2 s: past busyLongest, however thin the windows
		for end := time.Now().Add(busyEvery); time.Now().Before(end); {
			time.Sleep(100 * time.Microsecond)
		}
		quiet = g.load(time.Now())
	}
	if quiet >= busyShare/2 {
		t.Errorf("share once quiet: %.3f, want well under the busy %.3f", quiet, busyShare)
	}
}
