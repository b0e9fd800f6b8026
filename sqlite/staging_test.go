package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func stagedRows(t *testing.T, s *Store) int {
	t.Helper()
	var n int
	if err := s.w.QueryRow("SELECT count(*) FROM positions_recent").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// openTemp opens a store on a fresh file, closed when tb ends.
func openTemp(tb testing.TB) *Store {
	tb.Helper()
	s, err := Open(context.Background(), filepath.Join(tb.TempDir(), "enroute.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

// stageT0 is when stageOne's fixes are counted from.
var stageT0 = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

// stageOne inserts one fix of tech, sec seconds after stageT0, on its own
// (so it is staged).
func stageOne(t *testing.T, s *Store, tech int64, sec int) {
	t.Helper()
	p := enroute.Position{TechnicianID: tech, DeviceID: tech, Time: stageT0.Add(time.Duration(sec) * time.Second), Lat: 41, Lng: -8.61, ReceivedAt: stageT0}
	if err := s.InsertPositions(context.Background(), []enroute.Position{p}); err != nil {
		t.Fatal(err)
	}
}

// One-fix inserts are staged, read back with the history as one, merged
// when enough have come, deduplicated however they were resent, and merged
// on Close; batches go straight to the history.
func TestStaging(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enroute.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.staging.mergeRows, s.staging.mergeAge = 30, time.Hour
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	fix := func(tech int64, sec int) enroute.Position {
		return enroute.Position{TechnicianID: tech, DeviceID: tech * 10, Time: t0.Add(time.Duration(sec) * time.Second),
			Lat: 41 + float64(sec)*1e-4, Lng: -8.61, ReceivedAt: t0}
	}
	count := func(want int64) {
		t.Helper()
		n, err := s.CountPositions(ctx)
		if err != nil || n != want {
			t.Fatalf("count = %d, %v; want %d", n, err, want)
		}
		all, err := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
		if err != nil || int64(len(all)) != want {
			t.Fatalf("find all = %d, %v; want %d", len(all), err, want)
		}
		for i := 1; i < len(all); i++ {
			if all[i].Time.Before(all[i-1].Time) {
				t.Fatalf("positions out of time order at %d", i)
			}
		}
	}

	// A batch of one technician goes to the history.
	var batch []enroute.Position
	for sec := range 20 {
		batch = append(batch, fix(1, sec))
	}
	if err := s.InsertPositions(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if n := stagedRows(t, s); n != 0 {
		t.Fatalf("a batch staged %d fixes", n)
	}
	// oneByOne inserts technicians' fixes at sec, one insert each.
	oneByOne := func(from, to int64, sec int) {
		for tech := from; tech <= to; tech++ {
			if err := s.InsertPositions(ctx, []enroute.Position{fix(tech, sec)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// One fix at a time, from ten technicians: staged, and seen.
	oneByOne(2, 11, 0)
	oneByOne(2, 11, 1)
	if n := stagedRows(t, s); n != 20 {
		t.Fatalf("staged %d, want 20", n)
	}
	count(40)
	// Resent: a staged fix and a fix of the batch, again. Stored once each.
	if err := s.InsertPositions(ctx, []enroute.Position{fix(2, 0), fix(1, 3)}); err != nil {
		t.Fatal(err)
	}
	count(40)
	tech := int64(2)
	got, err := s.FindPositions(ctx, enroute.PositionFilter{TechnicianID: &tech})
	if err != nil || len(got) != 2 || !got[1].Time.Equal(t0.Add(time.Second)) {
		t.Fatalf("technician 2 = %+v, %v", got, err)
	}
	latest, err := s.LatestPositions(ctx, t0)
	if err != nil || len(latest) != 11 {
		t.Fatalf("latest = %d, %v", len(latest), err)
	}
	// The 30th staged fix merges them all.
	oneByOne(2, 9, 2)
	if n := stagedRows(t, s); n != 0 {
		t.Fatalf("after 30 staged fixes, %d are still staged", n)
	}
	count(48)
	// Retention counts each fix once, staged or not.
	if err := s.InsertPositions(ctx, []enroute.Position{fix(10, 2), fix(10, 2)}); err != nil {
		t.Fatal(err)
	}
	n, err := s.DeletePositionsBefore(ctx, t0.Add(1500*time.Millisecond))
	if err != nil || n != 22 { // technician 1's 0 and 1, and 0 and 1 of technicians 2-11
		t.Fatalf("deleted %d, %v; want 22", n, err)
	}
	count(27)
	// Close merges; the history survives a reopen whole.
	if err := s.InsertPositions(ctx, []enroute.Position{fix(11, 9)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := stagedRows(t, s); n != 0 {
		t.Fatalf("%d fixes staged after a clean close", n)
	}
	count(28)
}

// A fix staged but not merged when Enroute dies is merged at the next
// start.
func TestStagedFixesMergedAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enroute.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	p := enroute.Position{TechnicianID: 1, DeviceID: 1, Time: time.Now().UTC().Truncate(time.Microsecond), Lat: 41, Lng: -8}
	if err := s.InsertPositions(ctx, []enroute.Position{p}); err != nil {
		t.Fatal(err)
	}
	// Close the database without the store's merge: as after a crash.
	if err := s.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n := stagedRows(t, s); n != 0 {
		t.Fatalf("%d staged after open", n)
	}
	if n, err := s.CountPositions(ctx); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
}

// TestSplit: fixes of technicians with stageBelow or more in a batch go
// straight to positions, the others to staging, in order; a batch that
// goes all one way is passed on as it is.
func TestSplit(t *testing.T) {
	batch := func(techs ...int64) []enroute.Position {
		ps := make([]enroute.Position, len(techs))
		for i, tech := range techs {
			ps[i] = enroute.Position{TechnicianID: tech, Lat: float64(i)}
		}
		return ps
	}
	many := func(tech int64, n int) []int64 { return slices.Repeat([]int64{tech}, n) }

	few := batch(1, 2, 3)
	if d, s := split(few); d != nil || &s[0] != &few[0] {
		t.Fatalf("a short batch: direct %v, staged not the batch itself", d)
	}
	var techs []int64
	for i := range int64(2 * stageBelow) {
		techs = append(techs, i)
	}
	spread := batch(techs...)
	if d, s := split(spread); d != nil || &s[0] != &spread[0] {
		t.Fatalf("one fix per technician: direct %v, staged not the batch itself", d)
	}
	one := batch(many(7, stageBelow)...)
	if d, s := split(one); s != nil || &d[0] != &one[0] {
		t.Fatalf("one technician's %d fixes: staged %v, direct not the batch itself", stageBelow, s)
	}
	mixed := batch(append(append([]int64{1}, many(7, stageBelow)...), 2)...)
	d, s := split(mixed)
	if len(d) != stageBelow || len(s) != 2 || s[0].TechnicianID != 1 || s[1].TechnicianID != 2 || d[0].Lat != 1 || d[stageBelow-1].Lat != stageBelow {
		t.Fatalf("mixed: direct %v, staged %v", d, s)
	}
}

// TestLatestPositions: each technician's newest since a time, whether it is
// in the history or staged, for technicians with gaps between their ids;
// one whose positions are all older is left out.
func TestLatestPositions(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	s.staging.mergeRows, s.staging.mergeAge = 1000, time.Hour
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	fix := func(tech int64, sec int) enroute.Position {
		return enroute.Position{TechnicianID: tech, DeviceID: tech * 10, Time: t0.Add(time.Duration(sec) * time.Second), Lat: 41, Lng: -8.61, ReceivedAt: t0}
	}
	history := func(tech int64, from, to int) { // a batch: to the history
		var b []enroute.Position
		for sec := from; sec <= to; sec++ {
			b = append(b, fix(tech, sec))
		}
		if err := s.InsertPositions(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	staged := func(tech int64, sec int) { // one fix: staged
		if err := s.InsertPositions(ctx, []enroute.Position{fix(tech, sec)}); err != nil {
			t.Fatal(err)
		}
	}
	history(3, 0, 9)
	staged(3, 20) // newer than its history
	staged(7, 5)
	history(7, 10, 19) // history newer than the staged
	history(1000, 0, 9)
	history(42, -100, -91) // all before since
	if n := stagedRows(t, s); n != 2 {
		t.Fatalf("staged %d, want 2", n)
	}
	latest, err := s.LatestPositions(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]int{}
	for _, p := range latest {
		got[p.TechnicianID] = int(p.Time.Sub(t0) / time.Second)
	}
	want := map[int64]int{3: 20, 7: 19, 1000: 9}
	if len(got) != len(want) || got[3] != 20 || got[7] != 19 || got[1000] != 9 {
		t.Fatalf("latest seconds by technician = %v, want %v", got, want)
	}
}

// A merge moves staging a range of technicians a step, one step after each
// commit: commits go on between its steps, what they stage stays staged
// for the next merge, and every fix is read once all along. A retention
// that empties staging mid-merge drops the merge (SQLite numbers new rows
// from 1 again, under its bound), and no fix staged after it is lost.
func TestMergeInSteps(t *testing.T) {
	ctx := context.Background()
	s := openTemp(t)
	s.staging.mergeRows, s.staging.mergeAge, s.staging.mergeChunk, s.staging.mergeRest = 40, time.Hour, 10, 0
	insert := func(tech int64, sec int) { t.Helper(); stageOne(t, s, tech, sec) }
	var merged int
	count := func(want int64) {
		t.Helper()
		if err := s.w.QueryRow("SELECT count(*) FROM positions").Scan(&merged); err != nil {
			t.Fatal(err)
		}
		n, err := s.CountPositions(ctx)
		all, err2 := s.FindPositions(ctx, enroute.PositionFilter{Unlimited: true})
		if err != nil || err2 != nil || n != want || int64(len(all)) != want {
			t.Fatalf("count %d (%v), found %d (%v); want %d", n, err, len(all), err2, want)
		}
	}

	for tech := int64(1); tech <= 40; tech++ {
		insert(tech, 0)
	}
	// The 40th began a merge of four steps (technicians 1-10, 11-20, ...)
	// and took its first.
	count(40)
	if merged != 10 || stagedRows(t, s) != 40 {
		t.Fatalf("after the first step: %d in the history, %d staged; want 10 and 40", merged, stagedRows(t, s))
	}
	for step := 2; step <= 4; step++ {
		insert(int64(100+step), 1) // staged after the merge began: not in it
		count(int64(40 + step - 1))
		if want := 10 * step; merged != want {
			t.Fatalf("step %d: %d in the history, want %d", step, merged, want)
		}
	}
	if n := stagedRows(t, s); n != 3 || s.staging.current() != nil {
		t.Fatalf("after the last step: %d staged (want the 3 staged since), merge under way %v", n, s.staging.current())
	}

	// Again, but retention empties staging after the first step.
	for tech := int64(1); tech <= 37; tech++ {
		insert(tech, 2)
	}
	count(80)
	if s.staging.current() == nil {
		t.Fatal("no merge under way after 40 staged fixes")
	}
	if _, err := s.DeletePositionsBefore(ctx, stageT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	count(0)
	if s.staging.current() != nil {
		t.Fatal("the merge outlived a retention that emptied staging")
	}
	for tech := int64(1); tech <= 5; tech++ {
		insert(tech, 3600+int(tech)) // numbered from 1 again
	}
	count(5)
	if err := s.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	count(5)
	if merged != 5 || stagedRows(t, s) != 0 {
		t.Fatalf("after Merge: %d in the history, %d staged; want 5 and 0", merged, stagedRows(t, s))
	}
}

// A merge under way rests mergeRest times its last step's length between
// steps, a second after a failed one, unless a merge's worth more is
// staged meanwhile, and ends with its last step.
func TestMergeRests(t *testing.T) {
	st := staging{mergeRows: 10, mergeAge: time.Hour, mergeChunk: 5, mergeRest: 4}
	t0 := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	if run, due := st.add(9, at(0)); run != nil || due {
		t.Fatalf("9 of 10 staged: run %v, due %v", run, due)
	}
	if run, due := st.add(1, at(1)); run != nil || !due {
		t.Fatalf("10 of 10 staged: run %v, due %v", run, due)
	}
	run := &mergeRun{upTo: 10, next: 1, last: 10, width: 5}
	st.begin(run)
	st.stepped(run, 6, false, at(2), at(12)) // a step of 10 ms: rest until 52
	if r, due := st.add(1, at(51)); r != nil || due {
		t.Fatalf("during the rest: run %v, due %v", r, due)
	}
	if r, _ := st.add(1, at(52)); r != run {
		t.Fatalf("after the rest: run %v, want the merge under way", r)
	}
	// A failed step is tried again a second later; a step is not put off
	// once a merge's worth more is staged.
	st.failed(at(52))
	if r, _ := st.add(0, at(1051)); r != nil {
		t.Fatalf("within a second of a failed step: run %v", r)
	}
	if r, _ := st.add(8, at(1051)); r != run {
		t.Fatalf("10 staged since the merge began: run %v, want the merge under way", r)
	}
	st.stepped(run, 11, true, at(1052), at(1060))
	if st.current() != nil || st.rows != 10 {
		t.Fatalf("after the last step: under way %v, %d counted; want none and the 10 staged since", st.current(), st.rows)
	}
}

// Another store opened on the file while a merge is under way merges and
// empties staging (as Open does after a crash); fixes staged afterwards
// take the rowids the merge's bound covers, and its last step leaves
// them, as it leaves any fix the history does not hold. Merge finishes
// the merge under way.
func TestMergeBesideAnotherStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enroute.db")
	a, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a.staging.mergeRows, a.staging.mergeAge, a.staging.mergeChunk, a.staging.mergeRest = 40, time.Hour, 10, 0
	insert := func(tech int64, sec int) { t.Helper(); stageOne(t, a, tech, sec) }
	for tech := int64(1); tech <= 40; tech++ {
		insert(tech, 0)
	}
	if a.staging.current() == nil {
		t.Fatal("no merge under way after 40 staged fixes")
	}
	b, err := Open(ctx, path) // merges everything staged
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for tech := int64(101); tech <= 103; tech++ {
		insert(tech, 1) // rowids 1-3, under the merge's bound
	}
	if n, err := a.CountPositions(ctx); err != nil || n != 43 {
		t.Fatalf("count = %d, %v; want 43", n, err)
	}
	if a.staging.current() != nil || stagedRows(t, a) != 3 {
		t.Fatalf("after the last step: under way %v, %d staged; want none and 3", a.staging.current(), stagedRows(t, a))
	}
	// Merge (Close's) in the middle of the next merge finishes it.
	for tech := int64(1); tech <= 37; tech++ {
		insert(tech, 2)
	}
	if a.staging.current() == nil {
		t.Fatal("no merge under way")
	}
	if err := a.Merge(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := a.CountPositions(ctx); err != nil || n != 80 || stagedRows(t, a) != 0 || a.staging.current() != nil {
		t.Fatalf("after Merge: count %d (%v), %d staged, under way %v; want 80, 0 and none", n, err, stagedRows(t, a), a.staging.current())
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
}
