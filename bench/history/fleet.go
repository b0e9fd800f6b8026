package main

// The fleet: technicians driving recorded trips, day after day, and the
// fixes their phones send while they drive.

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/trips"
)

const (
	mPerDegLat = 111_320.0
	// workdayStart is when a technician's first drive may begin (UTC;
	// 08:00 in Porto most of the year), up to startJitter later.
	workdayStart = 7 * time.Hour
	startJitter  = 30 * time.Minute
	// workday is how long a technician's day lasts from its start: the
	// drives, and the stops at jobs between them, in which the phone sends
	// nothing (a tracking app's distance filter).
	workday = 10 * time.Hour
	// lastSlot bounds a day's fixes: every fix falls in its UTC day, so
	// retention's dropped day is exactly a generated day.
	lastSlot = 24*time.Hour - workdayStart
	// jobs is how many stops at jobs a technician makes a day.
	jobs = 5
	// unknownMotion is the share of fixes with no speed or heading (-1).
	unknownMotion = 0.08
)

// trip is a recorded drive: times in seconds since its first fix.
type trip struct {
	t, lat, lng []float64
}

func (tr *trip) end() float64 { return tr.t[len(tr.t)-1] }

// readTrips reads the recorded drives of a CSV (trip_id,seq,t,lat,lon),
// cut where a step is faster than 50 m/s (a GPS glitch: Porto's trips
// have some) or longer than 2 minutes, keeping pieces of 20 fixes or more.
func readTrips(path string) ([]trip, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := trips.Read(f, 20)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var out []trip
	for _, t := range ts {
		var cur trip
		keep := func() {
			if len(cur.t) >= 20 {
				out = append(out, cur)
			}
			cur = trip{}
		}
		for i, x := range t.Fixes {
			if i > 0 {
				prev := t.Fixes[i-1]
				dt := x.Time.Sub(prev.Time).Seconds()
				if dt <= 0 || dt > 120 || distM(prev.Lat, prev.Lng, x.Lat, x.Lng)/dt > 50 {
					keep()
				}
			}
			if len(cur.t) == 0 {
				cur.t = append(cur.t, 0)
			} else {
				cur.t = append(cur.t, cur.t[len(cur.t)-1]+x.Time.Sub(t.Fixes[i-1].Time).Seconds())
			}
			cur.lat, cur.lng = append(cur.lat, x.Lat), append(cur.lng, x.Lng)
		}
		keep()
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read %s: no trip of 20 fixes or more", path)
	}
	return out, nil
}

// walkTrips makes n drives of a random walk in Porto, a point every 15 s
// at town speeds, for when no recorded drives are at hand (and tests).
func walkTrips(r *rand.Rand, n int) []trip {
	out := make([]trip, n)
	for i := range out {
		lat, lng, heading := 41.15+r.NormFloat64()*0.02, -8.61+r.NormFloat64()*0.02, r.Float64()*360
		tr := &out[i]
		for k := range 40 + r.IntN(80) {
			tr.t, tr.lat, tr.lng = append(tr.t, float64(k*15)), append(tr.lat, lat), append(tr.lng, lng)
			speed := max(0, 9+r.NormFloat64()*4)
			heading = math.Mod(heading+r.NormFloat64()*20+360, 360)
			lat += speed * 15 * math.Cos(heading*math.Pi/180) / mPerDegLat
			lng += speed * 15 * math.Sin(heading*math.Pi/180) / (mPerDegLat * math.Cos(lat*math.Pi/180))
		}
	}
	return out
}

// distM is the distance between two points (equirectangular: a few
// metres' error over a town is nothing here).
func distM(lat1, lng1, lat2, lng2 float64) float64 {
	x := (lng2 - lng1) * math.Cos((lat1+lat2)/2*math.Pi/180)
	return math.Hypot(lat2-lat1, x) * mPerDegLat
}

func bearingDeg(lat1, lng1, lat2, lng2 float64) float64 {
	x := (lng2 - lng1) * math.Cos((lat1+lat2)/2*math.Pi/180)
	return math.Mod(math.Atan2(x, lat2-lat1)*180/math.Pi+360, 360)
}

// tech is a technician and their phone.
type tech struct {
	id int64
	// The trip being driven, how far into it (s), and the shift that
	// puts its start where the technician picked it up.
	tr         *trip
	k          int
	tau        float64
	dLat, dLng float64
	lat, lng   float64 // where they are

	phase    time.Duration // the phone's fixes fall this far after each interval
	accuracy float64       // the phone's usual accuracy, m
	altitude float64
	battery  float64 // -1: this phone does not say
	drives   [][2]int
	next     int // today's drive in progress or next
}

// fleet is the technicians, the recorded drives they take, and the random
// source of everything generated; not safe for concurrent use.
type fleet struct {
	techs    []tech
	trips    []trip
	interval time.Duration
	r        *rand.Rand
}

func newFleet(n int, ts []trip, interval time.Duration, seed uint64) *fleet {
	f := &fleet{techs: make([]tech, n), trips: ts, interval: interval, r: rand.New(rand.NewPCG(seed, 29))}
	for i := range f.techs {
		t := &f.techs[i]
		t.id = int64(i + 1)
		t.phase = time.Duration(f.r.Int64N(int64(interval/time.Millisecond))) * time.Millisecond
		t.accuracy = 3 + f.r.ExpFloat64()*3
		t.altitude = 40 + f.r.Float64()*100
		if f.r.IntN(50) == 0 {
			t.battery = -1
		}
		f.pickTrip(t, true)
	}
	return f
}

