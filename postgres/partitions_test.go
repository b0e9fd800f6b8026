package postgres

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

func fixesAt(tech int64, times ...string) []enroute.Position {
	var ps []enroute.Position
	for _, s := range times {
		ps = append(ps, enroute.Position{TechnicianID: tech, DeviceID: tech * 10, Time: at(s), Lat: 41.15, Lng: -8.61,
			AccuracyM: 5, SpeedMPS: -1, HeadingDeg: -1, Battery: -1, ReceivedAt: at(s)})
	}
	return ps
}

// TestPositionsRetention: DeletePositionsBefore drops the days that ended
// by the cut (their tables gone), deletes the default partition's rows
// before it, keeps the cut's day whole, loses nothing at or after it, and
// counts what went; two nodes deleting at once count each row once.
func TestPositionsRetention(t *testing.T) {
	ctx := context.Background()
	pool, dsn := testPool(t)
	s := openTest(t, dsn)
	if n, err := s.EnsurePartitions(ctx, at("2026-12-01T10:00:00Z")); err != nil || n != 4 {
		t.Fatalf("made %d partitions: %v", n, err)
	}
	ps := fixesAt(1, "2020-01-01T00:00:00Z", "2026-11-29T12:00:00Z", "2026-11-30T23:59:59.999999Z", // default
		"2026-12-01T00:00:00Z", "2026-12-01T23:00:00Z", "2026-12-02T05:00:00Z", // gone with their days
		"2026-12-03T00:30:00Z", // before the cut, in its day: kept
		"2026-12-03T06:00:00Z", "2026-12-03T07:00:00Z", "2026-12-04T07:00:00Z", "2030-01-01T00:00:00Z")
	ps = append(ps, fixesAt(2, "2026-12-02T23:59:59.999999Z")...)
	if err := s.InsertPositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if got, want := partitionRows(t, pool), map[string]int64{"positions_default": 4, "positions_20261201": 2, "positions_20261202": 2,
		"positions_20261203": 3, "positions_20261204": 1}; !maps.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}

	cut := at("2026-12-03T06:00:00Z")
	n, err := s.DeletePositionsBefore(ctx, cut)
	if err != nil || n != 7 { // 3 of the default partition, 4 of two days
		t.Fatalf("deleted %d: %v", n, err)
	}
	if got, want := partitionRows(t, pool), map[string]int64{"positions_default": 1, "positions_20261203": 3, "positions_20261204": 1}; !maps.Equal(got, want) {
		t.Fatalf("partitions after retention %v, want %v", got, want)
	}
	var left int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_class WHERE relname IN ('positions_20261201', 'positions_20261202')").Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d dropped tables left: %v", left, err)
	}
	kept, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	var times []string
	for _, p := range kept {
		times = append(times, p.Time.Format(time.RFC3339))
	}
	if want := []string{"2026-12-03T00:30:00Z", "2026-12-03T06:00:00Z", "2026-12-03T07:00:00Z", "2026-12-04T07:00:00Z", "2030-01-01T00:00:00Z"}; !slices.Equal(times, want) {
		t.Fatalf("kept %v, want %v", times, want)
	}
	if n, err := s.DeletePositionsBefore(ctx, cut); err != nil || n != 0 {
		t.Fatalf("deleting again: %d, %v", n, err)
	}
	// The newest of each technician, across partitions and the default.
	if latest, err := s.LatestPositions(ctx, at("2026-12-01T00:00:00Z")); err != nil || len(latest) != 1 || !latest[0].Time.Equal(at("2030-01-01T00:00:00Z")) {
		t.Fatalf("latest = %+v, %v", latest, err)
	}

	// Two nodes at once: each row counted by the node that dropped it.
	other := openTest(t, dsn)
	var (
		wg     sync.WaitGroup
		counts [2]int64
		errs   [2]error
	)
	for i, st := range []*Store{s, other} {
		wg.Go(func() { counts[i], errs[i] = st.DeletePositionsBefore(ctx, at("2031-01-01T00:00:00Z")) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || counts[0]+counts[1] != 5 {
		t.Fatalf("two nodes deleted %v: %v", counts, errs)
	}
	if got := partitionRows(t, pool); !maps.Equal(got, map[string]int64{"positions_default": 0}) {
		t.Fatalf("partitions after everything went: %v", got)
	}
}

// TestEnsurePartitions: two nodes making the same days at once make each
// once; fixes that went to the default partition before their day had a
// table move into it, none lost, and later ones go straight there.
func TestEnsurePartitions(t *testing.T) {
	ctx := context.Background()
	pool, dsn := testPool(t)
	a, b := openTest(t, dsn), openTest(t, dsn)
	ps := fixesAt(1, "2026-12-09T23:59:59.999999Z", "2026-12-10T00:00:00Z", "2026-12-10T08:00:00Z", "2026-12-11T12:00:00Z", "2026-12-14T00:00:00Z")
	if err := a.InsertPositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if got := partitionRows(t, pool); !maps.Equal(got, map[string]int64{"positions_default": 5}) {
		t.Fatalf("partitions before: %v", got)
	}
	now := at("2026-12-10T08:00:00Z")
	var (
		wg    sync.WaitGroup
		made  [2]int
		errs  [2]error
		start = make(chan struct{})
	)
	for i, st := range []*Store{a, b} {
		wg.Go(func() { <-start; made[i], errs[i] = st.EnsurePartitions(ctx, now) })
	}
	close(start)
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || made[0]+made[1] != 4 {
		t.Fatalf("two nodes made %v partitions: %v", made, errs)
	}
	if got, want := partitionRows(t, pool), map[string]int64{"positions_default": 2, "positions_20261210": 2, "positions_20261211": 1,
		"positions_20261212": 0, "positions_20261213": 0}; !maps.Equal(got, want) {
		t.Fatalf("partitions %v, want %v", got, want)
	}
	if n, err := a.EnsurePartitions(ctx, now); err != nil || n != 0 {
		t.Fatalf("again: made %d: %v", n, err)
	}
	more := fixesAt(2, "2026-12-12T09:00:00Z")
	if err := b.InsertPositions(ctx, append(more, ps...)); err != nil { // a retry among them
		t.Fatal(err)
	}
	if got := partitionRows(t, pool)["positions_20261212"]; got != 1 {
		t.Fatalf("positions_20261212 holds %d", got)
	}
	all, err := a.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	if err != nil || len(all) != len(ps)+1 {
		t.Fatalf("%d positions, want %d: %v", len(all), len(ps)+1, err)
	}
	all = slices.DeleteFunc(all, func(p enroute.Position) bool { return p.TechnicianID == 2 })
	for i, p := range ps {
		if all[i] != p {
			t.Errorf("position %d = %+v, want %+v", i, all[i], p)
		}
	}
}
