package geo

import "testing"

// BenchmarkCellsInBBox: a dispatcher's city viewport, and a small box as a
// near query makes.
func BenchmarkCellsInBBox(b *testing.B) {
	for _, bc := range []struct {
		name string
		box  BBox
	}{
		{"city", BBox{41.13, -8.65, 41.18, -8.58}},
		{"near500m", BBoxAround(41.15, -8.61, 500)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = len(CellsInBBox(bc.box, 8, 4096))
			}
			b.ReportMetric(float64(n), "cells")
		})
	}
}

func BenchmarkBBoxAround(b *testing.B) {
	b.ReportAllocs()
	var x BBox
	for i := range b.N {
		p := &pairs[i&255]
		x = BBoxAround(p[0], p[1], 500)
	}
	sink = x.MinLat
}
