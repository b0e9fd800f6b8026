package geo

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/uber/h3-go/v4"
)

// BBox is a latitude/longitude box, edges included. MinLng > MaxLng means
// it crosses the antimeridian, as RFC 7946 (5.2) reads a GeoJSON bbox: it
// holds the longitudes from MinLng east to 180 and from -180 east to
// MaxLng. NewBBox makes one from what a client sends.
type BBox struct {
	MinLat, MinLng, MaxLat, MaxLng float64
}

// NewBBox returns the box from (minLat, minLng) in the south-west to
// (maxLat, maxLng) in the north-east, or an error a client can act on.
// Longitudes within [-180, 180] are taken as they are (west > east: across
// the antimeridian). Longitudes up to ±540, as a map panned around the world
// reports its view, must run west to east; they are wrapped into
// [-180, 180], and a box 360° wide or more holds every longitude.
func NewBBox(minLat, minLng, maxLat, maxLng float64) (BBox, error) {
	for _, v := range [...]float64{minLat, minLng, maxLat, maxLng} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return BBox{}, errors.New("must be finite numbers")
		}
	}
	b := BBox{minLat, minLng, maxLat, maxLng}
	if math.Abs(minLng) > 180 || math.Abs(maxLng) > 180 {
		switch {
		case math.Abs(minLng) > 540 || math.Abs(maxLng) > 540:
			return BBox{}, errors.New("has a longitude out of range")
		case minLng > maxLng:
			return BBox{}, errors.New("must run west to east when a longitude is beyond ±180")
		case maxLng-minLng >= 360:
			b.MinLng, b.MaxLng = -180, 180
		default:
			b.MinLng, b.MaxLng = wrapLng(minLng), wrapLng(maxLng)
		}
	}
	return b, b.Validate()
}

// wrapLng returns lng in [-180, 180).
func wrapLng(lng float64) float64 {
	m := math.Mod(lng+180, 360)
	if m < 0 {
		m += 360
	}
	return m - 180
}

// ParseBBox reads "minLat,minLng,maxLat,maxLng" (south, west, north, east)
// as NewBBox does.
func ParseBBox(s string) (BBox, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return BBox{}, errors.New("must be minLat,minLng,maxLat,maxLng")
	}
	var v [4]float64
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return BBox{}, fmt.Errorf("value %d is not a number", i+1)
		}
		v[i] = f
	}
	return NewBBox(v[0], v[1], v[2], v[3])
}

// Validate reports a box that is out of range or upside down.
func (b BBox) Validate() error {
	for _, v := range [...]float64{b.MinLat, b.MinLng, b.MaxLat, b.MaxLng} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("must be finite numbers")
		}
	}
	switch {
	case b.MinLat < -90 || b.MaxLat > 90 || b.MinLng < -180 || b.MaxLng > 180 || b.MaxLng < -180 || b.MinLng > 180:
		return errors.New("is out of range")
	case b.MinLat > b.MaxLat:
		return errors.New("must have minLat before maxLat")
	}
	return nil
}

// Crosses reports whether b crosses the antimeridian.
func (b BBox) Crosses() bool { return b.MinLng > b.MaxLng }

// SpanLngDeg returns b's width in degrees of longitude, 0 to 360.
func (b BBox) SpanLngDeg() float64 {
	if b.Crosses() {
		return 360 - (b.MinLng - b.MaxLng)
	}
	return b.MaxLng - b.MinLng
}

// Contains reports whether (lat, lng) is inside b, edges included. The hub
// asks it of each fix for each viewport: orb's Bound.Contains on each side
// is 12.3 ns vs 2.3 ns here (BenchmarkBBoxContains), and holds a NaN point.
func (b BBox) Contains(lat, lng float64) bool {
	if lat < b.MinLat || lat > b.MaxLat {
		return false
	}
	if b.MinLng <= b.MaxLng {
		return lng >= b.MinLng && lng <= b.MaxLng
	}
	return lng >= b.MinLng || lng <= b.MaxLng
}

// AreaKm2 returns b's area on the sphere: R² · width · (sin north − sin south).
// orb's geo.Area of its Bounds agrees (TestBBoxOrb), building a ring each.
func (b BBox) AreaKm2() float64 {
	const rad = math.Pi / 180
	r := earthRadiusM / 1000
	return r * r * b.SpanLngDeg() * rad * (math.Sin(b.MaxLat*rad) - math.Sin(b.MinLat*rad))
}

// Bounds returns b as orb's bounds, [lng, lat], which never cross the
// antimeridian: one, or two when b does (east of MinLng, and west of
// MaxLng).
func (b BBox) Bounds() []orb.Bound {
	if !b.Crosses() {
		return []orb.Bound{{Min: Point(b.MinLat, b.MinLng), Max: Point(b.MaxLat, b.MaxLng)}}
	}
	return []orb.Bound{
		{Min: Point(b.MinLat, b.MinLng), Max: Point(b.MaxLat, 180)},
		{Min: Point(b.MinLat, -180), Max: Point(b.MaxLat, b.MaxLng)},
	}
}

