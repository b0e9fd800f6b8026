package load

// The fleet: the recorded trips, the devices replaying them, and their
// set-up through the API (or a file of a set-up fleet).

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enroutehq/enroute/internal/trips"
)

// Point is one recorded fix of a trip.
type Point struct {
	T        int64
	Lat, Lng float64
}

// ReadTrips reads the recorded trips of a CSV (trip_id,seq,t,lat,lon),
// those of at least 20 fixes.
func ReadTrips(path string) ([][]Point, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, err := trips.Read(bufio.NewReader(f), 20)
	if err != nil {
		return nil, err
	}
	out := make([][]Point, len(ts))
	for i, t := range ts {
		for _, x := range t.Fixes {
			out[i] = append(out[i], Point{x.Time.Unix(), x.Lat, x.Lng})
		}
	}
	return out, nil
}

// device is a device replaying a trip (registered with Enroute by Setup).
type Device struct {
	n          int // its index: it sends to node(n)
	tech       int64
	ident, tok string
	trip       []Point
	next       int
	clock      time.Time // the virtual time of the next fix
	assignment int64
	watchToken string
}

// Replay returns n devices replaying trips (device i the i-th, looping
// over them), not registered anywhere: what a peer's load replays.
func Replay(trips [][]Point, n int) []*Device {
	devs := make([]*Device, n)
	start := time.Now().Add(-20 * time.Hour)
	for i := range devs {
		devs[i] = &Device{n: i, trip: trips[i%len(trips)], clock: start}
	}
	return devs
}

// Token is the device's API token (empty unless registered by Setup).
func (d *Device) Token() string { return d.tok }

// Step returns the device's next fix and its time (on the virtual clock,
// or now in live mode), looping its trip.
func (d *Device) Step(live bool) (Point, time.Time) {
	p := d.trip[d.next]
	dt := time.Second
	if d.next+1 < len(d.trip) {
		dt = max(time.Duration(d.trip[d.next+1].T-p.T)*time.Second, time.Second)
		d.next++
	} else {
		d.next = 0
		dt = 10 * time.Minute // a new lap: a pause, not a jump
	}
	ts := d.clock
	d.clock = d.clock.Add(dt)
	if live {
		ts = time.Now()
	}
	return p, ts
}

var client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}, Timeout: 30 * time.Second}

func api(c Config, method, path string, body any, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// Parallel runs fn(i) for i in [0,n) on k goroutines, returning the first error.
func Parallel(n, k int, fn func(i int) error) error {
	var (
		next  atomic.Int64
		first atomic.Value
		wg    sync.WaitGroup
	)
	for range k {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && first.Load() == nil; i = int(next.Add(1) - 1) {
				if err := fn(i); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	wg.Wait()
	if err, ok := first.Load().(error); ok {
		return err
	}
	return nil
}

// Setup registers c.Devices technicians, each with a device replaying a
// trip, and for the first c.Watchers of them a dispatched job with a
// tracking link to watch.
func Setup(c Config, trips [][]Point) ([]*Device, error) {
	devs := make([]*Device, c.Devices)
	start := time.Now().Add(-20 * time.Hour)
	err := Parallel(c.Devices, 16, func(i int) error {
		var tech struct{ ID int64 }
		if err := api(c, "POST", "/api/v1/technicians", map[string]any{"name": fmt.Sprintf("Load %d", i)}, &tech); err != nil {
			return err
		}
		var dev struct{ Identifier, Token string }
		if err := api(c, "POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech.ID), nil, &dev); err != nil {
			return err
		}
		devs[i] = &Device{n: i, tech: tech.ID, ident: dev.Identifier, tok: dev.Token, trip: trips[i%len(trips)], clock: start}
		return nil
	})
	if err != nil || c.Watchers == 0 {
		return devs, err
	}
	// The company tracks arrivals (GPS on, with the devices just made):
	// its customers' links show positions only then.
	if err := api(c, "PUT", "/api/v1/settings/gps", map[string]any{"enabled": true}, nil); err != nil {
		return nil, err
	}
	if err := api(c, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": true}, nil); err != nil {
		return nil, err
	}
	var cust, loc struct{ ID int64 }
	if err := api(c, "POST", "/api/v1/customers", map[string]any{"name": "Load Customer"}, &cust); err != nil {
		return nil, err
	}
	p := devs[0].trip[len(devs[0].trip)-1]
	if err := api(c, "POST", "/api/v1/locations", map[string]any{"customer_id": cust.ID, "address": "Load St", "lat": p.Lat, "lng": p.Lng, "verified": true}, &loc); err != nil {
		return nil, err
	}
	err = Parallel(min(c.Watchers, c.Devices), 16, func(i int) error {
		var job, a struct{ ID int64 }
		if err := api(c, "POST", "/api/v1/jobs", map[string]any{"number": fmt.Sprintf("LOAD-%d-%d", time.Now().UnixNano(), i), "customer_id": cust.ID,
			"location_id": loc.ID, "window_start": time.Now().Format(time.RFC3339), "window_end": time.Now().Add(2 * time.Hour).Format(time.RFC3339)}, &job); err != nil {
			return err
		}
		if err := api(c, "POST", fmt.Sprintf("/api/v1/jobs/%d/assignments", job.ID), map[string]any{"technician_id": devs[i].tech}, &a); err != nil {
			return err
		}
		if err := api(c, "POST", fmt.Sprintf("/api/v1/assignments/%d/dispatch", a.ID), nil, nil); err != nil {
			return err
		}
		var link struct{ Token string }
		if err := api(c, "POST", fmt.Sprintf("/api/v1/assignments/%d/tracking-link", a.ID), nil, &link); err != nil {
			return err
		}
		devs[i].assignment, devs[i].watchToken = a.ID, link.Token
		return nil
	})
	return devs, err
}

// fleetDevice is a set-up device as -fleet keeps it.
type fleetDevice struct {
	Tech       int64  `json:"tech"`
	Ident      string `json:"ident"`
	Token      string `json:"token"`
	Assignment int64  `json:"assignment,omitempty"`
	WatchToken string `json:"watch_token,omitempty"`
}

// readFleet reads the devices of an earlier setup from path, if there is
// one: known is false when path is empty or does not exist.
func readFleet(path string, trips [][]Point) (devs []*Device, known bool, err error) {
	if path == "" {
		return nil, false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	} else if err != nil {
		return nil, false, err
	}
	var fs []fleetDevice
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", path, err)
	}
	start := time.Now().Add(-20 * time.Hour)
	for i, f := range fs {
		devs = append(devs, &Device{n: i, tech: f.Tech, ident: f.Ident, tok: f.Token, trip: trips[i%len(trips)], clock: start,
			assignment: f.Assignment, watchToken: f.WatchToken})
	}
	return devs, true, nil
}

// writeFleet writes the set-up devices to path, unless it is empty.
func writeFleet(path string, devs []*Device) error {
	if path == "" {
		return nil
	}
	fs := make([]fleetDevice, len(devs))
	for i, d := range devs {
		fs[i] = fleetDevice{Tech: d.tech, Ident: d.ident, Token: d.tok, Assignment: d.assignment, WatchToken: d.watchToken}
	}
	b, err := json.Marshal(fs)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
