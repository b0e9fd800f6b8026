package postgres

import (
	"context"
	"testing"

	"github.com/enroutehq/enroute"
)

func openTest(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestPositionsPrecision: what InsertPositions stores reads back rounded
// to the contract's precision (the nearest float64 of so many decimals),
// unknowns as they were, in a day's partition or the default one, and a
// retried batch (the merge) stores nothing twice.
func TestPositionsPrecision(t *testing.T) {
	ctx := context.Background()
	_, dsn := testPool(t)
	s := openTest(t, dsn)
	if _, err := s.EnsurePartitions(ctx, at("2026-12-01T00:00:00Z")); err != nil {
		t.Fatal(err)
	}
	ps := oldPositions()
	if err := s.InsertPositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if err := s.InsertPositions(ctx, ps[:10]); err != nil {
		t.Fatal(err)
	}
	got, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	if err != nil || len(got) != len(ps) {
		t.Fatalf("%d positions, want %d: %v", len(got), len(ps), err)
	}
	byKey := map[positionKey]enroute.Position{}
	for _, p := range got {
		byKey[keyOf(p)] = p
	}
	for _, want := range ps {
		g := byKey[keyOf(want)]
		checkPrecision(t, g, want)
		if g != stored(want) {
			t.Errorf("read %+v, want %+v", g, stored(want))
		}
	}
	if g := byKey[keyOf(ps[1])]; g.AccuracyM != -1 || g.SpeedMPS != -1 || g.HeadingDeg != -1 || g.Battery != -1 || g.AltitudeM != 0 {
		t.Errorf("unknowns came back as %+v", g)
	}
	if g := byKey[keyOf(ps[6])]; g.AccuracyM != 12.3 || g.SpeedMPS != 12.3 || g.HeadingDeg != 12.3 || g.AltitudeM != 12.3 || g.Battery != 12.3 {
		t.Errorf("12.3 came back as %+v", g)
	}
}
