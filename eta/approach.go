package eta

import (
	"math"
	"time"

	"github.com/enroutehq/enroute/geo"
)

// The final approach: within a few hundred metres of the destination the
// time left is parking, finding the door, the last turns and whatever an
// arrival takes (a taxi's fare, a technician's dwell before the arrival
// rule fires), not driving. Extrapolating driving speed into it
// under-predicted Porto's last two minutes badly: a taxi 50 m from its
// drop-off had about a minute to go, at any speed. So the time from each
// distance band to arrival is learned from the fleet's own arrivals, per
// site (the destination's cell at siteRes), per area (its coarse cell)
// and for the fleet, each shrunk toward the next by as much as the data
// says (empirical Bayes: the spread of drives within a site against the
// spread between sites), and apart for a technician standing, crawling or
// driving (a car rolling toward the door at 8 m/s and one parked at the
// kerb are at different points of their approach).
var approachEdges = []float64{50, 100, 200, 350, 500}

// siteRes is the H3 resolution of a site: ~2,000 m², a building and its
// kerb.
const siteRes = 11

// motions are the classes of a technician's speed an approach is learned
// for: unknown or crawling (1.5-6 m/s: parking, a queue), standing, and
// driving.
const motions = 3

// speedSpan is the least time a speed is measured over: over a second
// or two a phone's position error is as fast as a walk.
const speedSpan = 10 * time.Second

func motion(speedMPS float64) int {
	switch {
	case speedMPS < 0:
		return 0
	case speedMPS < 1.5:
		return 1
	case speedMPS < 6:
		return 0
	}
	return 2
}

// approachMids are the bands' middles, where their times are placed;
// between them an estimate interpolates, and beyond the outer one
// (approachJoinM) the drive is estimated as driving up to it.
var approachMids = func() []float64 {
	out := make([]float64, len(approachEdges))
	lo := 0.0
	for i, e := range approachEdges {
		out[i] = (lo + e) / 2
		lo = e
	}
	return out
}()

var approachJoinM = approachMids[len(approachMids)-1]

// approachBins is how many (band, motion) bins an approach has.
var approachBins = len(approachEdges) * motions

// approachBin is the bin of a fix straightM from the destination at
// speedMPS, or -1 beyond the approach.
func approachBin(straightM, speedMPS float64) int {
	for i, e := range approachEdges {
		if straightM < e {
			return motion(speedMPS)*len(approachEdges) + i
		}
	}
	return -1
}

// logStat gathers samples of log seconds: one per drive and bin.
type logStat struct{ n, sum, sq float64 }

func (s *logStat) add(x float64) { s.n++; s.sum += x; s.sq += x * x }

// shrunk is the mean of the samples, shrunk toward parent with the weight
// of k samples.
func (s *logStat) shrunk(parent, k float64) float64 {
	if s == nil {
		return parent
	}
	return (s.sum + k*parent) / (s.n + k)
}

type approachKey struct {
	cell geo.Cell
	bin  int
}

// approach is what the model learned of final approaches. Under the
// model's lock.
type approach struct {
	fleet      []logStat // per bin
	area, site map[approachKey]*logStat
	// The weight of a level's parent, in drives, refreshed as drives are
	// learned (the fleet's parent, the driving estimate, weighs as an
	// area's).
	kArea, kSite float64
	areaRes      int
}

func newApproach(areaRes int) approach {
	return approach{fleet: make([]logStat, approachBins), area: map[approachKey]*logStat{}, site: map[approachKey]*logStat{},
		kArea: 1, kSite: 1, areaRes: areaRes}
}

