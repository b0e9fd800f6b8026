package main

import (
	"testing"
	"time"

	"github.com/enroutehq/enroute/eta"
)

// drive is a trip along a meridian: fixes 15 s apart, at these metres
// north of (41.15, -8.61).
func drive(id string, metres ...float64) trip {
	t := trip{id: id}
	for i, m := range metres {
		t.ps = append(t.ps, eta.Point{Lat: 41.15 + m/111195.0, Lng: -8.61, Time: time.Unix(1_700_000_000+15*int64(i), 0)})
	}
	t.to = t.ps[len(t.ps)-1]
	return t
}

func TestPrepare(t *testing.T) {
	ts := []trip{
		// Drives 100 m a step, stops 80 m short for 15 s, then the fare:
		// cut at the stop.
		drive("kerb", 1000, 900, 800, 700, 600, 500, 400, 300, 200, 80, 80, 80, 80, 0),
		// Never stops near the end: kept whole.
		drive("through", 1000, 900, 800, 700, 600, 500, 400, 300, 200, 100, 0),
		// Ends on a jump 3 km off its path: dropped.
		drive("glitch", 1000, 900, 800, 700, 600, 500, 400, 300, 3300),
		// Starts beside its end and stops: too short once cut.
		drive("short", 100, 100, 100, 90, 80, 70, 60, 50, 40, 30, 0),
	}
	s := prepare(ts, true, 8)
	if s.glitch != 1 || s.short != 1 || s.cut != 2 || len(s.kept) != 2 {
		t.Fatalf("glitch %d, short %d, cut %d, kept %d; want 1, 1, 2, 2", s.glitch, s.short, s.cut, len(s.kept))
	}
	if k := s.kept[0]; k.id != "kerb" || len(k.ps) != 11 || k.to != ts[0].ps[13] {
		t.Errorf("kept[0] = %s with %d fixes to %v, want kerb cut to 11 (the stop's second fix), to its drop-off", k.id, len(k.ps), k.to)
	}
	if k := s.kept[1]; k.id != "through" || len(k.ps) != 11 {
		t.Errorf("kept[1] = %s with %d fixes, want through whole (11)", k.id, len(k.ps))
	}
	// To the end, nothing is cut.
	if s := prepare(ts, false, 8); s.glitch != 1 || s.cut != 0 || s.short != 0 || len(s.kept) != 3 {
		t.Fatalf("to the end: glitch %d, cut %d, short %d, kept %d; want 1, 0, 0, 3", s.glitch, s.cut, s.short, len(s.kept))
	}
}
