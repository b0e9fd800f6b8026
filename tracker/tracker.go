// Package tracker is Enroute's hot path: it decodes fixes from the phones'
// protocols (native, OsmAnd/Traccar Client, OwnTracks), validates them,
// keeps every technician's live position in an H3-indexed map, publishes
// updates, and writes every accepted fix to the history before
// acknowledging it.
//
// Concurrency: Tracker is safe for concurrent use by any number of ingest
// requests; Run owns the recorder's goroutine. Publishers are called
// without locks held and must not block.
package tracker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// Config tunes validation and the live index. Zero values mean defaults.
type Config struct {
	Resolution    int           // H3 resolution of the live index; default 8 (cells of about 0.7 km²)
	MaxAccuracyM  float64       // fixes less accurate are rejected; default 200 m
	MaxAge        time.Duration // older fixes are rejected; default 24 h (phones buffer while offline)
	MaxSpeedMPS   float64       // jumps implying more are rejected; default 70 m/s (252 km/h)
	MaxViewCells  int           // bbox queries over more cells scan everything; default 4096
	CommitTimeout time.Duration // how long ingest waits for its fixes' commit; default 10 s
	Recorder      RecorderConfig
}

// MaxFuture is how far ahead of the server's clock a fix may be.
const MaxFuture = 5 * time.Minute

func (c *Config) defaults() {
	if c.Resolution <= 0 {
		c.Resolution = 8
	}
	if c.MaxAccuracyM <= 0 {
		c.MaxAccuracyM = 200
	}
	if c.MaxAge <= 0 {
		c.MaxAge = 24 * time.Hour
	}
	if c.MaxSpeedMPS <= 0 {
		c.MaxSpeedMPS = 70
	}
	if c.MaxViewCells <= 0 {
		c.MaxViewCells = 4096
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = 10 * time.Second
	}
}

// Tracker ingests fixes.
type Tracker struct {
	cfg    Config
	store  enroute.Store
	Live   *Live
	rec    *Recorder
	logger *slog.Logger
	now    func() time.Time

	mu         sync.RWMutex
	estimators []enroute.Publisher // told of a position before pubs
	pubs       []enroute.Publisher
	learners   []Learner
}

// New returns a tracker over store.
func New(cfg Config, store enroute.Store, logger *slog.Logger) *Tracker {
	cfg.defaults()
	logger = logger.With("component", "tracker")
	return &Tracker{cfg: cfg, store: store, Live: NewLive(cfg.Resolution), rec: NewRecorder(store, cfg.Recorder, logger), logger: logger, now: time.Now}
}

// Config returns the tracker's configuration, defaults filled in.
func (t *Tracker) Config() Config { return t.cfg }

// Learner is told of every accepted fix, a request's at a time, where
// publishers get each request's newest only: what learns from driving
// (the ETA model) needs every segment. Learn must not block nor keep ps.
type Learner interface {
	Learn(ps []enroute.Position)
}

// SubscribeLearner adds a learner.
func (t *Tracker) SubscribeLearner(l Learner) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.learners = append(t.learners, l)
}

// Subscribe adds a publisher told of every new live position.
func (t *Tracker) Subscribe(p enroute.Publisher) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pubs = append(t.pubs, p)
}

// SubscribeEstimator adds an estimator: a publisher told of every new live
// position before any publisher is (whatever the order they were added
// in), on the same goroutine, so that what it derives from the position
// and queues in a publisher (enroute.ProgressQueuer: the ETA watcher's
// progress, in the hub) goes out with the position.
func (t *Tracker) SubscribeEstimator(e enroute.Publisher) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.estimators = append(t.estimators, e)
}

var _ enroute.LiveService = (*Tracker)(nil)

// LivePosition implements enroute.LiveService.
func (t *Tracker) LivePosition(technicianID int64) (enroute.Position, bool) {
	return t.Live.Get(technicianID)
}

// LiveInBox implements enroute.LiveService, indexed by at most
// Config.MaxViewCells cells.
func (t *Tracker) LiveInBox(b enroute.Box) []enroute.Position {
	return t.Live.InBBox(geo.BBox{MinLat: b.MinLat, MinLng: b.MinLng, MaxLat: b.MaxLat, MaxLng: b.MaxLng}, t.cfg.MaxViewCells)
}

// LiveNear implements enroute.LiveService.
func (t *Tracker) LiveNear(lat, lng, radiusM float64, limit int) []enroute.Position {
	return t.Live.Near(lat, lng, radiusM, limit)
}

// LivePositions implements enroute.LiveService.
func (t *Tracker) LivePositions() []enroute.Position { return t.Live.All() }

