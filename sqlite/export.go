package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/enroutehq/enroute"
)

// How many fixes EachPosition reads at a time: of one technician, 1,000
// (128 KB of Positions); of the fleet, 10,000 (1.3 MB), as each of its
// pages costs a seek per technician.
const (
	techPage  = 1000
	fleetPage = 10_000
)

// firstWindow is the fleet's first window of time (see EachPosition), in
// microseconds: a minute, some 6,000 fixes of 1,000 technicians sending
// every 10 s; maxWindow the widest, an hour.
const firstWindow, maxWindow = 60_000_000, 3600_000_000

// techsWalk lists the technicians with history by walking the key (a
// recursive MIN: SQLite's loose index scan; see latestPositions).
const techsWalk = `WITH RECURSIVE techs(id) AS (
	SELECT MIN(technician_id) FROM positions
	UNION ALL
	SELECT (SELECT MIN(technician_id) FROM positions WHERE technician_id > techs.id) FROM techs WHERE techs.id IS NOT NULL
) `

// afterCursor selects the fixes after the cursor (?1 ts, ?3 device) and
// before ?2: ts >= ?1 bounds the history's key range, the row value is
// the order EachPosition reads in.
const afterCursor = "ts >= ?1 AND ts < ?2 AND (ts, device_id) > (?1, ?3)"

// eachOfTechnician is a page of one technician's (?4) fixes: the history's
// arm in key order, no sort.
var eachOfTechnician = "SELECT " + positionCols + " FROM positions WHERE technician_id = ?4 AND " + afterCursor +
	" UNION ALL SELECT " + positionCols + " FROM (" + fmt.Sprintf(stagedNew, "technician_id = ?4 AND "+afterCursor) + ")" +
	" ORDER BY ts, device_id LIMIT ?5"

// eachOfFleet is a page of every technician's fixes: each technician's
// range of the window sought in the history, then sorted.
var eachOfFleet = techsWalk + "SELECT " + positionCols + " FROM positions WHERE technician_id IN (SELECT id FROM techs) AND " + afterCursor +
	" UNION ALL SELECT " + positionCols + " FROM (" + fmt.Sprintf(stagedNew, afterCursor) + ")" +
	" ORDER BY ts, device_id LIMIT ?5"

// fleetSpan is the oldest and newest times of the history and staging.
var fleetSpan = techsWalk + `SELECT min(lo), max(hi) FROM (
	SELECT (SELECT min(ts) FROM positions WHERE technician_id = techs.id) lo,
		(SELECT max(ts) FROM positions WHERE technician_id = techs.id) hi FROM techs WHERE id IS NOT NULL
	UNION ALL SELECT min(ts), max(ts) FROM positions_recent)`

// EachPosition implements enroute.PositionStore. It reads a page of fixes
// at a time, whole, in a read transaction of its own, and
// only then calls fn: a slow fn (a slow client's download) holds neither
// a connection nor a snapshot, which would keep the WAL from being
// checkpointed. The next page starts after the last fix read, by (ts,
// device_id): a device belongs to one technician, so that is a fix's
// identity, and a fix merged from staging between two pages is read once.
//
// One technician's pages come from the history's key in order. The
// fleet's (the history has no index by time) come from windows of time
// in which each technician's range is sought, the window's fixes sorted.
// A window aims at a page: after a full page the next is the time that
// page covered, after one less than half full twice the last, up to an
// hour. Where the fleet's flow jumps (a quiet night, then the morning),
// one window reads more than a page, at most an hour of the fleet's.
func (s *Store) EachPosition(ctx context.Context, f enroute.PositionFilter, fn func(*enroute.Position) error) error {
	from, until := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.Since.IsZero() {
		from = micros(f.Since)
	}
	if !f.Until.IsZero() {
		until = micros(f.Until)
	}
	if f.TechnicianID == nil {
		var oldest, newest sql.NullInt64
		if err := s.r.QueryRowContext(ctx, fleetSpan).Scan(&oldest, &newest); err != nil {
			return fmt.Errorf("each position: %w", err)
		}
		if !oldest.Valid {
			return nil
		}
		from, until = max(from, oldest.Int64), min(until, newest.Int64+1)
	}
	// The cursor: the next fix is after (ts, dev).
	ts, dev := from, int64(math.MinInt64)
	window, size := int64(firstWindow), fleetPage
	if f.TechnicianID != nil {
		size = techPage
	}
	page := make([]enroute.Position, 0, size)
	for ts < until {
		end, q, args := until, eachOfFleet, []any{ts, 0, dev, nil, size}
		if f.TechnicianID != nil {
			q, args[3] = eachOfTechnician, *f.TechnicianID
		} else if ts < until-window {
			end = ts + window
		}
		args[1] = end
		var err error
		if page, err = s.readPage(ctx, page[:0], q, args); err != nil {
			return fmt.Errorf("each position: %w", err)
		}
		for i := range page {
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) == size { // the window has more: go on from the last
			last := &page[len(page)-1]
			window = max(micros(last.Time)-ts, 1)
			ts, dev = micros(last.Time), last.DeviceID
			continue
		}
		if len(page) < size/2 {
			window = min(window*2, maxWindow)
		}
		ts, dev = end, math.MinInt64
	}
	return nil
}

// readPage appends the fixes q selects to page.
func (s *Store) readPage(ctx context.Context, page []enroute.Position, q string, args []any) ([]enroute.Position, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	for rows.Next() {
		page = append(page, enroute.Position{})
		if err := scanPosition(rows, &page[len(page)-1]); err != nil {
			return page, err
		}
	}
	return page, rows.Err()
}
