package geo

import (
	"math"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"
	"github.com/paulmach/orb/planar"
	"github.com/uber/h3-go/v4"
)

// The other way of each function that has two: what geo does not use, kept
// here so that tests hold the two to the same answers and benchmarks keep
// the reason for the choice measurable. orb's lengths are scaled to our
// radius (orbScale).

func orbDistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	return orbgeo.DistanceHaversine(orb.Point{lng1, lat1}, orb.Point{lng2, lat2}) * orbScale
}

// handBearingDeg is the bearing as geo wrote it before it used orb's.
func handBearingDeg(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	y := math.Sin((lng2-lng1)*rad) * math.Cos(lat2*rad)
	x := math.Cos(lat1*rad)*math.Sin(lat2*rad) - math.Sin(lat1*rad)*math.Cos(lat2*rad)*math.Cos((lng2-lng1)*rad)
	return math.Mod(math.Atan2(y, x)/rad+360, 360)
}

func orbApproxDistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	return orbgeo.Distance(orb.Point{lng1, lat1}, orb.Point{lng2, lat2}) * orbScale
}

// orbContains is BBox.Contains with orb's Bound.Contains on each side of
// the antimeridian.
func orbContains(b BBox, lat, lng float64) bool {
	p := orb.Point{lng, lat}
	if b.MinLng <= b.MaxLng {
		return orb.Bound{Min: orb.Point{b.MinLng, b.MinLat}, Max: orb.Point{b.MaxLng, b.MaxLat}}.Contains(p)
	}
	return orb.Bound{Min: orb.Point{b.MinLng, b.MinLat}, Max: orb.Point{180, b.MaxLat}}.Contains(p) ||
		orb.Bound{Min: orb.Point{-180, b.MinLat}, Max: orb.Point{b.MaxLng, b.MaxLat}}.Contains(p)
}

// orbRing is a cell's outline as an orb.Ring, [lng, lat], closed.
func orbRing(c Cell) orb.Ring {
	var r orb.Ring
	for _, v := range h3.Cell(c).Boundary() {
		r = append(r, orb.Point{v.Lng, v.Lat})
	}
	return append(r, r[0])
}

// orbHolds is Shape.Holds as orb can answer it: in the outline, without a
// margin (orb has no distance to a ring's edges from inside it).
func orbHolds(r orb.Ring, lat, lng float64) bool { return planar.RingContains(r, orb.Point{lng, lat}) }

// orbBBoxAround is BBoxAround from orb's NewBoundAroundPoint, whose bound
// also has Min east of Max across the antimeridian.
func orbBBoxAround(lat, lng, radiusM float64) BBox {
	b := orbgeo.NewBoundAroundPoint(orb.Point{lng, lat}, radiusM/orbScale)
	return BBox{MinLat: b.Min[1], MinLng: b.Min[0], MaxLat: b.Max[1], MaxLng: b.Max[0]}
}

// orbAreaKm2 is AreaKm2 from orb's spherical area of each side of the
// antimeridian.
func orbAreaKm2(b BBox) float64 {
	a := 0.0
	for _, p := range b.Bounds() {
		a += orbgeo.Area(p)
	}
	return a * orbScale * orbScale / 1e6
}
