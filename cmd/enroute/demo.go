package main

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/trips"
	"github.com/enroutehq/enroute/tracker"
)

//go:embed demodata/chicago_trip_97.csv
var demoData embed.FS

// demoMarker is the file the demo leaves in the data directory it seeded:
// the ids of its records, which a later --demo on that directory reuses.
const demoMarker = "demo.json"

// demoRecords are the records the demo made once.
type demoRecords struct {
	Technician int64 `json:"technician_id"`
	Device     int64 `json:"device_id"`
	Location   int64 `json:"location_id"`
}

// errNotForDemo refuses --demo on a store that holds a company's own data.
var errNotForDemo = errors.New("--demo seeds its company, technician and customer only into a new data directory, " +
	"and this one holds your data, which it leaves as it is. Run the demo in a directory of its own: make demo " +
	"(or --demo --data-dir ./data-demo)")

// demo runs the live demo. On a new store it seeds a company, a technician
// with a photo and a 4.8 rating, a customer at a verified address, and
// remembers them (demoMarker); on a store the demo seeded before it reuses
// them. A store with anything else in it is refused and left untouched.
// Each run then makes a job, dispatches the technician and replays a
// recorded drive toward the address, one fix a second, then waits there so
// arrival is detected. It prints the tracking page's URL.
func (m *Main) demo(ctx context.Context) error {
	drive, err := demoDrive()
	if err != nil {
		return err
	}
	recs, err := m.demoRecords(ctx, drive[len(drive)-1])
	if err != nil {
		return err
	}
	s := m.Store
	// The demo company tracks arrivals: its customer's page shows the drive.
	if _, err := s.UpdateSettings(ctx, func(st *enroute.Settings) error {
		st.GPS.Enabled, st.Dispatch.Tracking.Enabled = true, true
		return nil
	}); err != nil {
		return err
	}
	tech, err := s.FindTechnicianByID(ctx, recs.Technician)
	if err != nil {
		return fmt.Errorf("the demo's technician: %w (remove the demo's data directory for a fresh demo)", err)
	}
	dev, err := s.FindDeviceByID(ctx, recs.Device)
	if err != nil || dev.Revoked() {
		return fmt.Errorf("the demo's phone is gone or revoked (remove the demo's data directory for a fresh demo)")
	}
	loc, err := s.FindLocationByID(ctx, recs.Location)
	if err != nil {
		return fmt.Errorf("the demo's job site: %w (remove the demo's data directory for a fresh demo)", err)
	}
	// A drive an earlier run left unfinished (the server stopped) ends
	// now: the board shows one demo visit.
	left, err := s.FindAssignments(ctx, enroute.AssignmentFilter{TechnicianID: &tech.ID,
		Statuses: []enroute.AssignmentStatus{enroute.StatusScheduled, enroute.StatusDispatched, enroute.StatusWorking}})
	if err != nil {
		return err
	}
	for _, a := range left {
		if _, err := enroute.TransitionAssignment(ctx, s, a.ID, enroute.StatusCancelled, m.hooks...); err != nil {
			return err
		}
	}
	now := time.Now()
	job := &enroute.Job{Number: "DEMO-" + now.Format("0102-1504") + "-" + enroute.NewSecret("", 3), CustomerID: loc.CustomerID, LocationID: loc.ID,
		WindowStart: now.Truncate(time.Hour), WindowEnd: now.Truncate(time.Hour).Add(2 * time.Hour), Notes: "Furnace tune-up (demo)"}
	if err := s.CreateJob(ctx, job); err != nil {
		return err
	}
	a := &enroute.Assignment{JobID: job.ID, TechnicianID: tech.ID}
	if err := s.CreateAssignment(ctx, a); err != nil {
		return err
	}
	// The first fix before the dispatch, so the page has a position at once.
	first := drive[0]
	first.Time = now
	if _, err := m.Tracker.Ingest(ctx, dev, []tracker.Item{{Pos: first}}); err != nil {
		return err
	}
	if _, err := enroute.TransitionAssignment(ctx, s, a.ID, enroute.StatusDispatched, m.hooks...); err != nil {
		return err
	}
	token := enroute.NewTrackingToken()
	if err := s.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: a.ID}, enroute.HashSecret(token)); err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "\nDemo: %s is driving to %s.\n\n"+
		"    Tracking page (the customer's):  %s/t/%s\n"+
		"    Dispatcher board:                %s/dispatch\n"+
		"    Settings (admin):                %s/settings/dispatch-notifications\n"+
		"    API document:                    %s/api/v1/openapi.yaml\n\n"+
		"The board and the settings ask for the admin API key printed on the first start\n(or ENROUTE_ADMIN_TOKEN).\n\n",
		tech.Name, loc.Address, m.Config.PublicURL, token, m.Config.PublicURL, m.Config.PublicURL, m.Config.PublicURL)

	m.wg.Go(func() { m.replay(ctx, dev, drive[1:]) })
	return nil
}

