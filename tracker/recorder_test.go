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

// recorder runs a recorder with cfg on a counting store until the test
// ends, and returns a function that reserves and submits n fixes of
// technician tech.
func recorder(t *testing.T, cfg tracker.RecorderConfig) (*countingStore, *tracker.Recorder, func(tech int64, n int) <-chan error) {
	store := &countingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, cfg, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go rec.Run(ctx)
	at := time.Now().Add(-time.Hour)
	return store, rec, func(tech int64, n int) <-chan error {
		t.Helper()
		if err := rec.Reserve(n); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		rec.Submit(fixes(tech, n, at), done)
		return done
	}
}

// together submits a request of n fixes for each of techs at once and
// waits for every answer.
func together(t *testing.T, submit func(int64, int) <-chan error, techs, n int) {
	var wg sync.WaitGroup
	for i := range techs {
		wg.Go(func() {
			if err := <-submit(int64(100+i), n); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// trickle submits a one-fix request every 5 ms, requests times, and waits
// for every answer.
func trickle(t *testing.T, submit func(int64, int) <-chan error, requests int) {
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
}

// TestRecorderGap: a fix arriving when nothing was committed lately is
// committed alone, at once; the fixes that arrive within the gap after a
// commit started share the next transaction; Close commits what waits.
func TestRecorderGap(t *testing.T) {
	store, rec, submit := recorder(t, tracker.RecorderConfig{Gap: 300 * time.Millisecond, Quiet: -1})
	if err := <-submit(1, 1); err != nil {
		t.Fatal(err)
	}
	// Ten requests right after the first commit: within its gap.
	together(t, submit, 10, 3)
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
	store, _, submit := recorder(t, tracker.RecorderConfig{Gap: time.Hour, Quiet: 20 * time.Millisecond})
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

	// A request every 5 ms for 0.5 s, never quiet for 50 ms: a commit
	// every 100 ms.
	store, _, submit = recorder(t, tracker.RecorderConfig{Gap: 100 * time.Millisecond, Quiet: 50 * time.Millisecond})
	const requests = 100
	trickle(t, submit, requests)
	// At least 0.5 s / 100 ms; at most one per 50 ms quiet spell, and a
	// busy test machine only stretches the gaps between requests.
	if n := store.txs.Load(); n < 4 || n > requests/2 {
		t.Fatalf("%d requests over 0.5 s in %d transactions, want about one per 100 ms", requests, n)
	}
}

// TestRecorderEnoughRequests: once EnoughRequests requests wait, the gap
// ends and they are committed together.
func TestRecorderEnoughRequests(t *testing.T) {
	store, _, submit := recorder(t, tracker.RecorderConfig{Gap: time.Hour, Quiet: -1, EnoughRequests: 4})
	if err := <-submit(1, 1); err != nil {
		t.Fatal(err)
	}
	// An hour's gap now runs, with no quiet rule; four one-fix requests.
	together(t, submit, 4, 1)
	if n := store.txs.Load(); n != 2 {
		t.Fatalf("%d transactions, want 2", n)
	}
}

// TestRecorderNoGap: with no gap, each request arriving after the last
// commit has ended gets its own transaction.
func TestRecorderNoGap(t *testing.T) {
	store, _, submit := recorder(t, tracker.RecorderConfig{Gap: -1})
	for tech := int64(1); tech <= 3; tech++ {
		if err := <-submit(tech, 1); err != nil {
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
	store, _, submit := recorder(t, tracker.RecorderConfig{Gap: time.Hour, Quiet: -1, Enough: 10})
	if err := <-submit(1, 1); err != nil {
		t.Fatal(err)
	}
	// An hour's gap now runs; five requests of two fixes make ten.
	together(t, submit, 5, 2)
	if n := store.txs.Load(); n != 2 {
		t.Fatalf("%d transactions, want 2", n)
	}
}

// TestRecorderWorth: fixes that keep coming are committed once Worth of
// them wait and Quiet has passed since the last commit, not held for the
// whole gap (a batch that size pays for its commit).
func TestRecorderWorth(t *testing.T) {
	store, _, submit := recorder(t, tracker.RecorderConfig{Gap: time.Hour, Quiet: 50 * time.Millisecond, Worth: 5})
	// A request every 5 ms for 0.5 s: never quiet for 50 ms, and never
	// the 64 requests that end a wait at once; 5 fixes wait well before
	// each 50 ms has passed.
	const requests = 100
	trickle(t, submit, requests)
	// About one per 50 ms: 10; two (64 requests, then the rest) if Worth
	// were ignored.
	if n := store.txs.Load(); n < 4 || n > requests/2 {
		t.Fatalf("%d requests over 0.5 s in %d transactions, want about one per 50 ms", requests, n)
	}
}

// failingStore fails every write while down is set.
type failingStore struct {
	enroute.PositionStore
	down atomic.Bool
}

func (s *failingStore) InsertPositions(ctx context.Context, ps []enroute.Position) error {
	if s.down.Load() {
		return context.DeadlineExceeded // as a store that cannot be reached
	}
	return s.PositionStore.InsertPositions(ctx, ps)
}

// TestRecorderUnavailable: once a write fails, new fixes are refused at
// once with ErrUnavailable (not queued to wait); the failed batch is
// retried and written when the store is back, and fixes are taken again.
func TestRecorderUnavailable(t *testing.T) {
	store := &failingStore{PositionStore: openStore(t)}
	rec := tracker.NewRecorder(store, tracker.RecorderConfig{}, quiet)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go rec.Run(ctx)
	at := time.Now().Add(-time.Hour)
	store.down.Store(true)
	if err := rec.Reserve(1); err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	rec.Submit(fixes(1, 1, at), first)
	waitFor(t, 5*time.Second, "failing recorder after a failed write", rec.Failing)
	if err := rec.Reserve(1); err != tracker.ErrUnavailable {
		t.Fatalf("Reserve while failing = %v, want ErrUnavailable", err)
	}
	if n := rec.Pending(); n != 1 {
		t.Fatalf("%d fixes pending, want the first only", n)
	}
	store.down.Store(false)
	select {
	case err := <-first:
		if err != nil {
			t.Fatalf("the retried batch: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the failed batch was not written once the store was back")
	}
	if rec.Failing() {
		t.Fatal("still failing after a write succeeded")
	}
	if err := rec.Reserve(1); err != nil {
		t.Fatalf("Reserve after the store came back = %v", err)
	}
	rec.Release(1)
	if n, _ := store.CountPositions(context.Background()); n != 1 {
		t.Fatalf("%d fixes stored, want 1", n)
	}
}
