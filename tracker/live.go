package tracker

import (
	"math"
	"sort"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// dedupeRing is how many recent fix times per technician are remembered to
// drop duplicates (a phone resending after a lost acknowledgement).
const dedupeRing = 32

// techState is one technician's live state.
type techState struct {
	pos            enroute.Position
	shape          geo.Shape         // the outline of the cell it is indexed in
	recent         [dedupeRing]int64 // UnixNano of recent fixes, with device
	recentDev      [dedupeRing]int64
	next           int
	hasCell, valid bool
}

// seen reports whether this device's fix at ts was accepted before.
func (s *techState) seen(dev int64, ts int64) bool {
	for i := range s.recent {
		if s.recent[i] == ts && s.recentDev[i] == dev {
			return true
		}
	}
	return false
}

func (s *techState) remember(dev, ts int64) {
	s.recent[s.next], s.recentDev[s.next] = ts, dev
	s.next = (s.next + 1) % dedupeRing
}

// Live is the latest position of every technician, indexed by H3 cell.
//
// Concurrency: safe for concurrent use; one RWMutex guards the maps.
// BenchmarkLive_Apply shows 0.3 µs per fix under it (BENCHMARKS.md), far
// from contention at the ingest targets, so it is not sharded.
type Live struct {
	res    int
	mu     sync.RWMutex
	techs  map[int64]*techState
	byCell map[geo.Cell]map[int64]struct{}
}

// NewLive returns an empty live state indexed at H3 resolution res.
func NewLive(res int) *Live {
	return &Live{res: res, techs: map[int64]*techState{}, byCell: map[geo.Cell]map[int64]struct{}{}}
}

// Resolution returns the index's H3 resolution.
func (l *Live) Resolution() int { return l.res }

// verdict is what Apply decided about a fix.
type verdict int

const (
	accepted  verdict = iota // newest: stored and made live
	older                    // stored in history, not live (out of order)
	duplicate                // dropped
	jump                     // rejected: implied speed too high
)

// Apply records p as seen and makes it live when it is the technician's
// newest fix. maxSpeed bounds the speed implied by the jump from the live
// position (0: no bound). The returned cell is p's when it became live.
func (l *Live) Apply(p *enroute.Position, maxSpeedMPS float64) (verdict, geo.Cell) {
	ts := p.Time.UnixNano()
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.techs[p.TechnicianID]
	if s == nil {
		s = &techState{}
		l.techs[p.TechnicianID] = s
	}
	if s.seen(p.DeviceID, ts) {
		return duplicate, 0
	}
	if s.valid && maxSpeedMPS > 0 {
		dt := math.Abs(p.Time.Sub(s.pos.Time).Seconds())
		d := geo.ApproxDistanceM(s.pos.Lat, s.pos.Lng, p.Lat, p.Lng)
		// A second of slack covers fixes taken at nearly the same time.
		if d > maxSpeedMPS*(dt+1) {
			return jump, 0
		}
	}
	s.remember(p.DeviceID, ts)
	if s.valid && !p.Time.After(s.pos.Time) {
		return older, 0
	}
	s.pos, s.valid = *p, true
	// Look the cell up only when the fix may have left the outline held:
	// a lookup is a cgo call (1.7 µs, BenchmarkCellOf), the outline test
	// pure Go (BenchmarkShapeHolds). Within a metre of an edge, H3 decides.
	if !s.hasCell || !s.shape.Holds(p.Lat, p.Lng, 1) {
		c := geo.CellOf(p.Lat, p.Lng, l.res)
		if !s.hasCell || c != s.shape.Cell {
			if s.hasCell {
				l.unindex(s.shape.Cell, p.TechnicianID)
			}
			set := l.byCell[c]
			if set == nil {
				set = map[int64]struct{}{}
				l.byCell[c] = set
			}
			set[p.TechnicianID] = struct{}{}
			s.shape = c.Shape()
		}
		s.hasCell = true
	}
	p.Cell = uint64(s.shape.Cell)
	s.pos.Cell = p.Cell
	return accepted, s.shape.Cell
}

func (l *Live) unindex(c geo.Cell, tech int64) {
	if set := l.byCell[c]; set != nil {
		delete(set, tech)
		if len(set) == 0 {
			delete(l.byCell, c)
		}
	}
}

// Get returns a technician's live position.
func (l *Live) Get(tech int64) (enroute.Position, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if s := l.techs[tech]; s != nil && s.valid {
		return s.pos, true
	}
	return enroute.Position{}, false
}

// Cell returns the cell a technician is indexed in.
func (l *Live) Cell(tech int64) (geo.Cell, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if s := l.techs[tech]; s != nil && s.hasCell {
		return s.shape.Cell, true
	}
	return 0, false
}

// InBBox returns the live positions inside b, by technician id. It looks
// only at the cells covering b, unless b needs more than maxCells of them.
func (l *Live) InBBox(b geo.BBox, maxCells int) []enroute.Position {
	cells := geo.CellsInBBox(b, l.res, maxCells)
	l.mu.RLock()
	var out []enroute.Position
	if cells == nil {
		for _, s := range l.techs {
			if s.valid && b.Contains(s.pos.Lat, s.pos.Lng) {
				out = append(out, s.pos)
			}
		}
	} else {
		for _, c := range cells {
			for tech := range l.byCell[c] {
				if s := l.techs[tech]; b.Contains(s.pos.Lat, s.pos.Lng) {
					out = append(out, s.pos)
				}
			}
		}
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].TechnicianID < out[j].TechnicianID })
	return out
}

// Near returns the live positions within radiusM of a point, nearest first.
func (l *Live) Near(lat, lng, radiusM float64, maxCells int) []enroute.Position {
	in := l.InBBox(geo.BBoxAround(lat, lng, radiusM), maxCells)
	out := in[:0]
	for _, p := range in {
		if geo.DistanceM(lat, lng, p.Lat, p.Lng) <= radiusM {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		return geo.DistanceM(lat, lng, out[i].Lat, out[i].Lng) < geo.DistanceM(lat, lng, out[j].Lat, out[j].Lng)
	})
	return out
}

// All returns every live position, by technician id.
func (l *Live) All() []enroute.Position {
	l.mu.RLock()
	out := make([]enroute.Position, 0, len(l.techs))
	for _, s := range l.techs {
		if s.valid {
			out = append(out, s.pos)
		}
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].TechnicianID < out[j].TechnicianID })
	return out
}

// Len returns how many technicians have a live position.
func (l *Live) Len() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.techs)
}

// Stale reports whether a position is older than maxAge at now.
func Stale(p enroute.Position, now time.Time, maxAge time.Duration) bool {
	return now.Sub(p.Time) > maxAge
}
