package eta

import (
	"math"
	"testing"
	"time"

	"github.com/enroutehq/enroute/geo"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday

// drive returns fixes every 10 s moving east at speed from (lat, lng).
func drive(lat, lng, speed float64, n int, start time.Time) []Point {
	var ps []Point
	for i := range n {
		d := speed * 10 * float64(i)
		b := geo.BBoxAround(lat, lng, d)
		ps = append(ps, Point{Lat: lat, Lng: lng + (b.MaxLng-lng)*1, Time: start.Add(time.Duration(i) * 10 * time.Second)})
	}
	return ps
}

func TestPriorWithoutData(t *testing.T) {
	m := New(Config{})
	from := Point{Lat: 41.15, Lng: -8.61, Time: t0}
	e := m.Estimate(from, -1, 41.16, -8.61)
	straight := geo.DistanceM(41.15, -8.61, 41.16, -8.61)
	want := straight * 1.35 / 8.3
	if math.Abs(e.Duration.Seconds()-want) > 1 || math.Abs(e.DistanceM-straight*1.35) > 1 {
		t.Fatalf("estimate = %+v, want %.0f s over %.0f m", e, want, straight*1.35)
	}
}

func TestLearnsSpeed(t *testing.T) {
	m := New(Config{})
	// A street driven at 15 m/s many times.
	for k := range 30 {
		m.AddTrip(drive(41.15, -8.65, 15, 40, t0.Add(time.Duration(k)*time.Hour)))
	}
	from := Point{Lat: 41.15, Lng: -8.65, Time: t0.Add(48 * time.Hour)}
	to := drive(41.15, -8.65, 15, 40, t0)[39]
	e := m.Estimate(from, -1, to.Lat, to.Lng)
	// The learned trips are straight, so the detour is 1 and the time ~390 s.
	if got := e.Duration.Seconds(); got < 330 || got > 450 {
		t.Fatalf("estimate on a learned street = %.0f s, want about 390", got)
	}
	km, cells := m.Stats()
	if km < 100 || cells == 0 {
		t.Fatalf("stats = %.0f km, %d cells", km, cells)
	}
	// Elsewhere, little is known: nearer the prior.
	far := m.Estimate(Point{Lat: 41.25, Lng: -8.65, Time: from.Time}, -1, 41.25, to.Lng)
	if far.Duration <= e.Duration {
		t.Fatalf("an unknown street (%v) should be estimated slower than a fast known one (%v)", far.Duration, e.Duration)
	}
}

// TestLearnsHeadings: a street driven fast one way and slowly the other
// (the morning's queue into town beside the free way out) is estimated
// apart by heading, and alike with one heading for all.
func TestLearnsHeadings(t *testing.T) {
	// 3 km each way, eastbound at 15 m/s, westbound at 5.
	east := drive(41.15, -8.65, 15, 21, t0)
	slow := drive(41.15, -8.65, 5, 61, t0)
	west := make([]Point, len(slow))
	for i, p := range slow {
		back := slow[len(slow)-1-i]
		west[i] = Point{Lat: back.Lat, Lng: back.Lng, Time: p.Time}
	}
	learn := func(cfg Config) *Model {
		m := New(cfg)
		for k := range 20 {
			for _, ps := range [][]Point{east, west} {
				shift := time.Duration(k) * time.Hour
				for i := 1; i < len(ps); i++ {
					m.AddSegment(Point{ps[i-1].Lat, ps[i-1].Lng, ps[i-1].Time.Add(shift)}, Point{ps[i].Lat, ps[i].Lng, ps[i].Time.Add(shift)})
				}
			}
		}
		return m
	}
	a, b := east[0], east[len(east)-1]
	at := t0.Add(48 * time.Hour)
	times := func(m *Model) (eastS, westS float64) {
		return m.Estimate(Point{a.Lat, a.Lng, at}, -1, b.Lat, b.Lng).Duration.Seconds(),
			m.Estimate(Point{b.Lat, b.Lng, at}, -1, a.Lat, a.Lng).Duration.Seconds()
	}
	if e, w := times(learn(Config{})); w < 1.8*e {
		t.Fatalf("eastbound (15 m/s) %.0f s, westbound (5 m/s) %.0f s: want the westbound at least 1.8 times as long", e, w)
	}
	if e, w := times(learn(Config{Headings: 1})); math.Abs(w-e) > 0.05*e {
		t.Fatalf("one heading: eastbound %.0f s, westbound %.0f s: want alike", e, w)
	}
}

func TestIgnoresGlitchesAndStops(t *testing.T) {
	m := New(Config{})
	a := Point{Lat: 41.15, Lng: -8.61, Time: t0}
	m.AddSegment(a, Point{Lat: 41.25, Lng: -8.61, Time: t0.Add(15 * time.Second)})  // 11 km in 15 s
	m.AddSegment(a, Point{Lat: 41.15, Lng: -8.61, Time: t0.Add(15 * time.Second)})  // standing
	m.AddSegment(a, Point{Lat: 41.151, Lng: -8.61, Time: t0.Add(10 * time.Minute)}) // a gap
	m.AddSegment(a, Point{Lat: 41.151, Lng: -8.61, Time: t0.Add(-time.Second)})     // backwards
	if km, cells := m.Stats(); km != 0 || cells != 0 {
		t.Fatalf("learned %v km in %d cells from glitches", km, cells)
	}
}

func TestHourOfWeek(t *testing.T) {
	for _, tc := range []struct {
		t    time.Time
		want int
	}{
		{t0, 9}, {t0.Add(24 * time.Hour), 33}, {time.Date(2026, 11, 29, 23, 30, 0, 0, time.UTC), 167},
	} {
		if got := HourOfWeek(tc.t); got != tc.want {
			t.Errorf("HourOfWeek(%v) = %d, want %d", tc.t, got, tc.want)
		}
	}
}

func TestCalibrationLearnsFromArrivals(t *testing.T) {
	m := New(Config{})
	// Trips that take twice what their speed says: a long stop at the end.
	for k := range 200 {
		ps := drive(41.15+float64(k%10)*0.01, -8.65, 10, 30, t0.Add(time.Duration(k)*time.Minute))
		last := ps[len(ps)-1]
		last.Time = last.Time.Add(290 * time.Second)
		ps = append(ps[:len(ps)-1], last)
		m.AddTrip(ps)
	}
	m.mu.RLock()
	c := m.calibration(2000)
	m.mu.RUnlock()
	if c < 1.2 {
		t.Fatalf("calibration after late arrivals = %.2f, want above 1", c)
	}
}

// TestEstimateNearIsEstimate: following a drive with the outline each
// estimate returns gives the estimates Estimate gives, whether the
// technician stays in the hinted cell, moves to a neighbour, or jumps far.
func TestEstimateNearIsEstimate(t *testing.T) {
	m := New(Config{})
	for k := range 20 {
		m.AddTrip(drive(41.15, -8.65, 12, 60, t0.Add(time.Duration(k)*time.Hour)))
	}
	var near *geo.Shape
	to := m.Destination(41.18, -8.60)
	check := func(from Point) {
		t.Helper()
		want := m.Estimate(from, 10, 41.18, -8.60)
		got, next := m.EstimateNear(from, 10, &to, near)
		if got != want {
			t.Fatalf("from %+v: EstimateNear %+v, Estimate %+v", from, got, want)
		}
		if next == nil {
			t.Fatalf("from %+v: no outline returned", from)
		}
		near = next
	}
	for _, p := range drive(41.15, -8.65, 12, 200, t0) { // 12 m/s, a fix a second: 2.4 km, cell after cell
		check(p)
	}
	check(Point{Lat: 41.30, Lng: -8.40, Time: t0}) // far from the last hint
}

func BenchmarkEstimate(b *testing.B) {
	m := New(Config{})
	for k := range 50 {
		m.AddTrip(drive(41.15, -8.65, 12, 60, t0.Add(time.Duration(k)*time.Hour)))
	}
	from := Point{Lat: 41.15, Lng: -8.65, Time: t0}
	b.ReportAllocs()
	for range b.N {
		m.Estimate(from, 10, 41.18, -8.60)
	}
}

// BenchmarkLearn is the write lock's hold: learning a watcher round's
// batch of learnBatch segments prepared beforehand (ns/op per batch).
func BenchmarkLearn(b *testing.B) {
	m := New(Config{})
	ps := drive(41.15, -8.65, 12, learnBatch+1, t0)
	var prepared Segments
	for i := 1; i < len(ps); i++ {
		m.PrepareSegment(&prepared, ps[i-1], ps[i], nil, false)
	}
	segs := Segments{s: make([]segment, 0, learnBatch)}
	b.ReportAllocs()
	for range b.N {
		segs.s = append(segs.s[:0], prepared.s...)
		m.Learn(&segs)
	}
}

// TestShapeCacheNext: walking in small steps, the outline found among the
// previous cell's neighbours is the cell a lookup gives, at every step.
func TestShapeCacheNext(t *testing.T) {
	var c shapeCache
	for _, res := range []int{8, 9} {
		lat, lng := 41.15, -8.62
		var shape *geo.Shape
		crossings := 0
		for i := range 5000 { // 5 km north-east in 1.3 m steps
			lat += 1e-5
			lng += 1e-5 * float64(i%3)
			want := geo.CellOf(lat, lng, res)
			switch {
			case shape == nil:
				shape = c.of(want)
			case !shape.Holds(lat, lng, 1):
				shape = c.next(shape, lat, lng, res)
				crossings++
			}
			if shape.Cell != want {
				t.Fatalf("res %d step %d: cell %v, a lookup gives %v", res, i, shape.Cell, want)
			}
		}
		if crossings < 5 {
			t.Fatalf("res %d: only %d cells crossed: the walk tests little", res, crossings)
		}
	}
}

// TestLearningDoesNotHoldBackEstimates: a learner waiting for the write
// lock while an estimate reads does not make the next estimate wait (as
// sync.RWMutex's Lock would), and learns once the reader is done.
func TestLearningDoesNotHoldBackEstimates(t *testing.T) {
	m := New(Config{})
	ps := drive(41.15, -8.65, 15, 2, t0)
	m.mu.RLock() // an estimate in progress
	learned := make(chan struct{})
	go func() {
		m.AddSegment(ps[0], ps[1])
		close(learned)
	}()
	time.Sleep(20 * time.Millisecond) // the learner is waiting by now
	read := make(chan struct{})
	go func() {
		m.Estimate(ps[0], -1, ps[1].Lat, ps[1].Lng)
		close(read)
	}()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		t.Fatal("an estimate waited behind a learner waiting for the lock")
	}
	select {
	case <-learned:
		t.Fatal("learned while an estimate held the read lock")
	default:
	}
	m.mu.RUnlock()
	select {
	case <-learned:
	case <-time.After(5 * time.Second):
		t.Fatal("the learner never got the lock")
	}
	if km, _ := m.Stats(); km <= 0 {
		t.Fatalf("learned %.3f km, want the segment", km)
	}
}

