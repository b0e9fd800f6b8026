package eta

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func points(ps []enroute.Position) []Point {
	out := make([]Point, len(ps))
	for i, p := range ps {
		out[i] = Point{p.Lat, p.Lng, p.Time}
	}
	return out
}

// learnedModel is a model that has learned two recorded drives whole
// (segments, detour, calibration).
func learnedModel(t *testing.T) (*Model, []Point) {
	t97, t98 := trace(t)
	m := New(Config{})
	m.AddTrip(points(t97))
	m.AddTrip(points(t98))
	// Enough errors for ranges: the same drives a day later.
	for _, tr := range [][]enroute.Position{t97, t98} {
		ps := points(tr)
		for i := range ps {
			ps[i].Time = ps[i].Time.Add(24 * time.Hour)
		}
		m.AddTrip(ps)
	}
	return m, points(append(t97, t98...))
}

// sameEstimates fails unless a and b estimate alike, to a part in 10⁹
// (sums learned in another order round differently), along drive.
func sameEstimates(t *testing.T, a, b *Model, drive []Point) {
	t.Helper()
	to := drive[len(drive)-1]
	for i := 0; i < len(drive)-1; i += 7 {
		for _, speed := range []float64{-1, 6} {
			ea, eb := a.Estimate(drive[i], speed, to.Lat, to.Lng), b.Estimate(drive[i], speed, to.Lat, to.Lng)
			near := func(x, y time.Duration) bool { return math.Abs(float64(x-y)) <= 1e-9*float64(x)+1 }
			if math.Abs(ea.DistanceM-eb.DistanceM) > 1e-9*ea.DistanceM || !near(ea.Duration, eb.Duration) || !near(ea.Early, eb.Early) || !near(ea.Late, eb.Late) {
				t.Fatalf("from fix %d: %+v against %+v", i, ea, eb)
			}
		}
	}
}

// TestSnapshotRoundTrip: a model restored from a snapshot holds all the
// original learned, and estimates alike.
func TestSnapshotRoundTrip(t *testing.T) {
	m, drive := learnedModel(t)
	data, err := m.MarshalBinary()
	must(t, err)
	restored := New(Config{})
	must(t, restored.UnmarshalBinary(data))
	sameEstimates(t, m, restored, drive)
	km, cells := m.Stats()
	km2, cells2 := restored.Stats()
	d, c := m.samples()
	d2, c2 := restored.samples()
	if km != km2 || cells != cells2 || d != d2 || c != c2 || d == 0 || c == 0 {
		t.Fatalf("restored %.3f km in %d cells, %d detour and %d calibration samples; the original %.3f, %d, %d, %d", km2, cells2, d2, c2, km, cells, d, c)
	}
	if len(restored.headed) != len(m.headed) || len(m.headed) == 0 {
		t.Fatalf("restored %d headed cells of %d", len(restored.headed), len(m.headed))
	}
	if last := drive[len(drive)-1].Time.Add(24 * time.Hour); !restored.LearnedUntil().Equal(last) {
		t.Fatalf("learned until %v, want the last fix's %v", restored.LearnedUntil(), last)
	}
	if empty := New(Config{}); empty.Estimate(drive[0], -1, drive[50].Lat, drive[50].Lng) == restored.Estimate(drive[0], -1, drive[50].Lat, drive[50].Lng) {
		t.Fatal("the restored model estimates as one that learned nothing")
	}
	if e := restored.Estimate(drive[0], -1, drive[50].Lat, drive[50].Lng); e.Late <= e.Duration || e.Early >= e.Duration {
		t.Fatalf("the restored model's range does not hold its estimate: %+v", e)
	}

	// An empty model's snapshot restores to an empty model.
	data, err = New(Config{}).MarshalBinary()
	must(t, err)
	empty := New(Config{})
	must(t, empty.UnmarshalBinary(data))
	if km, cells := empty.Stats(); km != 0 || cells != 0 || !empty.LearnedUntil().IsZero() {
		t.Fatalf("an empty snapshot restored %.1f km, %d cells, until %v", km, cells, empty.LearnedUntil())
	}
}