// learnApproach learns a drive's final approach: per bin, the mean log
// time left over its fixes in the bin, each weighted by the time to the
// next fix (a phone sending every second counts as much as one sending
// every 15). The caller holds no lock.
func (m *Model) learnApproach(ps []Point, to *Destination) {
	end := ps[len(ps)-1]
	sum := make([]float64, approachBins)
	w := make([]float64, approachBins)
	for i := 0; i < len(ps)-1; i++ {
		b := approachBin(geo.DistanceM(ps[i].Lat, ps[i].Lng, to.Lat, to.Lng), speedAt(ps, i))
		left := end.Time.Sub(ps[i].Time).Seconds()
		dt := min(ps[i+1].Time.Sub(ps[i].Time).Seconds(), m.cfg.MaxGap.Seconds())
		if b < 0 || left < 1 || dt <= 0 {
			continue
		}
		sum[b] += dt * math.Log(left)
		w[b] += dt
	}
	area, site := to.area, to.site
	m.lock()
	a := &m.appr
	for b := range w {
		if w[b] == 0 {
			continue
		}
		x := sum[b] / w[b]
		a.fleet[b].add(x)
		logStatOf(a.area, approachKey{area, b}).add(x)
		logStatOf(a.site, approachKey{site, b}).add(x)
	}
	m.mu.Unlock()
	// The weights read every site: under the read lock, so that estimates
	// go on; only this goroutine learns drives.
	m.mu.RLock()
	kArea, kSite, ok := a.weights()
	m.mu.RUnlock()
	if ok {
		m.lock()
		a.kArea, a.kSite = kArea, kSite
		m.mu.Unlock()
	}
}

// speedAt is the speed into fix i over at least speedSpan (negative: no
// fix that long before).
func speedAt(ps []Point, i int) float64 {
	for j := i - 1; j >= 0; j-- {
		if dt := ps[i].Time.Sub(ps[j].Time); dt >= speedSpan {
			return geo.DistanceM(ps[j].Lat, ps[j].Lng, ps[i].Lat, ps[i].Lng) / dt.Seconds()
		}
	}
	return -1
}

func logStatOf(mp map[approachKey]*logStat, k approachKey) *logStat {
	s := mp[k]
	if s == nil {
		s = &logStat{}
		mp[k] = s
	}
	return s
}

// weights are the levels' weights: the spread of a drive's time within
// its site (pooled) over the spread of a level's means about its parent's
// beyond what the spread within explains; ok false until there are
// enough sites and drives to tell (each level then weighs one drive). It
// only reads a.
func (a *approach) weights() (kArea, kSite float64, ok bool) {
	var ss, df float64
	for _, s := range a.site {
		if s.n >= 2 {
			ss += s.sq - s.sum*s.sum/s.n
			df += s.n - 1
		}
	}
	within := ss / df
	if df < 10 || !(within > 0) {
		return 0, 0, false
	}
	fleetMean := func(b int) float64 { return a.fleet[b].sum / max(a.fleet[b].n, 1) }
	between := func(mp map[approachKey]*logStat, parent func(approachKey) float64) (float64, bool) {
		var sum, n float64
		for k, s := range mp {
			d := s.sum/s.n - parent(k)
			sum += d*d - within/s.n
			n++
		}
		// A level that varies no more than its drives do weighs its
		// parent a thousand drives' worth.
		return max(sum/n, within/1000), n >= 10
	}
	kArea, kSite = a.kArea, a.kSite
	if tau, ok := between(a.area, func(k approachKey) float64 { return fleetMean(k.bin) }); ok {
		kArea = within / tau
	}
	if tau, ok := between(a.site, func(k approachKey) float64 {
		return a.area[approachKey{k.cell.Parent(a.areaRes), k.bin}].shrunk(fleetMean(k.bin), kArea)
	}); ok {
		kSite = within / tau
	}
	return kArea, kSite, true
}

// approachTime is the time from straightM (at most approachJoinM) of a
// destination to arrival, at speedMPS (negative: unknown). pace (s/m) is
// the driving estimate's near it: the fleet's prior before any arrival.
// Under the read lock.
func (m *Model) approachTime(to *Destination, straightM, speedMPS, pace float64) float64 {
	a := &m.appr
	off := motion(speedMPS) * len(approachEdges)
	at := func(band int) float64 {
		b := off + band
		fleet := a.fleet[b].shrunk(math.Log(max(1, approachMids[band]*pace)), a.kArea)
		area := a.area[approachKey{to.area, b}].shrunk(fleet, a.kArea)
		return math.Exp(a.site[approachKey{to.site, b}].shrunk(area, a.kSite))
	}
	if straightM <= approachMids[0] {
		return at(0)
	}
	for b := 1; b < len(approachMids); b++ {
		if straightM <= approachMids[b] {
			f := (straightM - approachMids[b-1]) / (approachMids[b] - approachMids[b-1])
			return (1-f)*at(b-1) + f*at(b)
		}
	}
	return at(len(approachMids) - 1)
}
