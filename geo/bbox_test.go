package geo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

func TestParseBBox(t *testing.T) {
	b, err := ParseBBox("41.1, -8.7, 41.2,-8.5")
	if err != nil || b != (BBox{41.1, -8.7, 41.2, -8.5}) {
		t.Fatalf("ParseBBox = %+v, %v", b, err)
	}
	for _, bad := range []string{"", "1,2,3", "a,b,c,d", "41.2,-8.5,41.1,-8.7", "91,0,92,1", "NaN,0,1,1", "0,Inf,1,1"} {
		if _, err := ParseBBox(bad); err == nil {
			t.Errorf("ParseBBox(%q) accepted", bad)
		}
	}
}

func TestNewBBox(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		in                   [4]float64
		want                 BBox
		crosses              bool
		spanDeg              float64
		in1, out1, in2, out2 [2]float64 // points that must be inside and outside
		bad                  bool
	}{
		{name: "plain", in: [4]float64{41.8, -87.7, 41.9, -87.6}, want: BBox{41.8, -87.7, 41.9, -87.6}, spanDeg: 0.1,
			in1: [2]float64{41.85, -87.65}, in2: [2]float64{41.8, -87.7}, out1: [2]float64{41.85, -87.5}, out2: [2]float64{42, -87.65}},
		// West > east within ±180: across the antimeridian (RFC 7946).
		{name: "across", in: [4]float64{-17, 179.5, -16, -179.5}, want: BBox{-17, 179.5, -16, -179.5}, crosses: true, spanDeg: 1,
			in1: [2]float64{-16.5, 179.9}, in2: [2]float64{-16.5, -179.9}, out1: [2]float64{-16.5, 0}, out2: [2]float64{-16.5, 179}},
		// Almost every longitude, the long way round, in a thin band.
		{name: "band", in: [4]float64{41.8, -179.9, 41.9, 179.9}, want: BBox{41.8, -179.9, 41.9, 179.9}, spanDeg: 359.8,
			in1: [2]float64{41.88, -87.63}, in2: [2]float64{41.85, 100}, out1: [2]float64{41.85, 179.95}, out2: [2]float64{41.7, -87.63}},
		// A map panned east past 180 reports 170..190.
		{name: "wrapped", in: [4]float64{-17, 170, -16, 190}, want: BBox{-17, 170, -16, -170}, crosses: true, spanDeg: 20,
			in1: [2]float64{-16.5, 175}, in2: [2]float64{-16.5, -175}, out1: [2]float64{-16.5, -160}, out2: [2]float64{-16.5, 160}},
		{name: "wrapped west", in: [4]float64{10, -200, 11, -170}, want: BBox{10, 160, 11, -170}, crosses: true, spanDeg: 30,
			in1: [2]float64{10.5, 165}, in2: [2]float64{10.5, -175}, out1: [2]float64{10.5, 0}, out2: [2]float64{10.5, 150}},
		{name: "world and more", in: [4]float64{-90, -300, 90, 300}, want: BBox{-90, -180, 90, 180}, spanDeg: 360,
			in1: [2]float64{0, 0}, in2: [2]float64{-89, 179.9}, out1: [2]float64{91, 0}, out2: [2]float64{-91, 0}},
		{name: "NaN", in: [4]float64{math.NaN(), 0, 1, 1}, bad: true},
		{name: "infinite", in: [4]float64{0, 0, 1, math.Inf(1)}, bad: true},
		{name: "upside down", in: [4]float64{2, 0, 1, 1}, bad: true},
		{name: "beyond a pole", in: [4]float64{0, 0, 91, 1}, bad: true},
		{name: "wrapped east to west", in: [4]float64{0, 190, 1, 170}, bad: true},
		{name: "far beyond", in: [4]float64{0, 0, 1, 600}, bad: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := NewBBox(tc.in[0], tc.in[1], tc.in[2], tc.in[3])
			if tc.bad {
				if err == nil {
					t.Fatalf("NewBBox(%v) = %+v, want an error", tc.in, b)
				}
				return
			}
			if err != nil || b != tc.want {
				t.Fatalf("NewBBox(%v) = %+v, %v; want %+v", tc.in, b, err, tc.want)
			}
			if b.Crosses() != tc.crosses || math.Abs(b.SpanLngDeg()-tc.spanDeg) > 1e-9 {
				t.Errorf("Crosses %v, SpanLngDeg %v; want %v, %v", b.Crosses(), b.SpanLngDeg(), tc.crosses, tc.spanDeg)
			}
			for _, p := range [][2]float64{tc.in1, tc.in2} {
				if !b.Contains(p[0], p[1]) {
					t.Errorf("%v is not in %+v", p, b)
				}
			}
			for _, p := range [][2]float64{tc.out1, tc.out2} {
				if b.Contains(p[0], p[1]) {
					t.Errorf("%v is in %+v", p, b)
				}
			}
		})
	}
}

