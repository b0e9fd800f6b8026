// Package geo is Enroute's geometry: H3 cells, great-circle distances,
// bounding boxes and GeoJSON. It is the only importer of uber/h3-go and
// paulmach/orb, and a leaf any package may import. Everything here is a
// pure function, safe for concurrent use. Coordinates are always (lat, lng)
// in degrees; orb and GeoJSON put them [lng, lat], and Point is where one
// becomes the other.
//
// orb serves where it is as good: its bearing, its bounds, its GeoJSON.
// What runs on a hot path stays hand-written where orb's is slower or
// wrong at an edge, and says so beside it with its benchmark's figure
// (geo_bench_test.go, bbox_bench_test.go; reference_test.go writes out
// orb's way of each, and the tests hold the two to the same answers).
package geo

import (
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/uber/h3-go/v4"
)

// Point returns (lat, lng) as orb's point, [lng, lat].
func Point(lat, lng float64) orb.Point { return orb.Point{lng, lat} }

// Cell is an H3 cell index.
type Cell uint64

// CellOf returns the cell of resolution res holding (lat, lng). About 1 µs.
func CellOf(lat, lng float64, res int) Cell {
	return Cell(h3.LatLngToCell(h3.NewLatLng(lat, lng), res))
}

// Parent returns c's ancestor at resolution res (c itself at its own), or
// 0 when res is finer than c's or negative. Pure Go from the H3 index layout (resolution in
// bits 52-55, then a 3-bit digit per resolution from bit 42 down, 7 past
// the cell's own), a C call less per ETA route step (a third of
// BenchmarkEstimate's allocations; the cell lookups remain the cost).
// orb has no H3 cells; H3's own: 43 ns and an allocation vs 2.5 ns here
// (BenchmarkCellParent).
func (c Cell) Parent(res int) Cell {
	own := c.Resolution()
	if res < 0 || res > own {
		return 0
	}
	x := uint64(c)&^(0xf<<52) | uint64(res)<<52
	for r := res + 1; r <= own; r++ {
		x |= 7 << ((15 - r) * 3)
	}
	return Cell(x)
}

// Resolution returns c's resolution.
func (c Cell) Resolution() int { return int(uint64(c) >> 52 & 0xf) }

// Valid reports whether c is an H3 cell index (a snapshot read from disk
// may hold anything).
func (c Cell) Valid() bool { return h3.Cell(c).IsValid() }

// String returns the cell's hexadecimal form, as H3 tools print it.
func (c Cell) String() string { return h3.IndexToString(uint64(c)) }

// earthRadiusM is the mean Earth radius (IUGG). orb's geo functions use
// WGS84's equatorial radius, orb.EarthRadius, 0.11% longer: their lengths
// are scaled by orbScale, so distances stay those the ETA model learned.
const earthRadiusM = 6371008.8

// orbScale turns a length on orb's sphere into one on ours.
const orbScale = earthRadiusM / orb.EarthRadius

// DistanceM returns the great-circle (haversine) distance in metres.
// orb's DistanceHaversine: 101 ns vs 76 ns here (BenchmarkDistanceM), and
// NaN for some antipodal pairs (TestDistanceMOrb).
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(a)))
}

// BearingDeg returns the initial bearing from point 1 to point 2, [0, 360):
// orb's, which is (-180, 180]. No hot path calls it.
func BearingDeg(lat1, lng1, lat2, lng2 float64) float64 {
	return math.Mod(orbgeo.Bearing(Point(lat1, lng1), Point(lat2, lng2))+360, 360)
}

// Center returns the centre of cell c.
func (c Cell) Center() (lat, lng float64) {
	ll := h3.Cell(c).LatLng()
	return ll.Lat, ll.Lng
}

// ApproxDistanceM is an equirectangular distance, within 0.1% of DistanceM
// under a few kilometres and several times cheaper; for hot-path checks.
// Across the antimeridian it goes the short way. orb's geo.Distance is the
// same formula: 55 ns vs 11 ns here (BenchmarkApproxDistanceM).
func ApproxDistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	dLng := math.Abs(lng2 - lng1)
	if dLng > 180 {
		dLng = 360 - dLng
	}
	x := dLng * rad * math.Cos((lat1+lat2)/2*rad)
	y := (lat2 - lat1) * rad
	return earthRadiusM * math.Sqrt(x*x+y*y)
}

