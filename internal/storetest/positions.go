package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func fix(tech, dev int64, t time.Time, lat float64) enroute.Position {
	return enroute.Position{TechnicianID: tech, DeviceID: dev, Time: t, Lat: lat, Lng: -8.61,
		AccuracyM: 5.5, SpeedMPS: 12.25, HeadingDeg: 90, AltitudeM: 80, Battery: 77, ReceivedAt: t.Add(time.Second)}
}

func testPositions(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var batch []enroute.Position
	for i := range 250 { // more than one multi-row statement
		batch = append(batch, fix(1, 10, t0.Add(time.Duration(i)*time.Second), 41.0+float64(i)*1e-4))
	}
	batch = append(batch, fix(2, 20, t0.Add(30*time.Second), 40.0), fix(2, 20, t0.Add(10*time.Second), 39.0))
	must(t, s.InsertPositions(ctx, batch))
	// A retried batch, with one new fix: stored once.
	retry := append(append([]enroute.Position{}, batch[:5]...), fix(1, 10, t0.Add(time.Hour), 42))
	must(t, s.InsertPositions(ctx, retry))
	must(t, s.InsertPositions(ctx, nil))
	n, err := s.CountPositions(ctx)
	must(t, err)
	if n != 253 {
		t.Fatalf("count = %d, want 253", n)
	}

	tech := int64(1)
	got, err := s.FindPositions(ctx, enroute.PositionFilter{TechnicianID: &tech, Since: t0.Add(10 * time.Second), Until: t0.Add(13 * time.Second)})
	must(t, err)
	if len(got) != 3 {
		t.Fatalf("window = %d positions", len(got))
	}
	diff(t, got[0], batch[10])
	// A page of them, in time order.
	got, err = s.FindPositions(ctx, enroute.PositionFilter{TechnicianID: &tech, Since: t0, Page: enroute.Page{Limit: 2, Offset: 10}})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("page = %d positions", len(got))
	}
	diff(t, got[0], batch[10])
	diff(t, got[1], batch[11])

	latest, err := s.LatestPositions(ctx, t0)
	must(t, err)
	if len(latest) != 2 {
		t.Fatalf("latest = %+v", latest)
	}
	for _, p := range latest {
		if p.TechnicianID == 1 && (p.Lat != 42 || !p.Time.Equal(t0.Add(time.Hour))) ||
			p.TechnicianID == 2 && p.Lat != 40.0 {
			t.Fatalf("latest of %d = %+v", p.TechnicianID, p)
		}
	}
	if latest, _ := s.LatestPositions(ctx, t0.Add(time.Minute)); len(latest) != 1 {
		t.Fatalf("latest since a minute later = %+v", latest)
	}

	all, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	must(t, err)
	if len(all) != 253 {
		t.Fatalf("unlimited = %d", len(all))
	}
	// Retention forgets in whole periods of at most a day: what was taken a
	// day before the cut is gone, nothing taken at or after it is, and the
	// count is what went (an exact store: 100 of technician 1, both of 2,
	// both of 3).
	cut := t0.Add(100 * time.Second)
	must(t, s.InsertPositions(ctx, []enroute.Position{fix(3, 30, cut.Add(-50*time.Hour), 38), fix(3, 30, cut.Add(-25*time.Hour), 38.5)}))
	all, err = s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	must(t, err)
	deleted, err := s.DeletePositionsBefore(ctx, cut)
	must(t, err)
	left, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	must(t, err)
	if deleted != int64(len(all)-len(left)) || deleted < 2 {
		t.Fatalf("deleted %d, %d of %d left", deleted, len(left), len(all))
	}
	type key struct {
		device int64
		ts     time.Time
	}
	kept := map[key]bool{}
	for _, p := range left {
		kept[key{p.DeviceID, p.Time}] = true
	}
	for _, p := range all {
		if k := kept[key{p.DeviceID, p.Time}]; !p.Time.Before(cut) && !k || p.Time.Before(cut.Add(-24*time.Hour)) && k {
			t.Fatalf("after deleting before %v, %+v kept: %v", cut, p, k)
		}
	}
}

