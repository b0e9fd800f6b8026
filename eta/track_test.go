package eta

import (
	"slices"
	"testing"
	"time"

	"github.com/enroutehq/enroute/geo"
)

// east is a fix metres east of (41.15, -8.61) at second s.
func east(m float64, s int) Point {
	b := geo.BBoxAround(41.15, -8.61, m)
	return Point{Lat: 41.15, Lng: b.MaxLng, Time: t0.Add(time.Duration(s) * time.Second)}
}

func TestTrack(t *testing.T) {
	for _, tc := range []struct {
		name string
		ps   []Point
		want []Step
	}{
		{"driving", []Point{east(0, 0), east(150, 15), east(300, 30), east(450, 45)}, []Step{OnPath, OnPath, OnPath, OnPath}},
		// From standing, 600 m in 15 s (40 m/s) is under the max-speed
		// rule but no car gains that much speed in 15 s.
		{"spike and back", []Point{east(0, 0), east(5, 15), east(605, 30), east(10, 45)}, []Step{OnPath, OnPath, Off, OnPath}},
		{"beyond max speed", []Point{east(0, 0), east(4700, 15), east(20, 30)}, []Step{OnPath, Off, OnPath}},
		// Fixes lost for a while: the drive goes on from further away,
		// and after confirmAfter of fixes that follow each other the
		// path is there.
		{"moved", []Point{east(0, 0), east(5, 15), east(3000, 30), east(3100, 45), east(3200, 60), east(3300, 75)}, []Step{OnPath, OnPath, Off, Off, Moved, OnPath}},
		{"stale", []Point{east(0, 0), east(100, 15), east(50, 10), east(100, 15)}, []Step{OnPath, OnPath, Stale, Stale}},
		// Glitches that alternate: each is dropped when the next fix
		// is back on the path.
		{"alternating", []Point{east(0, 0), east(0, 15), east(700, 30), east(0, 45), east(700, 60), east(0, 75)}, []Step{OnPath, OnPath, Off, OnPath, Off, OnPath}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var tr Track
			var got []Step
			for _, p := range tc.ps {
				got = append(got, tr.Add(p))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("steps = %v, want %v", got, tc.want)
			}
		})
	}
}