// Shape is a cell's outline in a local plane, for repeated containment
// tests without calling into H3 (a cgo call, about 1.7 µs).
type Shape struct {
	Cell       Cell
	lat0, lng0 float64 // the plane's origin: the cell's centre
	kx, ky     float64 // metres per degree of longitude and latitude there
	edges      []edge
}

// edge is one side of an outline as the line nx*x + ny*y + c = 0, its
// normal (nx, ny) of unit length and pointing inward: nx*x + ny*y + c is a
// point's distance inside that side, in metres.
type edge struct{ nx, ny, c float64 }

// Neighbors returns the cells around c (six, or five around a pentagon).
func (c Cell) Neighbors() []Cell {
	var out []Cell
	for _, n := range h3.Cell(c).GridDisk(1) {
		if Cell(n) != c {
			out = append(out, Cell(n))
		}
	}
	return out
}

// Disk returns the cells within k steps of c (c, its neighbours, theirs...):
// 3k(k+1)+1 of them, fewer around a pentagon. One call into H3.
func (c Cell) Disk(k int) []Cell {
	hs := h3.Cell(c).GridDisk(k)
	out := make([]Cell, len(hs))
	for i, h := range hs {
		out[i] = Cell(h)
	}
	return out
}

// EdgeM returns the edge length of a regular hexagon of c's area: c's own
// size, where cells of one resolution differ by up to twice in area over
// the globe. One call into H3.
func (c Cell) EdgeM() float64 {
	return math.Sqrt(2 * h3.CellAreaM2(h3.Cell(c)) / (3 * math.Sqrt(3)))
}

// EdgeAvgM returns the average edge length of resolution res's hexagons.
func EdgeAvgM(res int) float64 { return h3.HexagonEdgeLengthAvgKm(res) * 1000 }

// Shape returns c's outline.
func (c Cell) Shape() Shape {
	const rad = math.Pi / 180
	ll := h3.Cell(c).LatLng()
	s := Shape{Cell: c, lat0: ll.Lat, lng0: ll.Lng, kx: rad * earthRadiusM * math.Cos(ll.Lat*rad), ky: rad * earthRadiusM}
	vs := h3.Cell(c).Boundary()
	s.edges = make([]edge, 0, len(vs))
	for i, a := range vs {
		b := vs[(i+1)%len(vs)]
		ax, ay := (a.Lng-s.lng0)*s.kx, (a.Lat-s.lat0)*s.ky
		bx, by := (b.Lng-s.lng0)*s.kx, (b.Lat-s.lat0)*s.ky
		l := math.Hypot(bx-ax, by-ay)
		if l == 0 {
			continue
		}
		e := edge{nx: (ay - by) / l, ny: (bx - ax) / l}
		e.c = -(e.nx*ax + e.ny*ay)
		if e.c < 0 { // the centre, (0, 0), is inside: turn the normal toward it
			e = edge{-e.nx, -e.ny, -e.c}
		}
		s.edges = append(s.edges, e)
	}
	return s
}

// Holds reports whether (lat, lng) is inside the outline by more than
// marginM metres, so surely in the cell: H3's edges are straight in its own
// projection, and a local plane departs from it by far less than a metre
// over a cell of resolution 5 or finer. Cells are convex. orb's
// planar.RingContains on the outline: 162 ns vs 5.5 ns here, and no margin
// (BenchmarkShapeHolds).
func (s *Shape) Holds(lat, lng, marginM float64) bool {
	if len(s.edges) < 3 {
		return false
	}
	px, py := (lng-s.lng0)*s.kx, (lat-s.lat0)*s.ky
	for _, e := range s.edges {
		if e.nx*px+e.ny*py+e.c <= marginM {
			return false
		}
	}
	return true
}
