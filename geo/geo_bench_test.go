package geo

import (
	"math/rand/v2"
	"testing"

	"github.com/uber/h3-go/v4"
)

// sink keeps the compiler from dropping what a benchmark computes.
var sink float64

// pairs are point pairs a few kilometres apart around Porto, as the ETA
// watcher and Near measure them.
var pairs = func() (out [256][4]float64) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range out {
		lat, lng := 41.10+rng.Float64()*0.1, -8.70+rng.Float64()*0.1
		out[i] = [4]float64{lat, lng, lat + (rng.Float64()-0.5)*0.05, lng + (rng.Float64()-0.5)*0.05}
	}
	return out
}()

func BenchmarkCellOf(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		_ = CellOf(41.15+float64(i%1000)*1e-5, -8.61, 9)
	}
}

// BenchmarkDistanceM: geo's DistanceM, and orb's haversine (scaled to
// our radius).
func BenchmarkDistanceM(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func(lat1, lng1, lat2, lng2 float64) float64
	}{{"geo", DistanceM}, {"orb", orbDistanceM}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			s := 0.0
			for i := range b.N {
				p := &pairs[i&255]
				s += bc.f(p[0], p[1], p[2], p[3])
			}
			sink = s
		})
	}
}

// BenchmarkBearingDeg: geo's (orb's), and the formula it replaced.
func BenchmarkBearingDeg(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func(lat1, lng1, lat2, lng2 float64) float64
	}{{"geo", BearingDeg}, {"hand", handBearingDeg}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			s := 0.0
			for i := range b.N {
				p := &pairs[i&255]
				s += bc.f(p[0], p[1], p[2], p[3])
			}
			sink = s
		})
	}
}

// BenchmarkApproxDistanceM: geo's equirectangular distance, and orb's
// (geo.Distance, scaled to our radius).
func BenchmarkApproxDistanceM(b *testing.B) {
	for _, bc := range []struct {
		name string
		f    func(lat1, lng1, lat2, lng2 float64) float64
	}{{"geo", ApproxDistanceM}, {"orb", orbApproxDistanceM}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			s := 0.0
			for i := range b.N {
				p := &pairs[i&255]
				s += bc.f(p[0], p[1], p[2], p[3])
			}
			sink = s
		})
	}
}

// BenchmarkBBoxContains: a viewport's test of each position the hub
// publishes, on a box across the antimeridian (the longer way for both).
func BenchmarkBBoxContains(b *testing.B) {
	box := BBox{41.10, 179.5, 41.20, -179.5}
	var pts [256][2]float64 // about half in the box, on both sides
	for i, p := range pairs {
		pts[i] = [2]float64{p[0], wrapLng(179 + (p[1]+8.70)*20)}
	}
	for _, bc := range []struct {
		name string
		f    func(b BBox, lat, lng float64) bool
	}{{"geo", BBox.Contains}, {"orb", orbContains}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for i := range b.N {
				p := &pts[i&255]
				if bc.f(box, p[0], p[1]) {
					n++
				}
			}
			sink = float64(n)
		})
	}
}

// BenchmarkShapeHolds: geo's outline with a margin, and orb's ring
// containment (no margin) on the same cell.
func BenchmarkShapeHolds(b *testing.B) {
	c := CellOf(41.15, -8.61, 8)
	b.Run("geo", func(b *testing.B) {
		b.ReportAllocs()
		sh := c.Shape()
		n := 0
		for i := range b.N {
			if sh.Holds(41.15+float64(i%100)*1e-5, -8.61, 1) {
				n++
			}
		}
		sink = float64(n)
	})
	b.Run("orb", func(b *testing.B) {
		b.ReportAllocs()
		r := orbRing(c)
		n := 0
		for i := range b.N {
			if orbHolds(r, 41.15+float64(i%100)*1e-5, -8.61) {
				n++
			}
		}
		sink = float64(n)
	})
}

// BenchmarkCellParent: geo's pure-Go parent, and H3's (a cgo call). orb
// has no H3 cells: there is nothing of it to compare.
func BenchmarkCellParent(b *testing.B) {
	cells := make([]Cell, 256)
	for i := range cells {
		p := &pairs[i]
		cells[i] = CellOf(p[0], p[1], 9)
	}
	b.Run("geo", func(b *testing.B) {
		b.ReportAllocs()
		var x Cell
		for i := range b.N {
			x ^= cells[i&255].Parent(7)
		}
		sink = float64(x)
	})
	b.Run("h3", func(b *testing.B) {
		b.ReportAllocs()
		var x Cell
		for i := range b.N {
			x ^= Cell(h3.Cell(cells[i&255]).Parent(7))
		}
		sink = float64(x)
	})
}
