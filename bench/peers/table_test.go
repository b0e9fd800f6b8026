package main

import (
	"math"
	"strings"
	"testing"

	"github.com/enroutehq/enroute/bench/internal/load"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []float64
		want float64
	}{
		{"odd", []float64{3, 1, 2}, 2},
		{"even", []float64{4, 1, 3, 2}, 2.5},
		{"one", []float64{7}, 7},
		{"a side that could not measure", []float64{math.NaN(), 5, 1}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := median(tc.in); got != tc.want {
				t.Fatalf("median(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if got := median(nil); !math.IsNaN(got) {
		t.Fatalf("median of none = %v, want NaN", got)
	}
}

func TestVerdict(t *testing.T) {
	for _, tc := range []struct {
		ratio  float64
		higher bool
		want   string
	}{
		{0.5, false, "better"}, // half the latency
		{2, false, "worse"},
		{1.3, true, "better"}, // more fixes a second
		{0.54, true, "worse"},
		{1, true, "same"},
		{math.NaN(), true, "—"},
		{math.Inf(1), false, "—"},
	} {
		if got := verdict(tc.ratio, tc.higher); got != tc.want {
			t.Errorf("verdict(%v, higher better %v) = %s, want %s", tc.ratio, tc.higher, got, tc.want)
		}
	}
}

func TestNumber(t *testing.T) {
	for v, want := range map[float64]string{198_800: "198,800", 1393.4: "1,393", 747: "747", 46.2: "46.2", 3.94: "3.94", -1234: "-1,234", math.NaN(): "—"} {
		if got := number(v); got != want {
			t.Errorf("number(%v) = %s, want %s", v, got, want)
		}
	}
}

// The table prints each side's median and the ratio of Enroute's to the
// peer's, and which way it goes.
func TestTablePrint(t *testing.T) {
	var tb table
	r := tb.row("watcher p99", "ms", "Centrifugo", false)
	r.enroute, r.other = []float64{3.9, 4.1, 3.5}, []float64{7.0, 6.0, 8.0}
	var b strings.Builder
	tb.print(&b)
	if want := "| watcher p99 | 3.90 ms | Centrifugo 7.00 ms | 0.56 | better |"; !strings.Contains(b.String(), want) {
		t.Fatalf("table:\n%s\nwant a line %s", b.String(), want)
	}
}

// The box's inscribed circle is the near query's: its half sides are the
// radius, in metres, at the point's latitude.
func TestBoxAround(t *testing.T) {
	p := latLng{41.87, -87.66}
	b := boxAround(p, 200)
	halfLat := (b.maxLat - b.minLat) / 2 * 111_320
	halfLng := (b.maxLng - b.minLng) / 2 * 111_320 * math.Cos(p.lat*math.Pi/180)
	if math.Abs(halfLat-200) > 0.01 || math.Abs(halfLng-200) > 0.01 {
		t.Fatalf("half sides %.3f and %.3f m, want 200", halfLat, halfLng)
	}
}

// The same seed gives both servers the same fleet and points, every run;
// the points lie within the fleet's bounding box.
func TestQueryFleet(t *testing.T) {
	trips := [][]load.Point{{{Lat: 41.86, Lng: -87.69}, {Lat: 41.88, Lng: -87.64}}, {{Lat: 41.87, Lng: -87.66}}}
	t1, p1 := queryFleet(trips, 50, 20, 7)
	t2, p2 := queryFleet(trips, 50, 20, 7)
	for i := range t1 {
		if t1[i] != t2[i] {
			t.Fatalf("technician %d: %v then %v", i, t1[i], t2[i])
		}
	}
	for i := range p1 {
		if p1[i] != p2[i] || p1[i].lat < 41.859 || p1[i].lat > 41.881 || p1[i].lng < -87.691 || p1[i].lng > -87.639 {
			t.Fatalf("point %d: %v then %v", i, p1[i], p2[i])
		}
	}
}
