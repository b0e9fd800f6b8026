package fixunits

import (
	"math"
	"testing"
)

// A value reads back as the decimal of its scale, rounded half away from
// zero; unknown (negative) optional values read -1; a tiny negative
// coordinate reads 0, not -0; a heading that rounds to 360 is north.
func TestRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		v, per, want float64
		opt          bool
	}{
		{41.1496, PerDegree, 41.1496, false},
		{41.14961234567, PerDegree, 41.1496123, false},
		{-8.61099996, PerDegree, -8.611, false},
		{12.344999, PerMetreSecond, 12.34, true},
		{0.125, PerMetreSecond, 0.13, true}, // a tie, exact in binary: away from zero
		{-12.35, PerMetre, -12.4, false},    // nearest to -123.5 is -123.50000000000001
		{77.25, PerPercent, 77.3, true},
		{-1, PerMetre, -1, true},
		{-0.3, PerPercent, -1, true},
	} {
		var got float64
		if tc.opt {
			got = UnscaledOpt(ScaledOpt(tc.v, tc.per), tc.per)
		} else {
			got = Unscaled(Scaled(tc.v, tc.per), tc.per)
		}
		if got != tc.want {
			t.Errorf("%v at 1/%v reads %v, want %v", tc.v, tc.per, got, tc.want)
		}
	}
	if got := Unscaled(Scaled(-1e-9, PerDegree), PerDegree); got != 0 || math.Signbit(got) {
		t.Errorf("-1e-9 reads %v", got)
	}
	for deg, want := range map[float64]int64{359.96: 0, 359.94: 3599, 0.04: 0, 180: 1800, -1: -1} {
		if got := Heading(deg); got != want {
			t.Errorf("heading %v = %d, want %d", deg, got, want)
		}
	}
}
