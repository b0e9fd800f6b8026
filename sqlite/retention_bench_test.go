package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// benchTechs is the fleet of the history benchmarks.
const benchTechs = 1_000

// benchFix is a realistic fix of technician tech at t: coordinates to
// 1e-6 or finer, accuracy, speed, heading and altitude with fractions as
// phones report them (Android's are float32s), battery a whole percentage.
func benchFix(r *rand.Rand, tech int64, t time.Time) enroute.Position {
	return enroute.Position{TechnicianID: tech, DeviceID: tech, Time: t,
		Lat: 41.0 + r.Float64()*0.4, Lng: -8.8 + r.Float64()*0.4,
		AccuracyM: float64(float32(3 + r.Float64()*12)), SpeedMPS: float64(float32(r.Float64() * 25)),
		HeadingDeg: float64(float32(r.Float64() * 359.9)), AltitudeM: float64(float32(20 + r.Float64()*150)),
		Battery: float64(20 + r.IntN(80)), ReceivedAt: t.Add(time.Duration(300+r.IntN(1500)) * time.Millisecond)}
}

// fillHistory inserts perTech fixes of each of benchTechs technicians, one
// every 10 s from t0, in batches of 100 per technician (to the history, as
// phones' batches go).
func fillHistory(tb testing.TB, s *Store, t0 time.Time, perTech int) {
	tb.Helper()
	eachBatch(t0, perTech, func(batch []enroute.Position) {
		if err := s.InsertPositions(context.Background(), batch); err != nil {
			tb.Fatal(err)
		}
	})
}

// eachBatch makes fillHistory's batches, the same each time.
func eachBatch(t0 time.Time, perTech int, fn func([]enroute.Position)) {
	r := rand.New(rand.NewPCG(1, 2))
	batch := make([]enroute.Position, 0, 100)
	for from := 0; from < perTech; from += 100 {
		for tech := int64(1); tech <= benchTechs; tech++ {
			batch = batch[:0]
			for i := from; i < min(from+100, perTech); i++ {
				batch = append(batch, benchFix(r, tech, t0.Add(time.Duration(i)*10*time.Second)))
			}
			fn(batch)
		}
	}
}

// deleteInOneStatement is DeletePositionsBefore as it was before chunks:
// one transaction, one DELETE scanning the history. The baseline of
// BenchmarkRetentionIngest.
func deleteInOneStatement(s *Store, ctx context.Context, t time.Time) (int64, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var staged int64
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM ("+fmt.Sprintf(stagedNew, "ts < ?")+")", micros(t)).Scan(&staged); err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, "DELETE FROM positions WHERE ts < ?", micros(t))
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM positions_recent WHERE ts < ?", micros(t)); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return n + staged, err
}

// ingestStream feeds fixes as phones send them, one every period from a
// different technician, to a recorder loop that commits all that wait
// (one to a few fixes a commit), and records each fix's wait from its
// arrival to its commit: its acknowledgement delay. Arrival never waits
// for a commit, so a writer held long shows in the delays of every fix
// that came meanwhile.
type ingestStream struct {
	mu      sync.Mutex
	queue   []enroute.Position
	arrived []time.Time
	acks    []ack
	commits []ack // per InsertPositions: its start and how long it took
}

// ack is a fix's arrival and its wait for the commit.
type ack struct {
	at   time.Time
	wait time.Duration
}

func (st *ingestStream) run(ctx context.Context, tb testing.TB, s *Store, period time.Duration, t0 time.Time) {
	var wg sync.WaitGroup
	wake := make(chan struct{}, 1)
	wg.Go(func() { // phones
		r := rand.New(rand.NewPCG(3, 4))
		tick := time.NewTicker(period)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				st.mu.Lock()
				st.queue = append(st.queue, benchFix(r, int64(i%benchTechs+1), t0.Add(time.Duration(i)*time.Millisecond)))
				st.arrived = append(st.arrived, now)
				st.mu.Unlock()
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		}
	})
	wg.Go(func() { // the recorder: what waits is committed, even after ctx ends
		for stopped := false; !stopped; {
			select {
			case <-ctx.Done():
				stopped = true
			case <-wake:
			}
			st.mu.Lock()
			ps, arrived := st.queue, st.arrived
			st.queue, st.arrived = nil, nil
			st.mu.Unlock()
			if len(ps) == 0 {
				continue
			}
			start := time.Now()
			if err := s.InsertPositions(context.WithoutCancel(ctx), ps); err != nil {
				tb.Error(err)
				return
			}
			done := time.Now()
			st.mu.Lock()
			st.commits = append(st.commits, ack{start, done.Sub(start)})
			for _, a := range arrived {
				st.acks = append(st.acks, ack{a, done.Sub(a)})
			}
			st.mu.Unlock()
		}
	})
	wg.Wait()
}

