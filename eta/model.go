// Package eta estimates distance and time of arrival from what Enroute's
// own fleet has driven: a travel pace learned per H3 cell, heading and
// hour of the week, shrunk toward coarser cells, the fleet's slowdown at
// that hour and a global prior where data is thin, the detour ratio
// between driven and straight-line distance, and the final approach (the
// last few hundred metres: parking, the door) learned per site and area
// from arrivals. An estimate comes with a range from the model's own
// errors, and a Drive keeps what a customer is shown steady and deaf to
// glitches. It needs no map and no third-party service.
//
// Concurrency: a Model is safe for concurrent use; learning takes a write
// lock (without queueing ahead of estimates: Model.lock), estimates a read
// lock.
package eta

import (
	"context"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// Config tunes a Model. Zero values mean the defaults.
type Config struct {
	FineRes       int     // H3 resolution of learned cells; default 9 (~0.1 km²)
	CoarseRes     int     // their parents, for thin data; default 7 (~5 km²)
	PriorSpeedMPS float64 // before any data; default 8.3 m/s (30 km/h, urban driving)
	PriorM        float64 // metres of driving a level needs to outweigh its parent; default 2,000
	MaxSpeedMPS   float64 // faster segments are GPS glitches, not driving; default 55 (200 km/h)
	MaxGap        time.Duration
	StepM         float64 // route sampling step; default 100 m
	// Headings is how many directions of travel a fine cell's pace is
	// learned apart for (a one-way street, the morning's queue into town
	// beside the free way out); default 8, at most 64; 1: one pace for
	// every heading.
	Headings int
	// RecentHalfLife weights today's traffic: how much longer recent
	// driving took than the model expected of those streets at that hour
	// scales every estimate. Default 30 min.
	RecentHalfLife time.Duration
}

func (c *Config) defaults() {
	def := func(v *float64, d float64) {
		if *v <= 0 {
			*v = d
		}
	}
	if c.FineRes <= 0 {
		c.FineRes = 9
	}
	if c.CoarseRes <= 0 {
		c.CoarseRes = 7
	}
	if c.Headings <= 0 {
		c.Headings = 8
	}
	c.Headings = min(c.Headings, 64)
	def(&c.PriorSpeedMPS, 8.3)
	def(&c.PriorM, 2000)
	def(&c.MaxSpeedMPS, 55)
	def(&c.StepM, 100)
	if c.MaxGap <= 0 {
		c.MaxGap = 2 * time.Minute
	}
	if c.RecentHalfLife <= 0 {
		c.RecentHalfLife = 30 * time.Minute
	}
}

// decayed returns recent decayed from recentAt to t (never forward in time).
func (m *Model) decayed(t time.Time) stat {
	dt := t.Sub(m.recentAt)
	if dt <= 0 || m.recentAt.IsZero() {
		return m.recent
	}
	f := math.Exp2(-dt.Seconds() / m.cfg.RecentHalfLife.Seconds())
	return stat{m: m.recent.m * f, s: m.recent.s * f}
}

// trafficFactor is how much longer recent driving took than the model
// expected of it, shrunk toward 1 while recent driving is little. Against
// the model's expectation, not against all driving's pace: recent driving
// is on other streets than all driving was (a night's taxis on the ring
// road, a morning's downtown), and its hour is the hour factor's already:
// a ratio of paces counted both again.
func (m *Model) trafficFactor(t time.Time) float64 { return m.slowdown(m.decayed(t)) }

// stat is driving observed somewhere: metres and seconds.
type stat struct{ m, s float64 }

func (st *stat) add(m, s float64) { st.m += m; st.s += s }

// pace shrinks this level's pace (s/m) toward its parent's: with little
// driving it is the parent's, with much its own.
func (st stat) pace(parent, priorM float64) float64 {
	return (st.s + priorM*parent) / (st.m + priorM)
}

// key is a cell in an hour-of-week bucket; bucket -1 is all hours.
type key struct {
	cell   geo.Cell
	bucket int
}

// headedKey is a cell driven in a heading (Config.Headings sectors,
// the first centred on north).
type headedKey struct {
	cell    geo.Cell
	heading int
}

// heading is the sector of the bearing from one point to another.
func (m *Model) heading(lat1, lng1, lat2, lng2 float64) int {
	if m.cfg.Headings == 1 {
		return 0
	}
	w := 360 / float64(m.cfg.Headings)
	return int(math.Mod(geo.BearingDeg(lat1, lng1, lat2, lng2)+w/2, 360)/w) % m.cfg.Headings
}

// Detour bands by straight-line distance to the destination, in metres.
var detourBands = []float64{250, 500, 1000, 2000, 4000, 8000, math.Inf(1)}

// Model is a learned ETA model.
type Model struct {
	cfg Config

	mu       sync.RWMutex
	global   stat
	recent   stat      // driving weighted by recency (half-life RecentHalfLife): m the seconds the model expected of it, s those it took
	recentAt time.Time // the data time recent is decayed to
	coarse   map[geo.Cell]*stat
	fine     map[key]*stat
	headed   map[headedKey]*stat // with more than one heading
	detour   [][]float64         // per band: samples of driven/straight (bounded)
	calib    [][]float64         // per band: samples of true/predicted remaining time (bounded)
	// Medians of the above, refreshed when a trip is learned: estimates
	// only read them (BenchmarkEstimate: sorting per estimate cost 10x).
	detourMed, calibMed []float64
	appr                approach     // the final approach
	spread              spreads      // the model's errors, for ranges
	hourly              [7 * 24]stat // the fleet's driving per hour of the week: m the seconds its streets usually take, s those it took

	shapes shapeCache // outlines of the cells estimates crossed
}

// shapeCache keeps cell outlines for estimates, which run under the
// model's read lock; it has its own. Bounded: emptied when full.
type shapeCache struct {
	mu sync.Mutex
	m  map[geo.Cell]*shapeEntry
}

type shapeEntry struct {
	shape *geo.Shape
	near  []*geo.Shape // the neighbours' outlines, once asked for
}

const maxShapes = 20000 // ~200 B each, and their neighbours' pointers

// entry returns cell's entry, made if new. Under mu.
func (c *shapeCache) entry(cell geo.Cell) *shapeEntry {
	if e, ok := c.m[cell]; ok {
		return e
	}
	if c.m == nil || len(c.m) >= maxShapes {
		c.m = map[geo.Cell]*shapeEntry{}
	}
	s := cell.Shape()
	e := &shapeEntry{shape: &s}
	c.m[cell] = e
	return e
}

func (c *shapeCache) of(cell geo.Cell) *geo.Shape {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entry(cell).shape
}

// next returns the outline of the cell holding (lat, lng), a point that
// has just left from: one of from's neighbours surely holds it (by 1 m,
// pure Go) unless it lies on an edge, and only then is it looked up.
func (c *shapeCache) next(from *geo.Shape, lat, lng float64, res int) *geo.Shape {
	c.mu.Lock()
	e := c.entry(from.Cell)
	if e.near == nil {
		for _, n := range from.Cell.Neighbors() {
			e.near = append(e.near, c.entry(n).shape)
		}
	}
	near := e.near
	c.mu.Unlock()
	for _, s := range near {
		if s.Holds(lat, lng, 1) {
			return s
		}
	}
	return c.of(geo.CellOf(lat, lng, res))
}

// locate returns the outline of the cell holding (lat, lng), looked for
// in near and then among its neighbours before H3 is asked (nil near:
// asked at once).
func (c *shapeCache) locate(near *geo.Shape, lat, lng float64, res int) *geo.Shape {
	switch {
	case near == nil:
		return c.of(geo.CellOf(lat, lng, res))
	case near.Holds(lat, lng, 1):
		return near
	default:
		return c.next(near, lat, lng, res)
	}
}

// New returns an empty model: it estimates from the prior alone.
func New(cfg Config) *Model {
	cfg.defaults()
	return &Model{cfg: cfg, coarse: map[geo.Cell]*stat{}, fine: map[key]*stat{}, headed: map[headedKey]*stat{}, detour: make([][]float64, len(detourBands)), calib: make([][]float64, len(detourBands)),
		detourMed: make([]float64, len(detourBands)), calibMed: make([]float64, len(detourBands)), appr: newApproach(cfg.CoarseRes), spread: newSpreads()}
}

// HourOfWeek is the bucket of t: 0 is Monday 00:00-01:00 UTC.
func HourOfWeek(t time.Time) int {
	t = t.UTC()
	return (int(t.Weekday())+6)%7*24 + t.Hour()
}

// Point is a fix.
type Point struct {
	Lat, Lng float64
	Time     time.Time
}

// AddSegment learns from driving between two consecutive fixes. Glitches
// (impossible speeds) and gaps are ignored; so is standing still, which
// says nothing about how fast a street is driven.
func (m *Model) AddSegment(a, b Point) {
	if g, _, ok := m.segmentOf(a, b, nil, false); ok {
		m.lock()
		m.learn(&g)
		m.mu.Unlock()
	}
}

// Segments are driven segments prepared for learning, outside the model's
// lock (PrepareSegment), and learned together under one write lock
// (Learn). The zero value is empty; not for concurrent use.
type Segments struct{ s []segment }

// Len is how many segments s holds.
func (s *Segments) Len() int { return len(s.s) }

// segment is one driven segment, its cells found.
type segment struct {
	fine, coarse geo.Cell
	bucket       int
	heading      int
	m, sec       float64
	end          time.Time
}

// PrepareSegment adds the segment a→b to s, as AddSegment would learn it,
// or nothing for a glitch, a gap or standing still. A caller that follows
// a drive passes follow and, as near, the outline PrepareSegment returned
// for the drive's last segment (nil at first): the segment's cell is
// looked for there and among its neighbours in pure Go before H3 is asked
// (a cgo call for each fix the server accepts: 2% of it at 10,000
// fixes/s). It returns the outline to pass with the next segment, or near
// when it prepared nothing.
func (m *Model) PrepareSegment(s *Segments, a, b Point, near *geo.Shape, follow bool) *geo.Shape {
	g, near, ok := m.segmentOf(a, b, near, follow)
	if ok {
		s.s = append(s.s, g)
	}
	return near
}

// segmentOf is PrepareSegment's segment; ok is false when there is none.
func (m *Model) segmentOf(a, b Point, near *geo.Shape, follow bool) (g segment, next *geo.Shape, ok bool) {
	dt := b.Time.Sub(a.Time)
	if dt <= 0 || dt > m.cfg.MaxGap {
		return g, near, false
	}
	d := geo.DistanceM(a.Lat, a.Lng, b.Lat, b.Lng)
	sec := dt.Seconds()
	if d/sec > m.cfg.MaxSpeedMPS || d < 1 {
		return g, near, false
	}
	lat, lng := (a.Lat+b.Lat)/2, (a.Lng+b.Lng)/2
	var mid geo.Cell
	switch {
	case near == nil:
		mid = geo.CellOf(lat, lng, m.cfg.FineRes)
	case near.Holds(lat, lng, 1):
		mid = near.Cell
	default:
		near = m.shapes.next(near, lat, lng, m.cfg.FineRes)
		mid = near.Cell
	}
	if follow && near == nil {
		near = m.shapes.of(mid)
	}
	return segment{fine: mid, coarse: mid.Parent(m.cfg.CoarseRes), bucket: HourOfWeek(a.Time), heading: m.heading(a.Lat, a.Lng, b.Lat, b.Lng),
		m: d, sec: sec, end: b.Time}, near, true
}

// Learn learns the segments of s and empties it.
func (m *Model) Learn(s *Segments) {
	if len(s.s) == 0 {
		return
	}
	m.lock()
	for i := range s.s {
		m.learn(&s.s[i])
	}
	m.mu.Unlock()
	s.s = s.s[:0]
}

// learn adds one segment's driving, after what the model expected of it
// (recent: predict, then learn). Under the write lock.
func (m *Model) learn(g *segment) {
	// A stat just made is empty: its pace is its parent's, as none.
	coarse, fine, hour := m.stat(m.coarse, g.coarse), m.statKey(key{g.fine, -1}), m.statKey(key{g.fine, g.bucket})
	var headed *stat
	if m.cfg.Headings > 1 {
		headed = m.headed[headedKey{g.fine, g.heading}]
		if headed == nil {
			headed = &stat{}
			m.headed[headedKey{g.fine, g.heading}] = headed
		}
	}
	usual := g.m * m.paceFrom(coarse, fine, headed, nil, 1) // at any hour
	expected := g.m * m.paceFrom(coarse, fine, headed, hour, m.hourFactor(g.bucket))
	m.global.add(g.m, g.sec)
	if g.end.After(m.recentAt) {
		m.recent, m.recentAt = m.decayed(g.end), g.end
	}
	m.recent.add(expected, g.sec)
	coarse.add(g.m, g.sec)
	fine.add(g.m, g.sec)
	if headed != nil {
		headed.add(g.m, g.sec)
	}
	hour.add(g.m, g.sec)
	m.hourly[g.bucket].add(usual, g.sec)
}

// lock takes the write lock without queueing for it. A writer waiting in
// Lock holds back every new RLock, and on a busy server that writer gets a
// core only milliseconds after the last reader lets go: estimates, made on
// the goroutine that publishes a fix, waited that long, and so did every
// position published behind them (a trace at 10,000 fixes/s: 2.2 s of 3
// spent waiting in RLock). Learning can wait instead: lock retries until
// no estimate holds the lock.
func (m *Model) lock() {
	for i := 0; !m.mu.TryLock(); i++ {
		if i < 8 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

func (m *Model) stat(mp map[geo.Cell]*stat, c geo.Cell) *stat {
	st := mp[c]
	if st == nil {
		st = &stat{}
		mp[c] = st
	}
	return st
}

func (m *Model) statKey(k key) *stat {
	st := m.fine[k]
	if st == nil {
		st = &stat{}
		m.fine[k] = st
	}
	return st
}

// maxDetourSamples bounds memory per band.
const maxDetourSamples = 20000

// AddTrip learns a whole trip whose last fix is its destination (AddTripTo).
func (m *Model) AddTrip(ps []Point) {
	if len(ps) > 0 {
		m.AddTripTo(ps, ps[len(ps)-1].Lat, ps[len(ps)-1].Lng)
	}
}

// AddTripTo learns a whole trip to (toLat, toLng), ending at its last fix
// (its arrival, near there): first how wrong the model's own estimates
// along it were (true over predicted remaining time: the ranges of later
// ones, and their calibration; predict, then learn), then its segments,
// at each fix the ratio of the distance still driven to the straight line
// to the destination, and its final approach. Estimates aim at an
// address, and a drive is arrived before it reaches it (the arrival
// rule's radius): what is learned of the drive's end is measured to the
// address too.
func (m *Model) AddTripTo(ps []Point, toLat, toLng float64) { m.addDrive(ps, toLat, toLng, true) }

// AddArrival learns what only a whole drive to its destination at (toLat,
// toLng) shows, its errors, calibration, detour ratio and approach (as
// AddTripTo), from a drive whose segments were learned as they came
// (AddSegment): the server's case, when a technician arrives. Its
// estimates along the drive have then seen its segments, so its
// calibration samples lean a little toward 1, and its errors a little
// small.
func (m *Model) AddArrival(ps []Point, toLat, toLng float64) { m.addDrive(ps, toLat, toLng, false) }

// addDrive is AddTripTo, its segments learned only with segments.
func (m *Model) addDrive(ps []Point, toLat, toLng float64, segments bool) {
	if len(ps) < 2 {
		return
	}
	to := m.Destination(toLat, toLng)
	m.learnSpread(ps, &to)
	m.calibrate(ps, &to)
	for i := 1; segments && i < len(ps); i++ {
		m.AddSegment(ps[i-1], ps[i])
	}
	m.learnDetour(ps, &to)
	m.learnApproach(ps, &to)
}

// calibrate records, at a few fixes of a trip, its true remaining time to
// the final approach over the model's uncalibrated estimate of it.
func (m *Model) calibrate(ps []Point, to *Destination) {
	end := ps[len(ps)-1]
	for i := 0; i < len(ps)-1; i += max(1, len(ps)/8) {
		m.mu.RLock()
		p := m.parts(ps[i], to, nil, speedAt(ps, i))
		m.mu.RUnlock()
		if p.drive <= 0 {
			continue
		}
		// An approach longer than the whole time left leaves the drive
		// next to nothing: kept, for the median, as a ratio near 0.
		truth := end.Time.Sub(ps[i].Time).Seconds() - p.approach
		b := band(p.straightM)
		m.lock()
		m.calib[b] = appendBounded(m.calib[b], max(truth/p.drive, 1e-3), i+len(ps))
		m.mu.Unlock()
	}
}

// learnDetour records, at each fix of a trip, the distance still driven
// over the straight line to its destination, and refreshes the medians.
func (m *Model) learnDetour(ps []Point, to *Destination) {
	end := ps[len(ps)-1]
	remaining := make([]float64, len(ps)) // driven distance to the end, then straight to the destination
	remaining[len(ps)-1] = geo.DistanceM(end.Lat, end.Lng, to.Lat, to.Lng)
	waiting := func(p Point) bool { return geo.DistanceM(p.Lat, p.Lng, end.Lat, end.Lng) < 50 }
	for i := len(ps) - 2; i >= 0; i-- {
		d := geo.DistanceM(ps[i].Lat, ps[i].Lng, ps[i+1].Lat, ps[i+1].Lng)
		if dt := ps[i+1].Time.Sub(ps[i].Time).Seconds(); dt <= 0 || d/dt > m.cfg.MaxSpeedMPS {
			d = 0 // a glitch adds no distance
		} else if waiting(ps[i]) && waiting(ps[i+1]) {
			d = 0 // nor does a phone's jitter while it waits for the arrival rule
		}
		remaining[i] = remaining[i+1] + d
	}
	m.lock()
	defer m.mu.Unlock()
	for i := range len(ps) - 1 {
		// Fixes beside the drive's last, waiting for the arrival rule,
		// are no drive: still, they would be a detour of 1, jittering
		// one of their jitter.
		straight := geo.DistanceM(ps[i].Lat, ps[i].Lng, to.Lat, to.Lng)
		if straight < 50 || waiting(ps[i]) {
			continue
		}
		r := remaining[i] / straight
		if r < 1 || r > 5 {
			continue
		}
		b := band(straight)
		m.detour[b] = appendBounded(m.detour[b], r, i*7919+len(ps))
	}
	for b := range detourBands {
		m.detourMed[b], m.calibMed[b] = median(m.detour[b]), median(m.calib[b])
	}
}

// appendBounded keeps at most maxDetourSamples samples, replacing one at a
// pseudo-random place (seed) once full.
func appendBounded(xs []float64, x float64, seed int) []float64 {
	if len(xs) < maxDetourSamples {
		return append(xs, x)
	}
	xs[seed%maxDetourSamples] = x
	return xs
}

// calibration is the median true/predicted ratio of the band, shrunk
// toward 1 while samples are few.
func (m *Model) calibration(straightM float64) float64 {
	b := band(straightM)
	n := float64(len(m.calib[b]))
	if n == 0 {
		return 1
	}
	w := n / (n + 50)
	return 1 + w*(m.calibMed[b]-1)
}

func band(straightM float64) int {
	for i, limit := range detourBands {
		if straightM < limit {
			return i
		}
	}
	return len(detourBands) - 1
}

// detourRatio is the median ratio for the band, or a city-wide 1.35.
func (m *Model) detourRatio(straightM float64) float64 {
	b := band(straightM)
	if len(m.detour[b]) < 30 {
		return 1.35
	}
	return m.detourMed[b]
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	cp := slices.Clone(xs)
	slices.Sort(cp)
	return cp[len(cp)/2]
}

// paceAt is the learned pace (s/m) in a fine cell, heading and hour
// bucket, whose hourFactor is given (the same for every cell of an
// estimate).
func (m *Model) paceAt(fine geo.Cell, heading, bucket int, hourFactor float64) float64 {
	return m.paceFrom(m.coarse[fine.Parent(m.cfg.CoarseRes)], m.fine[key{fine, -1}], m.headed[headedKey{fine, heading}],
		m.fine[key{fine, bucket}], hourFactor)
}

// paceFrom is the pace from a fine cell's stats, all hours' (in every
// heading, then in its own) and its hour's, and its parent's (nil: no
// driving there).
func (m *Model) paceFrom(coarse, fine, headed, hour *stat, hourFactor float64) float64 {
	k := m.cfg.PriorM
	p := m.global.pace(1/m.cfg.PriorSpeedMPS, k)
	if coarse != nil {
		p = coarse.pace(p, k)
	}
	if fine != nil {
		p = fine.pace(p, k)
	}
	if headed != nil {
		p = headed.pace(p, k)
	}
	p *= hourFactor
	if hour != nil {
		p = hour.pace(p, k)
	}
	return p
}

// hourFactor is how much longer than the usual pace of its streets the
// fleet's driving takes in an hour of the week (with half the hours beside
// it: traffic changes by the hour, not at the hour), shrunk toward 1 while
// that is little. It is a cell's pace at that hour before its own driving
// then is known: queues and lights at rush hour are the city's before they
// are a street's. Against the streets' usual pace, not all driving's: the
// fleet drives other streets at other hours (a night on the ring road, a
// morning downtown), and that is no traffic.
func (m *Model) hourFactor(h int) float64 {
	a, b, c := m.hourly[(h+167)%168], m.hourly[h], m.hourly[(h+1)%168]
	return m.slowdown(stat{m: b.m + (a.m+c.m)/2, s: b.s + (a.s+c.s)/2})
}

// slowdown is the seconds driving took over those expected of it (st: m
// expected, s taken), shrunk toward 1 with the weight of five parents'
// worth of driving at the fleet's pace.
func (m *Model) slowdown(st stat) float64 {
	if !(m.global.m > 0 && m.global.s > 0) {
		return 1
	}
	k := m.cfg.PriorM * 5 * m.global.s / m.global.m
	return (st.s + k) / (st.m + k)
}

// Estimate is a predicted remaining distance and time.
type Estimate struct {
	DistanceM float64       // likely driven distance
	Duration  time.Duration // time to arrive
	// Early and Late are the range of the time to arrive that held 80% of
	// the true times of drives learned, at this distance and hour of the
	// day; both zero while the model has too few.
	Early, Late time.Duration
}

// Destination is where a drive goes, its site and area found once (H3
// lookups an estimate would otherwise make each time).
type Destination struct {
	Lat, Lng   float64
	area, site geo.Cell
}

// Destination returns the destination at (lat, lng).
func (m *Model) Destination(lat, lng float64) Destination {
	return Destination{Lat: lat, Lng: lng, area: geo.CellOf(lat, lng, m.cfg.CoarseRes), site: geo.CellOf(lat, lng, siteRes)}
}

// Estimate predicts the drive from a fix to a destination. speedMPS is the
// technician's current speed (negative: unknown).
func (m *Model) Estimate(from Point, speedMPS, toLat, toLng float64) Estimate {
	to := m.Destination(toLat, toLng)
	e, _ := m.EstimateNear(from, speedMPS, &to, nil)
	return e
}

// EstimateNear is Estimate for a caller that follows a drive: near is the
// outline EstimateNear returned for the previous estimate (nil at first),
// where the route's first cell is looked for, and among its neighbours, in
// pure Go before H3 is asked (the one cgo call an estimate made, a third
// of its time). It returns the outline to pass next time.
func (m *Model) EstimateNear(from Point, speedMPS float64, to *Destination, near *geo.Shape) (Estimate, *geo.Shape) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	p := m.parts(from, to, near, speedMPS)
	sec := p.drive*m.calibration(p.straightM) + p.approach
	e := Estimate{DistanceM: p.distanceM, Duration: seconds(sec)}
	if r, ok := m.spread.rangeOf(p.straightM, from.Time); ok {
		e.Early, e.Late = seconds(sec*r[0]), seconds(sec*r[1])
	}
	return e, p.first
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// parts is an estimate in its parts: the drive up to the final approach
// (approachJoinM out; none when nearer), uncalibrated, and the approach.
type parts struct {
	straightM, distanceM float64
	drive, approach      float64 // seconds
	first                *geo.Shape
}

// parts estimates from a fix to a destination. Under the read lock.
func (m *Model) parts(from Point, to *Destination, near *geo.Shape, speedMPS float64) parts {
	straight := geo.DistanceM(from.Lat, from.Lng, to.Lat, to.Lng)
	detour := m.detourRatio(straight)
	bucket := HourOfWeek(from.Time)
	traffic := m.trafficFactor(from.Time)
	hour := m.hourFactor(bucket)
	driveM := max(0, straight-approachJoinM)
	// The drive's heading is the straight line's: streets wind, but a
	// drive into town is one into town.
	heading := m.heading(from.Lat, from.Lng, to.Lat, to.Lng)
	var (
		sec   float64
		shape *geo.Shape // the last step's cell
		first *geo.Shape // the first step's
		pace  float64    // its pace
	)
	// The drive is sampled along the straight line up to the approach,
	// every StepM; at least the first step's cell is found, for the
	// approach's pace and for the next estimate (near).
	steps := max(1, int(math.Ceil(driveM/m.cfg.StepM)))
	for i := range steps {
		f := (float64(i) + 0.5) / float64(steps) * driveM / max(straight, 1)
		lat := from.Lat + (to.Lat-from.Lat)*f
		lng := from.Lng + (to.Lng-from.Lng)*f
		// Consecutive steps mostly stay in one cell: a pure-Go test on
		// its outline (surely inside by 1 m) spares the C call of a
		// lookup, with the same cell as the lookup would give, and the
		// cell's pace is looked up once for all its steps. The first
		// step is looked for from near.
		if shape == nil || !shape.Holds(lat, lng, 1) {
			from := shape
			if from == nil {
				from = near
			}
			next := m.shapes.locate(from, lat, lng, m.cfg.FineRes)
			if next != shape {
				pace = m.paceAt(next.Cell, heading, bucket, hour)
			}
			if shape == nil {
				first = next
			}
			shape = next
		}
		sec += driveM / float64(steps) * detour * pace
	}
	return parts{straightM: straight, distanceM: straight * detour, first: first,
		drive:    sec * traffic,
		approach: m.approachTime(to, min(straight, approachJoinM), speedMPS, pace*detour*traffic)}
}

// Stats says how much the model has learned.
func (m *Model) Stats() (drivenKm float64, cells int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.global.m / 1000, len(m.fine)
}

// historyWindow is how much history LearnHistory reads at a time: memory
// for a window's positions, not the whole history's.
const historyWindow = 6 * time.Hour

// LearnHistory learns every segment of the stored history that ends after
// since: after a snapshot (Load), what the model has not learned yet; with
// none, the last days. It reads from MaxGap before since (a segment needs
// its first fix) a window at a time, skipping stretches with no positions,
// and returns how many positions it read.
func (m *Model) LearnHistory(ctx context.Context, store enroute.PositionStore, since time.Time) (int, error) {
	last := map[int64]enroute.Position{} // positions come in time order
	var segs Segments
	n := 0
	// Up to now and the little a phone's clock may run ahead.
	end := time.Now().Add(10 * time.Minute)
	for from, skip := since.Add(-m.cfg.MaxGap), true; from.Before(end); from = from.Add(historyWindow) {
		// The first window, and one after an empty one, starts at the
		// oldest position from there on when more than one window is
		// left: a since older than the history, or a quiet week, costs
		// one query, not one per empty window (and a since minutes ago,
		// a restart's, one query in all).
		if skip && end.Sub(from) > historyWindow {
			oldest, err := store.FindPositions(ctx, enroute.PositionFilter{Since: from, Page: enroute.Page{Limit: 1}})
			if err != nil {
				return n, err
			} else if len(oldest) == 0 {
				break
			}
			from = oldest[0].Time
		}
		ps, err := store.FindPositions(ctx, enroute.PositionFilter{Since: from, Until: from.Add(historyWindow), Unlimited: true})
		if err != nil {
			return n, err
		}
		n, skip = n+len(ps), len(ps) == 0
		for _, p := range ps {
			if prev, ok := last[p.TechnicianID]; ok && p.Time.After(since) {
				m.PrepareSegment(&segs, Point{prev.Lat, prev.Lng, prev.Time}, Point{p.Lat, p.Lng, p.Time}, nil, false)
				if segs.Len() >= 4096 {
					m.Learn(&segs)
				}
			}
			last[p.TechnicianID] = p
		}
	}
	m.Learn(&segs)
	return n, nil
}
