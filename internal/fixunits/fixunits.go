// Package fixunits holds the units both stores keep a fix's values in, so
// that a fix reads back the same from either: scaled integers with the
// precision a phone's GPS has, where floats took 8 bytes each.
package fixunits

import "math"

// Units per whole: coordinates to 1e-7 degrees (about 1 cm), accuracy and
// altitude to 0.1 m, speed to 1 cm/s, heading to 0.1 degree, battery to
// 0.1 %.
const (
	PerDegree      = 1e7
	PerMetre       = 10
	PerMetreSecond = 100
	PerDegreeHead  = 10
	PerPercent     = 10
)

// Scaled is v in units of 1/per, rounded half away from zero (as SQL's
// round of a numeric, which the migrations use).
func Scaled(v, per float64) int64 { return int64(math.Round(v * per)) }

// ScaledOpt is Scaled for a value that is unknown when negative: -1.
func ScaledOpt(v, per float64) int64 {
	if v < 0 {
		return -1
	}
	return Scaled(v, per)
}

// Heading is a heading in tenths of a degree, 0 to 3599 (359.95 and up
// round to north), or -1 when unknown.
func Heading(deg float64) int64 {
	h := ScaledOpt(deg, PerDegreeHead)
	if h == 360*PerDegreeHead {
		return 0
	}
	return h
}

// Unscaled is n units of 1/per: one correctly rounded division, the
// float64 nearest the decimal, so 411496000 (1e-7 degrees) reads 41.1496
// (n*1e-7 would not).
func Unscaled(n int64, per float64) float64 { return float64(n) / per }

// UnscaledOpt is Unscaled for a value stored -1 (any negative) when
// unknown, which reads -1.
func UnscaledOpt(n int64, per float64) float64 {
	if n < 0 {
		return -1
	}
	return Unscaled(n, per)
}
