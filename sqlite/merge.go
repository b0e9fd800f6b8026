package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// Staging. The history is clustered by technician, so a commit of one fix
// from each of many technicians dirtied a page per fix, and the WAL took a
// whole page for each (BENCHMARKS.md, "History writes": 51-59 MB/s of WAL
// at 10,000 fixes/s). Fixes that come fewer than stageBelow per technician
// in one insert go to positions_recent instead, in arrival order; when it
// holds mergeRows fixes or its oldest is mergeAge old, they are merged into
// positions sorted by key, where each technician's page takes all its
// fixes of that time at once. Reads see both tables, a fix in both once.
//
// The more fixes a technician has in a merge, the fewer pages it writes a
// fix: at 10,000 technicians, 8 a merge (80,000 rows) cost 0.64x the
// writer's time a fix of 2 (20,000 rows). Reads for one technician scan
// staging whole, ~6 µs a hundred rows here: mergeRows bounds that (with
// what comes while a merge is under way), and mergeAge keeps a quieter
// fleet's merges as large as its rate allows.
//
// A merge moves about mergeChunk fixes a step, a range of technicians
// each (so a technician's fixes still go in together), a step after one
// of the history's commits once mergeRest times the last step's length
// has passed since it (none once mergeRows more are staged); the last
// step deletes the merge's fixes the history holds. So no
// commit, and no request waiting on one, waits out a whole merge (80,000
// rows take ~200 ms), nor does a merge take a core whole for that long:
// on two cores at 10,000 fixes a second, that was the watchers' tail
// (BENCHMARKS.md, "History writes").
const (
	stageBelow        = 8
	defaultMergeRows  = 80_000
	defaultMergeAge   = 10 * time.Second
	defaultMergeChunk = 10_000
	defaultMergeRest  = 4
)

// staging is the writer's count of staged fixes and the merge under way.
type staging struct {
	mu         sync.Mutex
	rows       int       // staged since the last merge began
	since      time.Time // when the oldest of them was staged
	replan     bool      // a merge was abandoned (see abandon)
	run        *mergeRun // the merge under way; nil: none
	nextStep   time.Time // its next step not before
	mergeRows  int
	mergeAge   time.Duration
	mergeChunk int // fixes a step, about
	mergeRest  int // a step's rest, in lengths of the step
}

// mergeRun is a merge under way: the staged fixes up to rowid upTo, of the
// technicians from next to last, width technicians a step. Its fields
// change only in a step, by the write connection's holder.
type mergeRun struct {
	upTo              int64
	newest            rowID // its row upTo
	next, last, width int64
}

// add counts n staged fixes and returns the merge to take a step of, or
// none and whether one is due to begin.
func (st *staging) add(n int, now time.Time) (run *mergeRun, due bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if n > 0 && st.rows == 0 {
		st.since = now
	}
	st.rows += n
	if st.run != nil {
		if now.Before(st.nextStep) && st.rows < st.mergeRows {
			return nil, false
		}
		return st.run, false
	}
	return nil, st.replan || st.rows >= st.mergeRows || (st.rows > 0 && now.Sub(st.since) >= st.mergeAge)
}

// begin makes run the merge under way (nil: nothing was staged); the
// fixes it moves are no longer counted.
func (st *staging) begin(run *mergeRun) {
	st.mu.Lock()
	st.run, st.rows, st.replan = run, 0, false
	st.mu.Unlock()
}

// stepped records that run moved the technicians before next, in a step
// from start to end; done: all.
func (st *staging) stepped(run *mergeRun, next int64, done bool, start, end time.Time) {
	st.mu.Lock()
	run.next = next
	st.nextStep = end.Add(time.Duration(st.mergeRest) * end.Sub(start))
	if done && st.run == run {
		st.run = nil
	}
	st.mu.Unlock()
}

// failed puts the merge's next step off by a second after a step failed.
func (st *staging) failed(now time.Time) {
	st.mu.Lock()
	st.nextStep = now.Add(time.Second)
	st.mu.Unlock()
}

// current returns the merge under way, if any.
func (st *staging) current() *mergeRun {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.run
}

// abandon drops the merge under way, to begin again at the next insert:
// a deletion in staging may have taken its newest rows, and SQLite then
// numbers new rows under the run's upTo (from 1 again, once empty). The
// last step deletes only fixes the history holds, so this is not what
// keeps them: a new merge just does not carry them as its own.
func (st *staging) abandon() {
	st.mu.Lock()
	if st.run != nil {
		st.run, st.replan = nil, true
	}
	st.mu.Unlock()
}

// afterCommit counts the staged fixes an insert committed and takes a
// step of the merge under way when its rest is over, or begins one when
// due. Called by the write connection's holder, after its commit.
func (s *Store) afterCommit(ctx context.Context, conn *sql.Conn, staged int) error {
	run, due := s.staging.add(staged, time.Now())
	if run == nil {
		if !due {
			return nil
		}
		var err error
		if run, err = s.beginMerge(ctx, conn); err != nil || run == nil {
			return err
		}
	}
	return s.step(ctx, conn, run)
}

