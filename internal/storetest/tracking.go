package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// testTrackingOpens: each opening counts; the first sets the time, later
// ones keep it; an unknown assignment is ENOTFOUND.
func testTrackingOpens(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	cu := &enroute.Customer{Name: "Maria", Language: "en"}
	must(t, s.CreateCustomer(ctx, cu))
	l := &enroute.Location{CustomerID: cu.ID, Address: "1 Main St", Lat: 41.87, Lng: -87.65, Verified: true}
	must(t, s.CreateLocation(ctx, l))
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	j := &enroute.Job{Number: "WO-1", CustomerID: cu.ID, LocationID: l.ID, WindowStart: start, WindowEnd: start.Add(time.Hour)}
	must(t, s.CreateJob(ctx, j))
	tech := &enroute.Technician{Name: "Ana", Active: true}
	must(t, s.CreateTechnician(ctx, tech))
	a := &enroute.Assignment{JobID: j.ID, TechnicianID: tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	first, err := s.RecordTrackingOpen(ctx, a.ID)
	must(t, err)
	if first.TrackingOpens != 1 || first.TrackingOpenedAt == nil {
		t.Fatalf("after the first opening: %+v", first)
	}
	again, err := s.RecordTrackingOpen(ctx, a.ID)
	must(t, err)
	if again.TrackingOpens != 2 || !again.TrackingOpenedAt.Equal(*first.TrackingOpenedAt) {
		t.Fatalf("after the second: %+v (first at %v)", again, first.TrackingOpenedAt)
	}
	_, err = s.RecordTrackingOpen(ctx, a.ID+1000)
	wantCode(t, err, enroute.ENOTFOUND)
}
