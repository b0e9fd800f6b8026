package main

// The run: the history written day by day as the recorder writes it, then
// read back, learned from, and its oldest day dropped under a steady
// ingest.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/postgres"
)

// etaHistory is what cmd/enroute relearns at start-up with no saved model
// (its etaHistory): the ETA model's learning window.
const etaHistory = 48 * time.Hour

// config is one run's workload and how it is written.
type config struct {
	Fixes    int // written in all, spread evenly over technicians and days
	Techs    int
	Days     int // the UTC days before today, in time order
	Interval time.Duration
	Batch    int // fixes to an InsertPositions
	Workers  int // goroutines inserting batches
	Trips    []trip
	Seed     uint64
	// The retention part: a steady stream of StreamRate fixes a second,
	// StreamPhase before and after the oldest day is dropped.
	StreamRate  int
	StreamPhase time.Duration
	Learn       bool             // feed the learning window to the ETA model too
	Now         func() time.Time // default time.Now
	Out         io.Writer        // progress
}

// result is what a run measured.
type result struct {
	Cfg       config
	First     time.Time // the first day's midnight (UTC)
	PerDay    []int     // fixes written each day
	Days      []dayResult
	Sizes     []sizeResult
	Analyzed  bool          // each day's partition analyzed once written (autovacuum off)
	MaxEnsure time.Duration // the longest EnsurePartitions
	IngestDur time.Duration

	TechDay, TechDayPage timing
	TechDayRows          int // the days read back: fixes each (all alike)
	Latest               timing
	LatestRows           int

	LearnRead, LearnAll time.Duration
	LearnQueries        int
	LearnRows           int
	Learned             bool

	Before, During, After stats // the stream's batches, by when they ran against the drop
	StreamBatch           int
	Dropped               int64 // rows DeletePositionsBefore removed
	OldestRows            int   // the oldest day's rows, as written
	DropDur               time.Duration
	Streamed              int

	Counted             int64 // CountPositions at the end
	CountDur            time.Duration
	DBBytesAfterIngest  int64
	DBBytesEnd          int64
	Total               time.Duration
	NowAtStart, EndTime time.Time // the run's now; the history's last fix
}

type dayResult struct {
	Day      time.Time
	Fixes    int
	Took     time.Duration
	Gen      time.Duration // of Took, generating the fixes
	Batches  stats
	StoredTo int64 // rows stored when the day was done
}

type sizeResult struct {
	AfterDay              int // 1-based
	Rows                  int64
	Total, Table, Indexes int64 // bytes, every partition
	DBBytes               int64
}

// timing is the median of several runs of a query.
type timing struct {
	Median time.Duration
	N      int
}

// stats summarizes batch latencies.
type stats struct {
	N             int
	P50, P99, Max time.Duration
}

