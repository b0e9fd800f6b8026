package eta

import (
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// TestGlitchDoesNotMoveETA: a fix far off the drive's path, under the
// max-speed rule, publishes no progress and leaves the ETA as it was; the
// fixes after it, back on the path, estimate again.
func TestGlitchDoesNotMoveETA(t *testing.T) {
	log := &progressLog{}
	w := NewWatcher(WatcherConfig{}, nil, New(Config{}), log, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w.setWatches(1, []*watch{{a: &enroute.Assignment{ID: 1, TechnicianID: 1}, to: Destination{Lat: 41.16, Lng: -8.61}}})
	fix := func(s int, eastM float64) {
		p := east(eastM, s)
		w.PublishPosition(&enroute.Position{TechnicianID: 1, Lat: p.Lat, Lng: p.Lng, Time: p.Time})
	}
	for s := 0; s <= 20; s += 5 {
		fix(s, float64(s)*10) // 10 m/s
	}
	before := len(log.ps)
	last := log.ps[before-1]
	fix(25, 250+700) // 700 m off in 5 s: 140 m/s from 10 m/s
	if len(log.ps) != before {
		t.Fatalf("a glitch published progress: %+v after %+v", log.ps[len(log.ps)-1], last)
	}
	if pr, _ := w.Progress(1); pr.ETA != last.ETA {
		t.Fatalf("the glitch moved the ETA from %v to %v", last.ETA, pr.ETA)
	}
	fix(30, 300)
	if len(log.ps) != before+1 {
		t.Fatalf("back on the path: %d estimates, want %d", len(log.ps), before+1)
	}
}

// TestDriveSteady: along a recorded drive the arrival a Drive shows moves
// less from update to update than the raw estimates, and ends as near the
// true arrival.
func TestDriveSteady(t *testing.T) {
	t97, t98 := trace(t)
	m := New(Config{})
	m.AddTrip(points(t97))
	drive := points(t98)
	end := drive[len(drive)-1]
	churn := func(raw bool) (moved float64, last Shown) {
		d := NewDrive(m.Destination(end.Lat, end.Lng))
		d.Raw = raw
		var prev Shown
		for _, p := range drive[:len(drive)-1] {
			if st := d.Add(p); st != OnPath && st != Moved {
				continue
			}
			sh := d.Update(m)
			if !prev.ETA.IsZero() {
				moved += math.Abs(sh.ETA.Sub(prev.ETA).Seconds())
			}
			prev = sh
		}
		return moved, prev
	}
	raw, rawLast := churn(true)
	steady, last := churn(false)
	if steady >= raw*0.8 {
		t.Errorf("the shown arrival moved %.0f s in all, the raw estimates %.0f", steady, raw)
	}
	if off, rawOff := math.Abs(last.ETA.Sub(end.Time).Seconds()), math.Abs(rawLast.ETA.Sub(end.Time).Seconds()); off > rawOff+30 {
		t.Errorf("the shown arrival ends %.0f s off, the raw estimate %.0f", off, rawOff)
	}
}

// TestRangeHoldsItsShare: on drives like those learned, the range given
// holds about 80% of the true arrivals, and is as narrow as the spread of
// the drives allows (not everything).
func TestRangeHoldsItsShare(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m := New(Config{})
	// Drives of 3 km whose speed varies from drive to drive (4 to 16 m/s,
	// log-uniform): their times vary by 4x.
	trip := func(k int) []Point {
		speed := 4 * math.Pow(4, r.Float64())
		return drive(41.15+float64(k%7)*0.003, -8.65, speed, int(3000/(speed*10))+1, t0.Add(time.Duration(k)*7*time.Minute))
	}
	for k := range 300 {
		m.AddTrip(trip(k))
	}
	inside, n := 0, 0
	var width []float64
	for k := 300; k < 400; k++ {
		ps := trip(k)
		end := ps[len(ps)-1]
		for i := 0; i < len(ps)-1; i += 3 {
			e := m.Estimate(ps[i], -1, end.Lat, end.Lng)
			truth := end.Time.Sub(ps[i].Time)
			if e.Late == 0 {
				t.Fatalf("no range after 300 drives: %+v", e)
			}
			n++
			if truth >= e.Early && truth <= e.Late {
				inside++
			}
			width = append(width, float64(e.Late-e.Early)/float64(e.Duration))
		}
	}
	if share := float64(inside) / float64(n); share < 0.7 || share > 0.9 {
		t.Errorf("the range held %.0f%% of %d true arrivals, want about 80%%", 100*share, n)
	}
	if w := median(width); w > 3.5 || w < 0.5 {
		t.Errorf("the range is %.2f times the estimate wide, for times that vary 4x", w)
	}
}

// TestHourFactor: an hour in which the fleet drives slower is estimated
// slower, in cells driven at that hour and in cells that never were.
func TestHourFactor(t *testing.T) {
	m := New(Config{})
	for k := range 60 {
		at := t0.Add(time.Duration(k) * 24 * time.Hour) // 09:00 every day
		m.AddTrip(drive(41.15+float64(k%6)*0.01, -8.65, 5, 60, at))
		m.AddTrip(drive(41.15+float64(k%6)*0.01, -8.65, 12, 30, at.Add(-6*time.Hour)))
	}
	// A street driven only at 03:00, at 12 m/s.
	for k := range 30 {
		m.AddTrip(drive(41.30, -8.65, 12, 30, t0.Add(time.Duration(k)*24*time.Hour-6*time.Hour)))
	}
	to := geo.BBoxAround(41.30, -8.65, 2500)
	at := func(h int) time.Duration {
		from := Point{Lat: 41.30, Lng: -8.65, Time: t0.Add(100 * 24 * time.Hour).Add(time.Duration(h-9) * time.Hour)}
		return m.Estimate(from, -1, 41.30, to.MaxLng).Duration
	}
	if rush, night := at(9), at(3); float64(rush) < 1.3*float64(night) {
		t.Fatalf("a street driven only at night: %v at 09:00, %v at 03:00, want the fleet's 09:00 slower", rush, night)
	}
}

func TestShownMinute(t *testing.T) {
	at := func(m, s int) time.Time { return t0.Add(time.Duration(m)*time.Minute + time.Duration(s)*time.Second) }
	for _, tc := range []struct {
		name           string
		shown, t, want time.Time
	}{
		{"first", time.Time{}, at(42, 40), at(42, 0)},
		{"inside", at(42, 0), at(42, 59), at(42, 0)},
		{"just past the edge", at(42, 0), at(43, 10), at(42, 0)},
		{"just before", at(42, 0), at(41, 45), at(42, 0)},
		{"well past", at(42, 0), at(43, 25), at(43, 0)},
		{"well before", at(42, 0), at(41, 35), at(41, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ShownMinute(tc.shown, tc.t); !got.Equal(tc.want) {
				t.Fatalf("ShownMinute(%v, %v) = %v, want %v", tc.shown, tc.t, got, tc.want)
			}
		})
	}
}
