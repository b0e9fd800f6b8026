package main

// What is asked of the history once written: a technician's day, the
// start-up's reads (the live state, the ETA model's learning window), and
// retention dropping the oldest day while fixes keep coming.

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/eta"
)

// readDays reads technicians' days back, as the history API does: whole
// (Unlimited) for nine technicians on days spread over the history, and
// the first page (the API's default) for nine others. Every day read must
// hold exactly the fixes written for it, in time order.
func (b *bench) readDays(ctx context.Context) error {
	res := b.res
	var whole, page []time.Duration
	for j := range 18 {
		d := (j % 9) * (b.cfg.Days - 1) / 8
		i := b.fleet.r.IntN(b.cfg.Techs)
		id, day := int64(i+1), res.First.AddDate(0, 0, d)
		want := b.perTech(res.PerDay[d])[i]
		f := enroute.PositionFilter{TechnicianID: &id, Since: day, Until: day.Add(24 * time.Hour), Unlimited: j < 9}
		if !f.Unlimited {
			want = min(want, f.Page.Normalize().Limit)
		}
		t := time.Now()
		ps, err := b.store.FindPositions(ctx, f)
		took := time.Since(t)
		if err != nil {
			return fmt.Errorf("read technician %d's day %d: %w", id, d+1, err)
		}
		if len(ps) != want {
			return fmt.Errorf("technician %d's day %d: read %d fixes, wrote %d", id, d+1, len(ps), want)
		}
		for k, p := range ps {
			if p.TechnicianID != id || p.Time.Before(f.Since) || !p.Time.Before(f.Until) || (k > 0 && !p.Time.After(ps[k-1].Time)) {
				return fmt.Errorf("technician %d's day %d: fix %d is %d at %v, out of the day or of order", id, d+1, k, p.TechnicianID, p.Time)
			}
		}
		if f.Unlimited {
			whole = append(whole, took)
			res.TechDayRows = len(ps)
		} else {
			page = append(page, took)
		}
	}
	res.TechDay, res.TechDayPage = median(whole), median(page)
	b.logf("a technician's day (%d fixes): median %v of %d; its first page: %v", res.TechDayRows, ms(res.TechDay.Median), res.TechDay.N, ms(res.TechDayPage.Median))
	return nil
}

// latest times the start-up's restore of the live state: every
// technician's newest position since a day before the history's end.
func (b *bench) latest(ctx context.Context) error {
	res := b.res
	var ds []time.Duration
	for range 5 {
		t := time.Now()
		ps, err := b.store.LatestPositions(ctx, res.EndTime.Add(-24*time.Hour))
		ds = append(ds, time.Since(t))
		if err != nil {
			return fmt.Errorf("latest positions: %w", err)
		}
		if len(ps) != b.cfg.Techs {
			return fmt.Errorf("latest positions: %d, want one for each of %d technicians", len(ps), b.cfg.Techs)
		}
		res.LatestRows = len(ps)
	}
	res.Latest = median(ds)
	b.logf("latest positions since a day before the end (%d): median %v of %d", res.LatestRows, ms(res.Latest.Median), res.Latest.N)
	return nil
}

// timedStore times the history's reads of whoever it is handed to.
type timedStore struct {
	enroute.PositionStore
	took    time.Duration
	queries int
	rows    int
}

func (s *timedStore) FindPositions(ctx context.Context, f enroute.PositionFilter) ([]enroute.Position, error) {
	t := time.Now()
	ps, err := s.PositionStore.FindPositions(ctx, f)
	s.took += time.Since(t)
	s.queries++
	s.rows += len(ps)
	return ps, err
}

