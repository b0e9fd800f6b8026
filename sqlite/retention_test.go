package sqlite

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// waitFor polls ok every millisecond until it holds, failing the test
// after within.
func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, within)
		}
	}
}

// fixKey is a fix's identity in the history.
type fixKey struct {
	tech, dev int64
	ts        time.Time
}

func storedKeys(t *testing.T, s *Store) map[fixKey]bool {
	t.Helper()
	all, err := s.FindPositions(context.Background(), enroute.PositionFilter{Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	keys := make(map[fixKey]bool, len(all))
	for _, p := range all {
		k := fixKey{p.TechnicianID, p.DeviceID, p.Time}
		if keys[k] {
			t.Fatalf("%+v read twice", k)
		}
		keys[k] = true
	}
	return keys
}

// Chunked retention deletes exactly the fixes before t, history and staged,
// each counted once, across many chunks: technicians with more old fixes
// than a chunk, two devices sharing a time at a chunk's edge, a fix at t
// itself (kept), staged fixes also in the history.
func TestRetentionChunks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.retentionChunk = 7
	s.staging.mergeRows, s.staging.mergeAge = 1_000_000, time.Hour
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	cut := t0.Add(100 * time.Second)
	fix := func(tech, dev int64, sec int) enroute.Position {
		return enroute.Position{TechnicianID: tech, DeviceID: dev, Time: t0.Add(time.Duration(sec) * time.Second),
			Lat: 41.15, Lng: -8.61, AccuracyM: -1, SpeedMPS: -1, HeadingDeg: -1, Battery: -1, ReceivedAt: t0}
	}
	var want, old []fixKey
	insert := func(ps ...enroute.Position) {
		t.Helper()
		if err := s.InsertPositions(ctx, ps); err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			k := fixKey{p.TechnicianID, p.DeviceID, p.Time}
			if p.Time.Before(cut) {
				old = append(old, k)
			} else {
				want = append(want, k)
			}
		}
	}
	for tech := int64(1); tech <= 30; tech++ {
		var batch []enroute.Position // 8 or more: the history
		for sec := 0; sec < 150; sec += 3 {
			batch = append(batch, fix(tech, tech*10, sec))
			if tech%3 == 0 { // a second device, at the same times
				batch = append(batch, fix(tech, tech*10+1, sec))
			}
		}
		insert(batch...)
	}
	insert(fix(31, 310, 100))                                                                          // at t: kept
	insert(fix(32, 320, 99), fix(33, 330, 101))                                                        // staged, either side
	insert(fix(34, 340, 1), fix(34, 340, 2), fix(34, 340, 150))                                        // staged
	if err := s.InsertPositions(ctx, []enroute.Position{fix(1, 10, 3), fix(2, 20, 120)}); err != nil { // staged again
		t.Fatal(err)
	}
	if n := stagedRows(t, s); n != 8 {
		t.Fatalf("staged %d fixes, want 8", n)
	}
	if len(old) <= 10*s.retentionChunk {
		t.Fatalf("only %d old fixes: not many chunks", len(old))
	}
	var chunks int
	s.inChunk = func() { chunks++ }

	n, err := s.DeletePositionsBefore(ctx, cut)
	if err != nil || n != int64(len(old)) {
		t.Fatalf("deleted %d, %v; want %d", n, err, len(old))
	}
	if min := len(old) / (s.retentionChunk + 1); chunks < min {
		t.Fatalf("%d transactions for %d fixes, chunks of %d", chunks, len(old), s.retentionChunk)
	}
	got := storedKeys(t, s)
	if len(got) != len(want) {
		t.Fatalf("%d fixes kept, want %d", len(got), len(want))
	}
	for _, k := range want {
		if !got[k] {
			t.Fatalf("%+v was deleted", k)
		}
	}
	if n := stagedRows(t, s); n != 4 { // 31 at t, 33, 34 at 150, 2 again at 120
		t.Fatalf("%d staged fixes left, want 4", n)
	}
	// Nothing more to delete.
	if n, err := s.DeletePositionsBefore(ctx, cut); n != 0 || err != nil {
		t.Fatalf("again: %d, %v", n, err)
	}
	// A retention whose ctx ends stops between chunks.
	insert(fix(40, 400, 10), fix(40, 400, 11), fix(40, 400, 12), fix(40, 400, 13), fix(40, 400, 14), fix(40, 400, 15), fix(40, 400, 16), fix(40, 400, 17))
	cctx, cancel := context.WithCancel(ctx)
	s.inChunk = cancel
	if _, err := s.DeletePositionsBefore(cctx, cut); err == nil {
		t.Fatal("a cancelled retention returned no error")
	}
}

