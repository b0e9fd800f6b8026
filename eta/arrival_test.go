package eta

import (
	"testing"
	"time"
)

// north is a fix m metres north of (41.15, -8.61) at s seconds.
func north(m, s float64) Point {
	return Point{Lat: 41.15 + m/111195.0, Lng: -8.61, Time: time.Unix(1_700_000_000+int64(s), 0)}
}

func TestArrivedAt(t *testing.T) {
	rule := ArrivalRule{RadiusM: DefaultArrivalRadiusM, Dwell: DefaultDwell}
	tests := []struct {
		name  string
		rule  ArrivalRule
		drive []Point
		want  int
	}{
		// Stopped 100 m short for 15 s (two fixes 2 m apart): arrived at
		// the second, not at the last (the fare paid at the kerb).
		{"Stop", rule, []Point{north(900, 0), north(400, 40), north(100, 75), north(102, 90), north(101, 150), north(0, 300)}, 3},
		// Rolling through 125 m slowly never stops, and 60 s inside is
		// the dwell.
		{"Dwell", rule, []Point{north(600, 0), north(120, 50), north(100, 60), north(70, 80), north(40, 100), north(20, 110), north(5, 125)}, 5},
		// A stop 200 m away (a red light) is outside the radius: the
		// arrival is the stop at 50 m.
		{"LightOutside", rule, []Point{north(600, 0), north(200, 30), north(200, 60), north(201, 90), north(50, 120), north(52, 135), north(0, 160)}, 5},
		// Inside a 300 m radius the light is within it but beyond
		// stopRadiusM: only the dwell counts, and leaving resets it.
		{"WideRadius", ArrivalRule{RadiusM: 300, Dwell: time.Minute}, []Point{north(200, 0), north(200, 30), north(400, 50), north(250, 70), north(240, 100), north(230, 130), north(0, 200)}, 5},
		// A zero rule is the default one.
		{"ZeroRule", ArrivalRule{}, []Point{north(900, 0), north(100, 75), north(102, 90), north(0, 150)}, 2},
		// Never near: the last fix's index.
		{"Never", rule, []Point{north(5000, 0), north(4000, 60)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			to := north(0, 0)
			if got := ArrivedAt(tt.drive, to.Lat, to.Lng, tt.rule); got != tt.want {
				t.Fatalf("ArrivedAt = %d, want %d", got, tt.want)
			}
		})
	}
}
