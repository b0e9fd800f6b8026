package eta

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/internal/trips"
	"github.com/enroutehq/enroute/sqlite"
)

// trace is a recorded drive: two shuttle trips with a 120 s stop between.
func trace(t *testing.T) (trip97, trip98 []enroute.Position) {
	f, err := os.Open("testdata/chicago_trips_97_98.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, err := trips.Read(f, 2)
	if err != nil || len(ts) != 2 {
		t.Fatalf("trace: %d trips, %v", len(ts), err)
	}
	conv := func(tr trips.Trip) []enroute.Position {
		var out []enroute.Position
		for _, x := range tr.Fixes {
			out = append(out, enroute.Position{TechnicianID: 1, DeviceID: 1, Time: x.Time, Lat: x.Lat, Lng: x.Lng, SpeedMPS: -1})
		}
		return out
	}
	return conv(ts[0]), conv(ts[1])
}

// progressLog is a Publisher keeping progress.
type progressLog struct {
	mu sync.Mutex
	ps []enroute.Progress
}

func (l *progressLog) PublishPosition(*enroute.Position)     {}
func (l *progressLog) PublishAssignment(*enroute.Assignment) {}
func (l *progressLog) PublishProgress(p *enroute.Progress) {
	l.mu.Lock()
	l.ps = append(l.ps, *p)
	l.mu.Unlock()
}

// replay follows one dispatched assignment to (lat, lng) through a drive
// and returns the arrivals and progress seen; arrival is automatic, with
// the default radius and dwell.
func replay(t *testing.T, lat, lng float64, verified bool, drive []enroute.Position) ([]int64, []enroute.Progress) {
	t.Helper()
	return replayWith(t, ArrivalRule{Auto: true}, lat, lng, verified, drive)
}

// dispatched stores a technician dispatched to a job at (lat, lng) whose
// two-hour window starts at start, and returns the assignment.
func dispatched(t *testing.T, store *sqlite.Store, lat, lng float64, verified bool, start time.Time) *enroute.Assignment {
	t.Helper()
	ctx := context.Background()
	cust := &enroute.Customer{Name: "Maria", Language: "en"}
	must(t, store.CreateCustomer(ctx, cust))
	loc := &enroute.Location{CustomerID: cust.ID, Address: "1200 W Harrison St", Lat: lat, Lng: lng, Verified: verified}
	must(t, store.CreateLocation(ctx, loc))
	job := &enroute.Job{Number: fmt.Sprintf("J-%d", loc.ID), CustomerID: cust.ID, LocationID: loc.ID, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}
	must(t, store.CreateJob(ctx, job))
	tech := &enroute.Technician{Name: "Ana", Active: true}
	must(t, store.CreateTechnician(ctx, tech))
	a := &enroute.Assignment{JobID: job.ID, TechnicianID: tech.ID}
	must(t, store.CreateAssignment(ctx, a))
	a, err := store.TransitionAssignment(ctx, a.ID, enroute.StatusDispatched)
	must(t, err)
	return a
}

// replayWith is replay under an arrival rule.
func replayWith(t *testing.T, rule ArrivalRule, lat, lng float64, verified bool, drive []enroute.Position) ([]int64, []enroute.Progress) {
	t.Helper()
	ctx := context.Background()
	store := openStore(t)
	a := dispatched(t, store, lat, lng, verified, drive[0].Time)

	var arrived []int64
	log := &progressLog{}
	w := NewWatcher(WatcherConfig{}, store, New(Config{}), log, func(_ context.Context, id int64) error {
		arrived = append(arrived, id)
		return nil
	}, func(context.Context) ArrivalRule { return rule }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Drive the watcher synchronously: the tracker's publish, then the
	// steps Run takes.
	as, _ := store.FindAssignments(ctx, enroute.AssignmentFilter{Statuses: []enroute.AssignmentStatus{enroute.StatusDispatched}})
	for _, x := range as {
		w.follow(ctx, x)
	}
	for _, p := range drive {
		p.TechnicianID = a.TechnicianID
		w.PublishPosition(&p)
		w.Learn([]enroute.Position{p})
		w.round(ctx)
	}
	return arrived, log.ps
}

// openStore opens a store in a fresh directory for the test.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestArrivalOnARealStop: the bus stops 120 s at the end of trip 97.
func TestArrivalOnARealStop(t *testing.T) {
	t97, t98 := trace(t)
	stop := t97[len(t97)-1]
	arrived, progress := replay(t, stop.Lat, stop.Lng, true, append(append([]enroute.Position{}, t97...), t98...))
	if len(arrived) != 1 {
		t.Fatalf("arrivals = %v, want one at the stop", arrived)
	}
	if len(progress) < 10 {
		t.Fatalf("only %d progress updates on the way", len(progress))
	}
	first, last := progress[0], progress[len(progress)-1]
	if !(first.DistanceM > last.DistanceM && last.ETA.Sub(last.At) < first.ETA.Sub(first.At)) {
		t.Fatalf("progress does not shrink toward the stop: first %+v, last %+v", first, last)
	}
	for i := 1; i < len(progress); i++ {
		if progress[i].At.Sub(progress[i-1].At) < 2*time.Second {
			t.Fatalf("estimates %v apart: throttling broken", progress[i].At.Sub(progress[i-1].At))
		}
	}
}

// TestNoArrivalDrivingPast: an address 50 m beside the road, passed at
// speed on the same recorded drive.
func TestNoArrivalDrivingPast(t *testing.T) {
	t97, t98 := trace(t)
	drive := append(append([]enroute.Position{}, t97...), t98...)
	// The fastest stretch of trip 98.
	best, bestSpeed := 0, 0.0
	for i := 5; i < len(t98)-5; i++ {
		v := geo.DistanceM(t98[i-1].Lat, t98[i-1].Lng, t98[i+1].Lat, t98[i+1].Lng) / t98[i+1].Time.Sub(t98[i-1].Time).Seconds()
		if v > bestSpeed {
			best, bestSpeed = i, v
		}
	}
	p := t98[best]
	heading := geo.BearingDeg(t98[best-1].Lat, t98[best-1].Lng, t98[best+1].Lat, t98[best+1].Lng)
	// 50 m to the side of the road: a bearing is clockwise from north.
	b := (heading + 90) * math.Pi / 180
	const mPerDeg = 111195.0
	lat := p.Lat + 50*math.Cos(b)/mPerDeg
	lng := p.Lng + 50*math.Sin(b)/(mPerDeg*math.Cos(p.Lat*math.Pi/180))
	if d := geo.DistanceM(lat, lng, p.Lat, p.Lng); d < 45 || d > 55 {
		t.Fatalf("offset %.1f m", d)
	}
	arrived, _ := replay(t, lat, lng, true, drive)
	if len(arrived) != 0 {
		t.Fatalf("driving past at %.1f m/s, %.0f m from the address, counted as an arrival", bestSpeed, geo.DistanceM(lat, lng, p.Lat, p.Lng))
	}
	// A company that counts 1 km for 15 s as there: the same drive past
	// is an arrival (the rule is the company's, not the watcher's).
	if arrived, _ := replayWith(t, ArrivalRule{Auto: true, RadiusM: 1000, Dwell: 15 * time.Second}, lat, lng, true, drive); len(arrived) != 1 {
		t.Fatalf("within 1 km for 15 s: arrivals = %v, want one", arrived)
	}
	// The same drive, destination the stop: arrives (the test can tell).
	stop := t97[len(t97)-1]
	if arrived, _ := replay(t, stop.Lat, stop.Lng, true, drive); len(arrived) != 1 {
		t.Fatal("control: no arrival at the real stop")
	}
}

// TestArrivalRadius: the bus's 120 s stop, 100 m from the address, is an
// arrival within the default 125 m, not within a company's 50 m; a van
// stopping 300 m away is not one within a company's 2 km either (stopping
// counts within 125 m; farther, only the dwell), 100 m away it is; with
// automatic arrival off, not even at the stop itself.
func TestArrivalRadius(t *testing.T) {
	t97, t98 := trace(t)
	drive := append(append([]enroute.Position{}, t97...), t98...)
	stop := t97[len(t97)-1]
	lat := stop.Lat + 100/111195.0 // 100 m north
	if arrived, _ := replayWith(t, ArrivalRule{Auto: true}, lat, stop.Lng, true, drive); len(arrived) != 1 {
		t.Fatalf("a stop 100 m away, default radius: arrivals = %v, want one", arrived)
	}
	if arrived, _ := replayWith(t, ArrivalRule{Auto: true, RadiusM: 50}, lat, stop.Lng, true, drive); len(arrived) != 0 {
		t.Fatalf("a stop 100 m away, radius 50 m: arrivals = %v, want none", arrived)
	}
	// A company's wider radius does not make a stop 300 m away the site
	// (a red light): within it only the dwell counts. A van drives north
	// toward the address, stands 30 s, drives on.
	stopAt := func(metres float64) []enroute.Position {
		var ps []enroute.Position
		t0 := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
		at := func(m float64) { // m metres south of the address
			ps = append(ps, enroute.Position{Time: t0.Add(time.Duration(len(ps)) * 5 * time.Second), Lat: stop.Lat - m/111195.0, Lng: stop.Lng, SpeedMPS: -1})
		}
		for m := 1000.0; m > metres; m -= 50 {
			at(m)
		}
		for range 7 {
			at(metres)
		}
		for m := metres - 50; m > -1000; m -= 50 {
			at(m)
		}
		return ps
	}
	wide := ArrivalRule{Auto: true, RadiusM: 2000, Dwell: 15 * time.Minute}
	if arrived, _ := replayWith(t, wide, stop.Lat, stop.Lng, true, stopAt(300)); len(arrived) != 0 {
		t.Fatalf("stopped 300 m away, radius 2 km: arrivals = %v, want none", arrived)
	}
	if arrived, _ := replayWith(t, wide, stop.Lat, stop.Lng, true, stopAt(100)); len(arrived) != 1 {
		t.Fatalf("stopped 100 m away, radius 2 km: arrivals = %v, want one", arrived)
	}
	if arrived, _ := replayWith(t, ArrivalRule{}, stop.Lat, stop.Lng, true, drive); len(arrived) != 0 {
		t.Fatalf("automatic arrival off: arrivals = %v, want none", arrived)
	}
}

func TestUnverifiedGetsNoETAOrArrival(t *testing.T) {
	t97, t98 := trace(t)
	stop := t97[len(t97)-1]
	arrived, progress := replay(t, stop.Lat, stop.Lng, false, append(t97, t98...))
	if len(arrived) != 0 || len(progress) != 0 {
		t.Fatalf("unverified address: %d arrivals, %d progress", len(arrived), len(progress))
	}
}

// TestModelSurvivesRestart: a model rebuilt from the stored history
// estimates as the one that learned live.
func TestModelSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t97, t98 := trace(t)
	drive := append(t97, t98...)
	live := New(Config{})
	for i := range drive {
		drive[i].ReceivedAt = drive[i].Time
		if i > 0 {
			live.AddSegment(Point{drive[i-1].Lat, drive[i-1].Lng, drive[i-1].Time}, Point{drive[i].Lat, drive[i].Lng, drive[i].Time})
		}
	}
	must(t, store.InsertPositions(ctx, drive))
	restarted := New(Config{})
	n, err := restarted.LearnHistory(ctx, store, drive[0].Time.Add(-time.Hour))
	if err != nil || n != len(drive) {
		t.Fatalf("learned %d of %d: %v", n, len(drive), err)
	}
	from := Point{drive[10].Lat, drive[10].Lng, drive[10].Time}
	a, b := live.Estimate(from, -1, drive[100].Lat, drive[100].Lng), restarted.Estimate(from, -1, drive[100].Lat, drive[100].Lng)
	if a != b {
		t.Fatalf("live %+v, restarted %+v", a, b)
	}
	if empty := New(Config{}).Estimate(from, -1, drive[100].Lat, drive[100].Lng); empty == a {
		t.Fatal("the history taught the model nothing")
	}
}

// samples counts what a model learned from whole drives.
func (m *Model) samples() (detour, calib int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	for b := range detourBands {
		detour += len(m.detour[b])
		calib += len(m.calib[b])
	}
	return detour, calib
}

// TestArrivalTeachesTheModel: when an assignment to a verified address
// becomes working, the drive from dispatch to arrival teaches the model its
// detour ratio and calibration (segments it learned as they came); a
// "working" set far from the address teaches nothing; after a restart the
// arrivals of the last History are relearned, and not those before Since.
func TestArrivalTeachesTheModel(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t97, t98 := trace(t)
	var clock time.Time
	store.Now = func() time.Time { return clock }
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	cust := &enroute.Customer{Name: "Maria", Language: "en"}
	must(t, store.CreateCustomer(ctx, cust))
	tech := &enroute.Technician{Name: "Ana", Active: true}
	must(t, store.CreateTechnician(ctx, tech))
	// dispatch creates an assignment to (lat, lng), dispatched at the
	// drive's start and arriving (working) at its end.
	drive := func(lat, lng float64, ps []enroute.Position) (dispatched, arrived *enroute.Assignment) {
		t.Helper()
		loc := &enroute.Location{CustomerID: cust.ID, Address: "1200 W Harrison St", Lat: lat, Lng: lng, Verified: true}
		must(t, store.CreateLocation(ctx, loc))
		job := &enroute.Job{Number: fmt.Sprintf("J-%d", loc.ID), CustomerID: cust.ID, LocationID: loc.ID, WindowStart: ps[0].Time, WindowEnd: ps[0].Time.Add(2 * time.Hour)}
		must(t, store.CreateJob(ctx, job))
		a := &enroute.Assignment{JobID: job.ID, TechnicianID: tech.ID}
		must(t, store.CreateAssignment(ctx, a))
		clock = ps[0].Time.Add(-time.Minute)
		dispatched, err := store.TransitionAssignment(ctx, a.ID, enroute.StatusDispatched)
		must(t, err)
		for i := range ps {
			ps[i].TechnicianID, ps[i].ReceivedAt = tech.ID, ps[i].Time
		}
		must(t, store.InsertPositions(ctx, ps))
		clock = ps[len(ps)-1].Time.Add(time.Second)
		arrived, err = store.TransitionAssignment(ctx, a.ID, enroute.StatusWorking)
		must(t, err)
		return dispatched, arrived
	}

	model := New(Config{})
	w := NewWatcher(WatcherConfig{}, store, model, nil, nil, nil, quiet)
	stop := t97[len(t97)-1]
	from := Point{t97[5].Lat, t97[5].Lng, t97[5].Time}
	before := model.Estimate(from, -1, stop.Lat, stop.Lng)
	dispatched, arrived := drive(stop.Lat, stop.Lng, t97)
	w.follow(ctx, dispatched)
	w.follow(ctx, arrived)
	detour, calib := model.samples()
	if detour == 0 || calib == 0 {
		t.Fatalf("the arrival taught %d detour and %d calibration samples", detour, calib)
	}
	if model.Estimate(from, -1, stop.Lat, stop.Lng) == before {
		t.Fatal("the learned drive does not change the estimate")
	}

	// Working set 2 km from the address: no arrival to learn from.
	far := t98[len(t98)/2]
	dispatched, arrived = drive(far.Lat+0.02, far.Lng, t98)
	w.follow(ctx, dispatched)
	w.follow(ctx, arrived)
	if d, c := model.samples(); d != detour || c != calib {
		t.Fatalf("a status set far from the address taught %d and %d more samples", d-detour, c-calib)
	}

	// A restart relearns the arrival from the store (History reaches
	// back to the recorded drive), a page of assignments at a time.
	defer func(n int) { assignmentPage = n }(assignmentPage)
	assignmentPage = 1
	restarted := New(Config{})
	NewWatcher(WatcherConfig{History: time.Since(t97[0].Time) + time.Hour}, store, restarted, nil, nil, nil, quiet).load(ctx)
	if d, c := restarted.samples(); d != detour || c == 0 {
		t.Fatalf("after a restart: %d detour samples (want %d), %d calibration", d, detour, c)
	}
	// A model loaded from a snapshot taken after the arrival holds it
	// already: Since keeps it from being learned twice.
	loaded := New(Config{})
	NewWatcher(WatcherConfig{History: time.Since(t97[0].Time) + time.Hour, Since: arrived.WorkingAt.Add(time.Second)}, store, loaded, nil, nil, nil, quiet).load(ctx)
	if d, c := loaded.samples(); d != 0 || c != 0 {
		t.Fatalf("an arrival before Since relearned: %d detour and %d calibration samples", d, c)
	}
}

// TestLoadFollowsEveryAssignmentEnRoute: a start follows all of them, not
// the first page only.
func TestLoadFollowsEveryAssignmentEnRoute(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	cust := &enroute.Customer{Name: "Maria", Language: "en"}
	must(t, store.CreateCustomer(ctx, cust))
	loc := &enroute.Location{CustomerID: cust.ID, Address: "1200 W Harrison St", Lat: 41.87, Lng: -87.65, Verified: true}
	must(t, store.CreateLocation(ctx, loc))
	for i := range 5 {
		job := &enroute.Job{Number: fmt.Sprintf("J-%d", i), CustomerID: cust.ID, LocationID: loc.ID, WindowStart: time.Now(), WindowEnd: time.Now().Add(time.Hour)}
		must(t, store.CreateJob(ctx, job))
		tech := &enroute.Technician{Name: fmt.Sprintf("Tech %d", i), Active: true}
		must(t, store.CreateTechnician(ctx, tech))
		a := &enroute.Assignment{JobID: job.ID, TechnicianID: tech.ID}
		must(t, store.CreateAssignment(ctx, a))
		_, err := store.TransitionAssignment(ctx, a.ID, enroute.StatusDispatched)
		must(t, err)
	}
	defer func(n int) { assignmentPage = n }(assignmentPage)
	assignmentPage = 2
	w := NewWatcher(WatcherConfig{}, store, New(Config{}), nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.load(ctx)
	if n := w.byTech.len(); n != 5 {
		t.Fatalf("following %d technicians' assignments, want 5", n)
	}
}

// TestLearnsEveryFixOfABatch: a phone sending its fixes in batches (the
// tracker publishes each batch's newest only) teaches the model every
// segment it drove, in time order whatever the order sent; a fix sent late
// teaches nothing.
func TestLearnsEveryFixOfABatch(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	t97, _ := trace(t)
	drive := t97[:41]
	driven := 0.0
	for i := 1; i < len(drive); i++ {
		driven += geo.DistanceM(drive[i-1].Lat, drive[i-1].Lng, drive[i].Lat, drive[i].Lng)
	}
	model := New(Config{})
	w := NewWatcher(WatcherConfig{}, store, model, nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// Two batches of 20, the second sent shuffled; then a stale fix.
	if !w.Idle() {
		t.Fatal("a new watcher is not idle")
	}
	w.Learn(drive[:21])
	if w.Idle() {
		t.Fatal("idle with 21 fixes queued")
	}
	w.round(ctx)
	if !w.Idle() {
		t.Fatal("not idle after the round that took every fix")
	}
	second := slices.Clone(drive[21:])
	slices.Reverse(second)
	w.Learn(second)
	w.Learn(drive[5:6])
	w.round(ctx)
	km, _ := model.Stats()
	if math.Abs(km*1000-driven) > 1 {
		t.Fatalf("learned %.0f m of a %.0f m drive", km*1000, driven)
	}
}

// TestFollowingLearnsAsAddSegment: following a recorded drive with the
// outline each segment returns, learning a few segments at a time as the
// watcher does, learns exactly what AddSegment learns (the same cells, the
// same driving), with a glitch and a gap on the way.
func TestFollowingLearnsAsAddSegment(t *testing.T) {
	trip97, trip98 := trace(t)
	var ps []Point
	for _, p := range append(trip97, trip98...) {
		ps = append(ps, Point{p.Lat, p.Lng, p.Time})
	}
	glitch := ps[len(ps)/2]
	glitch.Lat += 0.05 // 5 km away within seconds
	ps = slices.Insert(ps, len(ps)/2, glitch)
	for _, res := range []int{8, 9} {
		plain, near := New(Config{FineRes: res}), New(Config{FineRes: res})
		var (
			shape *geo.Shape
			segs  Segments
		)
		for i := 1; i < len(ps); i++ {
			plain.AddSegment(ps[i-1], ps[i])
			shape = near.PrepareSegment(&segs, ps[i-1], ps[i], shape, true)
			if segs.Len() == 7 {
				near.Learn(&segs)
			}
		}
		near.Learn(&segs)
		if len(plain.fine) != len(near.fine) || len(plain.fine) < 10 {
			t.Fatalf("res %d: %d cell-hours learned plainly, %d following", res, len(plain.fine), len(near.fine))
		}
		for k, st := range plain.fine {
			if got := near.fine[k]; got == nil || *got != *st {
				t.Fatalf("res %d cell %v: %+v following, %+v plainly", res, k, got, st)
			}
		}
		if plain.global != near.global {
			t.Fatalf("res %d: driving %+v following, %+v plainly", res, near.global, plain.global)
		}
	}
}

// TestEstimatesSpreadOverEvery: assignments followed from the same moment
// (a restart, a fleet dispatched together) get their first estimate at
// once, and then do not all estimate in the same second of every Every:
// with fixes each second and Every 2 s, each second carries about half.
func TestEstimatesSpreadOverEvery(t *testing.T) {
	log := &progressLog{}
	w := NewWatcher(WatcherConfig{}, nil, New(Config{}), log, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const n = 400
	for id := int64(1); id <= n; id++ {
		w.setWatches(id, []*watch{{a: &enroute.Assignment{ID: id, TechnicianID: id}, to: Destination{Lat: 41.16, Lng: -8.61}}})
	}
	perSecond := make([]int, 6)
	for s := range perSecond {
		for id := int64(1); id <= n; id++ {
			before := len(log.ps)
			w.PublishPosition(&enroute.Position{TechnicianID: id, Lat: 41.15, Lng: -8.61, Time: t0.Add(time.Duration(s) * time.Second)})
			perSecond[s] += len(log.ps) - before
		}
	}
	if perSecond[0] != n {
		t.Fatalf("first fixes estimated %d times, want all %d at once", perSecond[0], n)
	}
	for s, got := range perSecond[1:] {
		if got < n/2-n/8 || got > n/2+n/8 {
			t.Fatalf("second %d: %d estimates of %d assignments, want about half (seconds: %v)", s+1, got, n, perSecond)
		}
	}
	// Each assignment still estimates once every Every after its first.
	if total := perSecond[1] + perSecond[2]; total != n {
		t.Fatalf("seconds 1 and 2 carried %d estimates, want each of %d assignments once", total, n)
	}
}

// TestProgressFromAnotherNode: progress estimated on another node is kept
// for an assignment this watcher follows, the newest fix's only, and not
// for one it does not follow.
func TestProgressFromAnotherNode(t *testing.T) {
	ctx := context.Background()
	store := openStore(t)
	a := dispatched(t, store, 41.87, -87.65, true, time.Now())
	w := NewWatcher(WatcherConfig{}, store, New(Config{}), nil, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.follow(ctx, a)

	at := time.Now()
	w.PublishProgress(&enroute.Progress{AssignmentID: a.ID, TechnicianID: a.TechnicianID, DistanceM: 900, ETA: at.Add(3 * time.Minute), At: at})
	w.PublishProgress(&enroute.Progress{AssignmentID: a.ID, TechnicianID: a.TechnicianID, DistanceM: 950, ETA: at.Add(4 * time.Minute), At: at.Add(-time.Second)}) // older: late on the bus
	w.PublishProgress(&enroute.Progress{AssignmentID: a.ID + 1, TechnicianID: a.TechnicianID, DistanceM: 10, At: at})                                              // not followed
	if p, ok := w.Progress(a.ID); !ok || p.DistanceM != 900 {
		t.Fatalf("progress = %+v, %v; want the newest fix's, 900 m", p, ok)
	}
	if _, ok := w.Progress(a.ID + 1); ok {
		t.Fatal("progress kept for an assignment not followed")
	}
	// Once it is no longer en route, it is dropped and not taken back.
	working, err := store.TransitionAssignment(ctx, a.ID, enroute.StatusWorking)
	must(t, err)
	w.follow(ctx, working)
	w.PublishProgress(&enroute.Progress{AssignmentID: a.ID, TechnicianID: a.TechnicianID, DistanceM: 5, At: at.Add(time.Second)})
	if p, ok := w.Progress(a.ID); ok {
		t.Fatalf("progress after arrival: %+v", p)
	}
}
