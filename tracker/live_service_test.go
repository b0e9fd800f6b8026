package tracker_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// ordered records which of its publishers heard of each position, in turn.
type ordered struct {
	mu  sync.Mutex
	log []string
}

type named struct {
	name string
	o    *ordered
}

func (n named) PublishPosition(*enroute.Position) {
	n.o.mu.Lock()
	n.o.log = append(n.o.log, n.name)
	n.o.mu.Unlock()
}
func (named) PublishAssignment(*enroute.Assignment) {}
func (named) PublishProgress(*enroute.Progress)     {}

// Estimators hear of a position before every publisher, whatever the
// order they were added in: the ETA watcher's progress, queued in the hub,
// goes out with the position (enroute.ProgressQueuer).
func TestEstimatorsBeforePublishers(t *testing.T) {
	tr, _, _ := start(t, tracker.Config{})
	o := &ordered{}
	tr.Subscribe(named{"hub", o})
	tr.SubscribeEstimator(named{"eta", o})
	dev := &enroute.Device{ID: 1, TechnicianID: 1}
	now := time.Now()
	for i := range 3 {
		if _, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(41.15, -8.61+float64(i)*1e-4, now.Add(time.Duration(i)*time.Second))}); err != nil {
			t.Fatal(err)
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	want := []string{"eta", "hub", "eta", "hub", "eta", "hub"}
	if len(o.log) != len(want) {
		t.Fatalf("heard %v, want %v", o.log, want)
	}
	for i := range want {
		if o.log[i] != want[i] {
			t.Fatalf("heard %v, want %v", o.log, want)
		}
	}
}

// The tracker answers enroute.LiveService's questions from its live state:
// one technician, a box (across the antimeridian too), near a point, all.
func TestLiveService(t *testing.T) {
	tr, _, _ := start(t, tracker.Config{})
	var live enroute.LiveService = tr
	now := time.Now()
	for _, f := range []struct {
		tech     int64
		lat, lng float64
	}{{1, 41.1496, -8.6109}, {2, 41.1579, -8.6291}, {3, -17.7134, 178.065}, {4, -16.5, -179.9}} {
		dev := &enroute.Device{ID: f.tech, TechnicianID: f.tech}
		if _, err := tr.Ingest(context.Background(), dev, []tracker.Item{pos(f.lat, f.lng, now)}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ps []enroute.Position) []int64 {
		var out []int64
		for _, p := range ps {
			out = append(out, p.TechnicianID)
		}
		return out
	}
	same := func(what string, got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %v, want %v", what, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s = %v, want %v", what, got, want)
			}
		}
	}
	if p, ok := live.LivePosition(2); !ok || p.Lat != 41.1579 {
		t.Fatalf("LivePosition(2) = %+v, %v", p, ok)
	}
	if _, ok := live.LivePosition(99); ok {
		t.Fatal("a technician without fixes has a live position")
	}
	same("Porto", ids(live.LiveInBox(enroute.Box{MinLat: 41.14, MinLng: -8.62, MaxLat: 41.16, MaxLng: -8.60})), 1)
	same("Fiji, across the antimeridian", ids(live.LiveInBox(enroute.Box{MinLat: -20, MinLng: 170, MaxLat: -15, MaxLng: -170})), 3, 4)
	same("near Boavista, nearest first", ids(live.LiveNear(41.1580, -8.6290, 5000, 0)), 2, 1)
	same("all", ids(live.LivePositions()), 1, 2, 3, 4)
}