func TestAreaKm2(t *testing.T) {
	world := BBox{-90, -180, 90, 180}
	r := earthRadiusM / 1000
	if got, want := world.AreaKm2(), 4*math.Pi*r*r; math.Abs(got-want)/want > 1e-9 {
		t.Errorf("world: %v km², want %v", got, want)
	}
	// Across the antimeridian a box is as large as its twin that is not.
	if a, b := (BBox{-17, 179.5, -16, -179.5}).AreaKm2(), (BBox{-17, 0, -16, 1}).AreaKm2(); math.Abs(a-b) > 1e-6 {
		t.Errorf("across: %v km², its twin %v", a, b)
	}
	// A degree by a degree at the equator: about 111.2 km squared.
	if got := (BBox{0, 0, 1, 1}).AreaKm2(); math.Abs(got-12364) > 5 {
		t.Errorf("1°×1° at the equator: %v km²", got)
	}
}

// coveredAll checks that every point of a 40×40 grid over b lies in a cell
// of cover.
func coveredAll(t *testing.T, b BBox, res int, cover []Cell) {
	t.Helper()
	set := map[Cell]bool{}
	for _, c := range cover {
		set[c] = true
	}
	span := b.SpanLngDeg()
	for i := 0; i <= 40; i++ {
		for j := 0; j <= 40; j++ {
			lat := b.MinLat + (b.MaxLat-b.MinLat)*float64(i)/40
			lng := b.MinLng + span*float64(j)/40
			if lng > 180 {
				lng -= 360
			}
			if !b.Contains(lat, lng) {
				t.Fatalf("grid point (%v,%v) outside %+v", lat, lng, b)
			}
			if !set[CellOf(lat, lng, res)] {
				t.Fatalf("res %d: (%v,%v) is in no cell of the cover of %+v", res, lat, lng, b)
			}
		}
	}
}

// TestCellsInBBoxCover: every point of a box lies in a cell of its cover.
func TestCellsInBBoxCover(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    BBox
		res  []int
	}{
		{"central Porto", BBox{41.13, -8.65, 41.18, -8.58}, []int{6, 7, 8}},
		{"Fiji, across the antimeridian", BBox{-16.9, 179.8, -16.7, -179.9}, []int{6, 7, 8}},
		// 40° wide and 0.05° tall: great circles between its corners would
		// pass hundreds of kilometres north of its southern edge.
		{"a thin band", BBox{41.80, -100, 41.85, -60}, []int{5}},
		{"a street's width", BBox{41.800, -88.5, 41.801, -87.0}, []int{7, 8, 9}},
		{"a point", BBox{41.88, -87.63, 41.88, -87.63}, []int{5, 8, 10}},
		{"a parallel", BBox{41.88, -87.70, 41.88, -87.60}, []int{8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, res := range tc.res {
				cells := CellsInBBox(tc.b, res, 10_000)
				if len(cells) == 0 {
					t.Fatalf("res %d: no cover", res)
				}
				coveredAll(t, tc.b, res, cells)
			}
		})
	}
	for _, tc := range []struct {
		name string
		b    BBox
		res  int
	}{
		{"a continent at res 9", BBox{-60, -170, 70, 170}, 9},
		// Before, the world's width was measured as 0 km and H3 was asked to
		// fill it: 39 s and 5.1 GB.
		{"the world", BBox{-90, -180, 90, 180}, 8},
		{"almost every longitude", BBox{41.8, -179.9, 41.9, 179.9}, 8},
		{"near a pole", BBox{86, -10, 87, 10}, 5},
		{"wider than a hemisphere", BBox{0, -100, 0.01, 100}, 5},
	} {
		if cells := CellsInBBox(tc.b, tc.res, 1000); cells != nil {
			t.Errorf("%s: %d cells, want none (filter by the box)", tc.name, len(cells))
		}
	}
}

