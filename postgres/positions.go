package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/enroutehq/enroute"
)

// The history's columns (migration 00018): values as integers of a fixed
// unit, each read back as the nearest float64 of that many decimals, so a
// lat of 41.1579123456 comes back as 41.1579123 and 12.3 m as 12.3.
var positionCols = []string{"technician_id", "ts", "device_id", "received_at", "lat_e7", "lng_e7",
	"accuracy_cm", "altitude_cm", "speed_cmps", "heading_decideg", "battery_centipct"}

var positionSelect = "SELECT " + strings.Join(positionCols, ", ") + " FROM positions"

// unit is a column's scale: a value v is stored as v*per rounded, half to
// even (as PostgreSQL's round in the migration), and held to [lo, hi]: only
// a speed, heading or battery far past what the tracker keeps (327.67 m/s,
// 3276.7 degrees, 327.67%) reaches an end. NaN, which the tracker refuses,
// is stored as nan: unknown.
type unit struct {
	per    float64
	lo, hi float64
	nan    float64
}

var (
	degE7    = unit{per: 1e7, lo: math.MinInt32, hi: math.MaxInt32, nan: 0}
	centiM   = unit{per: 100, lo: math.MinInt32, hi: math.MaxInt32, nan: -100} // accuracy
	centiAlt = unit{per: 100, lo: math.MinInt32, hi: math.MaxInt32, nan: 0}    // altitude: 0 when unknown
	centiMPS = unit{per: 100, lo: math.MinInt16, hi: math.MaxInt16, nan: -100}
	deciDeg  = unit{per: 10, lo: math.MinInt16, hi: math.MaxInt16, nan: -10}
	centiPct = unit{per: 100, lo: math.MinInt16, hi: math.MaxInt16, nan: -100}
)

func (u unit) scale(v float64) float64 {
	if math.IsNaN(v) {
		return u.nan
	}
	return max(u.lo, min(u.hi, math.RoundToEven(v*u.per)))
}

func (u unit) int32(v float64) int32 { return int32(u.scale(v)) }
func (u unit) int16(v float64) int16 { return int16(u.scale(v)) }

// float is n back in the value's own unit: one correctly rounded division,
// so the nearest float64 to the decimal (n*1e-7 would not be).
func (u unit) float(n int64) float64 { return float64(n) / u.per }

type positionRows []enroute.Position

func (ps positionRows) source() pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
		p := &ps[i]
		return []any{p.TechnicianID, p.Time, p.DeviceID, p.ReceivedAt, degE7.int32(p.Lat), degE7.int32(p.Lng),
			centiM.int32(p.AccuracyM), centiAlt.int32(p.AltitudeM), centiMPS.int16(p.SpeedMPS),
			deciDeg.int16(p.HeadingDeg), centiPct.int16(p.Battery)}, nil
	})
}

// positionsIn is the merge's staging table, its columns named: the
// partitioned table's LIKE would do, but a connection's temporary table
// outlives a migration of positions.
const positionsIn = `CREATE TEMP TABLE IF NOT EXISTS positions_in (
	technician_id bigint, ts timestamptz, device_id bigint, received_at timestamptz,
	lat_e7 integer, lng_e7 integer, accuracy_cm integer, altitude_cm integer,
	speed_cmps smallint, heading_decideg smallint, battery_centipct smallint
) ON COMMIT DELETE ROWS`

// InsertPositions implements enroute.PositionStore with COPY. A batch that
// repeats a stored fix (a retry after a crash) makes COPY fail on the key;
// it is then copied into a temporary table and merged, skipping repeats.
// Each fix goes to its day's partition, or the default one.
func (s *Store) InsertPositions(ctx context.Context, ps []enroute.Position) error {
	if len(ps) == 0 {
		return nil
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"positions"}, positionCols, positionRows(ps).source())
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "23505" {
		if err != nil {
			return fmt.Errorf("copy positions: %w", err)
		}
		return nil
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, positionsIn); err != nil {
			return fmt.Errorf("temp table: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"positions_in"}, positionCols, positionRows(ps).source()); err != nil {
			return fmt.Errorf("copy positions: %w", err)
		}
		cols := strings.Join(positionCols, ", ")
		if _, err := tx.Exec(ctx, "INSERT INTO positions ("+cols+") SELECT "+cols+" FROM positions_in ON CONFLICT DO NOTHING"); err != nil {
			return fmt.Errorf("merge positions: %w", err)
		}
		return nil
	})
}

