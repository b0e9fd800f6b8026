package sqlite

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// A fleet's export of 200,000 fixes comes a page at a time: the callback
// sees every fix in order while the Go heap holds no more than a few
// pages (all of them would be 25 MB of Positions).
func TestEachPositionStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 200,000 fixes")
	}
	ctx := context.Background()
	s := openTest(t)
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	fillHistory(t, s, t0, 200) // 1,000 technicians
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapAlloc, ms.HeapAlloc
	var n int
	var last enroute.Position
	start := time.Now()
	err := s.EachPosition(ctx, enroute.PositionFilter{Since: t0, Until: t0.Add(24 * time.Hour)}, func(p *enroute.Position) error {
		if n > 0 && (p.Time.Before(last.Time) || p.Time.Equal(last.Time) && p.DeviceID <= last.DeviceID) {
			t.Fatalf("fix %d (%v, %d) after (%v, %d)", n, p.Time, p.DeviceID, last.Time, last.DeviceID)
		}
		if n++; n%20_000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		last = *p
		return nil
	})
	if err != nil || n != 200_000 {
		t.Fatalf("%d fixes, %v; want 200000", n, err)
	}
	if grew := int64(peak) - int64(base); grew > 8<<20 {
		t.Fatalf("the heap grew %d MB during the export", grew>>20)
	}
	t.Logf("200,000 fixes in %v, heap +%d KB at most", time.Since(start), (int64(peak)-int64(base))>>10)
}
