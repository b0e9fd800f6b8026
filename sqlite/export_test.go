package sqlite

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// A fleet's export of 60,000 fixes comes a page at a time: the callback
// sees every fix in order while the live heap holds no more than a page
// or two (the whole period would be 7.7 MB of Positions).
func TestEachPositionStreams(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]enroute.Position, 0, 200)
	for tech := int64(1); tech <= 300; tech++ {
		batch = batch[:0]
		for i := range 200 {
			at := t0.Add(time.Duration(i)*10*time.Second + time.Duration(tech)*time.Millisecond)
			batch = append(batch, enroute.Position{TechnicianID: tech, DeviceID: tech, Time: at, Lat: 41, Lng: -8, ReceivedAt: at})
		}
		if err := s.InsertPositions(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	live := func() int64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return int64(ms.HeapAlloc)
	}
	base, peak := live(), int64(0)
	var n int
	var last enroute.Position
	err := s.EachPosition(ctx, enroute.PositionFilter{Since: t0, Until: t0.Add(24 * time.Hour)}, func(p *enroute.Position) error {
		if n > 0 && (p.Time.Before(last.Time) || p.Time.Equal(last.Time) && p.DeviceID <= last.DeviceID) {
			t.Fatalf("fix %d (%v, %d) after (%v, %d)", n, p.Time, p.DeviceID, last.Time, last.DeviceID)
		}
		if n++; n%10_000 == 0 {
			peak = max(peak, live()-base)
		}
		last = *p
		return nil
	})
	if err != nil || n != 60_000 {
		t.Fatalf("%d fixes, %v; want 60000", n, err)
	}
	if peak > 4<<20 {
		t.Fatalf("the live heap grew %d KB during the export", peak>>10)
	}
	t.Logf("live heap +%d KB at most", peak>>10)
}