// pickTrip starts t on a new trip: of 8 drawn, the one starting nearest to
// t, shifted to start where t is, so that the fleet stays in the trips'
// town and every drive is continuous. A fresh technician starts at a
// trip's own start.
func (f *fleet) pickTrip(t *tech, fresh bool) {
	best, bestM := &f.trips[f.r.IntN(len(f.trips))], math.Inf(1)
	for range 8 {
		c := &f.trips[f.r.IntN(len(f.trips))]
		if fresh {
			best = c
			break
		}
		if d := distM(t.lat, t.lng, c.lat[0], c.lng[0]); d < bestM {
			best, bestM = c, d
		}
	}
	t.tr, t.k, t.tau = best, 0, 0
	if fresh {
		t.lat, t.lng = best.lat[0], best.lng[0]
	}
	t.dLat, t.dLng = t.lat-best.lat[0], t.lng-best.lng[0]
}

// planDay gives every technician the day's drives as ranges of slots (the
// fix interval's, from workdayStart): perTech[i] fixes in up to jobs+1
// drives of random lengths, with jobs' stops sharing what is left of the
// workday. It fails if a day's fixes would not fit before midnight.
func (f *fleet) planDay(perTech []int) error {
	slots := int(workday / f.interval)
	jitter := int(startJitter / f.interval)
	for i := range f.techs {
		t, q := &f.techs[i], perTech[i]
		if end := time.Duration(q+jitter) * f.interval; end > lastSlot {
			return fmt.Errorf("%d fixes a technician a day at %v take %v: past midnight; give more technicians or days", q, f.interval, end)
		}
		n := min(jobs+1, q)
		drive, stop := f.split(q, n), f.split(max(0, slots-q-jitter), max(1, n-1))
		t.drives, t.next = t.drives[:0], 0
		if t.battery >= 0 {
			t.battery = 90 + f.r.Float64()*10
		}
		at := f.r.IntN(jitter + 1)
		for j, d := range drive {
			if d > 0 {
				t.drives = append(t.drives, [2]int{at, at + d})
			}
			at += d
			if j < len(stop) {
				at += stop[j]
			}
		}
	}
	return nil
}

// split divides total into n random parts (each within 0.5 to 1.5 of the
// mean, before rounding) that add up to total.
func (f *fleet) split(total, n int) []int {
	if n <= 0 {
		return nil
	}
	w, sum := make([]float64, n), 0.0
	for i := range w {
		w[i] = 0.5 + f.r.Float64()
		sum += w[i]
	}
	out, left := make([]int, n), total
	for i := range n - 1 {
		out[i] = min(left, int(float64(total)*w[i]/sum))
		left -= out[i]
	}
	out[n-1] = left
	return out
}

// slotCount is how many slots the day's drives reach.
func (f *fleet) slotCount() int {
	n := 0
	for i := range f.techs {
		if d := f.techs[i].drives; len(d) > 0 {
			n = max(n, d[len(d)-1][1])
		}
	}
	return n
}

// driving says whether t sends a fix in slot s; slots are asked in order.
func (t *tech) driving(s int) bool {
	for t.next < len(t.drives) && t.drives[t.next][1] <= s {
		t.next++
	}
	return t.next < len(t.drives) && t.drives[t.next][0] <= s
}

// fix moves t on by one interval along its trip and returns the fix its
// phone sends at ts: the position with a GPS's noise, and its accuracy,
// speed and heading as float32s (what phones report), sometimes unknown.
func (f *fleet) fix(t *tech, ts time.Time) enroute.Position {
	t.tau += f.interval.Seconds()
	for t.tau > t.tr.end() {
		left := t.tau - t.tr.end()
		t.lat, t.lng = t.tr.lat[len(t.tr.lat)-1]+t.dLat, t.tr.lng[len(t.tr.lng)-1]+t.dLng
		f.pickTrip(t, false)
		t.tau = left
	}
	tr := t.tr
	for tr.t[t.k+1] < t.tau {
		t.k++
	}
	k, r := t.k, f.r
	u := (t.tau - tr.t[k]) / (tr.t[k+1] - tr.t[k])
	t.lat = tr.lat[k] + u*(tr.lat[k+1]-tr.lat[k]) + t.dLat
	t.lng = tr.lng[k] + u*(tr.lng[k+1]-tr.lng[k]) + t.dLng
	acc := math.Min(50, t.accuracy*(0.6+0.8*r.Float64())+r.ExpFloat64())
	sigma := acc * 0.3
	p := enroute.Position{
		TechnicianID: t.id, DeviceID: t.id, Time: ts,
		Lat:        t.lat + r.NormFloat64()*sigma/mPerDegLat,
		Lng:        t.lng + r.NormFloat64()*sigma/(mPerDegLat*math.Cos(t.lat*math.Pi/180)),
		AccuracyM:  float64(float32(acc)),
		AltitudeM:  float64(float32(t.altitude + r.NormFloat64()*acc)),
		Battery:    t.battery,
		ReceivedAt: ts.Add(200*time.Millisecond + time.Duration(r.Int64N(int64(1800*time.Millisecond)))).Truncate(time.Microsecond),
		SpeedMPS:   -1, HeadingDeg: -1,
	}
	if t.battery >= 0 {
		t.battery = math.Max(5, t.battery-0.008)
		p.Battery = math.Round(t.battery)
	}
	if r.Float64() >= unknownMotion {
		speed := distM(tr.lat[k], tr.lng[k], tr.lat[k+1], tr.lng[k+1]) / (tr.t[k+1] - tr.t[k])
		p.SpeedMPS = float64(float32(math.Max(0, speed*(1+r.NormFloat64()*0.03))))
		p.HeadingDeg = float64(float32(math.Mod(bearingDeg(tr.lat[k], tr.lng[k], tr.lat[k+1], tr.lng[k+1])+r.NormFloat64()*2+360, 360)))
	}
	return p
}