func TestBBoxAround(t *testing.T) {
	b := BBoxAround(41.15, -8.61, 1000)
	for _, p := range [][2]float64{{41.1585, -8.61}, {41.15, -8.5985}, {41.1415, -8.6215}} {
		if !b.Contains(p[0], p[1]) {
			t.Errorf("%v not in %+v", p, b)
		}
	}
	if b.Contains(41.17, -8.61) {
		t.Error("2 km away is inside a 1 km box")
	}
	// Beside the antimeridian the box crosses it.
	b = BBoxAround(-16.8, 179.99, 5000)
	if !b.Crosses() || !b.Contains(-16.8, -179.97) || !b.Contains(-16.8, 179.96) || b.Contains(-16.8, 0) {
		t.Errorf("across the antimeridian: %+v", b)
	}
	// A circle holding a pole holds every longitude.
	b = BBoxAround(89.99, 0, 5000)
	if b.MaxLat != 90 || b.MinLng != -180 || b.MaxLng != 180 || !b.Contains(89.98, 179) {
		t.Errorf("around the pole: %+v", b)
	}
	// Every point of the circle is in its box, wherever it is.
	for _, c := range [][3]float64{{41.15, -8.61, 300_000}, {-16.8, 179.5, 200_000}, {80, 100, 500_000}, {0, -180, 10_000}} {
		b := BBoxAround(c[0], c[1], c[2])
		for k := 0; k < 72; k++ {
			lat, lng := destination(c[0], c[1], float64(k*5), c[2]*0.999)
			if !b.Contains(lat, lng) {
				t.Errorf("around %v: (%v,%v) outside %+v", c, lat, lng, b)
			}
		}
	}
}

// destination returns the point distM from (lat, lng) on bearing brgDeg.
func destination(lat, lng, brgDeg, distM float64) (float64, float64) {
	const rad = math.Pi / 180
	d, brg := distM/earthRadiusM, brgDeg*rad
	φ1, λ1 := lat*rad, lng*rad
	φ2 := math.Asin(math.Sin(φ1)*math.Cos(d) + math.Cos(φ1)*math.Sin(d)*math.Cos(brg))
	λ2 := λ1 + math.Atan2(math.Sin(brg)*math.Sin(d)*math.Cos(φ1), math.Cos(d)-math.Sin(φ1)*math.Sin(φ2))
	return φ2 / rad, wrapLng(λ2 / rad)
}

// FuzzParseBBox: whatever a client sends, a box is refused or valid; a
// valid box holds its own corners, and covering it with cells stays within
// the limit asked for.
func FuzzParseBBox(f *testing.F) {
	for _, s := range []string{"41.1,-8.7,41.2,-8.5", "-90,-180,90,180", "41.8,-179.9,41.9,179.9", "-17,179.5,-16,-179.5",
		"-17,170,-16,190", "10,-200,11,-170", "0,0,0,0", "NaN,0,1,1", "1e308,0,1,1", "41.2,-8.5,41.1,-8.7", "1,2,3", " 1 , 2 , 3 , 4 "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBBox(s)
		if err != nil {
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("ParseBBox(%q) = %+v, which Validate refuses: %v", s, b, err)
		}
		if !b.Contains(b.MinLat, b.MinLng) || !b.Contains(b.MaxLat, b.MaxLng) {
			t.Fatalf("%+v does not hold its corners", b)
		}
		if span := b.SpanLngDeg(); !(span >= 0 && span <= 360) {
			t.Fatalf("%+v spans %v°", b, span)
		}
		if cells := CellsInBBox(b, 7, 64); len(cells) > 64 {
			t.Fatalf("%+v: %d cells, over the limit of 64", b, len(cells))
		}
	})
}

