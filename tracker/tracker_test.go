package tracker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/sqlite"
	"github.com/enroutehq/enroute/tracker"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t testing.TB) enroute.Store {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls ok every millisecond until it holds, failing the test
// after within: these tests' one way to wait for state.
func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, within)
		}
	}
}

// collector is a Publisher that keeps what it is told.
type collector struct {
	mu      sync.Mutex
	ps      []enroute.Position
	learned []enroute.Position
}

func (c *collector) PublishPosition(p *enroute.Position) {
	c.mu.Lock()
	c.ps = append(c.ps, *p)
	c.mu.Unlock()
}
func (c *collector) PublishAssignment(*enroute.Assignment) {}

// Learn implements tracker.Learner.
func (c *collector) Learn(ps []enroute.Position) {
	c.mu.Lock()
	c.learned = append(c.learned, ps...)
	c.mu.Unlock()
}
func (c *collector) PublishProgress(*enroute.Progress) {}

func pos(lat, lng float64, t time.Time) tracker.Item {
	return tracker.Item{Pos: enroute.Position{Time: t, Lat: lat, Lng: lng, AccuracyM: 5, SpeedMPS: 10, HeadingDeg: 90, Battery: 80}}
}

func start(t *testing.T, cfg tracker.Config) (*tracker.Tracker, enroute.Store, *collector) {
	s := openStore(t)
	tr := tracker.New(cfg, s, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tr.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	c := &collector{}
	tr.Subscribe(c)
	return tr, s, c
}

func TestIngestValidation(t *testing.T) {
	tr, s, pub := start(t, tracker.Config{MaxAge: time.Hour})
	dev := &enroute.Device{ID: 7, TechnicianID: 3}
	now := time.Now().UTC().Truncate(time.Second)
	items := []tracker.Item{
		pos(41.1496, -8.6109, now.Add(-10*time.Second)), // 0 ok
		pos(41.1497, -8.6108, now.Add(-9*time.Second)),  // 1 ok, newest
		pos(41.1496, -8.6109, now.Add(-10*time.Second)), // 2 duplicate of 0
		pos(41.1490, -8.6100, now.Add(-20*time.Second)), // 3 out of order: history only
		pos(0, 0, now),  // 4 (0,0)
		pos(91, 0, now), // 5 range
		pos(41.15, -8.61, now.Add(10*time.Minute)), // 6 future
		pos(41.15, -8.61, now.Add(-2*time.Hour)),   // 7 too old
		pos(38.72, -9.14, now.Add(-8*time.Second)), // 8 Lisbon a second later: jump
		{Err: "ts is required"},                    // 9 decode error
	}
	items[4].Pos.Lat, items[4].Pos.Lng = 0, 0
	bad := pos(41.15, -8.61, now.Add(-5*time.Second))
	bad.Pos.AccuracyM = 900
	items = append(items, bad) // 10 inaccurate

	res, err := tr.Ingest(context.Background(), dev, items)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.Duplicates != 1 || len(res.Rejected) != 7 {
		t.Fatalf("result = %+v", res)
	}
	for _, r := range res.Rejected {
		want := map[int]string{4: "(0, 0)", 5: "lat must be", 6: "future", 7: "older than", 8: "impossible jump", 9: "ts is required", 10: "accuracy 900 m"}[r.Index]
		if want == "" || !strings.Contains(r.Reason, want) {
			t.Errorf("rejection %d = %q, want %q", r.Index, r.Reason, want)
		}
	}
	live, ok := tr.Live.Get(3)
	if !ok || live.Lat != 41.1497 || live.DeviceID != 7 {
		t.Fatalf("live = %+v", live)
	}
	if n, _ := s.CountPositions(context.Background()); n != 3 {
		t.Fatalf("stored %d, accepted 3", n)
	}
	if len(pub.ps) != 1 || pub.ps[0].Lat != 41.1497 {
		t.Fatalf("published %+v", pub.ps)
	}
	// An older fix later never moves the live position back.
	if _, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(41.2, -8.6, now.Add(-time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if live, _ := tr.Live.Get(3); live.Lat != 41.1497 {
		t.Fatalf("an older fix moved the live position: %+v", live)
	}
}

// TestIngestAcrossAntimeridian: a technician driving across 180° on
// Taveuni, Fiji, moves 100 m, not around the world: no jump.
func TestIngestAcrossAntimeridian(t *testing.T) {
	tr, _, _ := start(t, tracker.Config{})
	now := time.Now().UTC().Truncate(time.Second)
	res, err := tr.Ingest(context.Background(), &enroute.Device{ID: 1, TechnicianID: 1},
		[]tracker.Item{pos(-16.8, 179.9995, now.Add(-20*time.Second)), pos(-16.8, -179.9995, now.Add(-10*time.Second))})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Rejected) != 0 {
		t.Fatalf("result = %+v", res)
	}
	if live, _ := tr.Live.Get(1); live.Lng != -179.9995 {
		t.Fatalf("live = %+v", live)
	}
}

func TestIngestBusy(t *testing.T) {
	tr, _, _ := start(t, tracker.Config{Recorder: tracker.RecorderConfig{MaxPending: 2}})
	now := time.Now()
	_, err := tr.Ingest(context.Background(), &enroute.Device{ID: 1, TechnicianID: 1},
		[]tracker.Item{pos(41.1, -8.6, now), pos(41.1, -8.6, now.Add(time.Second)), pos(41.1, -8.6, now.Add(2*time.Second))})
	if !tracker.IsBusy(err) {
		t.Fatalf("3 fixes into room for 2 = %v", err)
	}
	if tr.Live.Len() != 0 || tr.Pending() != 0 {
		t.Fatal("a refused batch changed the state")
	}
}

// TestIngestConcurrentAllStored: many devices at once; every accepted fix
// is stored exactly once.
func TestIngestConcurrentAllStored(t *testing.T) {
	tr, s, _ := start(t, tracker.Config{})
	base := time.Now().Add(-time.Hour)
	var wg sync.WaitGroup
	var mu sync.Mutex
	total := 0
	for d := range 20 {
		wg.Go(func() {
			dev := &enroute.Device{ID: int64(d + 1), TechnicianID: int64(d + 1)}
			for b := range 10 {
				var items []tracker.Item
				for i := range 25 {
					k := b*25 + i
					items = append(items, pos(41.1+float64(k)*1e-5, -8.6, base.Add(time.Duration(k)*time.Second)))
				}
				res, err := tr.Ingest(context.Background(), dev, items)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total += res.Accepted
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n, _ := s.CountPositions(context.Background()); n != int64(total) || total != 5000 {
		t.Fatalf("stored %d, accepted %d, want 5000", n, total)
	}
}

func TestLiveIndex(t *testing.T) {
	l := tracker.NewLive(8)
	now := time.Now()
	apply := func(tech int64, lat, lng float64, dt time.Duration) {
		p := enroute.Position{TechnicianID: tech, DeviceID: tech, Lat: lat, Lng: lng, Time: now.Add(dt)}
		l.Apply(&p, 0)
	}
	apply(1, 41.1496, -8.6109, 0) // Porto centre
	apply(2, 41.1579, -8.6291, 0) // Boavista
	apply(3, 41.8781, -87.6298, 0)
	porto := geo.BBox{MinLat: 41.14, MinLng: -8.62, MaxLat: 41.16, MaxLng: -8.60}
	if got := l.InBBox(porto, 4096); len(got) != 1 || got[0].TechnicianID != 1 {
		t.Fatalf("in Porto box = %+v", got)
	}
	// Moving across the city moves the technician between cells.
	c1, _ := l.Cell(1)
	apply(1, 41.1579, -8.6290, time.Minute)
	if c2, _ := l.Cell(1); c2 == c1 || c2 != geo.CellOf(41.1579, -8.6290, 8) {
		t.Fatalf("cell after the move = %v (was %v)", c2, c1)
	}
	if got := l.InBBox(porto, 4096); len(got) != 0 {
		t.Fatalf("left the box but still found: %+v", got)
	}
	near := l.Near(41.1580, -8.6290, 500, 4096)
	if len(near) != 2 {
		t.Fatalf("near = %+v", near)
	}
	// Small moves inside a cell keep the cell without recomputing it.
	for i := range 50 {
		apply(2, 41.1579+float64(i)*1e-6, -8.6291, time.Duration(i+1)*time.Second)
		if c, _ := l.Cell(2); c != geo.CellOf(41.1579+float64(i)*1e-6, -8.6291, 8) {
			t.Fatalf("stale cell after a small move")
		}
	}
	if got := l.InBBox(geo.BBox{MinLat: -89, MinLng: -179, MaxLat: 89, MaxLng: 179}, 16); len(got) != 3 {
		t.Fatalf("world box (scan) = %d", len(got))
	}
}

func TestRestore(t *testing.T) {
	tr, s, _ := start(t, tracker.Config{})
	now := time.Now()
	for tech := range 3 {
		dev := &enroute.Device{ID: int64(tech + 1), TechnicianID: int64(tech + 1)}
		if _, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(41.1, -8.6, now.Add(-time.Minute)), pos(41.1005, -8.6+float64(tech)*0.0001, now.Add(-time.Second))}); err != nil {
			t.Fatal(err)
		}
	}
	fresh := tracker.New(tracker.Config{}, s, quiet)
	n, err := fresh.Restore(context.Background())
	if err != nil || n != 3 {
		t.Fatalf("restored %d, %v", n, err)
	}
	if p, ok := fresh.Live.Get(2); !ok || p.Lat != 41.1005 {
		t.Fatalf("restored live = %+v", p)
	}
}

func BenchmarkLive_Apply(b *testing.B) {
	for _, techs := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("techs=%d", techs), func(b *testing.B) {
			l := tracker.NewLive(8)
			t0 := time.Now()
			b.ReportAllocs()
			for i := range b.N {
				tech := int64(i % techs)
				p := enroute.Position{TechnicianID: tech, DeviceID: tech, Lat: 41.1 + float64(i%5000)*2e-5, Lng: -8.6 + float64(tech%100)*1e-3, Time: t0.Add(time.Duration(i) * time.Millisecond)}
				l.Apply(&p, 70)
			}
		})
	}
}

// TestMirror: positions from other nodes become live here and pass on; an
// older one (crossed on two nodes) and a repeat of an overtaken one do not.
func TestMirror(t *testing.T) {
	live := tracker.NewLive(8)
	var got collector
	m := tracker.Mirror{Live: live, Next: &got}
	t0 := time.Now().Add(-time.Minute)
	p1 := enroute.Position{TechnicianID: 7, DeviceID: 1, Lat: 41.1430, Lng: -8.6075, Time: t0}
	p2 := enroute.Position{TechnicianID: 7, DeviceID: 2, Lat: 41.1440, Lng: -8.6075, Time: t0.Add(10 * time.Second)}
	p0 := enroute.Position{TechnicianID: 7, DeviceID: 1, Lat: 41.1420, Lng: -8.6075, Time: t0.Add(-10 * time.Second)}
	m.PublishPosition(&p1)
	m.PublishPosition(&p2)
	m.PublishPosition(&p0) // older than the live one
	m.PublishPosition(&p1) // seen, and overtaken
	m.PublishPosition(&p2) // seen, still the newest: a repeat passes on
	if len(got.ps) != 3 || got.ps[0].Lat != p1.Lat || got.ps[1].Lat != p2.Lat || got.ps[2].Lat != p2.Lat {
		t.Fatalf("passed on %+v", got.ps)
	}
	if cur, ok := live.Get(7); !ok || cur.Lat != p2.Lat || cur.Cell == 0 {
		t.Fatalf("live %+v %v", cur, ok)
	}
	if n := len(live.Near(41.1440, -8.6075, 500, 100)); n != 1 {
		t.Fatalf("near finds %d technicians", n)
	}
}

// TestIngestLearners: publishers get a request's newest fix, learners
// every accepted one (not the rejected nor the duplicates).
func TestIngestLearners(t *testing.T) {
	tr, _, c := start(t, tracker.Config{})
	tr.SubscribeLearner(c)
	dev := &enroute.Device{ID: 1, TechnicianID: 1}
	now := time.Now()
	if _, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(41.15, -8.61, now.Add(-3*time.Second))}); err != nil {
		t.Fatal(err)
	}
	res, err := tr.Ingest(context.Background(), dev, []tracker.Item{
		pos(41.1501, -8.61, now.Add(-2*time.Second)),
		pos(91, -8.61, now.Add(-90*time.Second)),   // invalid
		pos(41.15, -8.61, now.Add(-3*time.Second)), // duplicate
		pos(41.1502, -8.61, now.Add(-1*time.Second)),
	})
	if err != nil || res.Accepted != 2 {
		t.Fatalf("ingest = %+v, %v", res, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ps) != 2 || c.ps[1].Lat != 41.1502 {
		t.Fatalf("published %+v, want each request's newest", c.ps)
	}
	if len(c.learned) != 3 || c.learned[1].Lat != 41.1501 || c.learned[2].Lat != 41.1502 {
		t.Fatalf("learned %+v, want the three accepted fixes", c.learned)
	}
}

// stallingStore is the real store whose position inserts wait while its
// gate is shut: a database that has stopped answering.
type stallingStore struct {
	enroute.Store
	gate chan struct{} // closed: open
}

func (s *stallingStore) InsertPositions(ctx context.Context, ps []enroute.Position) error {
	<-s.gate
	return s.Store.InsertPositions(ctx, ps)
}

// TestIngestCommitTimeout: while the store does not answer, Ingest gives
// up after CommitTimeout without acknowledging, and the fixes are still
// written once the store answers; the next request's wait is a fresh one.
func TestIngestCommitTimeout(t *testing.T) {
	s := &stallingStore{Store: openStore(t), gate: make(chan struct{})}
	tr := tracker.New(tracker.Config{CommitTimeout: 100 * time.Millisecond}, s, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { tr.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	dev := &enroute.Device{ID: 7, TechnicianID: 3}
	now := time.Now().UTC().Truncate(time.Second)

	started := time.Now()
	_, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(41.1496, -8.6109, now.Add(-3*time.Second))})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Ingest with the store stalled = %v, want a deadline error", err)
	}
	if d := time.Since(started); d > 5*time.Second {
		t.Fatalf("gave up after %v, want about 100 ms", d)
	}
	close(s.gate)
	waitFor(t, 5*time.Second, "unacknowledged fix stored once the store answered", func() bool {
		n, _ := s.CountPositions(context.Background())
		return n == 1
	})
	for i := range 3 { // timers from the pool, one of them fired before
		if _, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(41.1496, -8.6109, now.Add(time.Duration(i-2)*time.Second))}); err != nil {
			t.Fatalf("Ingest %d after the store answered: %v", i, err)
		}
	}
}

