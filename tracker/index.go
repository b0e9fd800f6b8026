package tracker

import (
	"cmp"
	"container/heap"
	"math"
	"slices"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// The live index's queries. Each technician is in one cell at each of
// three H3 resolutions (levels): the hub's, two finer (a 66 m edge at the
// default 10) and two coarser (3.2 km at 6). A query around a point takes
// the finest level at which a disk of at most maxRings rings around the
// point's cell covers its circle, so it reads a few dozen small cells
// rather than every position in a few big ones; one call into H3 gives
// the disk (a cover computed by sampling and cell outlines took about
// 30 cgo calls, 70 µs for a 200 m query: BenchmarkLive_Near). Each
// candidate's distance is computed once, and the nearest are selected
// without sorting all of them.

const (
	levels   = 3
	hubLevel = 1 // the level at Live.res: positions' Cell, the hub's cells
	// maxRings bounds a disk: 3k(k+1)+1 = 217 cells at 8.
	maxRings = 8
)

// level is the index at one resolution: each cell's technicians, in no
// order (removal swaps the last in). It holds their states, not their
// ids: a query reads each candidate's position without a lookup in the
// map of every technician (a cache miss each, half a query's time at
// 100,000 technicians).
type level struct {
	res   int
	cells map[geo.Cell][]*techState
	// slackM is how far outside its cell a position indexed here may lie:
	// 0 where each position is in the cell holding it.
	slackM float64
}

func (lv *level) add(c geo.Cell, s *techState) { lv.cells[c] = append(lv.cells[c], s) }

func (lv *level) remove(c geo.Cell, s *techState) {
	ts := lv.cells[c]
	i := slices.Index(ts, s)
	if i < 0 {
		return
	}
	ts[i] = ts[len(ts)-1]
	if ts = ts[:len(ts)-1]; len(ts) == 0 {
		delete(lv.cells, c)
	} else {
		lv.cells[c] = ts
	}
}

// disk returns the cells, at the finest level that can, covering every
// point within radiusM of (lat, lng), and that level; nil when even the
// coarsest needs more than maxRings rings (the caller scans everything).
//
// A point q in cell C0, and p in a cell k rings out: centres of ring-k
// cells are at least 1.5·k·e apart from C0's (the ring's hexagon of
// centres, at the middle of its sides), and each point at most one edge e
// (the circumradius) from its centre, so |p-q| >= 1.5·k·e - 2·e. Ring k
// lies wholly outside the circle when that exceeds radiusM. e is C0's own
// edge, with a margin for its neighbours' sizes, which change slowly
// (by well under a percent a ring, more near H3's pentagons, all at sea:
// ringMargin covers them; TestIndexMatchesAScan holds it to a scan). A level whose positions may lie
// outside their cells (slackM) widens the circle by as much.
func (l *Live) disk(lat, lng, radiusM float64) ([]geo.Cell, int) {
	const ringMargin = 0.15
	for i := levels - 1; i >= 0; i-- {
		c := geo.CellOf(lat, lng, l.lv[i].res)
		e := c.EdgeM()
		eMin, eMax := e*(1-ringMargin), e*(1+ringMargin)
		k := int((radiusM + l.lv[i].slackM + 2*eMax) / (1.5 * eMin))
		if k <= maxRings {
			return c.Disk(k), i
		}
	}
	return nil, 0
}

// mPerDegree is a degree of latitude's length (of a great circle).
var mPerDegree = geo.DistanceM(0, 0, 1, 0)

// near is a candidate and its distance.
type near struct {
	d float64
	s *techState
}

// Near returns the live positions within radiusM of a point, nearest
// first (by technician id at equal distance); at most limit of them when
// limit > 0.
func (l *Live) Near(lat, lng, radiusM float64, limit int) []enroute.Position {
	cells, lv := l.disk(lat, lng, radiusM)
	l.mu.RLock()
	defer l.mu.RUnlock()
	found := l.near(cells, lv, lat, lng, radiusM, limit)
	out := make([]enroute.Position, len(found))
	for i := range found {
		out[i] = found[i].s.pos // copied under the lock: Apply writes in place
	}
	return out
}

// NearRendered is Near, rendered (render.go).
func (l *Live) NearRendered(lat, lng, radiusM float64, limit int) []Rendered {
	cells, lv := l.disk(lat, lng, radiusM)
	var b renderBatch
	l.mu.RLock()
	for _, n := range l.near(cells, lv, lat, lng, radiusM, limit) {
		b.add(n.s)
	}
	l.mu.RUnlock()
	return b.finish(false)
}

// near selects Near's answer from the cells of level lv (every technician
// when cells is nil). The caller holds l.mu.
func (l *Live) near(cells []geo.Cell, lv int, lat, lng, radiusM float64, limit int) []near {
	// A plane tangent at the query point (an equirectangular projection
	// with its cosine computed once: no trigonometry per candidate)
	// rejects what is plainly out; the great-circle distance (25 ns)
	// decides the rest. Within 20 km below 70° of latitude the plane's
	// distance is within 1% of the great circle's (the cosine taken at
	// the query's latitude, not the pair's mean, adds up to 0.5% to the
	// projection's own 0.5%); farther, or nearer a pole, it strays more
	// (a technician 499.9 km away at 78° north measured over 500 km), and
	// every candidate gets the great circle.
	rough2 := math.Inf(1)
	if radiusM <= 20_000 && math.Abs(lat) <= 70 {
		r := (radiusM*1.01 + 1) / mPerDegree
		rough2 = r * r
	}
	cosLat := math.Cos(lat * math.Pi / 180)
	var found []near
	keep := func(s *techState) {
		dx := s.pos.Lng - lng
		if dx > 180 {
			dx -= 360
		} else if dx < -180 {
			dx += 360
		}
		dx *= cosLat
		dy := s.pos.Lat - lat
		if dx*dx+dy*dy > rough2 {
			return
		}
		if d := geo.DistanceM(lat, lng, s.pos.Lat, s.pos.Lng); d <= radiusM {
			found = append(found, near{d, s})
		}
	}
	if cells == nil {
		for _, s := range l.techs {
			if s.valid {
				keep(s)
			}
		}
	} else {
		idx := l.lv[lv].cells
		for _, c := range cells {
			for _, s := range idx[c] {
				keep(s)
			}
		}
	}
	return nearest(found, limit)
}

// closer orders candidates by distance, then technician id.
func closer(a, b near) int {
	if c := cmp.Compare(a.d, b.d); c != 0 {
		return c
	}
	return cmp.Compare(a.s.pos.TechnicianID, b.s.pos.TechnicianID)
}

// nearest returns the limit nearest of ns (all when limit <= 0), sorted:
// past the limit, a heap of the limit best so far, so m candidates cost
// m·log(limit), not m·log(m).
func nearest(ns []near, limit int) []near {
	if limit <= 0 || len(ns) <= limit {
		slices.SortFunc(ns, closer)
		return ns
	}
	h := farthestFirst(slices.Clone(ns[:limit]))
	heap.Init(&h)
	for _, n := range ns[limit:] {
		if closer(n, h[0]) < 0 {
			h[0] = n
			heap.Fix(&h, 0)
		}
	}
	slices.SortFunc(h, closer)
	return h
}

// farthestFirst is a max-heap of candidates: the farthest kept on top.
type farthestFirst []near

func (h farthestFirst) Len() int           { return len(h) }
func (h farthestFirst) Less(i, j int) bool { return closer(h[i], h[j]) > 0 }
func (h farthestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *farthestFirst) Push(x any)        { *h = append(*h, x.(near)) }
func (h *farthestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// InBBox returns the live positions inside b, by technician id. A box
// whose circumscribed circle a disk covers (any box but a long thin one
// or a wide one) reads the disk's cells; others read the hub level's
// cells that b meets, unless b needs more than maxCells of them, when
// every position is looked at.
func (l *Live) InBBox(b geo.BBox, maxCells int) []enroute.Position {
	cells, lv := l.boxCells(b, maxCells)
	l.mu.RLock()
	ss := l.inBBox(cells, lv, b)
	out := make([]enroute.Position, len(ss))
	for i, s := range ss {
		out[i] = s.pos
	}
	l.mu.RUnlock()
	slices.SortFunc(out, byTechnician)
	return out
}

// InBBoxRendered is InBBox, rendered (render.go).
func (l *Live) InBBoxRendered(b geo.BBox, maxCells int) []Rendered {
	cells, lv := l.boxCells(b, maxCells)
	var rb renderBatch
	l.mu.RLock()
	for _, s := range l.inBBox(cells, lv, b) {
		rb.add(s)
	}
	l.mu.RUnlock()
	return rb.finish(true)
}

// boxCells returns the cells InBBox reads and their level; nil cells:
// every technician.
func (l *Live) boxCells(b geo.BBox, maxCells int) ([]geo.Cell, int) {
	if b.Validate() == nil && b.SpanLngDeg() <= 180 {
		lat, lng := (b.MinLat+b.MaxLat)/2, b.MinLng+b.SpanLngDeg()/2
		if lng > 180 {
			lng -= 360
		}
		r := max(geo.DistanceM(lat, lng, b.MinLat, b.MinLng), geo.DistanceM(lat, lng, b.MaxLat, b.MinLng))
		// A disk over twice the box's area is worse than its outline's cover.
		if r*r*3.15 <= 2*b.AreaKm2()*1e6 {
			if cells, lv := l.disk(lat, lng, r); cells != nil {
				return cells, lv
			}
		}
	}
	return geo.CellsInBBox(b, l.res, maxCells), hubLevel
}

// inBBox returns the technicians inside b among the cells of level lv
// (every technician when cells is nil). The caller holds l.mu.
func (l *Live) inBBox(cells []geo.Cell, lv int, b geo.BBox) []*techState {
	var out []*techState
	if cells == nil {
		for _, s := range l.techs {
			if s.valid && b.Contains(s.pos.Lat, s.pos.Lng) {
				out = append(out, s)
			}
		}
		return out
	}
	idx := l.lv[lv].cells
	for _, c := range cells {
		for _, s := range idx[c] {
			if b.Contains(s.pos.Lat, s.pos.Lng) {
				out = append(out, s)
			}
		}
	}
	return out
}

func byTechnician(a, b enroute.Position) int { return cmp.Compare(a.TechnicianID, b.TechnicianID) }
