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

// submitter submits n fixes of technician tech to rec.
func submitter(t *testing.T, rec *tracker.Recorder) func(tech int64, n int) <-chan error {
	at := time.Now().Add(-time.Hour)
	return func(tech int64, n int) <-chan error {
		t.Helper()
		if err := rec.Reserve(n); err != nil {
			t.Fatal(err)
		}
		return rec.Submit(fixes(tech, n, at))
	}
}

// TestRecorderGap: a fix arriving when nothing was committed lately is
// committed alone, at once; the fixes that arrive within the gap after a
// commit started share the next transaction; Close commits what waits.
func TestRecorderGap(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: 300 * time.Millisecond, Quiet: -1}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	submit := submitter(t, rec)
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

// TestRecorderQuiet: requests that stop coming are committed once nothing
// new has come for Quiet, not after the whole gap (their senders wait for
// the commit); a trickle that never stops is committed at least every Gap.
func TestRecorderQuiet(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: time.Hour, Quiet: 20 * time.Millisecond}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	submit := submitter(t, rec)
	if err := <-submit(1, 1); err != nil {
		t.Fatal(err)
	}
	// Five requests, then nothing: one transaction, long before the hour.
	done := make([]<-chan error, 5)
	for i := range done {
		done[i] = submit(int64(2+i), 1)
	}
	for _, d := range done {
		select {
		case err := <-d:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("requests that stopped coming still wait for their commit after 10 s (Gap is an hour, Quiet 20 ms)")
		}
	}
	if n := store.txs.Load(); n != 2 {
		t.Fatalf("6 requests in %d transactions, want 2", n)
	}
	cancel()

	// A request every 5 ms, never quiet for 50 ms: a commit every 100 ms.
	store = &countingStore{PositionStore: openStore(t)}
	rec = tracker.NewRecorder(store, tracker.RecorderConfig{Gap: 100 * time.Millisecond, Quiet: 50 * time.Millisecond}, quiet)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	submit = submitter(t, rec)
	const requests = 100 // 0.5 s
	done = make([]<-chan error, 0, requests)
	for i := range requests {
		done = append(done, submit(int64(1+i), 1))
		time.Sleep(5 * time.Millisecond)
	}
	for _, d := range done {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
	// At least 0.5 s / 100 ms; at most one per 50 ms quiet spell, and a
	// busy test machine only stretches the gaps between requests.
	if n := store.txs.Load(); n < 4 || n > requests/2 {
		t.Fatalf("%d requests over 0.5 s in %d transactions, want about one per 100 ms", requests, n)
	}
}

// TestRecorderEnoughRequests: once EnoughRequests requests wait, the gap
// ends and they are committed together.
func TestRecorderEnoughRequests(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: time.Hour, Quiet: -1, EnoughRequests: 4}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	submit := submitter(t, rec)
	if err := <-submit(1, 1); err != nil {
		t.Fatal(err)
	}
	// An hour's gap now runs, with no quiet rule; four one-fix requests.
	var wg sync.WaitGroup
	for tech := int64(2); tech <= 5; tech++ {
		wg.Go(func() {
			if err := <-submit(tech, 1); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := store.txs.Load(); n != 2 {
		t.Fatalf("%d transactions, want 2", n)
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
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: time.Hour, Quiet: -1, Enough: 10}, quiet)
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

// TestRecorderWorth: fixes that keep coming are committed once Worth of
// them wait and Quiet has passed since the last commit, not held for the
// whole gap (a batch that size pays for its commit).
func TestRecorderWorth(t *testing.T) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{Gap: time.Hour, Quiet: 50 * time.Millisecond, Worth: 5}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go rec.Run(ctx)
	submit := submitter(t, rec)
	// A request every 5 ms for 0.5 s: never quiet for 50 ms, and never
	// the 64 requests that end a wait at once; 5 fixes wait well before
	// each 50 ms has passed.
	const requests = 100
	done := make([]<-chan error, 0, requests)
	for i := range requests {
		done = append(done, submit(int64(1+i), 1))
		time.Sleep(5 * time.Millisecond)
	}
	for _, d := range done {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
	// About one per 50 ms: 10; two (64 requests, then the rest) if Worth
	// were ignored.
	if n := store.txs.Load(); n < 4 || n > requests/2 {
		t.Fatalf("%d requests over 0.5 s in %d transactions, want about one per 50 ms", requests, n)
	}
}
