package sqlite

import (
	"context"
	"database/sql"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/migrations"
)

// beforeCompact is the schema version whose history was REAL columns.
const beforeCompact = 18

// oldCols are the history's columns before migration 00019.
const oldCols = "technician_id, ts, device_id, lat, lng, accuracy_m, speed_mps, heading_deg, altitude_m, battery, received_at"

// insertOld writes ps into table (positions or positions_recent) as the
// store wrote them before migration 00019, 100 rows a statement.
func insertOld(tb testing.TB, db *sql.DB, table string, ps []enroute.Position) {
	tb.Helper()
	tx, err := db.Begin()
	if err != nil {
		tb.Fatal(err)
	}
	defer tx.Rollback()
	for len(ps) > 0 {
		n := min(len(ps), insertSizes[0])
		args := make([]any, 0, 11*n)
		for _, p := range ps[:n] {
			args = append(args, p.TechnicianID, micros(p.Time), p.DeviceID, p.Lat, p.Lng, p.AccuracyM, p.SpeedMPS,
				p.HeadingDeg, p.AltitudeM, p.Battery, micros(p.ReceivedAt))
		}
		q := "INSERT INTO " + table + " (" + oldCols + ") VALUES " + strings.TrimSuffix(strings.Repeat(positionRow+",", n), ",")
		if _, err := tx.Exec(q, args...); err != nil {
			tb.Fatal(err)
		}
		ps = ps[n:]
	}
	if err := tx.Commit(); err != nil {
		tb.Fatal(err)
	}
}

// readOld reads table in the layout before migration 00019, in key order.
func readOld(t *testing.T, db *sql.DB, table string) []enroute.Position {
	t.Helper()
	rows, err := db.Query("SELECT " + oldCols + " FROM " + table + " ORDER BY technician_id, ts, device_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []enroute.Position
	for rows.Next() {
		var p enroute.Position
		var ts, recv int64
		if err := rows.Scan(&p.TechnicianID, &ts, &p.DeviceID, &p.Lat, &p.Lng, &p.AccuracyM, &p.SpeedMPS, &p.HeadingDeg, &p.AltitudeM, &p.Battery, &recv); err != nil {
			t.Fatal(err)
		}
		p.Time, p.ReceivedAt = time.UnixMicro(ts).UTC(), time.UnixMicro(recv).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameFix fails unless got is want to the history's precision: half a
// unit of each scale (and a hair for the float64 sums), unknowns -1 both,
// times exact.
func sameFix(t *testing.T, got, want enroute.Position) {
	t.Helper()
	near := func(g, w, unit float64, opt bool) bool {
		if opt && (w < 0 || g < 0) {
			return w < 0 && g == -1
		}
		return math.Abs(g-w) <= unit/2*(1+1e-9)
	}
	headingOK := near(got.HeadingDeg, want.HeadingDeg, 0.1, true)
	if want.HeadingDeg >= 359.95 {
		headingOK = got.HeadingDeg == 0 // rounds to north
	}
	if got.TechnicianID != want.TechnicianID || got.DeviceID != want.DeviceID || !got.Time.Equal(want.Time) || !got.ReceivedAt.Equal(want.ReceivedAt) ||
		!near(got.Lat, want.Lat, 1e-7, false) || !near(got.Lng, want.Lng, 1e-7, false) ||
		!near(got.AccuracyM, want.AccuracyM, 0.1, true) || !near(got.SpeedMPS, want.SpeedMPS, 0.01, true) ||
		!headingOK || !near(got.AltitudeM, want.AltitudeM, 0.1, false) ||
		!near(got.Battery, want.Battery, 0.1, true) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func byKey(ps []enroute.Position) {
	slices.SortFunc(ps, func(a, b enroute.Position) int {
		if a.TechnicianID != b.TechnicianID {
			return int(a.TechnicianID - b.TechnicianID)
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return int(a.DeviceID - b.DeviceID)
	})
}

// TestMigrateCompact: a history in REAL columns, staged fixes too, comes
// through migration 00019 whole, each value to its scale; Down gives the
// REAL layout back with the same fixes; and the store opens the result
// and reads them all.
func TestMigrateCompact(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enroute.db")
	db := rawDB(t, path)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, beforeCompact); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	var history, staged []enroute.Position
	for tech := int64(1); tech <= 20; tech++ {
		for i := range 50 {
			f := benchFix(r, tech, t0.Add(time.Duration(i)*10*time.Second+time.Duration(r.IntN(1e6))*time.Microsecond))
			switch i % 7 {
			case 0: // unknowns, as the tracker stores them
				f.AccuracyM, f.SpeedMPS, f.HeadingDeg, f.Battery = -1, -1, -1, -1
			case 1:
				f.HeadingDeg, f.AltitudeM, f.Lat = 359.97, -430.25, -f.Lat
			}
			history = append(history, f)
		}
		// Staged: one newer fix, and one the history holds already.
		staged = append(staged, benchFix(r, tech, t0.Add(time.Hour)), history[len(history)-1])
	}
	insertOld(t, db, "positions", history)
	insertOld(t, db, "positions_recent", staged)

	if _, err := p.UpTo(ctx, beforeCompact+1); err != nil {
		t.Fatal(err)
	}
	var n, m int
	if err := db.QueryRow("SELECT (SELECT count(*) FROM positions), (SELECT count(*) FROM positions_recent WHERE lat_e7 IS NOT NULL)").Scan(&n, &m); err != nil {
		t.Fatal(err)
	}
	if n != len(history) || m != len(staged) {
		t.Fatalf("migrated %d and %d staged, want %d and %d", n, m, len(history), len(staged))
	}

	// Down: the REAL layout, the same fixes to the precision.
	if _, err := p.DownTo(ctx, beforeCompact); err != nil {
		t.Fatal(err)
	}
	byKey(history)
	got := readOld(t, db, "positions")
	if len(got) != len(history) {
		t.Fatalf("down: %d fixes, want %d", len(got), len(history))
	}
	for i := range got {
		sameFix(t, got[i], history[i])
	}
	gotStaged, wantStaged := readOld(t, db, "positions_recent"), slices.Clone(staged)
	byKey(wantStaged)
	if len(gotStaged) != len(wantStaged) {
		t.Fatalf("down: %d staged, want %d", len(gotStaged), len(wantStaged))
	}
	for i := range gotStaged {
		sameFix(t, gotStaged[i], wantStaged[i])
	}

	// Up again, and the store reads every fix once, staged ones merged.
	db.Close()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	all, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(history), staged...)
	byKey(want)
	want = slices.CompactFunc(want, func(a, b enroute.Position) bool { // the staged fix the history held
		return a.TechnicianID == b.TechnicianID && a.DeviceID == b.DeviceID && a.Time.Equal(b.Time)
	})
	byKey(all)
	if len(all) != len(want) {
		t.Fatalf("opened: %d fixes, want %d", len(all), len(want))
	}
	for i := range all {
		sameFix(t, all[i], want[i])
	}
}
