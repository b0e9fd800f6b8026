package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// insertSizes are the row counts of the multi-row INSERTs prepared once
// on the write connection (histWriter); a commit's fixes go in the fewest
// statements of these sizes. 100 rows of 11 values stays far below
// SQLite's 32766-parameter limit (see BENCHMARKS.md, history writes); 10
// serves the paced commits of one-fix requests (~65 fixes), which row by
// row spent more in each statement's round trip than in SQLite's insert.
var insertSizes = [...]int{100, 10, 1}

var positionRow = "(" + strings.TrimSuffix(strings.Repeat("?,", 11), ",") + ")"

// insertSQL is an INSERT of n rows into table, verb "INSERT" or "INSERT OR IGNORE".
func insertSQL(verb, table string, n int) string {
	return verb + " INTO " + table + " (" + positionCols + ") VALUES " + strings.TrimSuffix(strings.Repeat(positionRow+",", n), ",")
}

func micros(t time.Time) int64 { return t.UnixMicro() }

// InsertPositions implements enroute.PositionStore: one transaction, the
// fewest INSERTs of insertSizes' rows, prepared once on the write
// connection (preparing them per transaction cost more than the inserts
// of a one-fix request: BENCHMARKS.md) and run as the driver's own
// statements (histWriter). A technician's fixes go to the history when
// they are stageBelow or more, else to staging (see staging).
//
// It commits with synchronous=NORMAL: in WAL mode a committed transaction
// is then in the operating system's copy of the WAL when COMMIT returns, so
// a crash of Enroute (even SIGKILL) cannot lose it; only a power cut or an
// OS crash may lose the last moments of fixes. The fsync FULL adds per
// commit made one-fix requests (OsmAnd) wait on the disk (BENCHMARKS.md,
// history writes). Every other write keeps synchronous=FULL.
func (s *Store) InsertPositions(ctx context.Context, ps []enroute.Position) error {
	if len(ps) == 0 {
		return nil
	}
	direct, staged := split(ps)
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	defer conn.Close()
	var left bool
	var werr error // the write's own error, without the pool's
	err = conn.Raw(func(dc any) error {
		c, err := writeConnOf(dc)
		if err != nil {
			return err
		}
		var hc driverConn = c.inner()
		if s.wrapHist != nil {
			hc = s.wrapHist(hc)
		}
		left, werr = c.hist.write(ctx, hc, direct, staged)
		if left {
			// Left at synchronous=NORMAL, it must not serve other writes
			// (a dispatch committed on it could be lost to a power cut):
			// driver.ErrBadConn has the pool close it.
			return driver.ErrBadConn
		}
		return werr
	})
	if left {
		// The connection is gone: no merge step on it; the next insert's
		// takes it.
		if werr == nil {
			s.staging.add(len(staged), time.Now())
		}
		return werr
	}
	if err != nil {
		return err
	}
	// What is committed stays committed; a merge step that fails is tried
	// again after the next insert.
	if err := s.afterCommit(ctx, conn, len(staged)); err != nil {
		s.logMergeErr(err)
	}
	return nil
}

// prepareHistory prepares the history's statements on the write
// connection (Open).
func (s *Store) prepareHistory(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, err := writeConnOf(dc)
		if err != nil {
			return err
		}
		return c.hist.prepared(ctx, c.inner())
	})
}

// split divides ps into the fixes of technicians with stageBelow or more
// in it (direct) and the others (staged); when all go one way, ps itself,
// not a copy (at 10,000 one-fix requests a second, every commit's fixes
// are staged, and copying them was 6% of the bytes the server allocated).
func split(ps []enroute.Position) (direct, staged []enroute.Position) {
	if len(ps) < stageBelow {
		return nil, ps
	}
	perTech := make(map[int64]int, len(ps))
	for i := range ps {
		perTech[ps[i].TechnicianID]++
	}
	n := 0 // direct
	for i := range ps {
		if perTech[ps[i].TechnicianID] >= stageBelow {
			n++
		}
	}
	switch n {
	case 0:
		return nil, ps
	case len(ps):
		return ps, nil
	}
	direct, staged = make([]enroute.Position, 0, n), make([]enroute.Position, 0, len(ps)-n)
	for i := range ps {
		if perTech[ps[i].TechnicianID] >= stageBelow {
			direct = append(direct, ps[i])
		} else {
			staged = append(staged, ps[i])
		}
	}
	return direct, staged
}