// TestOneRuleForEveryProtocol: the same impossible optional values, sent by
// each protocol, are stored the same way (unknown), and the fix is kept.
// Before, the native and OsmAnd protocols stored them as sent.
func TestOneRuleForEveryProtocol(t *testing.T) {
	tr, s, _ := start(t, tracker.Config{MaxAge: time.Hour})
	now := time.Now().UTC().Truncate(time.Second)
	for _, tc := range []struct {
		name                               string
		acc, speedMPS, heading, batt, altM float64
	}{
		{"negative", -5, -3, -10, -2, 1e308},
		{"too large", 10, 500, 400, 150, -5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := now.Add(-time.Duration(len(tc.name)) * time.Second)
			native := fmt.Sprintf(`[{"ts":%q,"lat":41.15,"lng":-8.61,"accuracy_m":%g,"speed_mps":%g,"heading_deg":%g,"battery":%g,"altitude_m":%g}]`,
				ts.Format(time.RFC3339), tc.acc, tc.speedMPS, tc.heading, tc.batt, tc.altM)
			items, err := tracker.DecodeNative([]byte(native))
			if err != nil {
				t.Fatal(err)
			}
			_, osm, err := tracker.DecodeOsmAnd(url.Values{"id": {"x"}, "lat": {"41.15"}, "lon": {"-8.61"},
				"timestamp": {fmt.Sprint(ts.Unix())}, "accuracy": {fmt.Sprint(tc.acc)}, "speed": {fmt.Sprint(tc.speedMPS / (1852.0 / 3600))},
				"bearing": {fmt.Sprint(tc.heading)}, "batt": {fmt.Sprint(tc.batt)}, "altitude": {fmt.Sprint(tc.altM)}}, now)
			if err != nil {
				t.Fatal(err)
			}
			_, traccar, err := tracker.DecodeTraccarJSON([]byte(fmt.Sprintf(`{"device_id":"x","location":{"timestamp":%q,"coords":{"latitude":41.15,"longitude":-8.61,"accuracy":%g,"speed":%g,"heading":%g,"altitude":%g},"battery":{"level":%g}}}`,
				ts.Format(time.RFC3339), tc.acc, tc.speedMPS, tc.heading, tc.altM, tc.batt/100)), now)
			if err != nil {
				t.Fatal(err)
			}
			own, _, err := tracker.DecodeOwnTracks([]byte(fmt.Sprintf(`{"_type":"location","lat":41.15,"lon":-8.61,"tst":%d,"acc":%g,"vel":%g,"cog":%g,"batt":%g,"alt":%g}`,
				ts.Unix(), tc.acc, tc.speedMPS*3.6, tc.heading, tc.batt, tc.altM)))
			if err != nil {
				t.Fatal(err)
			}
			protocols := map[string]enroute.Position{"native": items[0].Pos, "osmand": osm, "traccar": traccar, "owntracks": own}
			tech := int64(100 + 10*len(tc.name))
			for name, p := range protocols {
				tech++
				res, err := tr.Ingest(context.Background(), &enroute.Device{ID: tech, TechnicianID: tech}, []tracker.Item{{Pos: p}})
				if err != nil || res.Accepted != 1 {
					t.Fatalf("%s: %+v, %v", name, res, err)
				}
				got, err := s.FindPositions(context.Background(), enroute.PositionFilter{TechnicianID: &tech})
				if err != nil || len(got) != 1 {
					t.Fatalf("%s: stored %+v, %v", name, got, err)
				}
				g := got[0]
				wantAcc := tracker.Unknown
				if tc.acc >= 0 {
					wantAcc = tc.acc
				}
				if g.AccuracyM != wantAcc || g.SpeedMPS != tracker.Unknown || g.HeadingDeg != tracker.Unknown ||
					g.Battery != tracker.Unknown || g.AltitudeM != 0 {
					t.Errorf("%s stored accuracy %v, speed %v, heading %v, battery %v, altitude %v; want %v, unknown, unknown, unknown, 0",
						name, g.AccuracyM, g.SpeedMPS, g.HeadingDeg, g.Battery, g.AltitudeM, wantAcc)
				}
			}
		})
	}
}

