package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/uber/h3-go/v4"
)

func TestDistanceM(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, lng1, lat2, lng2 float64
		want, tol              float64
	}{
		{"Same", 41.15, -8.61, 41.15, -8.61, 0, 0.001},
		{"PortoLisbon", 41.1496, -8.6110, 38.7223, -9.1393, 274_000, 2_000},
		{"OneDegreeLat", 0, 0, 1, 0, 111_195, 10},
		{"Antipodes", 0, 0, 0, 180, math.Pi * earthRadiusM, 1},
	} {
		if got := DistanceM(tc.lat1, tc.lng1, tc.lat2, tc.lng2); math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: DistanceM = %.1f, want %.1f ± %.1f", tc.name, got, tc.want, tc.tol)
		}
	}
}

func TestBearingDeg(t *testing.T) {
	for _, tc := range []struct {
		lat2, lng2, want float64
	}{{1, 0, 0}, {0, 1, 90}, {-1, 0, 180}, {0, -1, 270}} {
		if got := BearingDeg(0, 0, tc.lat2, tc.lng2); math.Abs(got-tc.want) > 1e-6 {
			t.Errorf("BearingDeg to (%v,%v) = %v, want %v", tc.lat2, tc.lng2, got, tc.want)
		}
	}
}

func TestCellParent(t *testing.T) {
	c := CellOf(41.15, -8.61, 9)
	if c.Resolution() != 9 || c.Parent(7).Resolution() != 7 || c.Parent(7) != CellOf(41.15, -8.61, 7) {
		t.Fatalf("cell %s parent %s", c, c.Parent(7))
	}
	// The pure-Go parent is H3's, all over the globe (pentagons included)
	// and at every resolution pair.
	rng := rand.New(rand.NewPCG(1, 2))
	points := [][2]float64{{41.15, -8.61}, {41.87, -87.65}, {90, 0}, {-90, 0}, {0, 180}, {58.1, 10.4} /* near a pentagon */}
	for range 2000 {
		points = append(points, [2]float64{rng.Float64()*180 - 90, rng.Float64()*360 - 180})
	}
	for _, p := range points {
		for res := 0; res <= 15; res++ {
			c := CellOf(p[0], p[1], res)
			if c.Resolution() != h3.Cell(c).Resolution() {
				t.Fatalf("%s: resolution %d, H3 says %d", c, c.Resolution(), h3.Cell(c).Resolution())
			}
			for pr := 0; pr <= res; pr++ {
				if got, want := c.Parent(pr), Cell(h3.Cell(c).Parent(pr)); got != want {
					t.Fatalf("%s parent at %d = %s, H3 says %s", c, pr, got, want)
				}
			}
		}
	}
	if c.Parent(10) != 0 || c.Parent(-1) != 0 {
		t.Fatal("a parent finer than the cell or below 0 must be 0")
	}
}

func BenchmarkCellOf(b *testing.B) {
	b.ReportAllocs()
	for i := range b.N {
		_ = CellOf(41.15+float64(i%1000)*1e-5, -8.61, 9)
	}
}

func BenchmarkDistanceM(b *testing.B) {
	for i := range b.N {
		_ = DistanceM(41.15, -8.61, 41.16+float64(i%10)*1e-4, -8.60)
	}
}

func TestApproxDistanceM(t *testing.T) {
	d, a := DistanceM(41.15, -8.61, 41.16, -8.59), ApproxDistanceM(41.15, -8.61, 41.16, -8.59)
	if math.Abs(d-a)/d > 0.001 {
		t.Fatalf("approx %v vs %v", a, d)
	}
}

func BenchmarkApproxDistanceM(b *testing.B) {
	for i := range b.N {
		_ = ApproxDistanceM(41.15, -8.61, 41.16+float64(i%10)*1e-4, -8.60)
	}
}

// TestShapeHolds: a point the outline holds is in the cell, and most points
// of the cell are held.
func TestShapeHolds(t *testing.T) {
	for _, res := range []int{5, 7, 8, 9, 10} {
		held, total := 0, 0
		for _, p := range [][2]float64{{41.15, -8.61}, {41.88, -87.63}, {-33.9, 151.2}, {64.1, -21.9}, {0.1, 0.1}} {
			c := CellOf(p[0], p[1], res)
			sh := c.Shape()
			r := h3.HexagonEdgeLengthAvgM(res) * 1.5
			for k := range 2000 {
				b := BBoxAround(p[0], p[1], r)
				lat := b.MinLat + (b.MaxLat-b.MinLat)*float64(k%50)/49
				lng := b.MinLng + (b.MaxLng-b.MinLng)*float64(k/50)/39
				in := CellOf(lat, lng, res) == c
				if sh.Holds(lat, lng, 1) {
					held++
					if !in {
						t.Fatalf("res %d: (%v,%v) held by %s but in %s", res, lat, lng, c, CellOf(lat, lng, res))
					}
				}
				if in {
					total++
				}
			}
		}
		if held < total*9/10 {
			t.Fatalf("res %d: only %d of %d points in the cells were held", res, held, total)
		}
	}
}

func BenchmarkShapeHolds(b *testing.B) {
	sh := CellOf(41.15, -8.61, 8).Shape()
	for i := range b.N {
		_ = sh.Holds(41.15+float64(i%100)*1e-5, -8.61, 1)
	}
}