func summarize(ds []time.Duration) stats {
	if len(ds) == 0 {
		return stats{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(q float64) time.Duration { return s[min(len(s)-1, int(q*float64(len(s))))] }
	return stats{N: len(s), P50: at(0.5), P99: at(0.99), Max: s[len(s)-1]}
}

func median(ds []time.Duration) timing {
	return timing{Median: summarize(ds).P50, N: len(ds)}
}

// bench runs one workload against a migrated store; admin is a connection
// to the same database (and schema) for sizes and ANALYZE.
type bench struct {
	cfg   config
	store *postgres.Store
	admin *pgx.Conn
	fleet *fleet
	res   *result
}

func (b *bench) logf(format string, args ...any) {
	if b.cfg.Out != nil {
		fmt.Fprintf(b.cfg.Out, format+"\n", args...)
	}
}

// run measures the whole workload; store is a fresh migrated database.
func run(ctx context.Context, cfg config, store *postgres.Store, admin *pgx.Conn) (*result, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Techs <= 0 || cfg.Days <= 0 || cfg.Fixes < cfg.Techs*cfg.Days || cfg.Interval < time.Second || cfg.Batch <= 0 || cfg.Workers <= 0 || len(cfg.Trips) == 0 {
		return nil, fmt.Errorf("bad workload: want a fix a technician a day at least, an interval of 1 s or more, batches, workers and trips")
	}
	began := cfg.Now()
	today := began.UTC().Truncate(24 * time.Hour)
	res := &result{Cfg: cfg, NowAtStart: began, First: today.AddDate(0, 0, -cfg.Days)}
	b := &bench{cfg: cfg, store: store, admin: admin, fleet: newFleet(cfg.Techs, cfg.Trips, cfg.Interval, cfg.Seed), res: res}
	var autovacuum string
	if err := admin.QueryRow(ctx, "SHOW autovacuum").Scan(&autovacuum); err != nil {
		return nil, err
	}
	res.Analyzed = autovacuum != "on"
	if res.Analyzed {
		b.logf("autovacuum is off on this server: each day's partition is analyzed once written, as autovacuum would")
	}
	if err := b.ingest(ctx); err != nil {
		return res, err
	}
	var err error
	if res.DBBytesAfterIngest, err = b.dbSize(ctx); err != nil {
		return res, err
	}
	for _, step := range []func(context.Context) error{b.readDays, b.latest, b.learn, b.retention} {
		if err := step(ctx); err != nil {
			return res, err
		}
	}
	t := time.Now()
	if res.Counted, err = store.CountPositions(ctx); err != nil {
		return res, err
	}
	res.CountDur = time.Since(t)
	want := int64(cfg.Fixes) - res.Dropped + int64(res.Streamed)
	if res.Counted != want {
		return res, fmt.Errorf("counted %d positions, want %d (written %d - dropped %d + streamed %d)", res.Counted, want, cfg.Fixes, res.Dropped, res.Streamed)
	}
	b.logf("counted %d positions in %v: written - dropped + streamed", res.Counted, res.CountDur.Round(time.Millisecond))
	if res.DBBytesEnd, err = b.dbSize(ctx); err != nil {
		return res, err
	}
	res.Total = time.Since(began)
	return res, nil
}

// perDay spreads the fixes over the days: day d gets Fixes/Days, the first
// days one more each until the remainder is spent.
func (b *bench) perDay() []int {
	out := make([]int, b.cfg.Days)
	for d := range out {
		out[d] = b.cfg.Fixes / b.cfg.Days
		if d < b.cfg.Fixes%b.cfg.Days {
			out[d]++
		}
	}
	return out
}

// perTech spreads a day's fixes over the technicians the same way.
func (b *bench) perTech(n int) []int {
	out := make([]int, b.cfg.Techs)
	for i := range out {
		out[i] = n / b.cfg.Techs
		if i < n%b.cfg.Techs {
			out[i]++
		}
	}
	return out
}

// ingest writes the days in time order: each day's fixes in the order
// the phones take them, in batches of cfg.Batch handed to cfg.Workers
// goroutines (the recorder's commits), the partitions made ahead each
// simulated hour (the housekeeping), and a day's figures taken once all
// its batches are stored.
func (b *bench) ingest(ctx context.Context) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	res := b.res
	free := make(chan []enroute.Position, 2*b.cfg.Workers+1)
	for range cap(free) {
		free <- make([]enroute.Position, 0, b.cfg.Batch)
	}
	work := make(chan []enroute.Position, b.cfg.Workers)
	var (
		mu      sync.Mutex
		lats    []time.Duration
		pending sync.WaitGroup
		workers sync.WaitGroup
	)
	for range b.cfg.Workers {
		workers.Go(func() {
			for ps := range work {
				t := time.Now()
				err := b.store.InsertPositions(ctx, ps)
				d := time.Since(t)
				if err != nil {
					cancel(err)
				}
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
				free <- ps[:0]
				pending.Done()
			}
		})
	}
	defer func() { close(work); workers.Wait() }()
	send := func(ps []enroute.Position) error {
		pending.Add(1)
		select {
		case work <- ps:
			return nil
		case <-ctx.Done():
			pending.Done()
			return context.Cause(ctx)
		}
	}
	ensure := func(now time.Time) error {
		t := time.Now()
		_, err := b.store.EnsurePartitions(ctx, now)
		res.MaxEnsure = max(res.MaxEnsure, time.Since(t))
		return err
	}

	// Sizes after the first day, a quarter, half, three quarters, all.
	checkpoints := map[int]bool{}
	for _, q := range []int{0, 1, 2, 3, 4} {
		checkpoints[max(1, (q*b.cfg.Days+3)/4)] = true
	}

	res.PerDay = b.perDay()
	var stored int64
	ingestBegan := time.Now()
	for d, n := range res.PerDay {
		day := res.First.AddDate(0, 0, d)
		if err := ensure(day); err != nil {
			return fmt.Errorf("ensure partitions: %w", err)
		}
		if err := b.fleet.planDay(b.perTech(n)); err != nil {
			return err
		}
		mu.Lock()
		lats = lats[:0]
		mu.Unlock()
		began := time.Now()
		buf, hour := <-free, day.Add(workdayStart).Truncate(time.Hour)
		// gen is the producer's time filling batches, not waiting for
		// the workers: when it nears the day's, the generator bounds
		// the rate, not PostgreSQL.
		var gen time.Duration
		filling := time.Now()
		for s, slots := 0, b.fleet.slotCount(); s < slots; s++ {
			at := day.Add(workdayStart + time.Duration(s)*b.cfg.Interval)
			if h := at.Truncate(time.Hour); h.After(hour) {
				hour = h
				if err := ensure(at); err != nil {
					return fmt.Errorf("ensure partitions: %w", err)
				}
			}
			for i := range b.fleet.techs {
				t := &b.fleet.techs[i]
				if !t.driving(s) {
					continue
				}
				p := b.fleet.fix(t, at.Add(t.phase))
				if p.Time.After(res.EndTime) {
					res.EndTime = p.Time
				}
				buf = append(buf, p)
				if len(buf) == b.cfg.Batch {
					gen += time.Since(filling)
					if err := send(buf); err != nil {
						return err
					}
					buf = <-free
					filling = time.Now()
				}
			}
		}
		gen += time.Since(filling)
		if len(buf) > 0 {
			if err := send(buf); err != nil {
				return err
			}
		} else {
			free <- buf
		}
		pending.Wait()
		if err := context.Cause(ctx); err != nil {
			return fmt.Errorf("insert positions: %w", err)
		}
		took := time.Since(began)
		stored += int64(n)
		mu.Lock()
		dr := dayResult{Day: day, Fixes: n, Took: took, Gen: gen, Batches: summarize(lats), StoredTo: stored}
		mu.Unlock()
		res.Days = append(res.Days, dr)
		b.logf("day %d/%d %s: %d fixes in %v (generating %v), %.0f fixes/s, batch p50 %v p99 %v max %v; %d stored",
			d+1, b.cfg.Days, day.Format("2006-01-02"), n, took.Round(time.Millisecond), gen.Round(time.Millisecond), float64(n)/took.Seconds(),
			ms(dr.Batches.P50), ms(dr.Batches.P99), ms(dr.Batches.Max), stored)
		if res.Analyzed {
			t := time.Now()
			if _, err := b.admin.Exec(ctx, "ANALYZE "+pgx.Identifier{"positions_" + day.Format("20060102")}.Sanitize()); err != nil {
				return fmt.Errorf("analyze: %w", err)
			}
			b.logf("  analyzed in %v", time.Since(t).Round(time.Millisecond))
		}
		if checkpoints[d+1] {
			sz, err := b.size(ctx, d+1, stored)
			if err != nil {
				return err
			}
			res.Sizes = append(res.Sizes, sz)
			b.logf("  after day %d: %.1f MB, %.1f bytes a fix (table %.1f, indexes %.1f); database %.1f MB",
				d+1, float64(sz.Total)/1e6, perFix(sz.Total, sz.Rows), perFix(sz.Table, sz.Rows), perFix(sz.Indexes, sz.Rows), float64(sz.DBBytes)/1e6)
		}
	}
	res.IngestDur = time.Since(ingestBegan)
	return nil
}

func perFix(bytes, rows int64) float64 { return float64(bytes) / float64(max(rows, 1)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/1e6) }

// size measures positions over every partition, with indexes.
func (b *bench) size(ctx context.Context, day int, rows int64) (sizeResult, error) {
	sz := sizeResult{AfterDay: day, Rows: rows}
	err := b.admin.QueryRow(ctx, `SELECT coalesce(sum(pg_total_relation_size(relid)), 0), coalesce(sum(pg_table_size(relid)), 0),
		coalesce(sum(pg_indexes_size(relid)), 0) FROM pg_partition_tree('positions') WHERE isleaf`).Scan(&sz.Total, &sz.Table, &sz.Indexes)
	if err != nil {
		return sz, fmt.Errorf("size: %w", err)
	}
	sz.DBBytes, err = b.dbSize(ctx)
	return sz, err
}

func (b *bench) dbSize(ctx context.Context) (int64, error) {
	var n int64
	err := b.admin.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
	return n, err
}