// BenchmarkEstimateNear is BenchmarkEstimate as the watcher estimates: with
// the outline the previous estimate returned.
func BenchmarkEstimateNear(b *testing.B) {
	m := New(Config{})
	for k := range 50 {
		m.AddTrip(drive(41.15, -8.65, 12, 60, t0.Add(time.Duration(k)*time.Hour)))
	}
	from := Point{Lat: 41.15, Lng: -8.65, Time: t0}
	to := m.Destination(41.18, -8.60)
	_, near := m.EstimateNear(from, 10, &to, nil)
	b.ReportAllocs()
	for range b.N {
		m.EstimateNear(from, 10, &to, near)
	}
}

// TestTrafficAgainstExpected: today's traffic is how much longer recent
// driving took than the model expected of those streets, not how slow
// those streets are. A fast ring road and a slow downtown street are
// learned over a week; a morning downtown at its usual pace is no
// traffic, and the estimate after it is the usual one; at half its usual
// speed, the estimate after it is much longer.
func TestTrafficAgainstExpected(t *testing.T) {
	morning := t0.Add(8 * 24 * time.Hour)
	after := func(speed float64) (traffic float64, e Estimate) {
		m := New(Config{})
		for h := range 7 * 24 {
			at := t0.Add(time.Duration(h) * time.Hour)
			m.AddTrip(drive(41.15, -8.65, 20, 60, at))                    // the ring road, 20 m/s
			m.AddTrip(drive(41.20, -8.65, 5, 60, at.Add(30*time.Minute))) // downtown, 5 m/s
		}
		for k := range 6 {
			ps := drive(41.20, -8.65, speed, 60, morning.Add(time.Duration(k)*10*time.Minute))
			for i := 1; i < len(ps); i++ {
				m.AddSegment(ps[i-1], ps[i])
			}
		}
		ps := drive(41.20, -8.65, 5, 60, t0)
		from := Point{Lat: ps[0].Lat, Lng: ps[0].Lng, Time: morning.Add(time.Hour)}
		return m.trafficFactor(from.Time), m.Estimate(from, -1, ps[59].Lat, ps[59].Lng)
	}
	usualTraffic, usual := after(5)
	if usualTraffic < 0.95 || usualTraffic > 1.05 {
		t.Errorf("downtown at its usual pace: traffic factor %.2f, want about 1", usualTraffic)
	}
	if s := usual.Duration.Seconds(); s < 500 || s > 700 {
		t.Errorf("downtown at its usual pace: estimate %.0f s, want about 590", s)
	}
	slowTraffic, slow := after(2.5)
	if slowTraffic <= 1.1 || slow.Duration < usual.Duration*13/10 {
		t.Errorf("downtown at half speed: traffic factor %.2f, estimate %v against the usual %v; want over 1.1 and 1.3x", slowTraffic, slow.Duration, usual.Duration)
	}
}
