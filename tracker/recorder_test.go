package tracker_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// countingStore is the real store, counting its transactions.
type countingStore struct {
	enroute.PositionStore
	txs atomic.Int64
}

func (s *countingStore) InsertPositions(ctx context.Context, ps []enroute.Position) error {
	s.txs.Add(1)
	return s.PositionStore.InsertPositions(ctx, ps)
}

func fixes(tech int64, n int, at time.Time) []enroute.Position {
	ps := make([]enroute.Position, n)
	for i := range ps {
		ps[i] = enroute.Position{TechnicianID: tech, DeviceID: tech, Time: at.Add(time.Duration(i) * time.Second), Lat: 41.15, Lng: -8.61, Cell: 1}
	}
	return ps
}

// TestRecorderGap: a fix arriving when nothing was committed lately is
// committed alone, at once; the fixes that arrive within the gap after a
// commit started share the next transaction; Close commits what waits.
func TestRecorderGap(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: 300 * time.Millisecond}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	at := time.Now().Add(-time.Hour)

	submit := func(tech int64, n int) <-chan error {
		if err := rec.Reserve(n); err != nil {
			t.Fatal(err)
		}
		return rec.Submit(fixes(tech, n, at))
	}
	if err := <-submit(1, 1); err != nil {
		t.Fatal(err)
	}
	// Ten requests right after the first commit: within its gap.
	var wg sync.WaitGroup
	for tech := int64(2); tech <= 11; tech++ {
		wg.Go(func() {
			if err := <-submit(tech, 3); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := store.txs.Load(); n != 2 {
		t.Fatalf("11 requests in %d transactions, want 2 (one alone, ten together)", n)
	}
	// Submitted, then closed while the gap runs: committed before Close
	// returns.
	done := submit(12, 2)
	if err := rec.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n, _ := store.PositionStore.(enroute.Store).CountPositions(context.Background()); n != 1+30+2 {
		t.Fatalf("stored %d, want 33", n)
	}
	if rec.Pending() != 0 {
		t.Fatalf("pending %d after close", rec.Pending())
	}
}

// TestRecorderNoGap: with no gap, each request arriving after the last
// commit has ended gets its own transaction.
func TestRecorderNoGap(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: -1}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	at := time.Now().Add(-time.Hour)
	for tech := int64(1); tech <= 3; tech++ {
		if err := rec.Reserve(1); err != nil {
			t.Fatal(err)
		}
		if err := <-rec.Submit(fixes(tech, 1, at)); err != nil {
			t.Fatal(err)
		}
	}
	if n := store.txs.Load(); n != 3 {
		t.Fatalf("3 requests in %d transactions", n)
	}
}

// TestRecorderEnough: once Enough fixes wait, the gap ends and they are
// committed together.
func TestRecorderEnough(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: time.Hour, Enough: 10}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	at := time.Now().Add(-time.Hour)
	if err := rec.Reserve(1); err != nil {
		t.Fatal(err)
	}
	if err := <-rec.Submit(fixes(1, 1, at)); err != nil {
		t.Fatal(err)
	}
	// An hour's gap now runs; five requests of two fixes make ten.
	var wg sync.WaitGroup
	for tech := int64(2); tech <= 6; tech++ {
		wg.Go(func() {
			if err := rec.Reserve(2); err != nil {
				t.Error(err)
				return
			}
			if err := <-rec.Submit(fixes(tech, 2, at)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := store.txs.Load(); n != 2 {
		t.Fatalf("%d transactions, want 2", n)
	}
}
