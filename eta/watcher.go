package eta

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// WatcherConfig tunes the watcher. Zero values mean the defaults.
type WatcherConfig struct {
	// The arrival rule's radius and dwell when it gives none (ArrivalRule).
	ArrivalRadiusM float64       // default DefaultArrivalRadiusM
	Dwell          time.Duration // time within the radius that is an arrival; default DefaultDwell
	Every          time.Duration // at most one estimate per assignment this often; default 2 s
	// History is how far back Run relearns, at start, the drives of the
	// assignments that arrived (the model's detour ratio and calibration;
	// Model.LearnHistory relearns the segments). Default 48 h.
	History time.Duration
	// Since, when later, is where that relearning starts instead: the
	// model was loaded from a snapshot holding the arrivals before it
	// (Model.Load).
	Since time.Time
}

func (c *WatcherConfig) defaults() {
	if c.ArrivalRadiusM <= 0 {
		c.ArrivalRadiusM = DefaultArrivalRadiusM
	}
	if c.Dwell <= 0 {
		c.Dwell = DefaultDwell
	}
	if c.Every <= 0 {
		c.Every = 2 * time.Second
	}
	if c.History <= 0 {
		c.History = 48 * time.Hour
	}
}

// Arrive moves an assignment to working: the caller runs the usual
// transition, hooks included.
type Arrive func(ctx context.Context, assignmentID int64) error

// Watcher follows assignments en route to verified addresses. On each live
// position of their technician it learns the segment driven, estimates
// distance and ETA (at most every Every), publishes the progress, and
// detects arrival: within the arrival rule's radius for its dwell, or
// stopped within stopRadiusM. Driving past does not count. It implements enroute.Publisher, so the
// tracker feeds it. A due estimate is made on the publishing goroutine
// (tens of microseconds, at most every Every per assignment) and published
// before the tracker's next publisher, the hub, gets the position: the
// customer's writer then finds both and sends one message, not two.
// Learning, arrival and running late run on the watcher's own goroutine
// (Run). It implements enroute.ProgressSource for the page's state.
//
// Concurrency: safe for concurrent use; Run owns the working goroutine.
type Watcher struct {
	// Late, when set, is asked whether an assignment whose ETA passed its
	// arrival window gets a running-late message; it reports done once the
	// message exists. Set it before Run.
	Late func(ctx context.Context, assignmentID int64, eta time.Time) (done bool, err error)
	// Nearby, when set, is asked whether an assignment whose ETA is left
	// away (at most NearbyWithin) gets its nearby message; maxLeft is the
	// longest ETA seen since the dispatch, so that a technician who was
	// already this close when dispatched is not announced twice. It
	// reports done once nothing more will come of asking. Set it before
	// Run.
	Nearby func(ctx context.Context, assignmentID int64, eta time.Time, left, maxLeft time.Duration) (done bool, err error)

	cfg    WatcherConfig
	store  enroute.Store
	model  *Model
	pub    enroute.Publisher
	arrive Arrive
	ruleOf func(context.Context) ArrivalRule // the company's, read at most every ruleEvery
	logger *slog.Logger
	// last is each technician's previous fix, for learning, and rule the
	// arrival rule last read; only Run's goroutine (round, observe)
	// touches them.
	last   map[int64]lastFix
	rule   ArrivalRule
	ruleAt time.Time // when rule was read
	// segs are the round's segments, learned together (Model.Learn:
	// the model's write lock once per learnBatch, not once per fix);
	// Run's goroutine's too.
	segs Segments

	// The locks are split by who takes them: every publish reads byTech,
	// half of them write progress, every request queues its fixes. One
	// mutex for all three was taken 35,000 times a second at 10,000
	// fixes/s, and on a busy server a waiter that waits a millisecond is
	// handed the mutex (Go's starvation mode): each handoff then waits
	// for its goroutine to get a core, and publishes queued behind it (a
	// trace: 2 s of 3 waiting in PublishPosition).

	qmu     sync.Mutex
	fixes   []enroute.Position // accepted fixes not yet learned, in arrival order
	spare   []enroute.Position // the last round's, to reuse
	changed []int64            // assignments whose status changed
	busy    bool               // a round is under way
	wake    chan struct{}

	// byTech holds the watches followed for each technician. Read
	// without a lock; only Run's goroutine stores, and a stored slice is
	// never changed (a change stores a new one).
	byTech followed

	pmu      sync.Mutex
	progress map[int64]*enroute.Progress
}