// LiveInBoxRendered is LiveInBox, rendered for the API (render.go).
func (t *Tracker) LiveInBoxRendered(b enroute.Box) []Rendered {
	return t.Live.InBBoxRendered(geo.BBox{MinLat: b.MinLat, MinLng: b.MinLng, MaxLat: b.MaxLat, MaxLng: b.MaxLng}, t.cfg.MaxViewCells)
}

// LiveNearRendered is LiveNear, rendered for the API (render.go).
func (t *Tracker) LiveNearRendered(lat, lng, radiusM float64, limit int) []Rendered {
	return t.Live.NearRendered(lat, lng, radiusM, limit)
}

// LivePositionsRendered is LivePositions, rendered for the API (render.go).
func (t *Tracker) LivePositionsRendered() []Rendered { return t.Live.AllRendered() }

// Restore rebuilds the live state from the history: the newest fix of
// every technician within MaxAge.
func (t *Tracker) Restore(ctx context.Context) (int, error) {
	ps, err := t.store.LatestPositions(ctx, t.now().Add(-t.cfg.MaxAge))
	if err != nil {
		return 0, fmt.Errorf("restore live positions: %w", err)
	}
	for i := range ps {
		t.Live.Apply(&ps[i], 0)
	}
	return len(ps), nil
}

// Run writes the history until ctx ends, then flushes it.
func (t *Tracker) Run(ctx context.Context) { t.rec.Run(ctx) }

// Close stops accepting fixes and flushes those accepted.
func (t *Tracker) Close(ctx context.Context) error { return t.rec.Close(ctx) }

// Pending returns how many accepted fixes await their commit.
func (t *Tracker) Pending() int { return t.rec.Pending() }

// Failing reports whether the history cannot be written now: fixes are
// refused with ErrUnavailable until a retried write succeeds.
func (t *Tracker) Failing() bool { return t.rec.Failing() }

// Commits returns how many transactions of fixes the history has taken,
// and how many fixes they held.
func (t *Tracker) Commits() (commits, fixes int64) { return t.rec.Commits() }

// Rejection says why one fix of a batch was not taken.
type Rejection struct {
	Index  int    `json:"index"`
	Reason string `json:"reason"`
}

// Result is what became of a batch.
type Result struct {
	Accepted   int         `json:"accepted"`
	Duplicates int         `json:"duplicates"`
	Rejected   []Rejection `json:"rejected"`
}

// Ingest validates a device's fixes and takes the valid ones: the newest
// becomes live and is published at once, and Ingest returns once all are
// committed to the history. It returns ErrBusy, before taking anything,
// when the history buffer is full.
func (t *Tracker) Ingest(ctx context.Context, dev *enroute.Device, items []Item) (*Result, error) {
	res := &Result{Rejected: []Rejection{}}
	if len(items) == 0 {
		return res, nil
	}
	if err := t.rec.Reserve(len(items)); err != nil {
		return nil, err
	}
	now := t.now()
	take := make([]enroute.Position, 0, len(items))
	newest := -1 // in take
	for i := range items {
		it := &items[i]
		if it.Err == "" {
			normalize(&it.Pos)
			it.Err = t.check(&it.Pos, now)
		}
		if it.Err != "" {
			res.Rejected = append(res.Rejected, Rejection{Index: i, Reason: it.Err})
			continue
		}
		p := it.Pos
		p.TechnicianID, p.DeviceID, p.ReceivedAt = dev.TechnicianID, dev.ID, now
		p.Time = p.Time.Truncate(time.Microsecond) // the precision both stores keep
		switch v, _ := t.Live.Apply(&p, t.cfg.MaxSpeedMPS); v {
		case duplicate:
			res.Duplicates++
			continue
		case jump:
			res.Rejected = append(res.Rejected, Rejection{Index: i, Reason: fmt.Sprintf("an impossible jump: faster than %.0f m/s from the last position", t.cfg.MaxSpeedMPS)})
			continue
		case accepted:
			newest = len(take)
		}
		take = append(take, p)
	}
	t.rec.Release(len(items) - len(take))
	res.Accepted = len(take)
	if newest >= 0 {
		t.publish(&take[newest]) // in take, not &p: that escaped, a copy on the heap per fix
	}
	if len(take) == 0 {
		return res, nil
	}
	t.mu.RLock()
	learners := t.learners
	t.mu.RUnlock()
	for _, l := range learners {
		l.Learn(take)
	}
	// A pooled channel: one made a request was 15% of the bytes the
	// server allocated under OsmAnd's one fix a request. It goes back
	// only once answered; one given up on is the recorder's to answer.
	done := doneChans.Get().(chan error)
	t.rec.Submit(take, done)
	// A pooled timer, not a context.WithTimeout: that is a timer and a
	// child registered with the request's context on every request
	// (2% of the server at 10,000 one-fix requests a second).
	timer := timers.Get().(*time.Timer)
	timer.Reset(t.cfg.CommitTimeout)
	defer func() {
		timer.Stop() // since Go 1.23 no stale tick can follow
		timers.Put(timer)
	}()
	select {
	case err := <-done:
		doneChans.Put(done)
		if err != nil {
			return nil, err
		}
		return res, nil
	// Not acknowledged in either case: the device will resend, and the
	// copy is then dropped as a duplicate while this one is still written.
	case <-ctx.Done():
		return nil, fmt.Errorf("commit fixes: %w", ctx.Err())
	case <-timer.C:
		return nil, fmt.Errorf("commit fixes: %w", context.DeadlineExceeded)
	}
}