// TestSnapshotHeadings: a version 3 snapshot (no headings) loads all it
// holds, and a cell's pace in a heading is learned again; so is one saved
// with another number of headings. Either saves and loads again alike.
func TestSnapshotHeadings(t *testing.T) {
	m, drive := learnedModel(t)
	v3, _ := m.encode(3)
	v4, err := m.MarshalBinary()
	must(t, err)
	for _, tc := range []struct {
		name string
		data []byte
		cfg  Config
	}{{"version 3", v3, Config{}}, {"4 headings from 8", v4, Config{Headings: 4}}, {"1 heading from 8", v4, Config{Headings: 1}}} {
		old := New(tc.cfg)
		must(t, old.UnmarshalBinary(tc.data))
		km, cells := m.Stats()
		km2, cells2 := old.Stats()
		if km2 != km || cells2 != cells || len(old.headed) != 0 {
			t.Fatalf("%s: loaded %.3f km, %d cells, %d headed; want %.3f, %d, 0", tc.name, km2, cells2, len(old.headed), km, cells)
		}
		data, err := old.MarshalBinary()
		must(t, err)
		again := New(tc.cfg)
		must(t, again.UnmarshalBinary(data))
		sameEstimates(t, old, again, drive)
		// The driving after it teaches the headings again.
		for i := 1; i < 30; i++ {
			old.AddSegment(drive[i-1], drive[i])
		}
		if learned := len(old.headed) > 0; learned != (tc.cfg.Headings != 1) {
			t.Fatalf("%s: %d headed cells learned after loading", tc.name, len(old.headed))
		}
	}

	// A snapshot that says 1 heading and yet holds headed paces (no model
	// writes one) loads without them: nothing learns them.
	north := New(Config{})
	for k := range 20 {
		at := t0.Add(time.Duration(k) * time.Minute)
		north.AddSegment(Point{41.15 + float64(k)*0.001, -8.61, at}, Point{41.1505 + float64(k)*0.001, -8.61, at.Add(10 * time.Second)})
	}
	if len(north.headed) == 0 {
		t.Fatal("driving north learned no heading")
	}
	data, err := north.MarshalBinary()
	must(t, err)
	n := len(north.headed)
	headings := len(data) - 25*n - len(binary.AppendUvarint(nil, uint64(n))) - 1
	if data[headings] != 8 {
		t.Fatalf("byte %d is %d, not the 8 headings", headings, data[headings])
	}
	data[headings] = 1
	one := New(Config{Headings: 1})
	must(t, one.UnmarshalBinary(data))
	if len(one.headed) != 0 {
		t.Fatalf("a one-heading model loaded %d headed cells", len(one.headed))
	}
}

// TestSnapshotVersion2: a snapshot whose hours and recent driving are
// metres and seconds loads with the same hour factors, its recent driving
// dropped (no traffic) but its time kept.
func TestSnapshotVersion2(t *testing.T) {
	m, _ := learnedModel(t)
	data, until := m.encode(2)
	old := New(Config{})
	must(t, old.UnmarshalBinary(data))
	for h := range 7 * 24 {
		if a, b := m.hourFactor(h), old.hourFactor(h); math.Abs(a-b) > 1e-9 {
			t.Fatalf("hour %d: factor %.6f, loaded from version 2 %.6f", h, a, b)
		}
	}
	if f := old.trafficFactor(until); f != 1 || !old.LearnedUntil().Equal(until) {
		t.Fatalf("version 2 loaded traffic %.3f until %v; want 1 until %v", f, old.LearnedUntil(), until)
	}
}

// TestSnapshotVersion1: a snapshot of the first layout still loads, its
// driving and detour ratios; approaches, hours and errors are learned
// anew, and its calibration (of whole estimates) is dropped.
func TestSnapshotVersion1(t *testing.T) {
	m, drive := learnedModel(t)
	data, _ := m.encode(1)
	old := New(Config{})
	must(t, old.UnmarshalBinary(data))
	km, cells := m.Stats()
	km1, cells1 := old.Stats()
	d, _ := m.samples()
	d1, c1 := old.samples()
	if km1 != km || cells1 != cells || d1 != d || c1 != 0 {
		t.Fatalf("version 1 loaded %.3f km, %d cells, %d detour and %d calibration samples; want %.3f, %d, %d, 0", km1, cells1, d1, c1, km, cells, d)
	}
	// What it loaded saves as the current version and loads again alike.
	data, err := old.MarshalBinary()
	must(t, err)
	again := New(Config{})
	must(t, again.UnmarshalBinary(data))
	sameEstimates(t, old, again, drive)
}