type watch struct {
	a         *enroute.Assignment
	to        Destination
	windowEnd time.Time

	// Run's goroutine only.
	lateAskedAt time.Time // fix time of the last running-late ask
	lateDone    bool
	// The same for the nearby message, and the longest ETA seen.
	nearAskedAt time.Time
	nearDone    bool
	maxLeft     time.Duration
	arrival     Arrival

	mu          sync.Mutex // publishers estimate, Run detects arrival
	estimatedAt time.Time
	arrived     bool
	drive       *Drive // what is shown (made at the first fix)
}

// ruleEvery is how often the watcher reads the arrival rule: a change of
// the settings applies within it, on every node.
const ruleEvery = 5 * time.Second

// NewWatcher returns a watcher; rule returns the arrival rule in force (a
// company setting; nil: never automatic). Progress goes to pub; a pub that
// can queue it for the position it was computed from
// (enroute.ProgressQueuer: tracker.Hub, tracker.Fanout) must get each
// position after the watcher, on the same goroutine: make the watcher the
// tracker's estimator (tracker.Tracker.SubscribeEstimator), and the
// progress goes out with the position.
func NewWatcher(cfg WatcherConfig, store enroute.Store, model *Model, pub enroute.Publisher, arrive Arrive, rule func(context.Context) ArrivalRule, logger *slog.Logger) *Watcher {
	cfg.defaults()
	return &Watcher{cfg: cfg, store: store, model: model, pub: pub, arrive: arrive, ruleOf: rule, logger: logger.With("component", "eta"),
		wake: make(chan struct{}, 1),
		last: map[int64]lastFix{}, progress: map[int64]*enroute.Progress{}}
}

var (
	_ enroute.Publisher      = (*Watcher)(nil)
	_ enroute.ProgressSource = (*Watcher)(nil)
)

func (w *Watcher) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// PublishPosition implements enroute.Publisher: it estimates for the
// technician's assignments whose estimate is due and publishes the
// progress. Learning and arrival work on every accepted fix (Learn).
func (w *Watcher) PublishPosition(p *enroute.Position) {
	for _, x := range w.watches(p.TechnicianID) {
		w.estimate(x, p)
	}
}

// watches are the assignments followed for a technician; the caller must
// not change the slice.
func (w *Watcher) watches(technicianID int64) []*watch {
	return w.byTech.get(technicianID)
}

// maxQueuedFixes bounds the fixes waiting for Run; past it, a request's
// fixes are not learned (its newest still is published and estimated).
const maxQueuedFixes = 200_000

// Learn implements tracker.Learner: every accepted fix, not only each
// request's newest (which is what is published), so that a phone sending
// batches teaches the model every segment it drove. It only queues (one
// slice, reused: nothing allocated per fix); ps is the caller's.
func (w *Watcher) Learn(ps []enroute.Position) {
	w.qmu.Lock()
	if len(w.fixes)+len(ps) <= maxQueuedFixes {
		w.fixes = append(w.fixes, ps...)
	}
	w.qmu.Unlock()
	w.signal()
}