// doneChans are Ingest's empty commit channels, each with room for its
// answer.
var doneChans = sync.Pool{New: func() any { return make(chan error, 1) }}

// timers are stopped timers for Ingest's commit wait and the recorder's
// pacing.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

// publish tells the estimators of p, then the publishers.
func (t *Tracker) publish(p *enroute.Position) {
	t.mu.RLock()
	estimators, pubs := t.estimators, t.pubs
	t.mu.RUnlock()
	for _, e := range estimators {
		e.PublishPosition(p)
	}
	for _, pub := range pubs {
		pub.PublishPosition(p)
	}
}

// Plausible altitudes, in metres: the Dead Sea's shore is at -430 and a
// phone on a technician's way is not in an aircraft.
const minAltitudeM, maxAltitudeM = -1000, 20_000

// normalize applies the one rule every protocol's fixes follow: an optional
// value a phone cannot have measured (a negative accuracy, speed, heading or
// battery; a speed over 200 m/s; a heading past 360°; a battery over 100%)
// is unknown, and so is an altitude outside -1,000 to 20,000 m (stored as
// 0, as when a phone sends none). The fix itself is kept: its position is
// what matters. A heading of exactly 360° is north, 0°.
func normalize(p *enroute.Position) {
	unknownUnless := func(v *float64, ok bool) {
		if !ok && !math.IsNaN(*v) { // NaN is refused by check
			*v = Unknown
		}
	}
	unknownUnless(&p.AccuracyM, p.AccuracyM >= 0)
	unknownUnless(&p.SpeedMPS, p.SpeedMPS >= 0 && p.SpeedMPS <= 200)
	if p.HeadingDeg == 360 {
		p.HeadingDeg = 0
	}
	unknownUnless(&p.HeadingDeg, p.HeadingDeg >= 0 && p.HeadingDeg < 360)
	unknownUnless(&p.Battery, p.Battery >= 0 && p.Battery <= 100)
	if !(p.AltitudeM >= minAltitudeM && p.AltitudeM <= maxAltitudeM) && !math.IsNaN(p.AltitudeM) {
		p.AltitudeM = 0
	}
}

// check returns why a fix is invalid on its own, or "". It follows
// normalize.
func (t *Tracker) check(p *enroute.Position, now time.Time) string {
	switch {
	case math.IsNaN(p.Lat) || math.IsNaN(p.Lng) || math.IsInf(p.Lat, 0) || math.IsInf(p.Lng, 0):
		return "lat and lng must be numbers"
	case p.Lat < -90 || p.Lat > 90:
		return "lat must be between -90 and 90"
	case p.Lng < -180 || p.Lng > 180:
		return "lng must be between -180 and 180"
	case p.Lat == 0 && p.Lng == 0:
		return "(0, 0) is not a real position"
	case p.AccuracyM > t.cfg.MaxAccuracyM:
		return fmt.Sprintf("accuracy %.0f m is worse than the limit of %.0f m", p.AccuracyM, t.cfg.MaxAccuracyM)
	case p.Time.After(now.Add(MaxFuture)):
		return "ts is more than 5 minutes in the future"
	case p.Time.Before(now.Add(-t.cfg.MaxAge)):
		return fmt.Sprintf("ts is older than %v", t.cfg.MaxAge)
	}
	for _, v := range []float64{p.AccuracyM, p.SpeedMPS, p.HeadingDeg, p.AltitudeM, p.Battery} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "values must be finite numbers"
		}
	}
	return ""
}

// IsBusy reports whether err asks the client to slow down.
func IsBusy(err error) bool { return errors.Is(err, ErrBusy) }
