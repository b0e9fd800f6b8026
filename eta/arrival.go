package eta

import (
	"time"

	"github.com/enroutehq/enroute/geo"
)

// The arrival rule a company gets until it sets its own (Arrival Tracking
// in the settings).
const (
	DefaultArrivalRadiusM = 125
	DefaultDwell          = time.Minute
)

// stopRadiusM is how close to the address stopping is an arrival at once,
// however wide the company's radius: a red light 300 m away is not the
// site (within a wider radius, the dwell decides).
const stopRadiusM = 125

// ArrivalRule is when a technician counts as arrived at a verified
// address: the company's Arrival Tracking settings.
type ArrivalRule struct {
	Auto    bool          // mark them arrived (working) automatically
	RadiusM float64       // within this of the address (0: the watcher's, DefaultArrivalRadiusM unless set)
	Dwell   time.Duration // for this long (0: likewise, DefaultDwell), or stopped within stopRadiusM
}

// Arrival follows one drive's fixes near its address and tells when the
// arrival rule holds: within the radius for the dwell, or stopped (less
// than 10 m moved over at least 10 s) within stopRadiusM. Times are the
// fixes' own. The zero value is a drive not yet near; not for concurrent
// use.
type Arrival struct {
	insideSince time.Time
	stillAt     Point // where the technician was when they seemed to stop (zero: moving)
}

// Add takes the next fix, d metres from the address, and reports whether
// the technician has arrived under rule, whose radius and dwell are set
// (the watcher sets them; ArrivedAt too).
func (a *Arrival) Add(p Point, d float64, rule ArrivalRule) bool {
	if d > rule.RadiusM {
		*a = Arrival{}
		return false
	}
	if a.insideSince.IsZero() {
		a.insideSince = p.Time
	}
	if p.Time.Sub(a.insideSince) >= rule.Dwell {
		return true
	}
	if d > stopRadiusM {
		a.stillAt = Point{}
		return false
	}
	if a.stillAt.Time.IsZero() || geo.DistanceM(a.stillAt.Lat, a.stillAt.Lng, p.Lat, p.Lng) > 10 {
		a.stillAt = p
		return false
	}
	return p.Time.Sub(a.stillAt.Time) >= 10*time.Second
}

// ArrivedAt is the index of the fix of a drive to (toLat, toLng) at which
// rule (a zero radius or dwell: the default) first holds, or the last
// fix's when it never does: where the server would have marked the drive
// arrived, its drive learned up to, and its customer's estimates stopped.
func ArrivedAt(ps []Point, toLat, toLng float64, rule ArrivalRule) int {
	if rule.RadiusM <= 0 {
		rule.RadiusM = DefaultArrivalRadiusM
	}
	if rule.Dwell <= 0 {
		rule.Dwell = DefaultDwell
	}
	var a Arrival
	for i, p := range ps {
		if a.Add(p, geo.DistanceM(p.Lat, p.Lng, toLat, toLng), rule) {
			return i
		}
	}
	return len(ps) - 1
}
