package eta

import (
	"time"

	"github.com/enroutehq/enroute/geo"
)

// The jump rule of a Track. A car keeps up at most about maxAccelMPS2 of
// acceleration over a whole step: in Porto's training trips the speed
// gained from one 15 s step to the next falls off steadily up to about
// 22 m/s (1.5 m/s² kept for 15 s), and past that the steps are spread
// evenly up to the max-speed rule: glitches and fixes lost in between,
// not driving. trackNoiseM is a phone's position error, which over a
// short step dwarfs any acceleration.
const (
	maxAccelMPS2 = 1.5
	trackNoiseM  = 30
	// confirmAfter is how long fixes off the path must follow one
	// another before they are the path (a tunnel, fixes lost, the drive
	// really went there): a glitch rarely lasts that long.
	confirmAfter = 30 * time.Second
)

// Step is what a Track made of a fix.
type Step int

const (
	OnPath Step = iota // the fix follows the drive's path
	Off                // a jump off the path: held until later fixes confirm it
	Moved              // fixes off the path followed one another long enough: the path moved there
	Stale              // no later than the previous fix: ignored
)

// Track follows one drive's fixes and tells those far off its path: a
// jump faster than the max-speed rule, or faster than the step before it
// by more than a car can gain in the time (the max-speed rule lets such a
// jump through). A fix off the path is held: fixes back on the path drop
// it, fixes that follow it for confirmAfter move the path there. An
// estimate from a fix off the path would move the ETA for a place the
// technician never was. The zero value is empty, with the default max
// speed; not for concurrent use.
type Track struct {
	MaxSpeedMPS float64 // 0: the model's default, 55 m/s

	last     Point
	speedMPS float64 // of the step into last; negative: unknown
	has      bool
	// The fixes held off the path: the first (since when) and the newest.
	heldFirst, held Point
	heldSpeed       float64
	holding         bool
	// JumpedAt is the time of the fix that began the newest jump,
	// whether it was dropped or moved the path (zero: none).
	JumpedAt time.Time
}

// Last is the newest fix on the path (ok false before any).
func (t *Track) Last() (Point, bool) { return t.last, t.has }

// Holding reports whether fixes off the path are held.
func (t *Track) Holding() bool { return t.holding }

// Add tells the track of the drive's next fix.
func (t *Track) Add(p Point) Step {
	if !t.has {
		t.last, t.speedMPS, t.has = p, -1, true
		return OnPath
	}
	newest := t.last
	if t.holding && t.held.Time.After(newest.Time) {
		newest = t.held
	}
	if !p.Time.After(newest.Time) {
		return Stale
	}
	if v, ok := t.follows(t.last, t.speedMPS, p); ok {
		t.last, t.speedMPS, t.holding = p, v, false
		return OnPath
	}
	if t.holding {
		if v, ok := t.follows(t.held, t.heldSpeed, p); ok {
			t.held, t.heldSpeed = p, v
			if p.Time.Sub(t.heldFirst.Time) >= confirmAfter {
				t.last, t.speedMPS, t.holding = p, v, false
				return Moved
			}
			return Off
		}
	}
	t.heldFirst, t.held, t.heldSpeed, t.holding, t.JumpedAt = p, p, -1, true, p.Time
	return Off
}

// follows reports whether b can follow a, reached at speedMPS (negative:
// unknown), and the speed from a to b.
func (t *Track) follows(a Point, speedMPS float64, b Point) (float64, bool) {
	dt := b.Time.Sub(a.Time).Seconds()
	d := geo.DistanceM(a.Lat, a.Lng, b.Lat, b.Lng)
	v := d / dt
	maxSpeed := t.MaxSpeedMPS
	if maxSpeed <= 0 {
		maxSpeed = 55
	}
	if v > maxSpeed && d > trackNoiseM {
		return v, false
	}
	if speedMPS >= 0 && d > (speedMPS+maxAccelMPS2*dt)*dt+trackNoiseM {
		return v, false
	}
	return v, true
}
