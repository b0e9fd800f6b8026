package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// TestEachPositionFleetWindows: the fleet's export, read in windows of
// time that shrink after a full page and grow after a thin one, gives
// every fix once, in order: a burst of many devices at one instant (more
// than a page), a dense hour, a sparse week, across day partitions and
// the default partition.
func TestEachPositionFleetWindows(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	defer func(n int) { fleetPage = n }(fleetPage)
	fleetPage = 97

	t0 := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	if _, err := s.EnsurePartitions(ctx, t0); err != nil {
		t.Fatal(err)
	}
	var ps []enroute.Position
	add := func(tech, dev int64, at time.Time) {
		ps = append(ps, enroute.Position{TechnicianID: tech, DeviceID: dev, Time: at, Lat: 41.1, Lng: -8.6,
			AccuracyM: 5, SpeedMPS: -1, HeadingDeg: -1, Battery: 50, ReceivedAt: at})
	}
	for dev := range int64(250) { // a burst: 250 devices at one instant
		add(1, 1000+dev, t0.Add(time.Minute))
	}
	for i := range 1200 { // a dense hour, 10 technicians
		add(int64(2+i%10), int64(2+i%10), t0.Add(time.Duration(i)*3*time.Second))
	}
	for i := range 40 { // a sparse week, and past the partitions made (default)
		add(20, 20, t0.Add(time.Duration(i)*5*time.Hour))
	}
	if err := s.InsertPositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	for _, f := range []enroute.PositionFilter{{}, {Since: t0.Add(time.Minute), Until: t0.Add(150 * time.Hour)}} {
		var got []enroute.Position
		if err := s.EachPosition(ctx, f, func(p *enroute.Position) error { got = append(got, *p); return nil }); err != nil {
			t.Fatal(err)
		}
		f.Unlimited = true
		want, err := s.FindPositions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) < 1000 {
			t.Fatalf("only %d fixes match %+v", len(want), f)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("%+v: %d fixes, want %d: %s", f, len(got), len(want), d[:min(len(d), 2000)])
		}
	}
}
