package tracker

import (
	"math"
	"slices"
	"sync"
	"sync/atomic"
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
	hub, fine      geo.Shape         // the outlines of its cells at the hub's level and the finest
	cells          [levels]geo.Cell  // the cell it is indexed in, at each level
	recent         [dedupeRing]int64 // UnixNano of recent fixes, with device
	recentDev      [dedupeRing]int64
	next           int
	hasCell, valid bool
	json           atomic.Pointer[[]byte] // pos rendered for the API; nil until a query wants it (render.go)
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

// Live is the latest position of every technician, indexed by H3 cell at
// three resolutions (levels): the hub's (Resolution, 8 by default: a
// position's Cell), two finer and two coarser. A query reads the cells of
// the finest level that covers it in a few rings (index.go).
//
// Concurrency: safe for concurrent use; one RWMutex guards the maps.
// BenchmarkLive_Apply shows 0.3 µs per fix under it (BENCHMARKS.md), far
// from contention at the ingest targets, so it is not sharded.
type Live struct {
	res   int
	lv    [levels]level
	mu    sync.RWMutex
	techs map[int64]*techState
}

// NewLive returns an empty live state indexed at H3 resolution res (and
// res-2 and res+2, within H3's 0 to 15).
func NewLive(res int) *Live {
	l := &Live{res: res, techs: map[int64]*techState{}}
	for i, r := range [levels]int{max(res-2, 0), res, min(res+2, 15)} {
		l.lv[i] = level{res: r, cells: map[geo.Cell][]*techState{}}
	}
	// The coarsest level holds hub cells' parents: a position lies up to a
	// hub cell's circumradius outside its cell there (1.5 times the
	// average edge covers the largest cells of a resolution).
	l.lv[0].slackM = geo.EdgeAvgM(res) * 1.5
	return l
}

// Resolution returns the hub's H3 resolution: a live position's Cell.
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
// position (0: no bound). The returned cell is p's (at Resolution) when it
// became live.
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
	s.json.Store(nil)
	// Look a cell up only when the fix may have left the outline held: a
	// lookup is a cgo call (1.7 µs, BenchmarkCellOf), the outline test
	// pure Go (BenchmarkShapeHolds). Within a metre of an edge, H3
	// decides. The hub's and the finest levels hold the cell each fix is
	// in; the coarsest its hub cell's parent (pure Go), which H3 nests
	// only by centre: a position may lie a hub cell's width outside it
	// (level.slackM).
	if !s.hasCell || !s.hub.Holds(p.Lat, p.Lng, 1) {
		if c := geo.CellOf(p.Lat, p.Lng, l.res); !s.hasCell || c != s.hub.Cell {
			l.move(s, hubLevel, c)
			l.move(s, 0, c.Parent(l.lv[0].res))
			s.hub = c.Shape()
		}
	}
	if !s.hasCell || !s.fine.Holds(p.Lat, p.Lng, 1) {
		if c := geo.CellOf(p.Lat, p.Lng, l.lv[levels-1].res); !s.hasCell || c != s.fine.Cell {
			l.move(s, levels-1, c)
			s.fine = c.Shape()
		}
	}
	s.hasCell = true
	p.Cell = uint64(s.cells[hubLevel])
	s.pos.Cell = p.Cell
	return accepted, s.cells[hubLevel]
}

// move indexes s in cell c at level i, out of its cell there before.
func (l *Live) move(s *techState, i int, c geo.Cell) {
	if s.hasCell {
		if s.cells[i] == c {
			return
		}
		l.lv[i].remove(s.cells[i], s)
	}
	l.lv[i].add(c, s)
	s.cells[i] = c
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

// Cell returns the cell a technician is indexed in, at Resolution.
func (l *Live) Cell(tech int64) (geo.Cell, bool) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if s := l.techs[tech]; s != nil && s.hasCell {
		return s.cells[hubLevel], true
	}
	return 0, false
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
	slices.SortFunc(out, byTechnician)
	return out
}

// AllRendered is All, rendered (render.go).
func (l *Live) AllRendered() []Rendered {
	var b renderBatch
	l.mu.RLock()
	b.entries = make([]renderEntry, 0, len(l.techs))
	for _, s := range l.techs {
		if s.valid {
			b.add(s)
		}
	}
	l.mu.RUnlock()
	return b.finish(true)
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
