package postgres

import (
	"context"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/enroutehq/enroute"
	u "github.com/enroutehq/enroute/internal/fixunits"
	"github.com/enroutehq/enroute/migrations"
)

// positionsVersion is the migration that partitions the history.
const positionsVersion = 18

// provider drives the migrations of pool's schema step by step.
func provider(t *testing.T, pool *pgxpool.Pool) *goose.Provider {
	t.Helper()
	db := stdlib.OpenDBFromPool(pool)
	t.Cleanup(func() { db.Close() })
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// oldPositions is a history as version 17 kept it (double precision):
// days apart, one far off (a phone's clock), the values a phone sends
// (float32 noise, more decimals than GPS has), unknowns, the ends of each
// range, values no column can hold, and rows that differ by one part of
// the key only.
func oldPositions() []enroute.Position {
	day := func(y int, m time.Month, d, h int) time.Time { return time.Date(y, m, d, h, 0, 0, 0, time.UTC) }
	t1 := day(2026, 12, 1, 9).Add(123456 * time.Microsecond)
	ps := []enroute.Position{
		{TechnicianID: 1, DeviceID: 10, Time: t1, Lat: 41.1579123456, Lng: -8.6291053789, AccuracyM: float64(float32(4.7)), SpeedMPS: float64(float32(13.42)),
			HeadingDeg: float64(float32(123.456)), AltitudeM: 112.39999389648438, Battery: 77, ReceivedAt: t1.Add(900 * time.Millisecond)},
		// Unknowns (altitude: 0), and the same key but for the device, the
		// time (a microsecond), or the technician.
		{TechnicianID: 1, DeviceID: 11, Time: t1, Lat: 41.1, Lng: -8.6, AccuracyM: -1, SpeedMPS: -1, HeadingDeg: -1, Battery: -1, ReceivedAt: t1},
		{TechnicianID: 1, DeviceID: 10, Time: t1.Add(time.Microsecond), Lat: 41.1, Lng: -8.6, AccuracyM: -1, SpeedMPS: -1, HeadingDeg: -1, Battery: -1, ReceivedAt: t1},
		{TechnicianID: 2, DeviceID: 10, Time: t1, Lat: 41.1, Lng: -8.6, AccuracyM: 0, SpeedMPS: 0, HeadingDeg: 0, Battery: 0, ReceivedAt: t1},
		// The ends of the ranges, and a tie (12.5 cm/s: away from zero).
		{TechnicianID: 3, DeviceID: 30, Time: day(2026, 11, 30, 23), Lat: 90, Lng: 180, AccuracyM: 200, SpeedMPS: 200, HeadingDeg: 359.94,
			AltitudeM: 20000, Battery: 100, ReceivedAt: day(2026, 12, 1, 0)},
		{TechnicianID: 3, DeviceID: 30, Time: day(2026, 12, 3, 0), Lat: -90, Lng: -180, AccuracyM: 0.004, SpeedMPS: 0.125, HeadingDeg: 359.96,
			AltitudeM: -430.25, Battery: 0.5, ReceivedAt: day(2026, 12, 3, 0)},
		// A clock far off.
		{TechnicianID: 4, DeviceID: 40, Time: day(2019, 5, 5, 12), Lat: -33.8688197, Lng: 151.2092955, AccuracyM: 12.3, SpeedMPS: 12.3, HeadingDeg: 12.3,
			AltitudeM: 12.3, Battery: 12.3, ReceivedAt: day(2026, 12, 1, 12)},
	}
	// A day of a few drives.
	r := rand.New(rand.NewPCG(1, 2))
	for tech := int64(5); tech < 8; tech++ {
		lat, lng := 41.15, -8.61
		for i := range 100 {
			at := day(2026, 12, 1, 8).Add(time.Duration(i)*7*time.Minute + time.Duration(r.IntN(1e6))*time.Microsecond)
			lat, lng = lat+r.NormFloat64()*1e-3, lng+r.NormFloat64()*1e-3
			ps = append(ps, enroute.Position{TechnicianID: tech, DeviceID: tech * 10, Time: at, Lat: lat, Lng: lng,
				AccuracyM: float64(float32(r.Float64() * 50)), SpeedMPS: float64(float32(r.Float64() * 30)), HeadingDeg: float64(float32(r.Float64() * 360)),
				AltitudeM: r.Float64()*200 - 10, Battery: float64(100 - i), ReceivedAt: at.Add(time.Duration(r.IntN(3e6)) * time.Microsecond)})
		}
	}
	return ps
}

// stored is p as the compact columns keep it: each value rounded to its
// unit (internal/fixunits), as the migration and InsertPositions both do.
func stored(p enroute.Position) enroute.Position {
	p.Lat, p.Lng = u.Unscaled(u.Scaled(p.Lat, u.PerDegree), u.PerDegree), u.Unscaled(u.Scaled(p.Lng, u.PerDegree), u.PerDegree)
	p.AccuracyM, p.AltitudeM = u.UnscaledOpt(u.ScaledOpt(p.AccuracyM, u.PerMetre), u.PerMetre), u.Unscaled(u.Scaled(p.AltitudeM, u.PerMetre), u.PerMetre)
	p.SpeedMPS = u.UnscaledOpt(u.ScaledOpt(p.SpeedMPS, u.PerMetreSecond), u.PerMetreSecond)
	p.HeadingDeg = u.UnscaledOpt(u.Heading(p.HeadingDeg), u.PerDegreeHead)
	p.Battery = u.UnscaledOpt(u.ScaledOpt(p.Battery, u.PerPercent), u.PerPercent)
	return p
}

// checkPrecision fails unless got is want to the contract's precision
// (a heading of 359.96 is north, 0).
func checkPrecision(t *testing.T, got, want enroute.Position) {
	t.Helper()
	heading := got.HeadingDeg
	if heading == 0 && want.HeadingDeg > 359 {
		heading = 360
	}
	for _, c := range []struct {
		name      string
		got, want float64
		per       float64
	}{
		{"lat", got.Lat, want.Lat, u.PerDegree}, {"lng", got.Lng, want.Lng, u.PerDegree}, {"accuracy", got.AccuracyM, want.AccuracyM, u.PerMetre},
		{"altitude", got.AltitudeM, want.AltitudeM, u.PerMetre}, {"speed", got.SpeedMPS, want.SpeedMPS, u.PerMetreSecond},
		{"heading", heading, want.HeadingDeg, u.PerDegreeHead}, {"battery", got.Battery, want.Battery, u.PerPercent},
	} {
		if math.Abs(c.got-c.want) > 0.5/c.per*(1+1e-9) {
			t.Errorf("%s of %d at %v: %v, want %v to 1/%v", c.name, want.TechnicianID, want.Time, c.got, c.want, c.per)
		}
	}
	if got.TechnicianID != want.TechnicianID || got.DeviceID != want.DeviceID || !got.Time.Equal(want.Time) || !got.ReceivedAt.Equal(want.ReceivedAt) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

type positionKey struct {
	tech, device int64
	ts           time.Time
}

func keyOf(p enroute.Position) positionKey {
	return positionKey{p.TechnicianID, p.DeviceID, p.Time.UTC()}
}

// readV17 reads the history as version 17 keeps it.
func readV17(t *testing.T, pool *pgxpool.Pool) map[positionKey]enroute.Position {
	t.Helper()
	rows, err := pool.Query(context.Background(), "SELECT technician_id, device_id, ts, lat, lng, accuracy_m, speed_mps, heading_deg, altitude_m, battery, received_at FROM positions")
	if err != nil {
		t.Fatal(err)
	}
	ps, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (enroute.Position, error) {
		var p enroute.Position
		err := r.Scan(&p.TechnicianID, &p.DeviceID, &p.Time, &p.Lat, &p.Lng, &p.AccuracyM, &p.SpeedMPS, &p.HeadingDeg, &p.AltitudeM, &p.Battery, &p.ReceivedAt)
		return p, err
	})
	if err != nil {
		t.Fatal(err)
	}
	out := map[positionKey]enroute.Position{}
	for _, p := range ps {
		out[keyOf(p)] = p
	}
	return out
}

// TestPositionsMigration: a history written in version 17's layout is all
// there after 00018 partitions it, each value to the contract's precision
// (and exactly as InsertPositions would have rounded it), in a partition
// per day that holds fixes; going down restores the old layout with every
// fix, and going up again works.
func TestPositionsMigration(t *testing.T) {
	ctx := context.Background()
	pool, dsn := testPool(t)
	p := provider(t, pool)
	if _, err := p.UpTo(ctx, positionsVersion-1); err != nil {
		t.Fatal(err)
	}
	old := oldPositions()
	rows := make([][]any, len(old))
	for i, p := range old {
		rows[i] = []any{p.TechnicianID, p.Time, p.DeviceID, p.Lat, p.Lng, p.AccuracyM, p.SpeedMPS, p.HeadingDeg, p.AltitudeM, p.Battery, p.ReceivedAt}
	}
	// Values no column holds: the migration keeps the fix, at the column's end or unknown.
	rows = append(rows, []any{int64(9), old[0].Time, int64(90), 41.0, -8.0, 1e12, 1e6, math.NaN(), math.Inf(-1), -1e9, old[0].Time})
	if _, err := pool.CopyFrom(ctx, pgx.Identifier{"positions"}, []string{"technician_id", "ts", "device_id", "lat", "lng",
		"accuracy_m", "speed_mps", "heading_deg", "altitude_m", "battery", "received_at"}, pgx.CopyFromRows(rows)); err != nil {
		t.Fatal(err)
	}

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(old)+1 {
		t.Fatalf("%d positions after the migration, want %d", len(got), len(old)+1)
	}
	byKey := map[positionKey]enroute.Position{}
	for _, p := range got {
		byKey[keyOf(p)] = p
	}
	for _, want := range old {
		g := byKey[keyOf(want)]
		checkPrecision(t, g, want)
		if g != stored(want) {
			t.Errorf("migrated %+v, InsertPositions would store %+v", g, stored(want))
		}
	}
	if g, want := byKey[positionKey{9, 90, old[0].Time}], (enroute.Position{AccuracyM: math.MaxInt32 / 10.0, SpeedMPS: 327.67, HeadingDeg: -1,
		AltitudeM: math.MinInt32 / 10.0, Battery: -1}); g.AccuracyM != want.AccuracyM || g.SpeedMPS != want.SpeedMPS ||
		g.HeadingDeg != want.HeadingDeg || g.AltitudeM != want.AltitudeM || g.Battery != want.Battery {
		t.Errorf("values out of range became %+v", g)
	}
	if g := byKey[keyOf(old[0])]; g.Lat != 41.1579123 || g.Lng != -8.6291054 || g.AccuracyM != 4.7 || g.SpeedMPS != 13.42 || g.HeadingDeg != 123.5 || g.AltitudeM != 112.4 {
		t.Errorf("a phone's fix came back as %+v", g)
	}
	if g := byKey[keyOf(old[5])]; g.SpeedMPS != 0.13 || g.HeadingDeg != 0 || g.AccuracyM != 0 || g.AltitudeM != -430.3 {
		t.Errorf("ties and ends came back as %+v", g)
	}

	// A partition per day with fixes, each holding its day's.
	parts := partitionRows(t, pool)
	want := map[string]int64{"positions_20190505": 1, "positions_20261130": 1, "positions_20261201": int64(len(old) - 2), "positions_20261203": 1, "positions_default": 0}
	if !maps.Equal(parts, want) {
		t.Fatalf("partitions after the migration: %v, want %v", parts, want)
	}

	// Down: the old layout, every fix, each as it was stored.
	if _, err := p.DownTo(ctx, positionsVersion-1); err != nil {
		t.Fatal(err)
	}
	back := readV17(t, pool)
	if len(back) != len(old)+1 {
		t.Fatalf("%d positions after going down, want %d", len(back), len(old)+1)
	}
	for _, want := range old {
		if g := back[keyOf(want)]; g.Lat != stored(want).Lat || g.AccuracyM != stored(want).AccuracyM || g.Battery != stored(want).Battery {
			t.Errorf("down: %+v, want %+v", g, stored(want))
		}
	}
	var tables []string
	r, err := pool.Query(ctx, "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE 'positions%' ORDER BY 1")
	if err != nil {
		t.Fatal(err)
	}
	if tables, err = pgx.CollectRows(r, pgx.RowTo[string]); err != nil || !slices.Equal(tables, []string{"positions"}) {
		t.Fatalf("tables after going down: %v %v", tables, err)
	}

	// Up again, and the store goes on.
	s, err = Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.InsertPositions(ctx, []enroute.Position{stored(old[0]), {TechnicianID: 1, DeviceID: 10, Time: t0(), Lat: 1, Lng: 1}}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountPositions(ctx); err != nil || n != int64(len(old)+2) {
		t.Fatalf("count after going up again = %d, %v", n, err)
	}
}

func t0() time.Time { return time.Date(2026, 12, 6, 13, 0, 0, 0, time.UTC) }

// partitionRows returns the rows of each partition of positions.
func partitionRows(t *testing.T, pool *pgxpool.Pool) map[string]int64 {
	t.Helper()
	rows, err := pool.Query(context.Background(), `SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', c.relname), false, true, '')))[1]::text::bigint
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'positions'::regclass`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	var (
		name string
		n    int64
	)
	if _, err := pgx.ForEachRow(rows, []any{&name, &n}, func() error { out[name] = n; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}
