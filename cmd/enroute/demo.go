package main

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/trips"
	"github.com/enroutehq/enroute/tracker"
)

//go:embed demodata/chicago_trip_97.csv
var demoData embed.FS

// demo seeds a company, a technician with a photo and a 4.8 rating, a
// customer at a verified address and a job, dispatches the technician, and
// replays a recorded drive toward the address, one fix a second, then
// waits there so arrival is detected. It prints the tracking page's URL.
func (m *Main) demo(ctx context.Context) error {
	drive, err := demoDrive()
	if err != nil {
		return err
	}
	s := m.Store
	dest := drive[len(drive)-1]
	if _, err := s.UpdateCompany(ctx, enroute.CompanyUpdate{Name: ptr("Windy City Heating & Air"), Phone: ptr("+13125550100"), TimeZone: ptr("America/Chicago"), Locale: ptr("en-US")}); err != nil {
		return err
	}
	tech := &enroute.Technician{Name: "Alex Rivera", Rating: 4.8, Active: true, PhotoURL: m.Config.PublicURL + "/static/demo-technician.svg"}
	if err := s.CreateTechnician(ctx, tech); err != nil {
		return err
	}
	dev := &enroute.Device{TechnicianID: tech.ID, Identifier: enroute.NewDeviceIdentifier(), Name: "demo phone"}
	if err := s.CreateDevice(ctx, dev, enroute.HashSecret(enroute.NewDeviceToken())); err != nil {
		return err
	}
	cust := &enroute.Customer{Name: "Jordan Smith", Language: "en"}
	if err := s.CreateCustomer(ctx, cust); err != nil {
		return err
	}
	loc := &enroute.Location{CustomerID: cust.ID, Address: "1200 W Harrison St, Chicago, IL", Lat: dest.Lat, Lng: dest.Lng, Verified: true}
	if err := s.CreateLocation(ctx, loc); err != nil {
		return err
	}
	now := time.Now()
	job := &enroute.Job{Number: fmt.Sprintf("DEMO-%d", now.Unix()), CustomerID: cust.ID, LocationID: loc.ID,
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

func ptr[T any](v T) *T { return &v }
