package eta

import (
	"testing"
	"time"
)

// arrive is a drive east at 10 m/s for n fixes, 10 s apart, that then
// stands where it stopped for stand before it arrives.
func arrive(lat, lng float64, n int, stand time.Duration, start time.Time) []Point {
	ps := drive(lat, lng, 10, n, start)
	end := ps[len(ps)-1]
	for s := 10 * time.Second; s <= stand; s += 10 * time.Second {
		ps = append(ps, Point{Lat: end.Lat, Lng: end.Lng, Time: end.Time.Add(s)})
	}
	return ps
}

// TestApproachLearnedFromArrivals: the last minutes of drives that end
// standing (parking, the door) are learned from arrivals, not driving
// speed extrapolated: a technician standing 40 m from a site where
// arrivals stand three minutes is not about to arrive, and one 40 m from
// a site where they stand 20 s nearly is.
func TestApproachLearnedFromArrivals(t *testing.T) {
	m := New(Config{})
	const slowLat, quickLat = 41.15, 41.17
	for k := range 30 {
		at := t0.Add(time.Duration(k) * time.Hour)
		m.AddTrip(arrive(slowLat, -8.65, 40, 3*time.Minute, at))
		m.AddTrip(arrive(quickLat, -8.65, 40, 20*time.Second, at.Add(30*time.Minute)))
	}
	estimate := func(lat float64) time.Duration {
		to := arrive(lat, -8.65, 40, 0, t0)
		end, before := to[len(to)-1], to[len(to)-2] // 100 m apart
		near := Point{Lat: end.Lat, Lng: end.Lng - 0.4*(end.Lng-before.Lng)}
		at := t0.Add(40 * 24 * time.Hour)
		d := NewDrive(m.Destination(end.Lat, end.Lng))
		for s := 0; s <= 30; s += 10 { // standing there for 30 s
			d.Add(Point{Lat: near.Lat, Lng: near.Lng, Time: at.Add(time.Duration(s) * time.Second)})
		}
		sh := d.Update(m)
		return sh.ETA.Sub(sh.At)
	}
	slow, quick := estimate(slowLat), estimate(quickLat)
	if slow < 45*time.Second || slow > 3*time.Minute {
		t.Errorf("standing 40 m from a site whose arrivals stand 3 min: %v left", slow)
	}
	if quick > 30*time.Second || quick >= slow/3 {
		t.Errorf("standing 40 m from a site where drives arrive as they stop: %v left (the other site %v)", quick, slow)
	}
	// Before any arrival, the approach is driving at the model's pace.
	empty := New(Config{})
	if e := empty.Estimate(Point{Lat: 41.15, Lng: -8.61, Time: t0}, 0, 41.1504, -8.61); e.Duration > 15*time.Second {
		t.Errorf("an empty model estimates 45 m as %v", e.Duration)
	}
}

func TestApproachBin(t *testing.T) {
	for _, tc := range []struct {
		m, speed float64
		want     int
	}{
		{10, -1, 0}, {10, 0.5, 5}, {10, 3, 0}, {10, 12, 10},
		{120, 0.5, 7}, {499, 12, 14}, {500, 12, -1},
	} {
		if got := approachBin(tc.m, tc.speed); got != tc.want {
			t.Errorf("approachBin(%v m, %v m/s) = %d, want %d", tc.m, tc.speed, got, tc.want)
		}
	}
}

// TestApproachToTheAddress: a drive arrives before it reaches its address
// (the arrival rule's radius), and estimates aim at the address: what is
// learned of its end is measured to the address, kept under the address's
// site, not the spot where it arrived.
func TestApproachToTheAddress(t *testing.T) {
	m := New(Config{})
	ps := arrive(41.15, -8.65, 40, time.Minute, t0)
	stop := ps[len(ps)-1]
	address := Point{Lat: stop.Lat + 120/111195.0, Lng: stop.Lng} // 120 m north of where it stood
	m.AddTripTo(ps, address.Lat, address.Lng)
	to, spot := m.Destination(address.Lat, address.Lng), m.Destination(stop.Lat, stop.Lng)
	sites := map[bool]int{}
	for k := range m.appr.site {
		sites[k.cell == to.site]++
		if k.cell == spot.site {
			t.Fatalf("an approach kept under the arrival spot's site %v", k)
		}
	}
	if sites[true] == 0 {
		t.Fatalf("no approach kept under the address's site: %v", m.appr.site)
	}
	// Standing 120 m away is the 100-200 m band, not a nearer one.
	for k := range m.appr.site {
		if b := k.bin % len(approachEdges); b < 2 {
			t.Errorf("a bin %d learned nearer than 100 m to the address", b)
		}
	}
}

// TestDetourNotFromWaiting: the fixes where a drive waits for the arrival
// rule, 120 m short of its address, are no detour, and a phone's jitter
// there is no distance driven: the detours learned are the path's, 100 m
// east and then 120 m north to the address (at most 1.41).
func TestDetourNotFromWaiting(t *testing.T) {
	m := New(Config{})
	ps := arrive(41.15, -8.65, 40, 0, t0)
	stop := ps[len(ps)-1]
	for s := 1; s <= 60; s++ { // a minute at 1 Hz, jittering 3 m
		ps = append(ps, Point{Lat: stop.Lat + float64(s%2)*3/111195.0, Lng: stop.Lng, Time: stop.Time.Add(time.Duration(s) * time.Second)})
	}
	address := Point{Lat: stop.Lat + 120/111195.0, Lng: stop.Lng}
	m.AddTripTo(ps, address.Lat, address.Lng)
	n := 0
	for _, samples := range m.detour {
		for _, r := range samples {
			if n++; r > 1.42 {
				t.Fatalf("a detour of %.2f learned", r)
			}
		}
	}
	if n < 30 {
		t.Fatalf("%d detour samples, want one a fix of the drive (39)", n)
	}
}
