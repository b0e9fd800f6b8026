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

func TestApproxDistanceM(t *testing.T) {
	d, a := DistanceM(41.15, -8.61, 41.16, -8.59), ApproxDistanceM(41.15, -8.61, 41.16, -8.59)
	if math.Abs(d-a)/d > 0.001 {
		t.Fatalf("approx %v vs %v", a, d)
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

// randomPairs returns n pairs of points anywhere, a quarter of them a few
// kilometres apart.
func randomPairs(n int) [][4]float64 {
	rng := rand.New(rand.NewPCG(5, 6))
	out := make([][4]float64, n)
	for i := range out {
		lat, lng := rng.Float64()*178-89, rng.Float64()*360-180
		if i%4 == 0 {
			out[i] = [4]float64{lat, lng, lat + (rng.Float64()-0.5)*0.05, lng + (rng.Float64()-0.5)*0.05}
			continue
		}
		out[i] = [4]float64{lat, lng, rng.Float64()*178 - 89, rng.Float64()*360 - 180}
	}
	return out
}

// TestDistanceMOrb: DistanceM is orb's haversine, scaled to our radius,
// wherever orb's is a number; near antipodes orb's may be NaN, ours is
// half the circumference.
func TestDistanceMOrb(t *testing.T) {
	for _, p := range randomPairs(100_000) {
		got, want := DistanceM(p[0], p[1], p[2], p[3]), orbDistanceM(p[0], p[1], p[2], p[3])
		if math.Abs(got-want) > 1e-8*want+1e-6 {
			t.Fatalf("%v: DistanceM %v, orb %v", p, got, want)
		}
	}
	rng := rand.New(rand.NewPCG(7, 8))
	nan := 0
	for range 10_000 {
		lat, lng := rng.Float64()*178-89, rng.Float64()*360-180
		if math.IsNaN(orbDistanceM(lat, lng, -lat, wrapLng(lng+180))) {
			nan++
		}
		if got := DistanceM(lat, lng, -lat, wrapLng(lng+180)); math.Abs(got-math.Pi*earthRadiusM) > 1 {
			t.Fatalf("antipodes of (%v,%v): %v", lat, lng, got)
		}
	}
	t.Logf("orb's haversine is NaN for %d of 10,000 antipodal pairs", nan)
}

// TestBearingDegOrb: BearingDeg, orb's turned into [0, 360), is the
// formula it replaced.
func TestBearingDegOrb(t *testing.T) {
	for _, p := range randomPairs(100_000) {
		got, want := BearingDeg(p[0], p[1], p[2], p[3]), handBearingDeg(p[0], p[1], p[2], p[3])
		if d := math.Abs(got - want); math.Min(d, 360-d) > 1e-7 || got < 0 || got >= 360 {
			t.Fatalf("%v: BearingDeg %v, hand-written %v", p, got, want)
		}
	}
}

// TestApproxDistanceMOrb: ApproxDistanceM is orb's equirectangular
// distance, scaled to our radius, for points a few kilometres apart,
// across the antimeridian too (where it once went round the world, and
// the tracker took a drive across it for an impossible jump).
func TestApproxDistanceMOrb(t *testing.T) {
	pairs := [][4]float64{{-16.8, 179.9995, -16.8, -179.9995}, {-16.8, -179.99, -16.81, 179.98}, {65.5, 180, 65.5, -179.9}}
	for i, p := range randomPairs(100_000) {
		if i%4 == 0 {
			p[1], p[3] = wrapLng(p[1]), wrapLng(p[3])
			pairs = append(pairs, p)
		}
	}
	for _, p := range pairs {
		got, want := ApproxDistanceM(p[0], p[1], p[2], p[3]), orbApproxDistanceM(p[0], p[1], p[2], p[3])
		if math.Abs(got-want) > 1e-9*want+1e-6 {
			t.Fatalf("%v: ApproxDistanceM %v, orb %v", p, got, want)
		}
		if d := DistanceM(p[0], p[1], p[2], p[3]); math.Abs(got-d) > 0.001*d+1e-6 {
			t.Fatalf("%v: ApproxDistanceM %v, DistanceM %v", p, got, d)
		}
	}
}

// TestShapeHoldsOrb: a point the outline holds is inside the cell's ring
// as orb sees it.
func TestShapeHoldsOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, p := range [][2]float64{{41.15, -8.61}, {41.88, -87.63}, {-33.9, 151.2}, {64.1, -21.9}} {
		c := CellOf(p[0], p[1], 8)
		sh, ring := c.Shape(), orbRing(c)
		for range 5000 {
			lat, lng := p[0]+(rng.Float64()-0.5)*0.02, p[1]+(rng.Float64()-0.5)*0.02
			if sh.Holds(lat, lng, 1) && !orbHolds(ring, lat, lng) {
				t.Fatalf("(%v,%v) held by %s's outline, outside orb's ring", lat, lng, c)
			}
		}
	}
}