func collectPositions(rows pgx.Rows) ([]enroute.Position, error) {
	defer rows.Close()
	var out []enroute.Position
	for rows.Next() {
		var (
			p                       enroute.Position
			lat, lng, acc, alt      int32
			speed, heading, battery int16
		)
		if err := rows.Scan(&p.TechnicianID, &p.Time, &p.DeviceID, &p.ReceivedAt, &lat, &lng, &acc, &alt, &speed, &heading, &battery); err != nil {
			return nil, err
		}
		p.Time, p.ReceivedAt = p.Time.UTC(), p.ReceivedAt.UTC()
		p.Lat, p.Lng = degE7.float(int64(lat)), degE7.float(int64(lng))
		p.AccuracyM, p.AltitudeM = centiM.float(int64(acc)), centiAlt.float(int64(alt))
		p.SpeedMPS, p.HeadingDeg, p.Battery = centiMPS.float(int64(speed)), deciDeg.float(int64(heading)), centiPct.float(int64(battery))
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindPositions implements enroute.PositionStore. The time bounds prune
// the days' partitions the query reads.
func (s *Store) FindPositions(ctx context.Context, f enroute.PositionFilter) ([]enroute.Position, error) {
	q, args := positionSelect+" WHERE true", []any{}
	if f.TechnicianID != nil {
		args = append(args, *f.TechnicianID)
		q += fmt.Sprintf(" AND technician_id = $%d", len(args))
	}
	if !f.Since.IsZero() {
		args = append(args, f.Since)
		q += fmt.Sprintf(" AND ts >= $%d", len(args))
	}
	if !f.Until.IsZero() {
		args = append(args, f.Until)
		q += fmt.Sprintf(" AND ts < $%d", len(args))
	}
	q += " ORDER BY ts, device_id"
	if !f.Unlimited {
		p := f.Page.Normalize()
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", p.Limit, p.Offset)
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find positions: %w", err)
	}
	return collectPositions(rows)
}

// EachPosition implements enroute.PositionStore: pages of 1,000 read
// whole (collectPositions) before fn sees them, each page after the last
// fix read by (ts, device_id), a fix's identity, so a slow fn (a slow
// client's download) holds neither a pooled connection nor a snapshot,
// which would keep vacuum from the rows deleted meanwhile.
func (s *Store) EachPosition(ctx context.Context, f enroute.PositionFilter, fn func(*enroute.Position) error) error {
	const page = 1000
	where, args := " WHERE true", []any{}
	if f.TechnicianID != nil {
		args = append(args, *f.TechnicianID)
		where += fmt.Sprintf(" AND technician_id = $%d", len(args))
	}
	if !f.Since.IsZero() {
		args = append(args, f.Since)
		where += fmt.Sprintf(" AND ts >= $%d", len(args))
	}
	if !f.Until.IsZero() {
		args = append(args, f.Until)
		where += fmt.Sprintf(" AND ts < $%d", len(args))
	}
	order := fmt.Sprintf(" ORDER BY ts, device_id LIMIT %d", page)
	q, next := positionSelect+where+order, positionSelect+where+fmt.Sprintf(" AND (ts, device_id) > ($%d, $%d)", len(args)+1, len(args)+2)+order
	base := args[:len(args):len(args)]
	for {
		rows, err := s.pool.Query(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("each position: %w", err)
		}
		ps, err := collectPositions(rows)
		if err != nil {
			return fmt.Errorf("each position: %w", err)
		}
		for i := range ps {
			if err := fn(&ps[i]); err != nil {
				return err
			}
		}
		if len(ps) < page {
			return nil
		}
		last := &ps[len(ps)-1]
		q, args = next, append(base, last.Time, last.DeviceID)
	}
}

// latestPositions is each technician's newest position since $1, found by
// seeking the key (technician, time) technician by technician, the
// technicians themselves walked the same way (a recursive min: a loose
// index scan), rather than reading every position since $1 and sorting
// them (a day of 200 technicians' fixes every 10 s: 1.0-1.2 s against
// 3.4-6.3 ms; BENCHMARKS.md, "With a position history"). Each seek is
// one per partition, so the walk reads only those from $1's day ($2) on:
// 30 days of 200 technicians' fixes take 4.7 ms (version 17's one table:
// 4.6 ms) instead of 37 ms walking all 34 partitions.
var latestPositions = `WITH RECURSIVE techs(id) AS (
	SELECT min(technician_id) FROM positions WHERE ts >= $2
	UNION ALL
	SELECT (SELECT min(technician_id) FROM positions WHERE technician_id > techs.id AND ts >= $2) FROM techs WHERE techs.id IS NOT NULL
)
SELECT p.* FROM techs CROSS JOIN LATERAL (` + positionSelect + ` WHERE technician_id = techs.id AND ts >= $1 ORDER BY ts DESC LIMIT 1) p`

// LatestPositions implements enroute.PositionStore.
func (s *Store) LatestPositions(ctx context.Context, since time.Time) ([]enroute.Position, error) {
	rows, err := s.pool.Query(ctx, latestPositions, since, since.UTC().Truncate(partitionPeriod))
	if err != nil {
		return nil, fmt.Errorf("latest positions: %w", err)
	}
	return collectPositions(rows)
}

// CountPositions implements enroute.PositionStore.
func (s *Store) CountPositions(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM positions").Scan(&n)
	return n, err
}