// testEachPosition: an export reads every matching fix once, in time
// order then device, the same as FindPositions: across many pages, fixes
// of many devices at one time split between pages, one-fix inserts
// (staged on SQLite) and a resent fix, days without fixes; and it stops
// at the callback's error and when ctx ends.
func testEachPosition(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var batch []enroute.Position
	for tech := int64(1); tech <= 4; tech++ {
		for i := range 700 {
			at := t0.Add(time.Duration(i) * 10 * time.Second)
			if i >= 600 { // three days later
				at = at.Add(72 * time.Hour)
			}
			batch = append(batch, fix(tech, tech*10, at, 41+float64(i)*1e-4))
		}
	}
	for dev := range int64(1500) { // a crew of one technician's devices, all at once
		batch = append(batch, fix(5, 1000+dev, t0.Add(time.Hour), 40))
	}
	must(t, s.InsertPositions(ctx, batch))
	for i := range 30 { // one at a time, between the others
		must(t, s.InsertPositions(ctx, []enroute.Position{fix(6, 60, t0.Add(time.Duration(i)*17*time.Second), 39)}))
	}
	must(t, s.InsertPositions(ctx, []enroute.Position{fix(6, 60, t0, 39), batch[3]})) // resent
	const total = 4*700 + 1500 + 30

	each := func(f enroute.PositionFilter) []enroute.Position {
		t.Helper()
		var got []enroute.Position
		must(t, s.EachPosition(ctx, f, func(p *enroute.Position) error {
			got = append(got, *p)
			return nil
		}))
		return got
	}
	tech := int64(2)
	for _, tc := range []struct {
		name string
		f    enroute.PositionFilter
		n    int
	}{
		{"All", enroute.PositionFilter{}, total},
		{"Period", enroute.PositionFilter{Since: t0.Add(time.Hour), Until: t0.Add(73 * time.Hour)}, 1500 + 4*(600-360)},
		{"Technician", enroute.PositionFilter{TechnicianID: &tech}, 700},
		{"TechnicianPeriod", enroute.PositionFilter{TechnicianID: &tech, Since: t0.Add(10 * time.Second), Until: t0.Add(100 * time.Hour)}, 699},
		{"None", enroute.PositionFilter{Since: t0.Add(-time.Hour), Until: t0}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := each(tc.f)
			if len(got) != tc.n {
				t.Fatalf("%d fixes, want %d", len(got), tc.n)
			}
			f := tc.f
			f.Unlimited = true
			want, err := s.FindPositions(ctx, f)
			must(t, err)
			diff(t, got, want)
			for i := 1; i < len(got); i++ {
				if c := got[i].Time.Compare(got[i-1].Time); c < 0 || c == 0 && got[i].DeviceID <= got[i-1].DeviceID {
					t.Fatalf("fix %d (%v, device %d) after (%v, %d)", i, got[i].Time, got[i].DeviceID, got[i-1].Time, got[i-1].DeviceID)
				}
			}
		})
	}
	t.Run("Stops", func(t *testing.T) {
		stop := errors.New("enough")
		calls := 0
		err := s.EachPosition(ctx, enroute.PositionFilter{}, func(*enroute.Position) error {
			if calls++; calls == 1200 {
				return stop
			}
			return nil
		})
		if err != stop || calls != 1200 {
			t.Fatalf("%v after %d calls, want the callback's error after 1200", err, calls)
		}
		cctx, cancel := context.WithCancel(ctx)
		calls = 0
		err = s.EachPosition(cctx, enroute.PositionFilter{}, func(*enroute.Position) error {
			if calls++; calls == 10 {
				cancel()
			}
			return nil
		})
		if !errors.Is(err, context.Canceled) || calls >= total {
			t.Fatalf("cancelled: %v after %d calls", err, calls)
		}
	})
}

func testModel(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	_, err := s.FindModel(ctx)
	wantCode(t, err, enroute.ENOTFOUND)

	until := time.Date(2026, 11, 28, 1, 2, 3, 456789000, time.UTC)
	data := make([]byte, 300_000) // every byte value, and larger than a page
	for i := range data {
		data[i] = byte(i * 7)
	}
	first := &enroute.ModelSnapshot{Data: data, LearnedUntil: until}
	must(t, s.SaveModel(ctx, first))
	if first.SavedAt.IsZero() {
		t.Fatal("SaveModel set no SavedAt")
	}
	got, err := s.FindModel(ctx)
	must(t, err)
	diff(t, got, first)

	// A second save replaces the first; a model that has learned nothing
	// yet has a zero LearnedUntil.
	second := &enroute.ModelSnapshot{Data: []byte("ENRETA")}
	must(t, s.SaveModel(ctx, second))
	got, err = s.FindModel(ctx)
	must(t, err)
	if string(got.Data) != "ENRETA" || !got.LearnedUntil.IsZero() || got.SavedAt.Before(first.SavedAt) {
		t.Fatalf("after a second save: %+v", got)
	}
}