// estimate publishes x's progress at p if an estimate is due. A fix off
// the drive's path (Track: a glitch the max-speed rule let through) moves
// nothing: the ETA stays what the fixes on the path gave.
func (w *Watcher) estimate(x *watch, p *enroute.Position) {
	x.mu.Lock()
	if x.drive == nil {
		x.drive = NewDrive(x.to)
	}
	step := Stale
	if !x.arrived {
		step = x.drive.Add(Point{p.Lat, p.Lng, p.Time})
	}
	first := x.estimatedAt.IsZero()
	due := (step == OnPath || step == Moved) && (first || p.Time.Sub(x.estimatedAt) >= w.cfg.Every)
	switch {
	case due && first:
		// The first estimate at once, the next one sooner by a part of
		// Every that depends on the assignment: assignments followed
		// from the same moment (a restart, a fleet dispatched together)
		// would otherwise all be due in the same second of every Every,
		// and that second carry every estimate and its fan-out.
		x.estimatedAt = p.Time.Add(-phase(x.a.ID, w.cfg.Every))
	case due:
		x.estimatedAt = p.Time
	}
	var sh Shown
	if due {
		// Under x.mu: the drive's smoothing needs its updates one at a
		// time, and only this assignment's publishers wait.
		sh = x.drive.Update(w.model)
	}
	x.mu.Unlock()
	if !due {
		return
	}
	pr := &enroute.Progress{AssignmentID: x.a.ID, TechnicianID: p.TechnicianID, DistanceM: sh.DistanceM, ETA: sh.ETA,
		ETAEarly: sh.Early, ETALate: sh.Late, At: p.Time, Lat: p.Lat, Lng: p.Lng, Cell: p.Cell}
	w.pmu.Lock()
	// follow stores a technician's watches before it drops progress
	// under pmu: x still followed here means any drop comes after.
	q, ok := w.progress[x.a.ID]
	if ok && q.At.After(pr.At) || !slices.Contains(w.watches(x.a.TechnicianID), x) {
		w.pmu.Unlock()
		return // a newer fix's estimate won the race, or x is no longer followed
	}
	w.progress[x.a.ID] = pr
	w.pmu.Unlock()
	if q, ok := w.pub.(enroute.ProgressQueuer); ok {
		q.QueueProgress(pr)
	} else if w.pub != nil {
		w.pub.PublishProgress(pr)
	}
}

// phase spreads assignments over every: a fixed, well-mixed fraction of
// it per assignment (SplitMix64's finaliser of the ID).
func phase(id int64, every time.Duration) time.Duration {
	z := uint64(id) + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return time.Duration(z % uint64(every))
}

// PublishAssignment implements enroute.Publisher; it only queues.
func (w *Watcher) PublishAssignment(a *enroute.Assignment) {
	w.qmu.Lock()
	w.changed = append(w.changed, a.ID)
	w.qmu.Unlock()
	w.signal()
}

// PublishProgress implements enroute.Publisher for progress estimated on
// another node (the bus delivers it): kept as this node's own, the newest
// fix's, for the assignments this node follows (every node follows every
// assignment en route), so that every node's API, tracking pages and
// boards' snapshots give it, whichever node the technician's phone sends
// to. The watcher's own estimates do not come back this way.
func (w *Watcher) PublishProgress(p *enroute.Progress) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	// Under pmu, as in estimate: follow stores the watches before it
	// drops progress under pmu, so an assignment no longer followed is
	// not given progress back.
	if q, ok := w.progress[p.AssignmentID]; ok && !p.At.After(q.At) {
		return
	}
	for _, x := range w.watches(p.TechnicianID) {
		if x.a.ID == p.AssignmentID {
			cp := *p
			w.progress[p.AssignmentID] = &cp
			return
		}
	}
}

// Progress implements enroute.ProgressSource.
func (w *Watcher) Progress(assignmentID int64) (*enroute.Progress, bool) {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	p, ok := w.progress[assignmentID]
	return p, ok
}

// AllProgress implements enroute.ProgressSource.
func (w *Watcher) AllProgress() []*enroute.Progress {
	w.pmu.Lock()
	defer w.pmu.Unlock()
	out := make([]*enroute.Progress, 0, len(w.progress))
	for _, p := range w.progress {
		out = append(out, p)
	}
	return out
}