// An insert that comes while retention holds the writer commits when that
// chunk does, not when the retention ends.
func TestRetentionLetsIngestIn(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	s.retentionChunk = 50
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for tech := int64(1); tech <= 20; tech++ {
		batch := make([]enroute.Position, 200)
		for i := range batch {
			batch[i] = enroute.Position{TechnicianID: tech, DeviceID: tech, Time: t0.Add(time.Duration(i) * time.Second), Lat: 41, Lng: -8}
		}
		if err := s.InsertPositions(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	late := enroute.Position{TechnicianID: 7, DeviceID: 7, Time: t0.Add(time.Hour), Lat: 41, Lng: -8}

	inserted := make(chan error, 1)
	var chunk, chunksAfter atomic.Int32
	s.inChunk = func() {
		switch chunk.Add(1) {
		case 2: // the first of the history's chunks: the insert comes now, and waits
			waits := s.w.Stats().WaitCount
			go func() { inserted <- s.InsertPositions(ctx, []enroute.Position{late}) }()
			waitFor(t, 10*time.Second, "insert waiting for the writer", func() bool { return s.w.Stats().WaitCount > waits })
		case 3: // the insert had the writer in between
			select {
			case err := <-inserted:
				if err != nil {
					t.Error(err)
				}
				chunksAfter.Add(1)
			case <-time.After(10 * time.Second):
				t.Error("the next chunk began while the insert still waited")
			}
		default:
			if chunk.Load() > 3 {
				chunksAfter.Add(1)
			}
		}
	}
	n, err := s.DeletePositionsBefore(ctx, t0.Add(30*time.Minute))
	if err != nil || n != 4000 {
		t.Fatalf("deleted %d, %v; want 4000", n, err)
	}
	if chunksAfter.Load() < 70 {
		t.Fatalf("%d chunks after the insert committed, of %d", chunksAfter.Load(), chunk.Load())
	}
	if got := storedKeys(t, s); len(got) != 1 || !got[fixKey{7, 7, late.Time}] {
		t.Fatalf("kept %v, want the late insert", got)
	}
}

// pragma reads an integer pragma on the writer, which sees the WAL.
func pragma(t testing.TB, s *Store, name string) int64 {
	t.Helper()
	var n int64
	if err := s.w.QueryRow("PRAGMA " + name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// The pages retention frees are reused: refilled with as many fixes as it
// deleted, the file grows by no more than a few pages (no auto_vacuum:
// the history keeps about the same size from hour to hour, so the free
// pages are always wanted again).
func TestRetentionReusesPages(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	fill := func(from time.Time) {
		for tech := int64(1); tech <= 40; tech++ {
			batch := make([]enroute.Position, 1000)
			for i := range batch {
				batch[i] = enroute.Position{TechnicianID: tech, DeviceID: tech, Time: from.Add(time.Duration(i) * 10 * time.Second),
					Lat: 41.15 + float64(i)*1e-5, Lng: -8.61 - float64(tech)*1e-4, AccuracyM: 4.8, SpeedMPS: 11.3, HeadingDeg: 187.4,
					AltitudeM: 93.1, Battery: 77, ReceivedAt: from.Add(time.Duration(i)*10*time.Second + 800*time.Millisecond)}
			}
			if err := s.InsertPositions(ctx, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	fill(t0)
	full := pragma(t, s, "page_count")
	if n, err := s.DeletePositionsBefore(ctx, t0.Add(24*time.Hour)); err != nil || n != 40_000 {
		t.Fatalf("deleted %d, %v", n, err)
	}
	free := pragma(t, s, "freelist_count")
	if free < full/2 {
		t.Fatalf("%d of %d pages free after deleting the history", free, full)
	}
	fill(t0.Add(24 * time.Hour))
	if after := pragma(t, s, "page_count"); after > full+full/20 {
		t.Fatalf("refilled: %d pages, was %d (%d were free)", after, full, free)
	}
	t.Logf("pages: %d full, %d free after retention, %d refilled (%d free)", full, free, pragma(t, s, "page_count"), pragma(t, s, "freelist_count"))
}

// A chunk visits at most retentionTechsPerChunk technicians, however few
// fixes each has, and the next goes on from there.
func TestRetentionManyTechnicians(t *testing.T) {
	ctx := context.Background()
	s := openTest(t)
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	n := retentionTechsPerChunk + 100
	batch := make([]enroute.Position, 0, 2*n)
	for tech := range int64(n) {
		for _, at := range []time.Time{t0, t0.Add(time.Hour)} { // one old fix, one kept
			batch = append(batch, enroute.Position{TechnicianID: tech + 1, DeviceID: tech + 1, Time: at, Lat: 41, Lng: -8})
		}
	}
	if err := s.InsertPositions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Merge(ctx); err != nil { // two a technician were staged
		t.Fatal(err)
	}
	var txs int
	s.inChunk = func() { txs++ }
	if deleted, err := s.DeletePositionsBefore(ctx, t0.Add(time.Minute)); err != nil || deleted != int64(n) {
		t.Fatalf("deleted %d, %v; want %d", deleted, err, n)
	}
	if txs != 3 { // the staged, then two chunks
		t.Fatalf("%d transactions, want 3", txs)
	}
	if got := storedKeys(t, s); len(got) != n {
		t.Fatalf("kept %d, want %d", len(got), n)
	}
}
