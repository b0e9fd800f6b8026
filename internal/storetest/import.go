package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// testImport: an import creates what it does not find by external id,
// updates what changed, leaves alone what did not (a second import of the
// same rows changes nothing), writes nothing when one row is invalid,
// never touches a customer's STOP, and external ids stay unique.
func testImport(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t.Run("Technicians", func(t *testing.T) {
		rows := []enroute.TechnicianUpdate{
			{ExternalID: ptr("T-1"), Name: ptr("Ana Silva"), Rating: ptr(4.5)},
			{ExternalID: ptr("T-2"), Name: ptr("Bruno Costa"), Active: ptr(false)},
		}
		res, err := s.ImportTechnicians(ctx, rows)
		must(t, err)
		diff(t, *res, enroute.ImportResult{Created: 2})
		ts, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{ExternalID: ptr("T-2")})
		must(t, err)
		if len(ts) != 1 || ts[0].Name != "Bruno Costa" || ts[0].Active || ts[0].ID == 0 {
			t.Fatalf("T-2 = %+v", ts)
		}
		first := ts[0]

		res, err = s.ImportTechnicians(ctx, rows)
		must(t, err)
		diff(t, *res, enroute.ImportResult{Unchanged: 2})

		// A column left out (nil) keeps its value; a changed one updates.
		res, err = s.ImportTechnicians(ctx, []enroute.TechnicianUpdate{
			{ExternalID: ptr("T-2"), Name: ptr("Bruno Costa Jr")},
			{ExternalID: ptr("T-3"), Name: ptr("Carla Dias")},
		})
		must(t, err)
		diff(t, *res, enroute.ImportResult{Created: 1, Updated: 1})
		got, err := s.FindTechnicianByID(ctx, first.ID)
		must(t, err)
		if got.Name != "Bruno Costa Jr" || got.Active || !got.CreatedAt.Equal(first.CreatedAt) {
			t.Fatalf("T-2 after the update = %+v (was %+v)", got, first)
		}

		// One bad row: nothing written, the row named by its index.
		_, err = s.ImportTechnicians(ctx, []enroute.TechnicianUpdate{
			{ExternalID: ptr("T-4"), Name: ptr("Dora")},
			{ExternalID: ptr("T-1"), Name: ptr("Ana"), Rating: ptr(7.0)},
		})
		wantCode(t, err, enroute.EINVALID)
		if ts, _ := s.FindTechnicians(ctx, enroute.TechnicianFilter{ExternalID: ptr("T-4")}); len(ts) != 0 {
			t.Fatal("a file with a bad row imported its good one")
		}
		_, err = s.ImportTechnicians(ctx, []enroute.TechnicianUpdate{{Name: ptr("No id")}})
		wantCode(t, err, enroute.EINVALID)
		_, err = s.ImportTechnicians(ctx, []enroute.TechnicianUpdate{{ExternalID: ptr("T-9"), Name: ptr("a")}, {ExternalID: ptr("T-9"), Name: ptr("b")}})
		wantCode(t, err, enroute.EINVALID)

		// External ids are unique; one may be set, changed and cleared.
		dup := &enroute.Technician{ExternalID: "T-1", Name: "Another Ana", Active: true}
		wantCode(t, s.CreateTechnician(ctx, dup), enroute.ECONFLICT)
		none := &enroute.Technician{Name: "No external id", Active: true}
		must(t, s.CreateTechnician(ctx, none))
		must(t, s.CreateTechnician(ctx, &enroute.Technician{Name: "Nor this one", Active: true}))
		upd, err := s.UpdateTechnician(ctx, none.ID, enroute.TechnicianUpdate{ExternalID: ptr("T-7")})
		must(t, err)
		if upd.ExternalID != "T-7" {
			t.Fatalf("external id after update = %q", upd.ExternalID)
		}
		upd, err = s.UpdateTechnician(ctx, none.ID, enroute.TechnicianUpdate{ExternalID: ptr("")})
		must(t, err)
		if upd.ExternalID != "" {
			t.Fatalf("external id after clearing = %q", upd.ExternalID)
		}
	})
	t.Run("Customers", func(t *testing.T) {
		rows := []enroute.CustomerUpdate{
			{ExternalID: ptr("C-1"), Name: ptr("Maria Santos"), Phone: ptr("+351912345678"), Email: ptr("maria@example.com")},
			{ExternalID: ptr("C-2"), Name: ptr("John Smith"), Language: ptr("es")},
		}
		res, err := s.ImportCustomers(ctx, rows)
		must(t, err)
		diff(t, *res, enroute.ImportResult{Created: 2})
		cs, err := s.FindCustomers(ctx, enroute.CustomerFilter{ExternalID: ptr("C-1")})
		must(t, err)
		if len(cs) != 1 || cs[0].Language != "en" || cs[0].Phone != "+351912345678" {
			t.Fatalf("C-1 = %+v", cs)
		}
		// The customer texts STOP; an import that tries to say otherwise
		// changes nothing.
		_, err = s.UpdateCustomer(ctx, cs[0].ID, enroute.CustomerUpdate{SMSOptOut: ptr(true)})
		must(t, err)
		again := append([]enroute.CustomerUpdate(nil), rows...)
		again[0].SMSOptOut = ptr(false)
		res, err = s.ImportCustomers(ctx, again)
		must(t, err)
		diff(t, *res, enroute.ImportResult{Unchanged: 2})
		got, err := s.FindCustomerByID(ctx, cs[0].ID)
		must(t, err)
		if !got.SMSOptOut {
			t.Fatal("an import undid a customer's STOP")
		}
		_, err = s.ImportCustomers(ctx, []enroute.CustomerUpdate{{ExternalID: ptr("C-3"), Name: ptr("Bad"), Email: ptr("not an address")}})
		wantCode(t, err, enroute.EINVALID)
	})
}