// coverMaxLat: boxes reaching closer to a pole are filtered by the box
// itself, not covered with cells (the meridians converge there).
const coverMaxLat = 85

// kmPerDegLat is the length of a degree of latitude.
const kmPerDegLat = earthRadiusM / 1000 * math.Pi / 180

// CellsInBBox returns the cells of resolution res that cover b: every cell
// with a point inside b is included, and some beside it. It returns nil
// when the cover would need more than max cells, or when b is more than
// 180° wide or comes within 5° of a pole; callers then filter by the box
// itself. Its cost is bounded by max whatever b is.
//
// It samples b on a grid of points no farther apart than a cell's edge:
// two points that close lie in one cell or in neighbours (non-adjacent
// cells are a cell's width, about 1.7 edges, apart), so every cell meeting
// b is a sampled cell or a neighbour of one, and is kept when its
// outline's box meets b. (H3's polygon fill was used before: it reads a
// box's edges as great circles, so it missed cells along thin wide boxes,
// and it panics on a box of no area.)
func CellsInBBox(b BBox, res, max int) []Cell {
	if b.Validate() != nil || b.MinLat < -coverMaxLat || b.MaxLat > coverMaxLat || b.SpanLngDeg() > 180 {
		return nil
	}
	if est := b.AreaKm2() / h3.HexagonAreaAvgKm2(res); est > float64(max) {
		return nil
	}
	edgeKm := h3.HexagonEdgeLengthAvgKm(res) * 0.8 // cells vary in size: a margin
	span := b.SpanLngDeg()
	widest := math.Max(math.Abs(b.MinLat), math.Abs(b.MaxLat)) // where a degree of longitude is shortest
	nLat := int(math.Ceil((b.MaxLat - b.MinLat) * kmPerDegLat / edgeKm))
	nLng := int(math.Ceil(span * kmPerDegLat * math.Cos(widest*math.Pi/180) / edgeKm))
	if (nLat+1)*(nLng+1) > 3*max+64 { // about 2.6 samples a cell
		return nil
	}
	sampled := map[h3.Cell]bool{}
	for i := 0; i <= nLat; i++ {
		lat := b.MinLat
		if nLat > 0 {
			lat += (b.MaxLat - b.MinLat) * float64(i) / float64(nLat)
		}
		for j := 0; j <= nLng; j++ {
			lng := b.MinLng
			if nLng > 0 {
				lng += span * float64(j) / float64(nLng)
			}
			if lng > 180 {
				lng -= 360
			}
			sampled[h3.LatLngToCell(h3.NewLatLng(lat, lng), res)] = true
		}
	}
	parts := b.Bounds()
	seen := map[h3.Cell]bool{}
	var out []Cell
	for c := range sampled {
		for _, n := range c.GridDisk(1) {
			if seen[n] {
				continue
			}
			seen[n] = true
			cb := cellBound(n)
			for _, p := range parts {
				if cb.Intersects(p) {
					out = append(out, Cell(n))
					break
				}
			}
		}
		if len(out) > max {
			return nil
		}
	}
	return out
}

// cellBound returns the bound of cell c's outline. A cell astride the
// antimeridian has a bound of every longitude, so it meets every box: a
// cover may hold more than b.
func cellBound(c h3.Cell) orb.Bound {
	vs := c.Boundary()
	if len(vs) == 0 {
		return orb.Bound{Min: orb.Point{1, 1}, Max: orb.Point{-1, -1}} // empty: meets nothing
	}
	cb := Point(vs[0].Lat, vs[0].Lng).Bound()
	for _, v := range vs[1:] {
		cb = cb.Extend(Point(v.Lat, v.Lng))
	}
	return cb
}

// BBoxAround returns the box holding the circle of radiusM around a point:
// across the antimeridian where the circle is, and of every longitude when
// the circle holds a pole. orb's NewBoundAroundPoint is the same but for
// the guard against s >= 1: its longitudes are NaN for some circles that
// just reach a pole (TestBBoxOrb).
func BBoxAround(lat, lng, radiusM float64) BBox {
	const rad = math.Pi / 180
	r := radiusM / earthRadiusM // the radius as an angle
	dLat := r / rad
	if lat-dLat <= -90 || lat+dLat >= 90 {
		return BBox{MinLat: math.Max(lat-dLat, -90), MinLng: -180, MaxLat: math.Min(lat+dLat, 90), MaxLng: 180}
	}
	// The circle's widest longitudes are asin(sin r / cos lat) away.
	s := math.Sin(r) / math.Cos(lat*rad)
	if s >= 1 {
		return BBox{MinLat: lat - dLat, MinLng: -180, MaxLat: lat + dLat, MaxLng: 180}
	}
	dLng := math.Asin(s) / rad
	b := BBox{MinLat: lat - dLat, MinLng: lng - dLng, MaxLat: lat + dLat, MaxLng: lng + dLng}
	if b.MinLng < -180 {
		b.MinLng = wrapLng(b.MinLng)
	}
	if b.MaxLng > 180 {
		b.MaxLng = wrapLng(b.MaxLng)
	}
	return b
}