// learn does what cmd/enroute's start does with no saved model: a fresh
// model taught the last etaHistory of the history (eta.Model.LearnHistory,
// which reads it six hours at a time up to now). The reads are timed
// apart from the whole.
func (b *bench) learn(ctx context.Context) error {
	res := b.res
	model := eta.New(eta.Config{})
	if until, err := model.Load(ctx, b.store); err != nil || !until.IsZero() {
		return fmt.Errorf("a fresh database has no saved model: %v, %v", until, err)
	}
	ts := &timedStore{PositionStore: b.store}
	t := time.Now()
	n, err := model.LearnHistory(ctx, ts, time.Now().Add(-etaHistory))
	res.LearnAll = time.Since(t)
	if err != nil {
		return fmt.Errorf("learn the history: %w", err)
	}
	res.LearnRead, res.LearnQueries, res.LearnRows = ts.took, ts.queries, n
	km, cells := model.Stats()
	b.logf("ETA learning window (%g h): %d positions in %d reads, read in %v, %v in all (%.0f km, %d cell-hours learned)",
		etaHistory.Hours(), n, ts.queries, res.LearnRead.Round(time.Millisecond), res.LearnAll.Round(time.Millisecond), km, cells)
	return nil
}

// span is when a stream batch ran.
type span struct{ from, to time.Time }

// retention drops the oldest day (DeletePositionsBefore at its end, as the
// hourly housekeeping does once it passes retention) while a stream of
// cfg.StreamRate fixes a second goes into today, batches every 50 ms; the
// batches' insert times are compared before, during and after the drop.
func (b *bench) retention(ctx context.Context) error {
	res := b.res
	if _, err := b.store.EnsurePartitions(ctx, b.cfg.Now()); err != nil {
		return fmt.Errorf("ensure partitions: %w", err)
	}
	const period = 50 * time.Millisecond
	res.StreamBatch = max(1, b.cfg.StreamRate*int(period/time.Millisecond)/1000)
	res.OldestRows = res.PerDay[0]
	var (
		spans  []span
		failed error
		wg     sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Go(func() {
		buf := make([]enroute.Position, 0, res.StreamBatch)
		timer := time.NewTimer(0)
		defer timer.Stop()
		start, next := time.Now(), 0
		for k := 0; ; k++ {
			due := start.Add(time.Duration(k) * period)
			timer.Reset(time.Until(due))
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-timer.C:
			}
			buf = buf[:0]
			at := due.UTC().Truncate(time.Microsecond)
			for j := range res.StreamBatch {
				t := &b.fleet.techs[next]
				next = (next + 1) % len(b.fleet.techs)
				buf = append(buf, b.fleet.fix(t, at.Add(time.Duration(j)*time.Microsecond)))
			}
			from := time.Now()
			err := b.store.InsertPositions(ctx, buf)
			spans = append(spans, span{from, time.Now()})
			if err != nil {
				failed = fmt.Errorf("stream: %w", err)
				return
			}
			res.Streamed += len(buf)
		}
	})
	wait := func() error {
		t := time.NewTimer(b.cfg.StreamPhase)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := wait()
	var from, to time.Time
	if err == nil {
		from = time.Now()
		res.Dropped, err = b.store.DeletePositionsBefore(ctx, res.First.Add(24*time.Hour))
		to = time.Now()
		res.DropDur = to.Sub(from)
	}
	if err == nil {
		err = wait()
	}
	close(stop)
	wg.Wait()
	if err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	if failed != nil {
		return failed
	}
	var before, during, after []time.Duration
	for _, s := range spans {
		switch d := s.to.Sub(s.from); {
		case s.to.Before(from):
			before = append(before, d)
		case s.from.After(to):
			after = append(after, d)
		default:
			during = append(during, d)
		}
	}
	res.Before, res.During, res.After = summarize(before), summarize(during), summarize(after)
	b.logf("retention: the oldest day (%d rows) dropped in %v, %d rows removed; stream of %d fixes a batch every %v: p50/p99/max before %v/%v/%v (%d), during %v/%v/%v (%d), after %v/%v/%v (%d)",
		res.OldestRows, res.DropDur.Round(time.Millisecond), res.Dropped, res.StreamBatch, period,
		ms(res.Before.P50), ms(res.Before.P99), ms(res.Before.Max), res.Before.N,
		ms(res.During.P50), ms(res.During.P99), ms(res.During.Max), res.During.N,
		ms(res.After.P50), ms(res.After.P99), ms(res.After.Max), res.After.N)
	if res.Dropped != int64(res.OldestRows) {
		return fmt.Errorf("retention removed %d rows; the oldest day had %d", res.Dropped, res.OldestRows)
	}
	return nil
}
