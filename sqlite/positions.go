package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// positionCols in table order; times are Unix microseconds.
const positionCols = "device_id, technician_id, ts, lat, lng, accuracy_m, speed_mps, heading_deg, altitude_m, battery, received_at"

// rowsPerInsert bounds a multi-row INSERT: 100 rows of 11 values stays far
// below SQLite's 32766-parameter limit, and amortises statement overhead
// (see BENCHMARKS.md, history writes).
const rowsPerInsert = 100

var (
	positionRow     = "(" + strings.TrimSuffix(strings.Repeat("?,", 11), ",") + ")"
	insertPositions = "INSERT OR IGNORE INTO positions (" + positionCols + ") VALUES " + strings.TrimSuffix(strings.Repeat(positionRow+",", rowsPerInsert), ",")
	insertPosition  = "INSERT OR IGNORE INTO positions (" + positionCols + ") VALUES " + positionRow
)

func micros(t time.Time) int64 { return t.UnixMicro() }

// InsertPositions implements enroute.PositionStore: one transaction, full
// statements of 100 rows, the rest row by row, both prepared once when the
// store opens (preparing them per transaction cost more than the inserts of
// a one-fix request: BENCHMARKS.md).
//
// It commits with synchronous=NORMAL: in WAL mode a committed transaction
// is then in the operating system's copy of the WAL when COMMIT returns, so
// a crash of Enroute (even SIGKILL) cannot lose it; only a power cut or an
// OS crash may lose the last moments of fixes. The fsync FULL adds per
// commit made one-fix requests (OsmAnd) wait on the disk (BENCHMARKS.md,
// history writes). Every other write keeps synchronous=FULL.
func (s *Store) InsertPositions(ctx context.Context, ps []enroute.Position) error {
	conn, err := s.w.Conn(ctx) // the one write connection, pinned for the pragmas
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		return fmt.Errorf("synchronous: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous = FULL")
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	args := make([]any, 0, 11*rowsPerInsert)
	appendRow := func(p *enroute.Position) {
		args = append(args, p.DeviceID, p.TechnicianID, micros(p.Time), p.Lat, p.Lng, p.AccuracyM, p.SpeedMPS,
			p.HeadingDeg, p.AltitudeM, p.Battery, micros(p.ReceivedAt))
	}
	if len(ps) >= rowsPerInsert {
		stmt := tx.StmtContext(ctx, s.c.insertMany)
		defer stmt.Close()
		for len(ps) >= rowsPerInsert {
			args = args[:0]
			for i := range rowsPerInsert {
				appendRow(&ps[i])
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert positions: %w", err)
			}
			ps = ps[rowsPerInsert:]
		}
	}
	if len(ps) > 0 {
		stmt := tx.StmtContext(ctx, s.c.insertOne)
		defer stmt.Close()
		for i := range ps {
			args = args[:0]
			appendRow(&ps[i])
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return fmt.Errorf("insert position: %w", err)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit positions: %w", err)
	}
	return nil
}

func scanPositions(rows *sql.Rows) ([]enroute.Position, error) {
	defer rows.Close()
	var out []enroute.Position
	for rows.Next() {
		var p enroute.Position
		var ts, recv int64
		if err := rows.Scan(&p.DeviceID, &p.TechnicianID, &ts, &p.Lat, &p.Lng, &p.AccuracyM, &p.SpeedMPS,
			&p.HeadingDeg, &p.AltitudeM, &p.Battery, &recv); err != nil {
			return nil, err
		}
		p.Time, p.ReceivedAt = time.UnixMicro(ts).UTC(), time.UnixMicro(recv).UTC()
		out = append(out, p)
	}
	return out, rows.Err()
}

// FindPositions implements enroute.PositionStore.
func (s *Store) FindPositions(ctx context.Context, f enroute.PositionFilter) ([]enroute.Position, error) {
	q, args := "SELECT "+positionCols+" FROM positions WHERE 1=1", []any{}
	if f.TechnicianID != nil {
		q, args = q+" AND technician_id = ?", append(args, *f.TechnicianID)
	}
	if !f.Since.IsZero() {
		q, args = q+" AND ts >= ?", append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		q, args = q+" AND ts < ?", append(args, micros(f.Until))
	}
	q += " ORDER BY ts, device_id"
	if !f.Unlimited {
		q += fmt.Sprintf(" LIMIT %d", enroute.Page{Limit: f.Limit}.Normalize().Limit)
	}
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find positions: %w", err)
	}
	return scanPositions(rows)
}

// LatestPositions implements enroute.PositionStore. SQLite returns the bare
// columns of the row holding MAX(ts) in each group.
func (s *Store) LatestPositions(ctx context.Context, since time.Time) ([]enroute.Position, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT "+positionCols+" FROM (SELECT *, MAX(ts) FROM positions WHERE ts >= ? GROUP BY technician_id)", micros(since))
	if err != nil {
		return nil, fmt.Errorf("latest positions: %w", err)
	}
	return scanPositions(rows)
}

// DeletePositionsBefore implements enroute.PositionStore.
func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, "DELETE FROM positions WHERE ts < ?", micros(t))
	if err != nil {
		return 0, fmt.Errorf("delete positions: %w", err)
	}
	return res.RowsAffected()
}

// CountPositions implements enroute.PositionStore.
func (s *Store) CountPositions(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM positions").Scan(&n)
	return n, err
}