// Run loads the assignments en route, then works until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	w.load(ctx)
	rest := time.NewTimer(roundGap)
	defer rest.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		}
		w.round(ctx)
		// What comes meanwhile waits for the next round.
		rest.Reset(roundGap)
		select {
		case <-ctx.Done():
			return
		case <-rest.C:
		}
	}
}

// roundGap is the least time from one round's end to the next's start.
// A round per wake-up woke this goroutine for nearly every request at
// 10,000 fixes a second, each wake-up a turn in the run queue the
// requests share; arrival (a dwell of a minute) and learning do not need
// to be sooner than this.
const roundGap = 20 * time.Millisecond

// round does what was queued: status changes first, then the fixes, each
// technician's in time order.
func (w *Watcher) round(ctx context.Context) {
	w.qmu.Lock()
	changed, fixes := w.changed, w.fixes
	w.changed, w.fixes = nil, w.spare[:0]
	w.busy = true
	w.qmu.Unlock()
	for _, id := range changed {
		a, err := w.store.FindAssignmentByID(ctx, id)
		if err != nil {
			continue
		}
		w.follow(ctx, a)
	}
	slices.SortStableFunc(fixes, func(a, b enroute.Position) int {
		if c := cmp.Compare(a.TechnicianID, b.TechnicianID); c != 0 {
			return c
		}
		return a.Time.Compare(b.Time)
	})
	for _, p := range fixes {
		w.observe(ctx, p)
	}
	w.model.Learn(&w.segs)
	clear(fixes)
	w.qmu.Lock()
	w.spare = fixes[:0] // for the round after the next: Learn fills w.fixes meanwhile
	w.busy = false
	w.qmu.Unlock()
}

// Idle reports whether nothing is queued and no round is under way: every
// fix and status change published before has been checked for arrival
// and lateness.
func (w *Watcher) Idle() bool {
	w.qmu.Lock()
	defer w.qmu.Unlock()
	return !w.busy && len(w.fixes) == 0 && len(w.changed) == 0
}

// follow starts or stops following an assignment after its status change,
// or after its job site's pin or verification changed (the assignment is
// published again, as it is: tracker.AssignmentEvents).
func (w *Watcher) follow(ctx context.Context, a *enroute.Assignment) {
	ws := w.watches(a.TechnicianID)
	var was *watch
	for i, x := range ws {
		if x.a.ID == a.ID {
			was = x
			w.setWatches(a.TechnicianID, slices.Delete(slices.Clone(ws), i, i+1))
			break
		}
	}
	if a.Status != enroute.StatusDispatched {
		w.pmu.Lock()
		delete(w.progress, a.ID)
		w.pmu.Unlock()
	}
	if a.Status == enroute.StatusWorking && was != nil {
		w.learnArrival(ctx, a, was.to.Lat, was.to.Lng)
	}
	if a.Status != enroute.StatusDispatched {
		return
	}
	job, loc := w.destination(ctx, a)
	if loc == nil {
		// No longer a verified address (a dispatcher withdrew it): no
		// distance or ETA, not even the last one.
		w.pmu.Lock()
		delete(w.progress, a.ID)
		w.pmu.Unlock()
		return
	}
	ws = w.watches(a.TechnicianID)
	w.setWatches(a.TechnicianID, append(slices.Clip(ws), &watch{a: a, to: w.model.Destination(loc.Lat, loc.Lng), windowEnd: job.WindowEnd}))
}

// setWatches stores a technician's watches (a new slice: readers may hold
// the old one). Run's goroutine only.
func (w *Watcher) setWatches(technicianID int64, ws []*watch) {
	w.byTech.set(technicianID, ws)
}