// replay sends the drive's fixes one a second, stamped now, then stays at
// the last point long enough for arrival to be detected.
func (m *Main) replay(ctx context.Context, dev *enroute.Device, drive []enroute.Position) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	stay := 75 // seconds at the address: more than the arrival dwell
	for i := 0; i < len(drive)+stay; i++ {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			p := drive[min(i, len(drive)-1)]
			p.Time = now
			if _, err := m.Tracker.Ingest(ctx, dev, []tracker.Item{{Pos: p}}); err != nil && ctx.Err() == nil {
				m.Logger.Warn("demo fix", "err", err)
			}
		}
	}
}

// demoDrive reads the recorded drive.
func demoDrive() ([]enroute.Position, error) {
	raw, err := demoData.ReadFile("demodata/chicago_trip_97.csv")
	if err != nil {
		return nil, err
	}
	ts, err := trips.Read(bytes.NewReader(raw), 2)
	if err != nil || len(ts) != 1 {
		return nil, fmt.Errorf("demo drive: %v", err)
	}
	var out []enroute.Position
	for _, f := range ts[0].Fixes {
		out = append(out, enroute.Position{Lat: f.Lat, Lng: f.Lng, AccuracyM: 8, SpeedMPS: tracker.Unknown, HeadingDeg: tracker.Unknown, Battery: 80})
	}
	return out, nil
}

// demoRecords returns the demo's records: those the marker names, or, on a
// new store, new ones (then written to the marker). A store holding
// anything else is refused with errNotForDemo.
func (m *Main) demoRecords(ctx context.Context, dest enroute.Position) (demoRecords, error) {
	var recs demoRecords
	marker := filepath.Join(m.Config.DataDir, demoMarker)
	if m.Config.DatabaseURL == "" {
		if raw, err := os.ReadFile(marker); err == nil {
			if err := json.Unmarshal(raw, &recs); err != nil {
				return recs, fmt.Errorf("read %s: %w", marker, err)
			}
			return recs, nil
		} else if !errors.Is(err, fs.ErrNotExist) {
			return recs, err
		}
	}
	if fresh, err := m.newStore(ctx); err != nil {
		return recs, err
	} else if !fresh {
		return recs, errNotForDemo
	}
	s := m.Store
	if _, err := s.UpdateCompany(ctx, enroute.CompanyUpdate{Name: ptr("Windy City Heating & Air"), Phone: ptr("+13125550100"), TimeZone: ptr("America/Chicago"), Locale: ptr("en-US")}); err != nil {
		return recs, err
	}
	tech := &enroute.Technician{Name: "Alex Rivera", Rating: 4.8, Active: true, PhotoURL: m.Config.PublicURL + "/static/demo-technician.svg"}
	if err := s.CreateTechnician(ctx, tech); err != nil {
		return recs, err
	}
	dev := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier(), Name: "demo phone"}
	if err := s.CreateDevice(ctx, dev, enroute.HashSecret(enroute.NewDeviceToken())); err != nil {
		return recs, err
	}
	cust := &enroute.Customer{Name: "Jordan Smith", Language: "en"}
	if err := s.CreateCustomer(ctx, cust); err != nil {
		return recs, err
	}
	loc := &enroute.Location{CustomerID: cust.ID, Address: "1200 W Harrison St, Chicago, IL", Lat: dest.Lat, Lng: dest.Lng, Verified: true}
	if err := s.CreateLocation(ctx, loc); err != nil {
		return recs, err
	}
	recs = demoRecords{Technician: tech.ID, Device: dev.ID, Location: loc.ID}
	if m.Config.DatabaseURL == "" {
		raw, _ := json.Marshal(recs)
		if err := os.WriteFile(marker, raw, 0o600); err != nil {
			return recs, err
		}
	}
	return recs, nil
}

// newStore reports whether the store is as a first start leaves it: the
// company unnamed ("My Company", no phone), no technician, customer or
// job.
func (m *Main) newStore(ctx context.Context) (bool, error) {
	s := m.Store
	c, err := s.FindCompany(ctx)
	if err != nil {
		return false, err
	}
	if c.Name != "My Company" || c.Phone != "" {
		return false, nil
	}
	one := enroute.Page{Limit: 1}
	techs, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{Page: one})
	if err != nil || len(techs) > 0 {
		return false, err
	}
	custs, err := s.FindCustomers(ctx, enroute.CustomerFilter{Page: one})
	if err != nil || len(custs) > 0 {
		return false, err
	}
	jobs, err := s.FindJobs(ctx, enroute.JobFilter{Page: one})
	return err == nil && len(jobs) == 0, err
}

func ptr[T any](v T) *T { return &v }
