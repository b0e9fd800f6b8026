package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/enroutehq/enroute"
)

var positionCols = []string{"technician_id", "ts", "device_id", "lat", "lng", "accuracy_m", "speed_mps", "heading_deg", "altitude_m", "battery", "received_at"}

const positionSelect = "SELECT device_id, technician_id, ts, lat, lng, accuracy_m, speed_mps, heading_deg, altitude_m, battery, received_at FROM positions"

type positionRows []enroute.Position

func (ps positionRows) source() pgx.CopyFromSource {
	return pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
		p := &ps[i]
		return []any{p.TechnicianID, p.Time, p.DeviceID, p.Lat, p.Lng, p.AccuracyM, p.SpeedMPS,
			p.HeadingDeg, p.AltitudeM, p.Battery, p.ReceivedAt}, nil
	})
}

// InsertPositions implements enroute.PositionStore with COPY. A batch that
// repeats a stored fix (a retry after a crash) makes COPY fail on the key;
// it is then copied into a temporary table and merged, skipping repeats.
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
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS positions_in (LIKE positions) ON COMMIT DELETE ROWS"); err != nil {
			return fmt.Errorf("temp table: %w", err)
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"positions_in"}, positionCols, positionRows(ps).source()); err != nil {
			return fmt.Errorf("copy positions: %w", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO positions SELECT * FROM positions_in ON CONFLICT DO NOTHING"); err != nil {
			return fmt.Errorf("merge positions: %w", err)
		}
		return nil
	})
}

func collectPositions(rows pgx.Rows) ([]enroute.Position, error) {
	defer rows.Close()
	var out []enroute.Position
	for rows.Next() {
		var p enroute.Position
		if err := rows.Scan(&p.DeviceID, &p.TechnicianID, &p.Time, &p.Lat, &p.Lng, &p.AccuracyM, &p.SpeedMPS, &p.HeadingDeg, &p.AltitudeM, &p.Battery, &p.ReceivedAt); err != nil {
			return nil, err
		}
		p.Time, p.ReceivedAt = p.Time.UTC(), p.ReceivedAt.UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindPositions implements enroute.PositionStore.
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
// 3.4-6.3 ms; BENCHMARKS.md, "With a position history").
const latestPositions = `WITH RECURSIVE techs(id) AS (
	SELECT min(technician_id) FROM positions
	UNION ALL
	SELECT (SELECT min(technician_id) FROM positions WHERE technician_id > techs.id) FROM techs WHERE techs.id IS NOT NULL
)
SELECT p.* FROM techs CROSS JOIN LATERAL (` + positionSelect + ` WHERE technician_id = techs.id AND ts >= $1 ORDER BY ts DESC LIMIT 1) p`

// LatestPositions implements enroute.PositionStore.
func (s *Store) LatestPositions(ctx context.Context, since time.Time) ([]enroute.Position, error) {
	rows, err := s.pool.Query(ctx, latestPositions, since)
	if err != nil {
		return nil, fmt.Errorf("latest positions: %w", err)
	}
	return collectPositions(rows)
}

// DeletePositionsBefore implements enroute.PositionStore.
func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM positions WHERE ts < $1", t)
	if err != nil {
		return 0, fmt.Errorf("delete positions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// CountPositions implements enroute.PositionStore.
func (s *Store) CountPositions(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM positions").Scan(&n)
	return n, err
}
