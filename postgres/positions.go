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
	u "github.com/enroutehq/enroute/internal/fixunits"
)

// The history's columns (migration 00018): values as integers of a fixed
// unit, each read back as the nearest float64 of that many decimals, so a
// lat of 41.1579123456 comes back as 41.1579123 and 12.3 m as 12.3.
var positionCols = []string{"technician_id", "ts", "device_id", "received_at", "lat_e7", "lng_e7",
	"accuracy_dm", "altitude_dm", "speed_cmps", "heading_ddeg", "battery_pm"}

var positionSelect = "SELECT " + strings.Join(positionCols, ", ") + " FROM positions"

// The columns keep fixunits' scales, held to their integers' ranges: only
// a speed far past what the tracker keeps (327.67 m/s) or a wild
// accuracy or altitude reaches an end.
func int32Of(n int64) int32 { return int32(max(math.MinInt32, min(math.MaxInt32, n))) }
func int16Of(n int64) int16 { return int16(max(math.MinInt16, min(math.MaxInt16, n))) }

type positionRows []enroute.Position

func (ps positionRows) source() pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
		p := &ps[i]
		return []any{p.TechnicianID, p.Time, p.DeviceID, p.ReceivedAt,
			int32Of(u.Scaled(p.Lat, u.PerDegree)), int32Of(u.Scaled(p.Lng, u.PerDegree)),
			int32Of(u.ScaledOpt(p.AccuracyM, u.PerMetre)), int32Of(u.Scaled(p.AltitudeM, u.PerMetre)),
			int16Of(u.ScaledOpt(p.SpeedMPS, u.PerMetreSecond)), int16Of(u.Heading(p.HeadingDeg)),
			int16Of(u.ScaledOpt(p.Battery, u.PerPercent))}, nil
	})
}

// positionsIn is the merge's staging table, its columns named: the
// partitioned table's LIKE would do, but a connection's temporary table
// outlives a migration of positions.
const positionsIn = `CREATE TEMP TABLE IF NOT EXISTS positions_in (
	technician_id bigint, ts timestamptz, device_id bigint, received_at timestamptz,
	lat_e7 integer, lng_e7 integer, accuracy_dm integer, altitude_dm integer,
	speed_cmps smallint, heading_ddeg smallint, battery_pm smallint
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
		p.Lat, p.Lng = u.Unscaled(int64(lat), u.PerDegree), u.Unscaled(int64(lng), u.PerDegree)
		p.AccuracyM, p.AltitudeM = u.UnscaledOpt(int64(acc), u.PerMetre), u.Unscaled(int64(alt), u.PerMetre)
		p.SpeedMPS, p.HeadingDeg = u.UnscaledOpt(int64(speed), u.PerMetreSecond), u.UnscaledOpt(int64(heading), u.PerDegreeHead)
		p.Battery = u.UnscaledOpt(int64(battery), u.PerPercent)
		out = append(out, p)
	}
	return out, rows.Err()
}

// positionWhere is the WHERE clause selecting f's technician and period,
// and its arguments ($1 on).
func positionWhere(f enroute.PositionFilter) (string, []any) {
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
	return where, args
}

// FindPositions implements enroute.PositionStore. The time bounds prune
// the days' partitions the query reads.
func (s *Store) FindPositions(ctx context.Context, f enroute.PositionFilter) ([]enroute.Position, error) {
	where, args := positionWhere(f)
	q := positionSelect + where + " ORDER BY ts, device_id"
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

// EachPosition implements enroute.PositionStore: pages read whole
// (collectPositions) before fn sees them, each after the last fix read by
// (ts, device_id), a fix's identity, so a slow fn (a slow client's
// download) holds neither a pooled connection nor a snapshot, which would
// keep vacuum from the rows deleted meanwhile.
//
// One technician's pages of 1,000 come from the key (technician, ts) in
// order. The fleet's come from windows of time, each window's fixes
// sorted: the history's index by time is a BRIN (it finds a window's
// blocks, not an order), so a page "after the cursor" over a whole
// period would sort the rest of the period each time. A window aims at a
// page of 10,000: after a full page the next is the time that page
// covered, after one less than half full twice the last, up to an hour.
// Where the fleet's flow jumps (a quiet night, then the morning), one
// window reads more than a page, at most an hour of the fleet's fixes.
func (s *Store) EachPosition(ctx context.Context, f enroute.PositionFilter, fn func(*enroute.Position) error) error {
	if f.TechnicianID != nil {
		return s.eachOfTechnician(ctx, f, fn)
	}
	page := fleetPage
	from, until := f.Since, f.Until
	if from.IsZero() || until.IsZero() {
		var lo, hi *time.Time
		if err := s.pool.QueryRow(ctx, "SELECT min(ts), max(ts) FROM positions").Scan(&lo, &hi); err != nil {
			return fmt.Errorf("each position: %w", err)
		}
		if lo == nil {
			return nil
		}
		if from.IsZero() {
			from = *lo
		}
		if until.IsZero() {
			until = hi.Add(time.Microsecond)
		}
	}
	q := positionSelect + fmt.Sprintf(" WHERE ts >= $1 AND ts < $2 AND (ts, device_id) > ($1, $3) ORDER BY ts, device_id LIMIT %d", page)
	ts, dev, window := from, int64(math.MinInt64), time.Minute
	for ts.Before(until) {
		end := until
		if ts.Add(window).Before(until) {
			end = ts.Add(window)
		}
		ps, err := s.eachOfPage(ctx, fn, q, ts, end, dev)
		if err != nil {
			return err
		}
		if len(ps) == page { // the window has more: go on from the last
			last := &ps[len(ps)-1]
			window = max(last.Time.Sub(ts), time.Microsecond)
			ts, dev = last.Time, last.DeviceID
			continue
		}
		if len(ps) < page/2 {
			window = min(window*2, time.Hour)
		}
		ts, dev = end, math.MinInt64
	}
	return nil
}

// fleetPage is the fleet export's page (a variable for tests).
var fleetPage = 10_000

// eachOfTechnician is EachPosition for one technician.
func (s *Store) eachOfTechnician(ctx context.Context, f enroute.PositionFilter, fn func(*enroute.Position) error) error {
	const page = 1000
	where, args := positionWhere(f)
	order := fmt.Sprintf(" ORDER BY ts, device_id LIMIT %d", page)
	q, next := positionSelect+where+order, positionSelect+where+fmt.Sprintf(" AND (ts, device_id) > ($%d, $%d)", len(args)+1, len(args)+2)+order
	base := args[:len(args):len(args)]
	for {
		ps, err := s.eachOfPage(ctx, fn, q, args...)
		if err != nil {
			return err
		}
		if len(ps) < page {
			return nil
		}
		last := &ps[len(ps)-1]
		q, args = next, append(base, last.Time, last.DeviceID)
	}
}

// eachOfPage reads the page q selects, whole, then hands each of its
// fixes to fn; it returns the page.
func (s *Store) eachOfPage(ctx context.Context, fn func(*enroute.Position) error, q string, args ...any) ([]enroute.Position, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("each position: %w", err)
	}
	ps, err := collectPositions(rows)
	if err != nil {
		return nil, fmt.Errorf("each position: %w", err)
	}
	for i := range ps {
		if err := fn(&ps[i]); err != nil {
			return nil, err
		}
	}
	return ps, nil
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