// beginMerge plans a merge of every fix staged now; nil when none is.
func (s *Store) beginMerge(ctx context.Context, conn *sql.Conn) (*mergeRun, error) {
	var n, upTo, first, last int64
	err := conn.QueryRowContext(ctx, `SELECT count(*), coalesce(max(rowid), 0),
		coalesce(min(technician_id), 0), coalesce(max(technician_id), 0) FROM positions_recent`).Scan(&n, &upTo, &first, &last)
	if err != nil {
		return nil, fmt.Errorf("plan merge: %w", err)
	}
	if n == 0 {
		s.staging.begin(nil)
		return nil, nil
	}
	steps := (n + int64(s.staging.mergeChunk) - 1) / int64(s.staging.mergeChunk)
	run := &mergeRun{upTo: upTo, next: first, last: last, width: max(1, (last-first+steps)/steps)}
	if run.newest, err = rowKey(ctx, conn, upTo); err != nil {
		return nil, fmt.Errorf("plan merge: %w", err)
	}
	s.staging.begin(run)
	return run, nil
}

// step moves the next step's technicians' fixes into the history in
// one transaction, at the history's synchronous=NORMAL (they were staged
// at it; the WAL keeps commits in order, so a later one never outlives
// these); the last step deletes the merge's fixes from staging. Those are
// the rows up to its bound while its newest row is still there (that very
// row, not the same fix resent): SQLite numbers a new row past the newest
// there is, so only once that row is gone (deleted by retention, by another store opened on the file, which
// merges at Open, or by hand) may a fix newer than the merge take a
// number under the bound. Then it deletes only the rows the history holds
// (~100 ms for 80,000, against ~10).
func (s *Store) step(ctx context.Context, conn *sql.Conn, run *mergeRun) error {
	start := time.Now()
	from, to := run.next, run.next+run.width
	done := to > run.last
	committed := false
	err := atNormal(ctx, conn, func() error {
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO positions SELECT * FROM positions_recent
			WHERE rowid <= ? AND technician_id >= ? AND technician_id < ? ORDER BY technician_id, ts, device_id`, run.upTo, from, to); err != nil {
			return err
		}
		if done {
			del := "DELETE FROM positions_recent WHERE rowid <= ?"
			if k, err := rowKey(ctx, tx, run.upTo); err != nil {
				return err
			} else if k != run.newest {
				del = `DELETE FROM positions_recent AS r WHERE rowid <= ? AND EXISTS (SELECT 1 FROM positions p
					WHERE p.technician_id = r.technician_id AND p.ts = r.ts AND p.device_id = r.device_id)`
			}
			if _, err := tx.ExecContext(ctx, del, run.upTo); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		committed = true
		return nil
	})
	if committed {
		// The step is done (a connection not put back at FULL is
		// closed: see withPragma).
		s.staging.stepped(run, to, done, start, time.Now())
	} else if err != nil {
		s.staging.failed(time.Now())
	}
	if err != nil {
		return fmt.Errorf("merge technicians %d-%d: %w", from, to-1, err)
	}
	return nil
}

// rowID tells a staged row from any other: its key (technician, ts,
// device) and when it was received (a resent fix is received anew).
type rowID [4]int64

// rowKey returns staging's row rowid's rowID (zeros: none).
func rowKey(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, rowid int64) (k rowID, err error) {
	err = q.QueryRowContext(ctx, "SELECT technician_id, ts, device_id, received_after_us FROM positions_recent WHERE rowid = ?", rowid).Scan(&k[0], &k[1], &k[2], &k[3])
	if err == sql.ErrNoRows {
		return k, nil
	}
	return k, err
}

// Merge moves every staged fix into the history now, finishing the merge
// under way (Close does too).
func (s *Store) Merge(ctx context.Context) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for {
		run := s.staging.current()
		if run == nil {
			if run, err = s.beginMerge(ctx, conn); err != nil || run == nil {
				return err
			}
		}
		for s.staging.current() == run {
			if err := s.step(ctx, conn, run); err != nil {
				return err
			}
		}
	}
}

// atNormal runs fn with conn at synchronous=NORMAL, at which the history
// commits (see InsertPositions), and restores FULL, every other write's.
func atNormal(ctx context.Context, conn *sql.Conn, fn func() error) error {
	return withPragma(ctx, conn, "PRAGMA synchronous = NORMAL", "PRAGMA synchronous = FULL", fn)
}

// withPragma runs fn with conn set by the pragma set, then puts it back
// with undo whatever happened: SQLite applies a pragma as it prepares it,
// so a set that reports an error (a cancelled ctx) may have taken. An
// undo that fails after fn succeeded (fn's work committed) is logged, not
// returned: conn is discarded (restore), and the work stands.
func withPragma(ctx context.Context, conn *sql.Conn, set, undo string, fn func() error) error {
	_, err := conn.ExecContext(ctx, set)
	if err != nil {
		err = fmt.Errorf("%s: %w", set, err)
	} else {
		err = fn()
	}
	if e := restore(ctx, conn, undo); e != nil {
		if err == nil {
			slog.Warn("restoring a write connection; closing it", "err", e)
		} else {
			err = errors.Join(err, e)
		}
	}
	return err
}

// restore runs pragma, which puts conn back as the pool's other users
// expect it; if that fails, conn is discarded rather than given back as it
// is (at synchronous=NORMAL a dispatch's commit could be lost to a power
// cut; with autocheckpoint off the WAL would grow without end), and the
// pool opens a fresh one, set up by the file name's pragmas (dsn).
func restore(ctx context.Context, conn *sql.Conn, pragma string) error {
	_, err := conn.ExecContext(context.WithoutCancel(ctx), pragma)
	if errors.Is(err, sql.ErrConnDone) {
		// Closed already: by discard (no caller closes it before
		// restoring), so it goes back to no pool.
		return nil
	}
	if err != nil {
		discard(conn)
		return fmt.Errorf("%s: %w", pragma, err)
	}
	return nil
}

// discard makes conn, pinned from its pool, close when released instead
// of going back to the pool.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}
