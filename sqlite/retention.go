package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"
)

// Retention deletes the history in chunks, each its own short
// transaction, so the one writer is free between them and ingest's
// commits interleave: deleting 1.5 million fixes in one statement held the
// writer, and every fix that came meanwhile, for the whole delete
// (BenchmarkRetentionIngest).
//
// A chunk walks the history's key (technician_id, ts, device_id)
// technician by technician, seeking each one's oldest fixes, so it reads
// only what it deletes rather than scanning the whole history for ts < t.
//
// Its commits leave the WAL to grow (wal_autocheckpoint off on them), and
// the WAL is checkpointed between chunks on a connection of its own (c.ck):
// a checkpoint takes no write lock, so ingest commits meanwhile. Left to the
// writer's autocheckpoint, the retention's pages were copied back in a
// commit every 16 MiB of WAL, 50 ms each, and the fixes waiting behind it
// made the ingest's p99.
const (
	// defaultRetentionChunk is about how many fixes a chunk deletes: 2-3
	// ms of the writer (5,000: a p99 four times as long, for 5% less time
	// in all).
	defaultRetentionChunk = 2_000
	// retentionTechsPerChunk bounds the technicians a chunk visits, so
	// thousands without old fixes do not make a long chunk of seeks.
	retentionTechsPerChunk = 500
)

// nextTechnician is the first technician at or after ? with history.
const nextTechnician = "SELECT min(technician_id) FROM positions WHERE technician_id >= ?"

// deleteOldest deletes a technician's (?1) fixes before ?2, at most up to
// the time of its (?3+1)th oldest: about ?3+1 fixes (more when several
// devices share that time), or all of them before ?2 when it has fewer.
const deleteOldest = `DELETE FROM positions WHERE technician_id = ?1 AND ts < ?2
	AND ts <= coalesce((SELECT ts FROM positions WHERE technician_id = ?1 AND ts < ?2 ORDER BY ts LIMIT 1 OFFSET ?3), ?2)`

// DeletePositionsBefore implements enroute.PositionStore: the staged fixes
// before t, then the history's in chunks (see Retention). It stops between
// chunks when ctx ends, returning what it deleted so far; the next run
// goes on from there.
func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	before := micros(t)
	total, err := s.deleteStagedBefore(ctx, before)
	if err != nil {
		return 0, fmt.Errorf("delete staged positions: %w", err)
	}
	tech := int64(math.MinInt64) // where the next chunk starts
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("delete positions: %w", err)
		}
		n, next, done, err := s.deleteChunk(ctx, tech, before)
		total += n
		if err != nil {
			return total, fmt.Errorf("delete positions: %w", err)
		}
		// PASSIVE: what no reader still needs; the rest at the next.
		if _, err := s.c.ck.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
			return total, fmt.Errorf("checkpoint: %w", err)
		}
		if done {
			return total, nil
		}
		tech = next
	}
}

// retentionTx runs fn in a transaction on the write connection, pinned
// for its pragmas: synchronous=NORMAL, as the history's inserts commit (a
// deletion a power cut undoes is made again by the next run), and no
// autocheckpoint (DeletePositionsBefore checkpoints beside the writer).
func (s *Store) retentionTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("write connection: %w", err)
	}
	defer conn.Close()
	return atNormal(ctx, conn, func() error {
		return withPragma(ctx, conn, "PRAGMA wal_autocheckpoint = 0", fmt.Sprintf("PRAGMA wal_autocheckpoint = %d", walAutocheckpoint), func() error {
			tx, err := conn.BeginTx(ctx, nil)
			if err != nil {
				return fmt.Errorf("begin: %w", err)
			}
			defer tx.Rollback()
			if err := fn(tx); err != nil {
				return err
			}
			if s.inChunk != nil {
				s.inChunk()
			}
			return tx.Commit()
		})
	})
}

// deleteStagedBefore deletes the staged fixes taken before before, in one
// transaction: staging holds about a merge's worth (mergeRows, or
// mergeAge of fixes, and what comes while one is under way). It counts
// those the history does not hold too, so a fix counts once.
func (s *Store) deleteStagedBefore(ctx context.Context, before int64) (int64, error) {
	var n int64
	err := s.retentionTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM ("+fmt.Sprintf(stagedNew, "ts < ?")+")", before).Scan(&n); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, "DELETE FROM positions_recent WHERE ts < ?", before)
		if err != nil {
			return err
		}
		// Its newest rows may be gone: a merge under way begins again
		// (see staging.abandon).
		if deleted, _ := res.RowsAffected(); deleted > 0 {
			s.staging.abandon()
		}
		return nil
	})
	return n, err
}

// deleteChunk deletes about s.retentionChunk fixes taken before before,
// technician by technician from tech on, in one transaction. It returns
// how many it deleted, the technician the next chunk starts at, and
// whether none is left.
func (s *Store) deleteChunk(ctx context.Context, tech, before int64) (deleted, next int64, done bool, err error) {
	err = s.retentionTx(ctx, func(tx *sql.Tx) error {
		find, err := tx.PrepareContext(ctx, nextTechnician)
		if err != nil {
			return err
		}
		defer find.Close()
		del, err := tx.PrepareContext(ctx, deleteOldest)
		if err != nil {
			return err
		}
		defer del.Close()
		budget := int64(s.retentionChunk)
		for range retentionTechsPerChunk {
			var id sql.NullInt64
			if err := find.QueryRowContext(ctx, tech).Scan(&id); err != nil {
				return err
			}
			if !id.Valid {
				done = true
				return nil
			}
			res, err := del.ExecContext(ctx, id.Int64, before, budget-1)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			deleted += n
			if n >= budget { // the budget is spent; the technician may have more
				tech = id.Int64
				return nil
			}
			budget -= n
			if id.Int64 == math.MaxInt64 {
				done = true
				return nil
			}
			tech = id.Int64 + 1
		}
		return nil
	})
	if err != nil {
		return 0, 0, false, err
	}
	return deleted, tech, done, nil
}
