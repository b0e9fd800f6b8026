package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// The history is partitioned by UTC day (migration 00018): positions_20261206
// holds the fixes taken on 6 December 2026, and positions_default whatever
// no day's table covers. Making days ahead and dropping days past
// retention are the only DDL the store runs after its migrations; every
// node does both, one at a time (an advisory lock).
const (
	partitionPeriod = 24 * time.Hour
	// partitionsAhead is how many days after today EnsurePartitions makes:
	// its hourly call may fail for three days before fixes go to the
	// default partition.
	partitionsAhead = 3
	// partitionLockTimeout is how long making or dropping a partition
	// waits for a table's lock, while the queries behind it wait too; past
	// it, the call fails and the next hour's tries again.
	partitionLockTimeout = "1s"
)

// partitionName is the name of day's partition.
func partitionName(day time.Time) string { return "positions_" + day.UTC().Format("20060102") }

// partitionDays returns the store's day partitions, by name.
func (s *Store) partitionDays(ctx context.Context) (map[string]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'positions'::regclass`)
	if err != nil {
		return nil, fmt.Errorf("list position partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list position partitions: %w", err)
	}
	days := map[string]time.Time{}
	for _, name := range names {
		digits, ok := strings.CutPrefix(name, "positions_")
		if d, err := time.Parse("20060102", digits); ok && err == nil && len(digits) == 8 {
			days[name] = d
		}
	}
	return days, nil
}

// lockPartitions makes tx the only one changing the partitions of this
// schema's positions, and bounds its waits for tables' locks.
func lockPartitions(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext('enroute.positions'), hashtext(current_schema()))"); err != nil {
		return fmt.Errorf("lock position partitions: %w", err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL lock_timeout = '"+partitionLockTimeout+"'"); err != nil {
		return fmt.Errorf("lock position partitions: %w", err)
	}
	return nil
}

// tableState says whether the table name exists in this schema (nil if
// not) and is a partition, as of now: read from pg_class itself, since
// the cache to_regclass reads may not yet know of another node's DDL that
// committed while tx waited for the lock.
func tableState(ctx context.Context, tx pgx.Tx, name string) (*bool, error) {
	var attached *bool
	err := tx.QueryRow(ctx, `SELECT (SELECT relispartition FROM pg_class
		WHERE relname = $1 AND relnamespace = current_schema()::regnamespace AND relkind = 'r')`, name).Scan(&attached)
	return attached, err
}

// EnsurePartitions makes the partitions of now's day (UTC) and the three
// days after it, those that are missing, and returns how many it made.
// cmd/enroute calls it at start-up and hourly, on every node.
//
// A day's table is made apart, given that day's fixes from the default
// partition (those a clock far off or a backfill put there), then
// attached: PostgreSQL refuses a partition whose rows sit in the default
// one, and attaching locks only the default partition for writes, where
// CREATE TABLE ... PARTITION OF would lock all of positions.
func (s *Store) EnsurePartitions(ctx context.Context, now time.Time) (int, error) {
	have, err := s.partitionDays(ctx)
	if err != nil {
		return 0, err
	}
	var missing []time.Time
	for today, i := now.UTC().Truncate(partitionPeriod), 0; i <= partitionsAhead; i++ {
		day := today.Add(time.Duration(i) * partitionPeriod)
		if _, ok := have[partitionName(day)]; !ok {
			missing = append(missing, day)
		}
	}
	if len(missing) == 0 {
		return 0, nil
	}
	made := 0
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		made = 0
		if err := lockPartitions(ctx, tx); err != nil {
			return err
		}
		for _, day := range missing {
			ok, err := makePartition(ctx, tx, day)
			if err != nil {
				return fmt.Errorf("make partition %s: %w", partitionName(day), err)
			}
			if ok {
				made++
			}
		}
		return nil
	})
	return made, err
}

// makePartition makes day's partition in tx, unless another node has;
// false if it had.
func makePartition(ctx context.Context, tx pgx.Tx, day time.Time) (bool, error) {
	name := partitionName(day)
	attached, err := tableState(ctx, tx, name)
	if err != nil {
		return false, err
	}
	switch {
	case attached != nil && *attached:
		return false, nil
	case attached != nil:
		return false, fmt.Errorf("table %s exists and is not a partition of positions", name)
	}
	ident := pgx.Identifier{name}.Sanitize()
	from, to := day.Format("2006-01-02")+" 00:00:00+00", day.Add(partitionPeriod).Format("2006-01-02")+" 00:00:00+00"
	for _, q := range []string{
		// The order ATTACH takes them in, as queries do: positions, then
		// its default partition (no writes to it, nor reads, until commit).
		"LOCK TABLE ONLY positions IN SHARE UPDATE EXCLUSIVE MODE",
		"LOCK TABLE positions_default IN ACCESS EXCLUSIVE MODE",
		"CREATE TABLE " + ident + " (LIKE positions)",
		"WITH moved AS (DELETE FROM positions_default WHERE ts >= '" + from + "' AND ts < '" + to + "' RETURNING *) INSERT INTO " + ident + " SELECT * FROM moved",
		"ALTER TABLE positions ATTACH PARTITION " + ident + " FOR VALUES FROM ('" + from + "') TO ('" + to + "')",
	} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return false, err
		}
	}
	return true, nil
}

// DeletePositionsBefore implements enroute.PositionStore: it drops every
// day partition that ends at or before t, and deletes the default
// partition's positions taken before t; the day holding t is kept whole.
// It never deletes rows from a day's partition.
//
// The count is the dropped partitions' rows, counted just before the drop
// (count(*) of a day no longer written; one that a fix reaches between the
// two, possible only with --max-fix-age longer than the retention, goes
// uncounted), plus the rows deleted.
func (s *Store) DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error) {
	days, err := s.partitionDays(ctx)
	if err != nil {
		return 0, err
	}
	var old []string
	for name, day := range days {
		if !day.Add(partitionPeriod).After(t) {
			old = append(old, name)
		}
	}
	slices.Sort(old)
	counts := make(map[string]int64, len(old))
	for _, name := range old {
		var n int64
		err := s.pool.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{name}.Sanitize(), pgx.QueryExecModeSimpleProtocol).Scan(&n)
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == "42P01" { // undefined_table: another node dropped it
			continue
		} else if err != nil {
			return 0, fmt.Errorf("count partition %s: %w", name, err)
		}
		counts[name] = n
	}
	var deleted int64
	if len(old) > 0 {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			deleted = 0
			if err := lockPartitions(ctx, tx); err != nil {
				return err
			}
			for _, name := range old {
				// Another node may have dropped it since: its rows are
				// that node's to count.
				if attached, err := tableState(ctx, tx, name); err != nil {
					return err
				} else if attached == nil {
					continue
				}
				if _, err := tx.Exec(ctx, "DROP TABLE "+pgx.Identifier{name}.Sanitize()); err != nil {
					return fmt.Errorf("drop partition %s: %w", name, err)
				}
				deleted += counts[name]
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("delete positions: %w", err)
		}
	}
	tag, err := s.pool.Exec(ctx, "DELETE FROM positions_default WHERE ts < $1", t)
	if err != nil {
		return deleted, fmt.Errorf("delete positions: %w", err)
	}
	return deleted + tag.RowsAffected(), nil
}
