package eta

import (
	"math"
	"slices"
	"time"

	"github.com/enroutehq/enroute/geo"
)

// The range an estimate is given in ("10:42-10:50") comes from the
// model's own errors: at fixes of each drive learned, spreadStep apart,
// the true time left over the model's estimate there, made before the
// drive was learned (AddTrip; AddArrival's drive has had its segments
// learned as it came, so its errors lean a little small). They are kept
// per band of straight-line distance and hour of the day, and an
// estimate's range is the narrowest that held spreadShare of them: its
// hour's where that hour has spreadMinHour samples, its band's
// otherwise, all bands' while a band has fewer than spreadMin.
const (
	spreadShare   = 0.8
	spreadStep    = 15 * time.Second
	spreadMax     = 500 // samples kept per band and hour, the newest mostly
	spreadMinHour = 200
	spreadMin     = 50
)

// spreadKey is a band and an hour of the day.
func spreadKey(straightM float64, t time.Time) int { return band(straightM)*24 + t.UTC().Hour() }

// spreads are the ratios of true time left over estimated, and the ranges
// they give, refreshed as drives are learned. Under the model's lock.
type spreads struct {
	samples [][]float64 // per key
	// The range per key (zero: too few samples), per band and of all.
	byKey, byBand [][2]float64
	all           [2]float64
}

func newSpreads() spreads {
	return spreads{samples: make([][]float64, len(detourBands)*24), byKey: make([][2]float64, len(detourBands)*24),
		byBand: make([][2]float64, len(detourBands))}
}

// rangeOf is the range (as ratios of the estimate) for an estimate
// straightM from the destination at t; ok false without one.
func (s *spreads) rangeOf(straightM float64, t time.Time) (r [2]float64, ok bool) {
	k := spreadKey(straightM, t)
	for _, r := range [][2]float64{s.byKey[k], s.byBand[band(straightM)], s.all} {
		if r[1] > 0 {
			return r, true
		}
	}
	return r, false
}

// ranges are ranges recomputed, to install.
type ranges struct {
	keys, bands map[int][2]float64
	all         *[2]float64
}

// rangesOf recomputes the ranges of the keys in changed, of their bands,
// and of all while a band has none. It only reads s: the caller holds the
// read lock, so that estimates go on (a band's range sorts up to 12,000
// samples).
func (s *spreads) rangesOf(changed []int) ranges {
	r := ranges{keys: map[int][2]float64{}, bands: map[int][2]float64{}}
	for _, k := range changed {
		r.keys[k] = [2]float64{}
		if len(s.samples[k]) >= spreadMinHour {
			r.keys[k] = narrowest(s.samples[k], spreadShare)
		}
		r.bands[k/24] = [2]float64{}
	}
	lacking := false
	for b := range s.byBand {
		if _, ok := r.bands[b]; ok {
			if xs := slices.Concat(s.samples[b*24 : (b+1)*24]...); len(xs) >= spreadMin {
				r.bands[b] = narrowest(xs, spreadShare)
			}
			lacking = lacking || r.bands[b][1] == 0
		} else {
			lacking = lacking || s.byBand[b][1] == 0
		}
	}
	if lacking && len(changed) > 0 {
		if all := slices.Concat(s.samples...); len(all) >= spreadMin {
			x := narrowest(all, spreadShare)
			r.all = &x
		}
	}
	return r
}

// install installs ranges rangesOf recomputed. Under the write lock.
func (s *spreads) install(r ranges) {
	for k, x := range r.keys {
		s.byKey[k] = x
	}
	for b, x := range r.bands {
		s.byBand[b] = x
	}
	if r.all != nil {
		s.all = *r.all
	}
}

// narrowest is the narrowest interval holding share of xs.
func narrowest(xs []float64, share float64) [2]float64 {
	xs = slices.Clone(xs)
	slices.Sort(xs)
	k := int(math.Ceil(share*float64(len(xs)))) - 1
	best, out := math.Inf(1), [2]float64{}
	for i := 0; i+k < len(xs); i++ {
		if w := xs[i+k] - xs[i]; w < best {
			best, out = w, [2]float64{xs[i], xs[i+k]}
		}
	}
	return out
}

// learnSpread records the model's errors along a drive, spreadStep
// apart. The caller holds no lock.
func (m *Model) learnSpread(ps []Point, to *Destination) {
	end := ps[len(ps)-1]
	type sample struct {
		key   int
		ratio float64
	}
	var ss []sample
	var last time.Time
	var near *geo.Shape
	m.mu.RLock()
	for i := 0; i < len(ps)-1; i++ {
		if !last.IsZero() && ps[i].Time.Sub(last) < spreadStep {
			continue
		}
		last = ps[i].Time
		p := m.parts(ps[i], to, near, speedAt(ps, i))
		near = p.first
		pred := p.drive*m.calibration(p.straightM) + p.approach
		if truth := end.Time.Sub(ps[i].Time).Seconds(); pred > 0 && truth > 0 {
			ss = append(ss, sample{spreadKey(p.straightM, ps[i].Time), truth / pred})
		}
	}
	m.mu.RUnlock()
	m.lock()
	var changed []int
	for i, s := range ss {
		m.spread.samples[s.key] = appendBoundedN(m.spread.samples[s.key], s.ratio, i+len(ps)*31, spreadMax)
		if !slices.Contains(changed, s.key) {
			changed = append(changed, s.key)
		}
	}
	m.mu.Unlock()
	// The ranges are sorted under the read lock, installed under the
	// write lock: only this goroutine learns drives (the watcher's, or
	// etaeval's), so none changed the samples meanwhile.
	m.mu.RLock()
	r := m.spread.rangesOf(changed)
	m.mu.RUnlock()
	m.lock()
	m.spread.install(r)
	m.mu.Unlock()
}

// appendBoundedN keeps at most n samples, replacing one at a
// pseudo-random place (seed) once full.
func appendBoundedN(xs []float64, x float64, seed, n int) []float64 {
	if len(xs) < n {
		return append(xs, x)
	}
	xs[seed%n] = x
	return xs
}