// TestSnapshotRefusesDamage: a snapshot cut anywhere, or with a byte
// changed where it cannot be, is refused with an error (never a panic or a
// huge allocation), and the model keeps what it had; one of other cell
// resolutions is refused as such.
func TestSnapshotRefusesDamage(t *testing.T) {
	m, drive := learnedModel(t)
	data, err := m.MarshalBinary()
	must(t, err)
	target, _ := learnedModel(t)
	for n := range len(data) {
		if err := target.UnmarshalBinary(data[:n]); err == nil {
			t.Fatalf("a snapshot cut at %d of %d bytes was taken", n, len(data))
		}
	}
	for _, tc := range []struct {
		at  int
		val byte
	}{
		{0, 'X'},   // magic
		{6, 9},     // version
		{16, 0xff}, // the top byte of the global metres (bytes 9-16): negative
	} {
		bad := append([]byte(nil), data...)
		bad[tc.at] = tc.val
		if err := target.UnmarshalBinary(bad); err == nil {
			t.Fatalf("byte %d set to %#x was taken", tc.at, tc.val)
		}
	}
	// A count far past the end asks for no memory.
	huge := append(append([]byte(nil), data[:49]...), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f)
	if err := target.UnmarshalBinary(huge); err == nil {
		t.Fatal("a count past the end was taken")
	}
	if err := target.UnmarshalBinary(append(append([]byte(nil), data...), 0)); err == nil {
		t.Fatal("a snapshot with a byte after its end was taken")
	}
	sameEstimates(t, m, target, drive) // unchanged by all of the above

	other := New(Config{FineRes: 8, CoarseRes: 6})
	if err := other.UnmarshalBinary(data); !errors.Is(err, ErrSnapshotResolution) {
		t.Fatalf("a snapshot of resolution 9 into a model of 8: %v", err)
	}
}

// FuzzUnmarshalBinary: no input makes UnmarshalBinary panic, and what it
// takes encodes again to a snapshot it takes.
func FuzzUnmarshalBinary(f *testing.F) {
	m := New(Config{})
	t0 := time.Date(2026, 11, 28, 8, 0, 0, 0, time.UTC)
	m.AddTrip(drive(41.15, -8.61, 10, 20, t0))
	data, _ := m.MarshalBinary()
	f.Add(data)
	f.Add(data[:60])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		m := New(Config{})
		if m.UnmarshalBinary(b) != nil {
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := New(Config{}).UnmarshalBinary(again); err != nil {
			t.Fatalf("a taken snapshot, encoded again, is refused: %v", err)
		}
	})
}

// TestSnapshotThenHistory: a model saved part-way through the drives and
// loaded after a restart, then taught the history after its snapshot
// (LearnHistory from LearnedUntil), knows what a model that learned every
// fix live knows: nothing lost, nothing learned twice.
func TestSnapshotThenHistory(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t97, t98 := trace(t)
	fixes := append(t97, t98...)
	for i := range fixes {
		fixes[i].ReceivedAt = fixes[i].Time
	}
	must(t, store.InsertPositions(ctx, fixes))
	drive := points(fixes)
	live, saved := New(Config{}), New(Config{})
	half := len(drive) / 2
	for i := 1; i < len(drive); i++ {
		live.AddSegment(drive[i-1], drive[i])
		if i <= half {
			saved.AddSegment(drive[i-1], drive[i])
		}
	}
	must(t, saved.Save(ctx, store))

	restarted := New(Config{})
	since, err := restarted.Load(ctx, store)
	must(t, err)
	if !since.Equal(drive[half].Time) {
		t.Fatalf("loaded a model learned until %v, want %v", since, drive[half].Time)
	}
	if _, err := restarted.LearnHistory(ctx, store, since); err != nil {
		t.Fatal(err)
	}
	km, cells := live.Stats()
	km2, cells2 := restarted.Stats()
	if math.Abs(km-km2) > 1e-9*km || cells != cells2 {
		t.Fatalf("restarted: %.6f km in %d cell-hours; live: %.6f in %d", km2, cells2, km, cells)
	}
	sameEstimates(t, live, restarted, drive)

	// With nothing saved, Load says so and leaves the model empty.
	fresh := New(Config{})
	if since, err := fresh.Load(ctx, openStore(t)); err != nil || !since.IsZero() {
		t.Fatalf("Load with nothing saved = %v, %v", since, err)
	}
}