// testExternalIDs: locations and jobs keep their external ids, found by
// them, unique.
func testExternalIDs(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	cu := &enroute.Customer{Name: "Maria", Language: "en"}
	must(t, s.CreateCustomer(ctx, cu))
	l := &enroute.Location{ExternalID: "L-1", CustomerID: cu.ID, Address: "1 Main St", Lat: 41.87, Lng: -87.65, Verified: true}
	must(t, s.CreateLocation(ctx, l))
	ls, err := s.FindLocations(ctx, enroute.LocationFilter{ExternalID: ptr("L-1")})
	must(t, err)
	if len(ls) != 1 || ls[0].ID != l.ID || ls[0].ExternalID != "L-1" {
		t.Fatalf("L-1 = %+v", ls)
	}
	wantCode(t, s.CreateLocation(ctx, &enroute.Location{ExternalID: "L-1", CustomerID: cu.ID, Address: "2 Main St", Lat: 1, Lng: 1}), enroute.ECONFLICT)
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	j := &enroute.Job{ExternalID: "J-1", Number: "WO-1", CustomerID: cu.ID, LocationID: l.ID, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}
	must(t, s.CreateJob(ctx, j))
	other := &enroute.Job{ExternalID: "J-1", Number: "WO-2", CustomerID: cu.ID, LocationID: l.ID, WindowStart: start, WindowEnd: start.Add(time.Hour)}
	wantCode(t, s.CreateJob(ctx, other), enroute.ECONFLICT)
	other.ExternalID = "J-2"
	must(t, s.CreateJob(ctx, other))
	_, err = s.UpdateJob(ctx, other.ID, enroute.JobUpdate{ExternalID: ptr("J-1")})
	wantCode(t, err, enroute.ECONFLICT)
	js, err := s.FindJobs(ctx, enroute.JobFilter{ExternalID: ptr("J-2")})
	must(t, err)
	if len(js) != 1 || js[0].Number != "WO-2" {
		t.Fatalf("J-2 = %+v", js)
	}
	upd, err := s.UpdateLocation(ctx, l.ID, enroute.LocationUpdate{ExternalID: ptr("")})
	must(t, err)
	if upd.ExternalID != "" || !upd.Verified {
		t.Fatalf("L-1 with its external id cleared = %+v", upd)
	}
}
