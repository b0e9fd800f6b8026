package main

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/postgres"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// TestPlanDay: every technician drives exactly their fixes a day, in
// drives that do not overlap and end before midnight, and each fix is a
// plausible step from the one before.
func TestPlanDay(t *testing.T) {
	const iv = 5 * time.Second
	f := newFleet(30, walkTrips(rand.New(rand.NewPCG(1, 2)), 20), iv, 7)
	perTech := make([]int, 30)
	for i := range perTech {
		perTech[i] = 1 + i*300 // 1 to 8,701: up to 12 h of driving
	}
	if err := f.planDay(perTech); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for i := range f.techs {
		tc := &f.techs[i]
		n, end := 0, 0
		for _, d := range tc.drives {
			if d[0] < end || d[1] <= d[0] {
				t.Fatalf("technician %d: drives %v overlap or are empty", tc.id, tc.drives)
			}
			n, end = n+d[1]-d[0], d[1]
		}
		if n != perTech[i] || time.Duration(end)*iv > lastSlot {
			t.Errorf("technician %d: %d fixes to slot %d, want %d before midnight", tc.id, n, end, perTech[i])
		}
		var prev enroute.Position
		for s := range end {
			if !tc.driving(s) {
				continue
			}
			p := f.fix(tc, day.Add(workdayStart+time.Duration(s)*iv+tc.phase))
			if dt := p.Time.Sub(prev.Time).Seconds(); prev.TechnicianID != 0 && dt == iv.Seconds() && distM(prev.Lat, prev.Lng, p.Lat, p.Lng)/dt > 50 {
				t.Fatalf("technician %d: %v to %v is %.0f m in %v s", tc.id, prev, p, distM(prev.Lat, prev.Lng, p.Lat, p.Lng), dt)
			}
			if p.AccuracyM <= 0 || p.AccuracyM > 50 || (p.SpeedMPS < 0) != (p.HeadingDeg < 0) || p.HeadingDeg >= 360 || !p.ReceivedAt.After(p.Time) {
				t.Fatalf("technician %d: implausible fix %+v", tc.id, p)
			}
			prev = p
		}
	}
	if err := f.planDay([]int{int(lastSlot / iv)}); err == nil {
		t.Error("planned a day of fixes past midnight")
	}
}

// TestRun runs the tool's core on a small history (20,000 fixes of 50
// technicians over 3 days) and checks its figures against the database.
func TestRun(t *testing.T) {
	dsn := pgtest.Schema(t)
	ctx := context.Background()
	store, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	cfg := config{Fixes: 20_000, Techs: 50, Days: 3, Interval: 5 * time.Second, Batch: 500, Workers: 2,
		Trips: walkTrips(rand.New(rand.NewPCG(1, 2)), 50), Seed: 1, StreamRate: 1000, StreamPhase: 300 * time.Millisecond}
	res, err := run(ctx, cfg, store, admin)
	if err != nil {
		t.Fatal(err)
	}

	if res.PerDay[0]+res.PerDay[1]+res.PerDay[2] != cfg.Fixes || len(res.Days) != 3 || res.Days[2].StoredTo != int64(cfg.Fixes) {
		t.Errorf("wrote %v a day, %d days measured, %d stored; want %d in all", res.PerDay, len(res.Days), res.Days[len(res.Days)-1].StoredTo, cfg.Fixes)
	}
	if last := res.Sizes[len(res.Sizes)-1]; last.Rows != int64(cfg.Fixes) || perFix(last.Total, last.Rows) < 84 || perFix(last.Total, last.Rows) > 400 {
		t.Errorf("last size: %+v, %.1f bytes a fix", last, perFix(last.Total, last.Rows))
	}

	// Retention removed exactly the oldest day, and nothing else.
	oldest, today := res.First, res.NowAtStart.UTC().Truncate(24*time.Hour)
	if res.Dropped != int64(res.PerDay[0]) || res.OldestRows != res.PerDay[0] {
		t.Errorf("dropped %d rows (oldest day counted %d); the oldest day had %d", res.Dropped, res.OldestRows, res.PerDay[0])
	}
	var left, kept, streamed int64
	var part *string
	err = admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM positions WHERE ts < $1), (SELECT count(*) FROM positions WHERE ts >= $1 AND ts < $2),
		(SELECT count(*) FROM positions WHERE ts >= $2), to_regclass($3)::text`, oldest.Add(24*time.Hour), today, "positions_"+oldest.Format("20060102")).Scan(&left, &kept, &streamed, &part)
	if err != nil {
		t.Fatal(err)
	}
	if left != 0 || kept != int64(res.PerDay[1]+res.PerDay[2]) || part != nil {
		t.Errorf("after retention: %d of the oldest day left (its partition %v), %d of the others, want 0, none, %d", left, part, kept, res.PerDay[1]+res.PerDay[2])
	}
	if res.Streamed == 0 || streamed != int64(res.Streamed) || res.Before.N == 0 || res.After.N == 0 {
		t.Errorf("streamed %d (%d stored today): batches before %d, after %d", res.Streamed, streamed, res.Before.N, res.After.N)
	}
	if res.Counted != int64(cfg.Fixes)-res.Dropped+int64(res.Streamed) {
		t.Errorf("counted %d, want %d - %d + %d", res.Counted, cfg.Fixes, res.Dropped, res.Streamed)
	}

	// Reads returned whole days, and the start-up's reads what it needs.
	perTech := cfg.Fixes / cfg.Days / cfg.Techs
	if res.TechDay.N != 9 || res.TechDayPage.N != 9 || (res.TechDayRows != perTech && res.TechDayRows != perTech+1) {
		t.Errorf("read %d days (%d fixes the last) and %d pages; want 9, 9 and %d fixes", res.TechDay.N, res.TechDayRows, res.TechDayPage.N, perTech)
	}
	if res.LatestRows != cfg.Techs {
		t.Errorf("latest positions: %d, want %d", res.LatestRows, cfg.Techs)
	}
	// The last day is yesterday: wholly inside the 48 h window.
	if res.LearnRows < res.PerDay[2] || res.LearnRows > cfg.Fixes || res.LearnQueries == 0 || res.LearnRead <= 0 || res.LearnAll < res.LearnRead {
		t.Errorf("learning window: %d positions in %d reads (%v of %v); want the last day's %d at least", res.LearnRows, res.LearnQueries, res.LearnRead, res.LearnAll, res.PerDay[2])
	}
}