// maxGap is the longest time between two arrivals from from to to: the
// phones' goroutine never waits for the store, so a long gap is the whole
// process stopped.
func maxGap(as []ack, from, to time.Time) time.Duration {
	var gap time.Duration
	for i := 1; i < len(as); i++ {
		if as[i].at.After(from) && !as[i-1].at.After(to) {
			gap = max(gap, as[i].at.Sub(as[i-1].at))
		}
	}
	return gap
}

// quantile is the q-quantile of the waits of what began from from to to.
func quantile(as []ack, from, to time.Time, q float64) time.Duration {
	var ds []time.Duration
	for _, a := range as {
		if !a.at.Before(from) && !a.at.After(to) {
			ds = append(ds, a.wait)
		}
	}
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(q*float64(len(ds))))]
}

// BenchmarkRetentionIngest: how long fixes wait for their commit while
// retention deletes ENROUTE_BENCH_RETENTION old fixes (e.g. 1500000) of
// 1,000 technicians, with a third as many newer ones kept, and a fix
// arriving every 2 ms (500 a second, one to a few a commit): chunked, and
// in one statement as before. Run it alone, once:
//
//	ENROUTE_BENCH_RETENTION=1500000 go test ./sqlite -run '^$' -bench RetentionIngest -benchtime 1x
//
// ENROUTE_BENCH_RETENTION_CHUNK sets the chunk's fixes. ack-p99-ms is the fixes' acknowledgement delay during the retention,
// retention-s how long the retention took.
func BenchmarkRetentionIngest(b *testing.B) {
	old, _ := strconv.Atoi(os.Getenv("ENROUTE_BENCH_RETENTION"))
	if old <= 0 {
		b.Skip("set ENROUTE_BENCH_RETENTION to a number of old fixes (e.g. 1500000) to fill and delete")
	}
	perTech := old / benchTechs
	for _, mode := range []struct {
		name string
		del  func(*Store, context.Context, time.Time) (int64, error)
	}{{"chunked", (*Store).DeletePositionsBefore}, {"one-statement", deleteInOneStatement}} {
		b.Run(mode.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				ctx := context.Background()
				s, err := Open(ctx, filepath.Join(b.TempDir(), "enroute.db"))
				if err != nil {
					b.Fatal(err)
				}
				if n, _ := strconv.Atoi(os.Getenv("ENROUTE_BENCH_RETENTION_CHUNK")); n > 0 {
					s.retentionChunk = n
				}
				t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
				fillHistory(b, s, t0, perTech+perTech/3)
				cut := t0.Add(time.Duration(perTech) * 10 * time.Second)

				// A few seconds of ingest alone, then with the retention.
				var quiet, during ingestStream
				sctx, stop := context.WithTimeout(ctx, 3*time.Second)
				quietFrom := time.Now()
				quiet.run(sctx, b, s, 2*time.Millisecond, cut.Add(24*time.Hour))
				stop()
				quietTo := time.Now()
				sctx, stop = context.WithCancel(ctx)
				var wg sync.WaitGroup
				wg.Go(func() { during.run(sctx, b, s, 2*time.Millisecond, cut.Add(48*time.Hour)) })
				time.Sleep(200 * time.Millisecond) // the stream under way
				b.StartTimer()
				start := time.Now()
				n, err := mode.del(s, ctx, cut)
				end := time.Now()
				took := end.Sub(start)
				b.StopTimer()
				stop()
				wg.Wait()
				if err != nil || n < int64(old) {
					b.Fatalf("deleted %d, %v; want %d", n, err, old)
				}
				b.ReportMetric(float64(n), "deleted")
				b.ReportMetric(took.Seconds(), "retention-s")
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(quantile(quiet.acks, quietFrom, quietTo, 0.99)), "quiet-ack-p99-ms")
				b.ReportMetric(ms(quantile(during.acks, start, end, 0.5)), "ack-p50-ms")
				b.ReportMetric(ms(quantile(during.acks, start, end, 0.99)), "ack-p99-ms")
				b.ReportMetric(ms(quantile(during.acks, start, end, 1)), "ack-max-ms")
				b.ReportMetric(ms(quantile(during.commits, start, end, 0.99)), "insert-p99-ms")
				b.ReportMetric(ms(maxGap(during.acks, start, end)), "stall-max-ms")
				b.Logf("%s: %d deleted in %v; %d fixes in %d commits meanwhile", mode.name, n, took, len(during.acks), len(during.commits))
				s.Close()
			}
		})
	}
}
