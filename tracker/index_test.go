package tracker_test

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/tracker"
)

// The index answers what a scan of every position answers, for circles
// of 10 m to 500 km and boxes of every shape, in cities, near a pole and
// across the antimeridian: the disks of cells it reads cover the query.
func TestIndexMatchesAScan(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	for _, place := range []struct {
		name      string
		lat, lng  float64
		spreadDeg float64
		queries   int
	}{
		{"Chicago", 41.88, -87.63, 0.3, 300},
		{"Porto, packed", 41.15, -8.61, 0.02, 300},
		{"Fiji, astride the antimeridian", -17.0, 179.99, 0.5, 200},
		{"Svalbard", 78.2, 15.6, 1.0, 200},
		{"the world", 0, 0, 80, 100},
	} {
		t.Run(place.name, func(t *testing.T) {
			l := tracker.NewLive(8)
			var all []enroute.Position
			at := func() (float64, float64) {
				lat := math.Max(-89, math.Min(89, place.lat+(r.Float64()-0.5)*place.spreadDeg))
				lng := place.lng + (r.Float64()-0.5)*place.spreadDeg/math.Cos(lat*math.Pi/180)
				for lng > 180 {
					lng -= 360
				}
				for lng < -180 {
					lng += 360
				}
				return lat, lng
			}
			t0 := time.Now()
			for i := range 3000 {
				lat, lng := at()
				p := enroute.Position{TechnicianID: int64(i + 1), DeviceID: int64(i + 1), Lat: lat, Lng: lng, Time: t0}
				l.Apply(&p, 0)
				all = append(all, p)
			}
			// Some move, so their cells change at every level.
			for i := range 500 {
				p := all[i]
				p.Lat, p.Lng = at()
				p.Time = t0.Add(time.Second)
				l.Apply(&p, 0)
				all[i] = p
			}
			for range place.queries {
				lat, lng := at()
				radius := math.Pow(10, 1+r.Float64()*4.7) // 10 m to 500 km
				want := scanNear(all, lat, lng, radius)
				if got := ids(l.Near(lat, lng, radius, 0)); !slices.Equal(got, want) {
					t.Fatalf("near %.5f,%.5f r=%.0f m: got %d, want %d: %v vs %v", lat, lng, radius, len(got), len(want), got, want)
				}
				if len(want) > 3 {
					if got := ids(l.Near(lat, lng, radius, 3)); !slices.Equal(got, want[:3]) {
						t.Fatalf("near %.5f,%.5f r=%.0f m limit 3: got %v, want %v", lat, lng, radius, got, want[:3])
					}
				}
				// A box of any aspect around the point.
				h, w := radius/111_000*(0.2+r.Float64()*2), radius/111_000*(0.2+r.Float64()*2)/math.Max(0.05, math.Cos(lat*math.Pi/180))
				minLng, maxLng := lng-w, lng+w
				if minLng < -180 {
					minLng += 360
				}
				if maxLng > 180 {
					maxLng -= 360
				}
				b := geo.BBox{MinLat: math.Max(-89.9, lat-h), MinLng: minLng, MaxLat: math.Min(89.9, lat+h), MaxLng: maxLng}
				if b.Validate() != nil {
					continue
				}
				var inBox []int64
				for _, p := range all {
					if b.Contains(p.Lat, p.Lng) {
						inBox = append(inBox, p.TechnicianID)
					}
				}
				slices.Sort(inBox)
				if got := ids(l.InBBox(b, 4096)); !slices.Equal(got, inBox) {
					t.Fatalf("box %+v: got %d, want %d", b, len(got), len(inBox))
				}
			}
		})
	}
}

// Near finds a technician just inside a wide circle near the pole, where
// an equirectangular distance would put them outside.
func TestNearWideAtHighLatitude(t *testing.T) {
	for _, lat := range []float64{60, 78, 80, 85} {
		l := tracker.NewLive(8)
		// 499.9 km due east along the great circle's start, found by
		// stepping: the point whose great-circle distance is 499.9 km.
		lng := 10.0
		for geo.DistanceM(lat, 10, lat, lng) < 499_900 {
			lng += 0.001
		}
		p := enroute.Position{TechnicianID: 1, DeviceID: 1, Lat: lat, Lng: lng, Time: time.Now()}
		l.Apply(&p, 0)
		if got := l.Near(lat, 10, 500_000, 0); len(got) != 1 {
			t.Errorf("at %g°: a technician %.0f m away not found within 500 km", lat, geo.DistanceM(lat, 10, lat, lng))
		}
	}
}

// scanNear is Near by brute force: every position within radius, nearest
// first, by id at equal distance.
func scanNear(all []enroute.Position, lat, lng, radius float64) []int64 {
	type c struct {
		d  float64
		id int64
	}
	var in []c
	for _, p := range all {
		if d := geo.DistanceM(lat, lng, p.Lat, p.Lng); d <= radius {
			in = append(in, c{d, p.TechnicianID})
		}
	}
	slices.SortFunc(in, func(a, b c) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.id, b.id)) })
	out := make([]int64, len(in))
	for i := range in {
		out[i] = in[i].id
	}
	return out
}

// ids lists positions' technicians, in order.
func ids(ps []enroute.Position) []int64 {
	out := make([]int64, len(ps))
	for i, p := range ps {
		out[i] = p.TechnicianID
	}
	return out
}