// learnArrival teaches the model the drive of an assignment that arrived at
// (lat, lng): its technician's fixes from dispatch to arrival, if they end
// near the address (a status set by hand far from it is no arrival to
// learn from). It reports whether it learned.
func (w *Watcher) learnArrival(ctx context.Context, a *enroute.Assignment, lat, lng float64) bool {
	if a.DispatchedAt == nil || a.WorkingAt == nil {
		return false
	}
	ps, err := w.store.FindPositions(ctx, enroute.PositionFilter{TechnicianID: &a.TechnicianID, Since: *a.DispatchedAt, Until: *a.WorkingAt, Unlimited: true})
	if err != nil {
		w.logger.Warn("read a drive to learn", "assignment_id", a.ID, "err", err)
		return false
	}
	if len(ps) < 2 || geo.DistanceM(ps[len(ps)-1].Lat, ps[len(ps)-1].Lng, lat, lng) > 2*w.arrival(ctx).RadiusM {
		return false
	}
	drive := make([]Point, len(ps))
	for i, p := range ps {
		drive[i] = Point{p.Lat, p.Lng, p.Time}
	}
	w.model.AddArrival(drive, lat, lng)
	return true
}

// load follows every assignment en route and relearns the drives of those
// that arrived within History and after Since: what a start needs.
func (w *Watcher) load(ctx context.Context) {
	err := w.eachAssignment(ctx, enroute.AssignmentFilter{Statuses: []enroute.AssignmentStatus{enroute.StatusDispatched}}, func(a *enroute.Assignment) {
		w.follow(ctx, a)
	})
	if err != nil {
		w.logger.Error("load assignments en route", "err", err)
	}
	since, n := time.Now().Add(-w.cfg.History), 0
	if w.cfg.Since.After(since) {
		since = w.cfg.Since
	}
	err = w.eachAssignment(ctx, enroute.AssignmentFilter{ArrivedSince: &since}, func(a *enroute.Assignment) {
		if _, loc := w.destination(ctx, a); loc != nil && w.learnArrival(ctx, a, loc.Lat, loc.Lng) {
			n++
		}
	})
	if err != nil {
		w.logger.Error("load arrived assignments", "err", err)
	}
	if n > 0 {
		w.logger.Info("drives relearned", "arrivals", n)
	}
}

// assignmentPage is how many assignments eachAssignment reads at a time.
var assignmentPage = enroute.MaxLimit

// eachAssignment calls fn with every assignment f selects, a page at a time.
func (w *Watcher) eachAssignment(ctx context.Context, f enroute.AssignmentFilter, fn func(*enroute.Assignment)) error {
	return enroute.EachPage(assignmentPage, func(p enroute.Page) ([]*enroute.Assignment, error) {
		f.Page = p
		return w.store.FindAssignments(ctx, f)
	}, func(a *enroute.Assignment) error {
		fn(a)
		return nil
	})
}

// destination returns an assignment's job and its location if that is
// verified; loc is nil otherwise: no distance, ETA or arrival for an
// unverified address.
func (w *Watcher) destination(ctx context.Context, a *enroute.Assignment) (job *enroute.Job, loc *enroute.Location) {
	job, err := w.store.FindJobByID(ctx, a.JobID)
	if err != nil {
		return nil, nil
	}
	loc, err = w.store.FindLocationByID(ctx, job.LocationID)
	if err != nil || !loc.Verified {
		return job, nil
	}
	return job, loc
}

// learnBatch is how many segments a round learns under one write lock:
// an estimate waits for the lock no longer than learning them takes
// (BenchmarkLearn: about 15 µs for 256 on a 117 µs DecodeNative machine).
const learnBatch = 256

// lastFix is a technician's previous fix, and the outline of the cell its
// segment was learned in (for the next one: Model.PrepareSegment).
type lastFix struct {
	Point
	near *geo.Shape
}