// TestLiveBoxes: boxes of any shape find the right technicians. Before, the
// world (H3 asked to fill it: 39 s and 5.1 GB) and a band of every longitude
// found nobody, and a box across the antimeridian was refused.
func TestLiveBoxes(t *testing.T) {
	l := tracker.NewLive(8)
	now := time.Now()
	at := map[int64][2]float64{
		1: {41.8781, -87.6298}, // Chicago
		2: {41.1496, -8.6109},  // Porto
		3: {-16.80, 179.95},    // Fiji, east of the antimeridian's west side
		4: {-16.81, -179.95},   // and just across it
	}
	for tech, p := range at {
		l.Apply(&enroute.Position{TechnicianID: tech, DeviceID: tech, Lat: p[0], Lng: p[1], Time: now}, 0)
	}
	ids := func(ps []enroute.Position) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.TechnicianID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		bbox string
		want []int64
	}{
		{"-90,-180,90,180", []int64{1, 2, 3, 4}},
		{"41.8,-179.9,41.9,179.9", []int64{1}},
		{"-17,179.9,-16.7,-179.9", []int64{3, 4}},
		{"-17,179.9,-16.7,180", []int64{3}},
		{"-17,170,-16.7,190", []int64{3, 4}}, // a map panned past 180
		{"41,-9,42,-8", []int64{2}},
	} {
		b, err := geo.ParseBBox(tc.bbox)
		if err != nil {
			t.Fatalf("%s: %v", tc.bbox, err)
		}
		for _, maxCells := range []int{16, 4096} {
			if got := ids(l.InBBox(b, maxCells)); !slices.Equal(got, tc.want) {
				t.Errorf("bbox %s (max %d cells): %v, want %v", tc.bbox, maxCells, got, tc.want)
			}
		}
	}
	if got := ids(l.Near(-16.805, 179.99, 20_000, 4096)); !slices.Equal(got, []int64{3, 4}) {
		t.Errorf("near, across the antimeridian: %v", got)
	}
	if got := ids(l.Near(41.88, -87.63, 500_000, 4096)); !slices.Equal(got, []int64{1}) {
		t.Errorf("near Chicago, 500 km: %v", got)
	}
}