// bigModel has learned driving all over a 20 km square at every hour of
// the week, every way: ~170,000 cell-hours, a large fleet's weeks.
func bigModel(b *testing.B) *Model {
	b.Helper()
	m := New(Config{})
	t0 := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC) // a Monday
	var segs Segments
	for h := range 7 * 24 {
		for k := range 1000 {
			// A point on a grid walked in a stride that covers it.
			i := (k*7919 + h*104729) % 1000
			lat, lng := 41.06+float64(i/32)*0.0058, -8.72+float64(i%32)*0.0077
			at := t0.Add(time.Duration(h)*time.Hour + time.Duration(k)*time.Second)
			// 100 m in one of 8 headings: a cell is driven every way.
			a := float64((k+h)%8) * math.Pi / 4
			m.PrepareSegment(&segs, Point{lat, lng, at}, Point{lat + 0.0009*math.Cos(a), lng + 0.0012*math.Sin(a), at.Add(10 * time.Second)}, nil, false)
		}
		m.Learn(&segs)
	}
	return m
}

// BenchmarkSnapshot: encoding and decoding a large model; bytes/op is the
// snapshot's size.
func BenchmarkSnapshot(b *testing.B) {
	m := bigModel(b)
	_, cells := m.Stats()
	b.Run("Marshal", func(b *testing.B) {
		var n int
		for b.Loop() {
			data, _ := m.MarshalBinary()
			n = len(data)
		}
		b.ReportMetric(float64(n), "snapshot-bytes")
		b.ReportMetric(float64(cells), "cell-hours")
	})
	data, _ := m.MarshalBinary()
	b.Run("Unmarshal", func(b *testing.B) {
		for b.Loop() {
			if err := New(Config{}).UnmarshalBinary(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestLearnHistoryAcrossWindows: history read in windows loses no segment
// at a window's edge, and skips a long stretch with none: a drive of a fix
// every 90 s for 14 hours, a day and a half without any, then 2 hours
// more, is learned from the store as it was learned live.
func TestLearnHistoryAcrossWindows(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t0 := time.Now().Add(-72 * time.Hour).Truncate(time.Second)
	var fixes []enroute.Position
	add := func(from time.Time, hours int) {
		for i := range hours * 40 {
			at := from.Add(time.Duration(i) * 90 * time.Second)
			fixes = append(fixes, enroute.Position{TechnicianID: 1, DeviceID: 1, Time: at, ReceivedAt: at,
				Lat: 41.10 + float64(i%400)*0.0004, Lng: -8.65 + float64(i/400)*0.001})
		}
	}
	add(t0, 14)
	add(t0.Add(50*time.Hour), 2)
	must(t, store.InsertPositions(ctx, fixes))
	live := New(Config{})
	for i := 1; i < len(fixes); i++ {
		live.AddSegment(Point{fixes[i-1].Lat, fixes[i-1].Lng, fixes[i-1].Time}, Point{fixes[i].Lat, fixes[i].Lng, fixes[i].Time})
	}
	relearned := New(Config{})
	n, err := relearned.LearnHistory(ctx, store, t0.Add(-30*24*time.Hour))
	if err != nil || n != len(fixes) {
		t.Fatalf("read %d of %d positions: %v", n, len(fixes), err)
	}
	km, cells := live.Stats()
	km2, cells2 := relearned.Stats()
	if math.Abs(km-km2) > 1e-9*km || cells != cells2 || km < 10 {
		t.Fatalf("relearned %.6f km in %d cell-hours; live %.6f in %d", km2, cells2, km, cells)
	}
}
