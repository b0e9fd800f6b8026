package postgres

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/enroutehq/enroute"
)

// TestHistorySize measures what a fix costs in PostgreSQL, before (version
// 17: one table of doubles) and after 00018 (day partitions, compact
// columns), with the indexes, and times the history's queries on both. It
// writes ENROUTE_HISTORY_FIXES realistic fixes (ENROUTE_HISTORY_TECHS
// technicians, default 1,000, a fix every 5 s, over ENROUTE_HISTORY_DAYS
// days, default 4) in time order, 1,000 to a COPY, as the recorder does
// under load; it is skipped without ENROUTE_HISTORY_FIXES (a million
// fixes take a minute or two: not for make test).
//
//	ENROUTE_HISTORY_FIXES=1000000 go test ./postgres -run TestHistorySize -v -timeout 30m
func TestHistorySize(t *testing.T) {
	n := envInt(t, "ENROUTE_HISTORY_FIXES", 0)
	if n == 0 {
		t.Skip("set ENROUTE_HISTORY_FIXES (e.g. 1000000) to measure the history's bytes per fix")
	}
	techs, days := envInt(t, "ENROUTE_HISTORY_TECHS", 1000), envInt(t, "ENROUTE_HISTORY_DAYS", 4)
	ctx := context.Background()
	fixes := realisticFixes(n, techs, days)
	end := fixes[len(fixes)-1].Time
	t.Logf("%d fixes: %d technicians, %d days, %v to %v", len(fixes), techs, days, fixes[0].Time, end)

	// Before: version 17.
	oldPool, oldDSN := testPool(t)
	if _, err := provider(t, oldPool).UpTo(ctx, positionsVersion-1); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	for b := range slices.Chunk(fixes, 1000) {
		rows := make([][]any, len(b))
		for i, p := range b {
			rows[i] = []any{p.TechnicianID, p.Time, p.DeviceID, p.Lat, p.Lng, p.AccuracyM, p.SpeedMPS, p.HeadingDeg, p.AltitudeM, p.Battery, p.ReceivedAt}
		}
		if _, err := oldPool.CopyFrom(ctx, pgx.Identifier{"positions"}, []string{"technician_id", "ts", "device_id", "lat", "lng",
			"accuracy_m", "speed_mps", "heading_deg", "altitude_m", "battery", "received_at"}, pgx.CopyFromRows(rows)); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("version 17: written in %v", time.Since(began).Round(time.Millisecond))
	logSize(t, oldPool, "version 17", len(fixes))
	old := []string{"SELECT device_id, technician_id, ts, lat, lng, accuracy_m, speed_mps, heading_deg, altitude_m, battery, received_at FROM positions",
		`WITH RECURSIVE techs(id) AS (SELECT min(technician_id) FROM positions UNION ALL
		SELECT (SELECT min(technician_id) FROM positions WHERE technician_id > techs.id) FROM techs WHERE techs.id IS NOT NULL)
		SELECT p.* FROM techs CROSS JOIN LATERAL (SELECT * FROM positions WHERE technician_id = techs.id AND ts >= $1 ORDER BY ts DESC LIMIT 1) p`}
	timeQueries(t, oldPool, "version 17", old[0], old[1], end, end.Add(-24*time.Hour))

	// Migrated: what an upgrade leaves (indexes built whole, tables full).
	began = time.Now()
	s, err := Open(ctx, oldDSN)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	t.Logf("migration 00018: %v", time.Since(began).Round(time.Millisecond))
	logSize(t, oldPool, "00018, migrated", len(fixes))

	// Written by InsertPositions into day partitions: what running leaves.
	newPool, newDSN := testPool(t)
	s = openTest(t, newDSN)
	for d := range days {
		if _, err := s.EnsurePartitions(ctx, fixes[0].Time.AddDate(0, 0, d)); err != nil {
			t.Fatal(err)
		}
	}
	began = time.Now()
	for b := range slices.Chunk(fixes, 1000) {
		if err := s.InsertPositions(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("00018: written in %v", time.Since(began).Round(time.Millisecond))
	logSize(t, newPool, "00018, written", len(fixes))
	since := end.Add(-24 * time.Hour)
	timeQueries(t, newPool, "00018, BRIN on ts", positionSelect, latestPositions, end, since, since.Truncate(partitionPeriod))
	explain(t, newPool, latestPositions, since, since.Truncate(partitionPeriod))

	// The alternative: a B-tree on ts per partition, as version 17 had.
	if _, err := newPool.Exec(ctx, "CREATE INDEX positions_ts_btree ON positions (ts)"); err != nil {
		t.Fatal(err)
	}
	logSize(t, newPool, "00018 with a B-tree on ts too", len(fixes))
	if _, err := newPool.Exec(ctx, "DROP INDEX positions_ts"); err != nil {
		t.Fatal(err)
	}
	timeQueries(t, newPool, "00018, B-tree on ts", positionSelect, latestPositions, end, since, since.Truncate(partitionPeriod))
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

// realisticFixes is n fixes of techs technicians over days days, in time
// order: each drives a stretch every day from about 08:00 UTC, a fix every
// 5 s, with the values a phone sends (float32 accuracy, speed, heading;
// coordinates to all of float64's digits; some unknown).
func realisticFixes(n, techs, days int) []enroute.Position {
	r := rand.New(rand.NewPCG(29, 3))
	perDay := n / techs / days
	type state struct{ lat, lng, heading, battery float64 }
	st := make([]state, techs)
	for i := range st {
		st[i] = state{41.15 + r.NormFloat64()*0.05, -8.61 + r.NormFloat64()*0.05, r.Float64() * 360, 100}
	}
	start := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC).AddDate(0, 0, -days)
	out := make([]enroute.Position, 0, perDay*techs*days)
	for d := range days {
		for k := range perDay {
			for i := range techs {
				s := &st[i]
				ts := start.AddDate(0, 0, d).Add(time.Duration(k)*5*time.Second + time.Duration(i)*4*time.Millisecond)
				speed := math.Max(0, 9+r.NormFloat64()*4)
				s.heading = math.Mod(s.heading+r.NormFloat64()*10+360, 360)
				s.lat += speed * 5 * math.Cos(s.heading*math.Pi/180) / 111_320
				s.lng += speed * 5 * math.Sin(s.heading*math.Pi/180) / (111_320 * math.Cos(s.lat*math.Pi/180))
				s.battery = math.Max(5, s.battery-0.02)
				p := enroute.Position{TechnicianID: int64(i + 1), DeviceID: int64(i + 1), Time: ts, Lat: s.lat, Lng: s.lng,
					AccuracyM: float64(float32(3 + r.ExpFloat64()*6)), SpeedMPS: float64(float32(speed)), HeadingDeg: float64(float32(s.heading)),
					AltitudeM: 80 + r.NormFloat64()*20, Battery: math.Round(s.battery), ReceivedAt: ts.Add(time.Duration(200_000+r.IntN(1_800_000)) * time.Microsecond)}
				if r.IntN(10) == 0 { // no speed or heading from this phone now
					p.SpeedMPS, p.HeadingDeg = -1, -1
				}
				out = append(out, p)
			}
		}
	}
	return out
}

// logSize logs the bytes per fix of positions (every partition, with its
// indexes) after VACUUM ANALYZE, as autovacuum leaves it.
func logSize(t *testing.T, pool *pgxpool.Pool, what string, fixes int) {
	t.Helper()
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE positions"); err != nil {
		t.Fatal(err)
	}
	// The tables of positions: its partitions, or itself (version 17).
	const tree = `WITH t AS (SELECT relid, isleaf FROM pg_partition_tree('positions')
		UNION ALL SELECT 'positions'::regclass, true WHERE NOT EXISTS (SELECT FROM pg_partition_tree('positions')))`
	var total, heap, indexes, parts int64
	err := pool.QueryRow(ctx, tree+` SELECT sum(pg_total_relation_size(relid)), sum(pg_table_size(relid)), sum(pg_indexes_size(relid)), count(*) FILTER (WHERE isleaf)
		FROM t`).Scan(&total, &heap, &indexes, &parts)
	if err != nil {
		t.Fatal(err)
	}
	per := func(b int64) string { return fmt.Sprintf("%.1f", float64(b)/float64(fixes)) }
	var byIndex []string
	r, err := pool.Query(ctx, tree+` SELECT am.amname, sum(pg_relation_size(x.indexrelid)) FROM t
		JOIN pg_index x ON x.indrelid = t.relid JOIN pg_class c ON c.oid = x.indexrelid JOIN pg_am am ON am.oid = c.relam
		GROUP BY am.amname ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	var (
		am string
		b  int64
	)
	if _, err := pgx.ForEachRow(r, []any{&am, &b}, func() error { byIndex = append(byIndex, am+" "+per(b)); return nil }); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d partitions, %.1f MB: %s bytes a fix (table %s, indexes %s: %s)", what, parts, float64(total)/1e6, per(total), per(heap), per(indexes), strings.Join(byIndex, ", "))
}

// timeQueries logs the median of 5 runs of the history's queries: the
// live state's restore (LatestPositions since a day before the end), the
// ETA model's relearning (the oldest fix since two days before, then a
// 6-hour window of every technician), and a page of one technician's day.
func timeQueries(t *testing.T, pool *pgxpool.Pool, what, sel, latest string, end time.Time, latestArgs ...any) {
	t.Helper()
	win := end.Add(-3 * time.Hour)
	qs := []struct {
		name string
		sql  string
		args []any
	}{
		{"latest", latest, latestArgs},
		{"oldest since", sel + " WHERE ts >= $1 ORDER BY ts, device_id LIMIT 1", []any{end.Add(-48 * time.Hour)}},
		{"6 h window", sel + " WHERE ts >= $1 AND ts < $2 ORDER BY ts, device_id", []any{win, win.Add(6 * time.Hour)}},
		{"page", sel + " WHERE technician_id = $1 AND ts >= $2 ORDER BY ts, device_id LIMIT 100 OFFSET 50", []any{int64(7), end.Add(-24 * time.Hour)}},
	}
	var out []string
	for _, q := range qs {
		var ds []time.Duration
		rowsRead := 0
		for range 5 {
			began := time.Now()
			rows, err := pool.Query(context.Background(), q.sql, q.args...)
			if err != nil {
				t.Fatal(err)
			}
			rowsRead = 0
			for rows.Next() {
				rowsRead++
			}
			if rows.Err() != nil {
				t.Fatal(rows.Err())
			}
			ds = append(ds, time.Since(began))
		}
		slices.Sort(ds)
		out = append(out, fmt.Sprintf("%s %v (%d rows)", q.name, ds[2].Round(10*time.Microsecond), rowsRead))
	}
	t.Logf("%s: %s", what, strings.Join(out, "; "))
}

func explain(t *testing.T, pool *pgxpool.Pool, q string, args ...any) {
	t.Helper()
	rows, err := pool.Query(context.Background(), "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("EXPLAIN %v:\n%s", args, strings.Join(lines, "\n"))
}