// TestBBoxOrb: Contains is orb's Bound.Contains on each side of the
// antimeridian, AreaKm2 orb's spherical area, and BBoxAround orb's
// NewBoundAroundPoint, except near the poles, where orb's may be NaN.
func TestBBoxOrb(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 20_000 {
		lat1, lat2 := rng.Float64()*180-90, rng.Float64()*180-90
		b := BBox{math.Min(lat1, lat2), rng.Float64()*360 - 180, math.Max(lat1, lat2), rng.Float64()*360 - 180}
		for range 20 {
			lat, lng := rng.Float64()*180-90, rng.Float64()*360-180
			if b.Contains(lat, lng) != orbContains(b, lat, lng) {
				t.Fatalf("%+v holds (%v,%v): %v, orb says %v", b, lat, lng, b.Contains(lat, lng), orbContains(b, lat, lng))
			}
		}
		if got, want := b.AreaKm2(), orbAreaKm2(b); math.Abs(got-want) > 1e-9*want+1e-9 {
			t.Fatalf("%+v: %v km², orb %v", b, got, want)
		}
	}
	for range 20_000 {
		lat, lng, r := rng.Float64()*170-85, rng.Float64()*360-180, rng.Float64()*500_000
		got, want := BBoxAround(lat, lng, r), orbBBoxAround(lat, lng, r)
		if math.Abs(got.MinLat-want.MinLat)+math.Abs(got.MaxLat-want.MaxLat) > 1e-9 ||
			math.Abs(got.MinLng-want.MinLng)+math.Abs(got.MaxLng-want.MaxLng) > 1e-9 {
			t.Fatalf("around (%v,%v) by %v m: %+v, orb %+v", lat, lng, r, got, want)
		}
	}
	// Circles that just reach a pole.
	nan := 0
	for range 500_000 {
		lat, lng := rng.Float64()*179.8-89.9, rng.Float64()*360-180
		r := (90 - math.Abs(lat) - math.Pow(10, -rng.Float64()*14)) * math.Pi / 180 * earthRadiusM
		if r <= 0 {
			continue
		}
		if b := orbBBoxAround(lat, lng, r); math.IsNaN(b.MinLng) {
			nan++
		}
		if b := BBoxAround(lat, lng, r); b.Validate() != nil {
			t.Fatalf("around (%v,%v) by %v m: %+v: %v", lat, lng, r, b, b.Validate())
		}
	}
	t.Logf("orb's bound around a point is NaN for %d of 500,000 circles that just reach a pole", nan)
}

// TestBounds: orb's bounds of a box, split at the antimeridian.
func TestBounds(t *testing.T) {
	for _, tc := range []struct {
		b    BBox
		want []orb.Bound
	}{
		{BBox{41.1, -8.7, 41.2, -8.5}, []orb.Bound{{Min: orb.Point{-8.7, 41.1}, Max: orb.Point{-8.5, 41.2}}}},
		{BBox{-17, 179.5, -16, -179.5}, []orb.Bound{{Min: orb.Point{179.5, -17}, Max: orb.Point{180, -16}}, {Min: orb.Point{-180, -17}, Max: orb.Point{-179.5, -16}}}},
	} {
		got := tc.b.Bounds()
		if len(got) != len(tc.want) {
			t.Fatalf("%+v: %v, want %v", tc.b, got, tc.want)
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Fatalf("%+v: %v, want %v", tc.b, got, tc.want)
			}
		}
	}
}
