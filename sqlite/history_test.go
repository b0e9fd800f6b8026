package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// The history's driver statements: every column round-trips, a commit
// leaves the write connection at synchronous=FULL for the other writes,
// and a write connection database/sql opens anew gets statements of its
// own and finalizes them when it closes.
func TestHistoryWriter(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	fix := func(tech int64, sec int) enroute.Position {
		return enroute.Position{TechnicianID: tech, DeviceID: tech * 10, Time: t0.Add(time.Duration(sec) * time.Second),
			Lat: 41.1496123, Lng: -8.6109876, AccuracyM: 4.5, SpeedMPS: 12.34, HeadingDeg: 271.5, AltitudeM: 87.3,
			Battery: 64.5, ReceivedAt: t0.Add(time.Duration(sec)*time.Second + 1500*time.Millisecond)}
	}
	synchronous := func() int {
		t.Helper()
		var mode int
		if err := s.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		return mode
	}
	// 111 fixes of one technician (statements of 100, 10 and 1 rows, to
	// the history) and 3 of others (staged).
	var ps []enroute.Position
	for sec := range 111 {
		ps = append(ps, fix(1, sec))
	}
	ps = append(ps, fix(2, 0), fix(3, 0), fix(4, 0))
	if err := s.InsertPositions(ctx, ps); err != nil {
		t.Fatal(err)
	}
	if mode := synchronous(); mode != 2 {
		t.Fatalf("synchronous = %d after a commit, want 2 (FULL)", mode)
	}
	// No idle write connection kept: each commit gets a new one, prepares
	// its statements, and finalizes them when it closes, so the
	// connection lets go of the database's files.
	path := s.path
	files := func() int {
		t.Helper()
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip("no /proc/self/fd")
		}
		n := 0
		for _, fd := range fds {
			if target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name())); err == nil && strings.HasPrefix(target, path) {
				n++
			}
		}
		return n
	}
	before := files()
	s.w.SetMaxIdleConns(0)
	for tech := range int64(5) {
		if err := s.InsertPositions(ctx, []enroute.Position{fix(5+tech, 0)}); err != nil {
			t.Fatal(err)
		}
	}
	if after := files(); after > before {
		t.Fatalf("%d of the database's files open after 5 write connections came and went, %d before", after, before)
	}
	s.w.SetMaxIdleConns(1)
	got, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	if err != nil || len(got) != len(ps)+5 {
		t.Fatalf("found %d, %v; want %d", len(got), err, len(ps)+5)
	}
	tech := int64(1)
	one, err := s.FindPositions(ctx, enroute.PositionFilter{TechnicianID: &tech, Unlimited: true})
	if err != nil || len(one) != 111 {
		t.Fatalf("technician 1: %d, %v", len(one), err)
	}
	for i, p := range one {
		want := fix(1, i)
		if p.TechnicianID != want.TechnicianID || p.DeviceID != want.DeviceID || !p.Time.Equal(want.Time) || !p.ReceivedAt.Equal(want.ReceivedAt) ||
			p.Lat != want.Lat || p.Lng != want.Lng || p.AccuracyM != want.AccuracyM || p.SpeedMPS != want.SpeedMPS ||
			p.HeadingDeg != want.HeadingDeg || p.AltitudeM != want.AltitudeM || p.Battery != want.Battery {
			t.Fatalf("fix %d = %+v, want %+v", i, p, want)
		}
	}
}