func scanPositions(rows *sql.Rows) ([]enroute.Position, error) {
	defer rows.Close()
	var out []enroute.Position
	for rows.Next() {
		var p enroute.Position
		if err := scanPosition(rows, &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// stagedNew selects the staged fixes, once each, that the history does not
// hold yet (a resent fix may be staged twice, or staged and merged).
const stagedNew = `SELECT * FROM positions_recent r WHERE %s
	AND NOT EXISTS (SELECT 1 FROM positions p WHERE p.technician_id = r.technician_id AND p.ts = r.ts AND p.device_id = r.device_id)
	GROUP BY technician_id, ts, device_id`

// FindPositions implements enroute.PositionStore.
func (s *Store) FindPositions(ctx context.Context, f enroute.PositionFilter) ([]enroute.Position, error) {
	where, args := "1=1", []any{}
	if f.TechnicianID != nil {
		where, args = where+" AND technician_id = ?", append(args, *f.TechnicianID)
	}
	if !f.Since.IsZero() {
		where, args = where+" AND ts >= ?", append(args, micros(f.Since))
	}
	if !f.Until.IsZero() {
		where, args = where+" AND ts < ?", append(args, micros(f.Until))
	}
	// ORDER BY on the compound itself: SQLite then merges the two arms,
	// and the history's arm for one technician comes in key order, unsorted.
	q := "SELECT " + positionCols + " FROM positions WHERE " + where +
		" UNION ALL SELECT " + positionCols + " FROM (" + fmt.Sprintf(stagedNew, where) + ") ORDER BY ts, device_id"
	if !f.Unlimited {
		p := f.Page.Normalize()
		q += fmt.Sprintf(" LIMIT %d OFFSET %d", p.Limit, p.Offset)
	}
	rows, err := s.r.QueryContext(ctx, q, append(args, args...)...)
	if err != nil {
		return nil, fmt.Errorf("find positions: %w", err)
	}
	return scanPositions(rows)
}

// latestPositions is each technician's newest position since ?: the
// history's found by seeking its key (technician, time) technician by
// technician, the technicians themselves walked the same way (a recursive
// MIN, SQLite's loose index scan), so a start reads a few pages per
// technician rather than the whole history (3.4 million positions: 2.4 s
// to read them all; BENCHMARKS.md, "With a position history"); the few
// staged ones are read whole.
const latestPositions = `SELECT ` + positionCols + ` FROM (SELECT *, MAX(ts) FROM (
	WITH RECURSIVE techs(id) AS (
		SELECT MIN(technician_id) FROM positions
		UNION ALL
		SELECT (SELECT MIN(technician_id) FROM positions WHERE technician_id > techs.id) FROM techs WHERE techs.id IS NOT NULL
	)
	SELECT p.* FROM techs JOIN positions p ON p.technician_id = techs.id
		AND p.ts = (SELECT MAX(ts) FROM positions WHERE technician_id = techs.id AND ts >= ?1)
	UNION ALL SELECT * FROM positions_recent WHERE ts >= ?2
) GROUP BY technician_id)`

// LatestPositions implements enroute.PositionStore. SQLite returns the bare
// columns of the row holding MAX(ts) in each group.
func (s *Store) LatestPositions(ctx context.Context, since time.Time) ([]enroute.Position, error) {
	rows, err := s.r.QueryContext(ctx, latestPositions, micros(since), micros(since))
	if err != nil {
		return nil, fmt.Errorf("latest positions: %w", err)
	}
	return scanPositions(rows)
}

// CountPositions implements enroute.PositionStore.
func (s *Store) CountPositions(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM positions) + (SELECT count(*) FROM ("+fmt.Sprintf(stagedNew, "1=1")+"))").Scan(&n)
	return n, err
}