// observe handles a technician's accepted fix: the segment from the
// previous one is learned, and arrival checked. A fix older than the
// previous one (sent late) changes nothing.
func (w *Watcher) observe(ctx context.Context, p enroute.Position) {
	prev, hadPrev := w.last[p.TechnicianID]
	if hadPrev && !p.Time.After(prev.Time) {
		return
	}
	cur := Point{p.Lat, p.Lng, p.Time}
	if hadPrev {
		prev.near = w.model.PrepareSegment(&w.segs, prev.Point, cur, prev.near, true)
		if w.segs.Len() >= learnBatch {
			w.model.Learn(&w.segs)
		}
	}
	w.last[p.TechnicianID] = lastFix{Point: cur, near: prev.near}
	for _, x := range w.watches(p.TechnicianID) {
		w.check(ctx, x, p)
	}
}

// arrival returns the arrival rule in force, read at most every
// ruleEvery. Run's goroutine only.
func (w *Watcher) arrival(ctx context.Context) ArrivalRule {
	if now := time.Now(); w.ruleAt.IsZero() || now.Sub(w.ruleAt) >= ruleEvery {
		var r ArrivalRule
		if w.ruleOf != nil {
			r = w.ruleOf(ctx)
		}
		if r.RadiusM <= 0 {
			r.RadiusM = w.cfg.ArrivalRadiusM
		}
		if r.Dwell <= 0 {
			r.Dwell = w.cfg.Dwell
		}
		w.rule, w.ruleAt = r, now
	}
	return w.rule
}

func (w *Watcher) check(ctx context.Context, x *watch, p enroute.Position) {
	x.mu.Lock()
	arrived := x.arrived
	x.mu.Unlock()
	if arrived {
		return
	}
	d := geo.DistanceM(p.Lat, p.Lng, x.to.Lat, x.to.Lng)
	if rule := w.arrival(ctx); x.arrival.Add(Point{Lat: p.Lat, Lng: p.Lng, Time: p.Time}, d, rule) && rule.Auto && w.arrive != nil {
		x.mu.Lock()
		x.arrived = true
		x.mu.Unlock()
		if err := w.arrive(ctx, x.a.ID); err != nil {
			w.logger.Warn("automatic arrival", "assignment_id", x.a.ID, "err", err)
		} else {
			w.logger.Info("technician arrived", "assignment_id", x.a.ID)
		}
		return
	}
	w.pmu.Lock()
	pr := w.progress[x.a.ID]
	w.pmu.Unlock()
	if pr == nil {
		return
	}
	// Nearly there: ask about the nearby message, at most every lateEvery
	// of the fixes' time (the company's minutes are the rules' to judge).
	left := pr.ETA.Sub(p.Time)
	x.maxLeft = max(x.maxLeft, left)
	if w.Nearby != nil && !x.nearDone && left <= NearbyWithin && (x.nearAskedAt.IsZero() || p.Time.Sub(x.nearAskedAt) >= lateEvery) {
		x.nearAskedAt = p.Time
		done, err := w.Nearby(ctx, x.a.ID, pr.ETA, left, x.maxLeft)
		if err != nil {
			w.logger.Warn("nearby", "assignment_id", x.a.ID, "err", err)
		}
		x.nearDone = done
	}
	// Past the window: ask about a running-late message, at most every
	// lateEvery of the fixes' time (the margin is the rules' to judge).
	if w.Late == nil || x.lateDone || (!x.lateAskedAt.IsZero() && p.Time.Sub(x.lateAskedAt) < lateEvery) {
		return
	}
	if pr.ETA.After(x.windowEnd) {
		x.lateAskedAt = p.Time
		done, err := w.Late(ctx, x.a.ID, pr.ETA)
		if err != nil {
			w.logger.Warn("running late", "assignment_id", x.a.ID, "err", err)
		}
		x.lateDone = done
	}
}

// lateEvery spaces the running-late (and nearby) checks of one
// assignment.
const lateEvery = 30 * time.Second

// NearbyWithin is the longest ETA at which the nearby message is asked
// about: the company's minutes are at most this.
const NearbyWithin = time.Duration(enroute.MaxNearbyMinutes) * time.Minute
