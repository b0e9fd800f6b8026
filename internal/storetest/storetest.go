// Package storetest is the conformance suite every enroute.Store passes.
// sqlite and postgres run it from their own tests; each test opens a fresh,
// isolated store (a file or a schema), so the tests run in parallel.
package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/enroutehq/enroute"
)

// Opener returns a new, empty store, closed when the test ends.
type Opener func(t *testing.T) enroute.Store

// Run runs the suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, enroute.Store)
	}{
		{"Company", testCompany},
		{"Technicians", testTechnicians},
		{"Devices", testDevices},
		{"Customers", testCustomers},
		{"Locations", testLocations},
		{"Geocoding", testGeocoding},
		{"GeocodingConcurrentClaims", testGeocodingConcurrentClaims},
		{"Jobs", testJobs},
		{"Assignments", testAssignments},
		{"AssignmentRace", testAssignmentRace},
		{"APIKeys", testAPIKeys},
		{"Idempotency", testIdempotency},
		{"Transactions", testTransactions},
		{"Settings", testSettings},
		{"Outbox", testOutbox},
		{"OutboxConcurrentClaims", testOutboxConcurrentClaims},
		{"DeliveryReports", testDeliveryReports},
		{"TrackingLinks", testTrackingLinks},
		{"SiteAssignments", testSiteAssignments},
		{"Positions", testPositions},
		{"EachPosition", testEachPosition},
		{"Model", testModel},
		{"Sessions", testSessions},
		{"Import", testImport},
		{"ExternalIDs", testExternalIDs},
		{"TrackingOpens", testTrackingOpens},
		{"Replies", testReplies},
		{"ManualMessages", testManualMessages},
		{"QuietMessages", testQuietMessages},
		{"VerificationCodes", testVerificationCodes},
		{"Feedback", testFeedback},
		{"TrackingLinksAfterDone", testTrackingLinksAfterDone},
		{"WebhookEndpoints", testWebhookEndpoints},
		{"WebhookOutbox", testWebhookOutbox},
		{"WebhookConcurrentClaims", testWebhookConcurrentClaims},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// wantCode fails unless err carries code.
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := enroute.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func diff(t *testing.T, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("mismatch (-want +got):\n%s", d)
	}
}

func testCompany(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	c, err := s.FindCompany(ctx)
	must(t, err)
	if c.Name == "" || c.TimeZone == "" {
		t.Fatalf("default company = %+v, want a name and a time zone", c)
	}
	t.Run("OK", func(t *testing.T) {
		c, err := s.UpdateCompany(ctx, enroute.CompanyUpdate{Name: ptr("Cool Air HVAC"), Phone: ptr("+13125550100"), TimeZone: ptr("America/Chicago")})
		must(t, err)
		got, err := s.FindCompany(ctx)
		must(t, err)
		diff(t, got, c)
		if got.Name != "Cool Air HVAC" || got.TimeZone != "America/Chicago" {
			t.Fatalf("company = %+v", got)
		}
	})
	t.Run("BrandColor", func(t *testing.T) {
		c, err := s.UpdateCompany(ctx, enroute.CompanyUpdate{BrandColor: ptr("#0A7E8c")})
		must(t, err)
		got, err := s.FindCompany(ctx)
		must(t, err)
		if c.BrandColor != "#0A7E8c" || got.BrandColor != "#0A7E8c" {
			t.Fatalf("brand colour %q, read %q", c.BrandColor, got.BrandColor)
		}
		for _, bad := range []string{"red", "#0a7e8", "#0a7e8cff", "0a7e8c", "#0a7e8g"} {
			_, err := s.UpdateCompany(ctx, enroute.CompanyUpdate{BrandColor: ptr(bad)})
			wantCode(t, err, enroute.EINVALID)
			if enroute.ErrorFields(err)["brand_color"] == "" {
				t.Fatalf("%q: fields = %v, want brand_color", bad, enroute.ErrorFields(err))
			}
		}
		_, err = s.UpdateCompany(ctx, enroute.CompanyUpdate{BrandColor: ptr("")}) // back to Enroute's
		must(t, err)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		_, err := s.UpdateCompany(ctx, enroute.CompanyUpdate{TimeZone: ptr("Mars/Olympus")})
		wantCode(t, err, enroute.EINVALID)
		if enroute.ErrorFields(err)["time_zone"] == "" {
			t.Fatalf("fields = %v, want time_zone", enroute.ErrorFields(err))
		}
	})
}

func newTechnician(t *testing.T, s enroute.Store, name string) *enroute.Technician {
	t.Helper()
	tech := &enroute.Technician{Name: name, PhotoURL: "https://example.com/p.jpg", Rating: 4.8, Active: true}
	must(t, s.CreateTechnician(context.Background(), tech))
	return tech
}

func testTechnicians(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		tech := newTechnician(t, s, "Ana Silva")
		if tech.ID == 0 || tech.CreatedAt.IsZero() {
			t.Fatalf("created = %+v, want id and time", tech)
		}
		got, err := s.FindTechnicianByID(ctx, tech.ID)
		must(t, err)
		diff(t, got, tech)

		upd, err := s.UpdateTechnician(ctx, tech.ID, enroute.TechnicianUpdate{Rating: ptr(3.9), Active: ptr(false)})
		must(t, err)
		if upd.Rating != 3.9 || upd.Active || upd.Name != "Ana Silva" {
			t.Fatalf("updated = %+v", upd)
		}
		got, err = s.FindTechnicianByID(ctx, tech.ID)
		must(t, err)
		diff(t, got, upd)

		inactive, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{Active: ptr(false)})
		must(t, err)
		if len(inactive) != 1 || inactive[0].ID != tech.ID {
			t.Fatalf("inactive = %v", inactive)
		}
		must(t, s.DeleteTechnician(ctx, tech.ID))
		_, err = s.FindTechnicianByID(ctx, tech.ID)
		wantCode(t, err, enroute.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, tech := range []*enroute.Technician{
			{Name: ""},
			{Name: "x", Rating: 5.1},
			{Name: "x", Rating: 4.25},
			{Name: "x", PhotoURL: "javascript:alert(1)"},
		} {
			wantCode(t, s.CreateTechnician(ctx, tech), enroute.EINVALID)
		}
		all, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{})
		must(t, err)
		for _, tech := range all {
			if tech.Name == "x" || tech.Name == "" {
				t.Fatalf("invalid technician stored: %+v", tech)
			}
		}
		tech := newTechnician(t, s, "Bo")
		_, err = s.UpdateTechnician(ctx, tech.ID, enroute.TechnicianUpdate{Rating: ptr(-1.0)})
		wantCode(t, err, enroute.EINVALID)
		got, err := s.FindTechnicianByID(ctx, tech.ID)
		must(t, err)
		diff(t, got, tech)
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		_, err := s.FindTechnicianByID(ctx, 999999)
		wantCode(t, err, enroute.ENOTFOUND)
		_, err = s.UpdateTechnician(ctx, 999999, enroute.TechnicianUpdate{Name: ptr("x")})
		wantCode(t, err, enroute.ENOTFOUND)
		wantCode(t, s.DeleteTechnician(ctx, 999999), enroute.ENOTFOUND)
	})
	t.Run("Page", func(t *testing.T) {
		for range 5 {
			newTechnician(t, s, "Page")
		}
		all, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{})
		must(t, err)
		page, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{Page: enroute.Page{Limit: 2, Offset: 1}})
		must(t, err)
		if len(page) != 2 || page[0].ID != all[1].ID || page[1].ID != all[2].ID {
			t.Fatalf("page = %v, all = %v", page, all)
		}
	})
}

func newCustomer(t *testing.T, s enroute.Store) *enroute.Customer {
	t.Helper()
	c := &enroute.Customer{Name: "Maria Costa", Phone: "+351912345678", Email: "maria@example.com", Language: "pt-PT"}
	must(t, s.CreateCustomer(context.Background(), c))
	return c
}

func testCustomers(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		c := newCustomer(t, s)
		got, err := s.FindCustomerByID(ctx, c.ID)
		must(t, err)
		diff(t, got, c)
		upd, err := s.UpdateCustomer(ctx, c.ID, enroute.CustomerUpdate{SMSOptOut: ptr(true), Email: ptr("")})
		must(t, err)
		if !upd.SMSOptOut || upd.Email != "" || upd.Phone != c.Phone {
			t.Fatalf("updated = %+v", upd)
		}
		byPhone, err := s.FindCustomers(ctx, enroute.CustomerFilter{Phone: &c.Phone})
		must(t, err)
		if len(byPhone) != 1 || byPhone[0].ID != c.ID {
			t.Fatalf("by phone = %v", byPhone)
		}
		must(t, s.DeleteCustomer(ctx, c.ID))
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, c := range []*enroute.Customer{
			{Name: "x", Phone: "555-1234", Language: "en"},
			{Name: "x", Email: "not-an-email", Language: "en"},
			{Name: "x", Email: "X <x@example.com>", Language: "en"},
			{Name: "", Language: "en"},
			{Name: "x", Language: "english"},
		} {
			wantCode(t, s.CreateCustomer(ctx, c), enroute.EINVALID)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		c := newCustomer(t, s)
		must(t, s.CreateLocation(ctx, &enroute.Location{CustomerID: c.ID, Address: "Rua A 1", Lat: 41.15, Lng: -8.61}))
		wantCode(t, s.DeleteCustomer(ctx, c.ID), enroute.ECONFLICT)
	})
	t.Run("Search", func(t *testing.T) { testCustomerSearch(t, s) })
}

// testCustomerSearch: CustomerFilter.Query in both dialects, on customers
// of a store of its own (the suite's others share it).
func testCustomerSearch(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	mk := func(name, phone, email string) int64 {
		c := &enroute.Customer{Name: "Search " + name, Phone: phone, Email: email, Language: "en"}
		must(t, s.CreateCustomer(ctx, c))
		return c.ID
	}
	alvaro := mk("Álvaro Núñez", "+34600123456", "alvaro@example.es")
	pure := mk("100% Pure_Air!", "+17735550199", "")
	jordan := mk("Jordan", "+13125550123", "JORDAN@Work.test")
	find := func(q string) []int64 {
		t.Helper()
		cs, err := s.FindCustomers(ctx, enroute.CustomerFilter{Query: &q, Page: enroute.Page{Limit: enroute.MaxLimit}})
		must(t, err)
		var ids []int64
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		return ids
	}
	for _, tc := range []struct {
		name, q string
		want    []int64
	}{
		{"AsWritten", "Álvaro Núñez", []int64{alvaro}},
		{"ASCIIAnyCase", "search JORDAN", []int64{jordan}},
		{"EmailAnyCase", "jordan@work", []int64{jordan}},
		{"Phone", "600 123", []int64{alvaro}},
		{"PhoneNeedsThreeDigits", "60", nil},
		{"Percent", "100%", []int64{pure}},
		{"PercentIsNoWildcard", "1%A", nil},
		{"Underscore", "_Air", []int64{pure}},
		{"UnderscoreIsNoWildcard", "Pure Air", nil},
		{"Bang", "Air!", []int64{pure}},
		{"Trimmed", "  Jordan ", []int64{jordan}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := find(tc.q); !slices.Equal(got, tc.want) {
				t.Fatalf("q=%q found %v, want %v", tc.q, got, tc.want)
			}
		})
	}
}

func testLocations(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	c := newCustomer(t, s)
	t.Run("OK", func(t *testing.T) {
		l := &enroute.Location{CustomerID: c.ID, Address: "Rua de Santa Catarina 1, Porto", Lat: 41.1496, Lng: -8.6060, Verified: true}
		must(t, s.CreateLocation(ctx, l))
		got, err := s.FindLocationByID(ctx, l.ID)
		must(t, err)
		diff(t, got, l)
		upd, err := s.UpdateLocation(ctx, l.ID, enroute.LocationUpdate{Verified: ptr(false)})
		must(t, err)
		if upd.Verified {
			t.Fatal("still verified")
		}
		ls, err := s.FindLocations(ctx, enroute.LocationFilter{CustomerID: &c.ID})
		must(t, err)
		if len(ls) != 1 {
			t.Fatalf("locations = %v", ls)
		}
		must(t, s.DeleteLocation(ctx, l.ID))
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, l := range []*enroute.Location{
			{CustomerID: c.ID, Address: "x", Lat: 91, Lng: 0},
			{CustomerID: c.ID, Address: "x", Lat: 0, Lng: -181},
			{CustomerID: c.ID, Address: "", Lat: 1, Lng: 1},
			{CustomerID: 999999, Address: "x", Lat: 1, Lng: 1},
		} {
			wantCode(t, s.CreateLocation(ctx, l), enroute.EINVALID)
		}
		ls, err := s.FindLocations(ctx, enroute.LocationFilter{})
		must(t, err)
		for _, l := range ls {
			if l.Address == "x" || l.Address == "" {
				t.Fatalf("invalid location stored: %+v", l)
			}
		}
	})
}

// fixture is a customer at a location with a job and a technician.
type fixture struct {
	cust *enroute.Customer
	loc  *enroute.Location
	job  *enroute.Job
	tech *enroute.Technician
}

func newFixture(t *testing.T, s enroute.Store, number string) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{cust: newCustomer(t, s)}
	f.loc = &enroute.Location{CustomerID: f.cust.ID, Address: "Rua B 2", Lat: 41.15, Lng: -8.61, Verified: true}
	must(t, s.CreateLocation(ctx, f.loc))
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	f.job = &enroute.Job{Number: number, CustomerID: f.cust.ID, LocationID: f.loc.ID, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}
	must(t, s.CreateJob(ctx, f.job))
	f.tech = newTechnician(t, s, "Tech "+number)
	return f
}

func testJobs(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		f := newFixture(t, s, "J-1")
		got, err := s.FindJobByID(ctx, f.job.ID)
		must(t, err)
		diff(t, got, f.job)
		upd, err := s.UpdateJob(ctx, f.job.ID, enroute.JobUpdate{Notes: ptr("Gate code 1234")})
		must(t, err)
		if upd.Notes != "Gate code 1234" {
			t.Fatalf("updated = %+v", upd)
		}
		byNumber, err := s.FindJobs(ctx, enroute.JobFilter{Number: ptr("J-1")})
		must(t, err)
		if len(byNumber) != 1 || byNumber[0].ID != f.job.ID {
			t.Fatalf("by number = %v", byNumber)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		f := newFixture(t, s, "J-2")
		dup := *f.job
		wantCode(t, s.CreateJob(ctx, &dup), enroute.ECONFLICT)
		other := newFixture(t, s, "J-3")
		_, err := s.UpdateJob(ctx, other.job.ID, enroute.JobUpdate{Number: ptr("J-2")})
		wantCode(t, err, enroute.ECONFLICT)
		got, err := s.FindJobByID(ctx, other.job.ID)
		must(t, err)
		diff(t, got, other.job)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		f := newFixture(t, s, "J-4")
		other := newCustomer(t, s)
		start := time.Now()
		for name, j := range map[string]*enroute.Job{
			"location_id": {Number: "J-5", CustomerID: other.ID, LocationID: f.loc.ID, WindowStart: start, WindowEnd: start},
			"window_end":  {Number: "J-5", CustomerID: f.cust.ID, LocationID: f.loc.ID, WindowStart: start, WindowEnd: start.Add(-time.Hour)},
			"customer_id": {Number: "J-5", CustomerID: 999999, LocationID: f.loc.ID, WindowStart: start, WindowEnd: start},
			"number":      {CustomerID: f.cust.ID, LocationID: f.loc.ID, WindowStart: start, WindowEnd: start},
		} {
			err := s.CreateJob(ctx, j)
			wantCode(t, err, enroute.EINVALID)
			if enroute.ErrorFields(err)[name] == "" {
				t.Fatalf("fields = %v, want %s", enroute.ErrorFields(err), name)
			}
		}
		jobs, err := s.FindJobs(ctx, enroute.JobFilter{Number: ptr("J-5")})
		must(t, err)
		if len(jobs) != 0 {
			t.Fatalf("invalid job stored: %v", jobs)
		}
	})
}

func testAssignments(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t.Run("Lifecycle", func(t *testing.T) {
		f := newFixture(t, s, "A-1")
		a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
		must(t, s.CreateAssignment(ctx, a))
		if a.Status != enroute.StatusScheduled || a.ScheduledAt.IsZero() {
			t.Fatalf("created = %+v", a)
		}
		for _, next := range []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking, enroute.StatusDone} {
			got, err := s.TransitionAssignment(ctx, a.ID, next)
			must(t, err)
			if got.Status != next {
				t.Fatalf("status = %s, want %s", got.Status, next)
			}
		}
		got, err := s.FindAssignmentByID(ctx, a.ID)
		must(t, err)
		if got.DispatchedAt == nil || got.WorkingAt == nil || got.DoneAt == nil || got.CancelledAt != nil {
			t.Fatalf("transition times = %+v", got)
		}
		if got.DispatchedAt.Before(got.ScheduledAt) || got.WorkingAt.Before(*got.DispatchedAt) || got.DoneAt.Before(*got.WorkingAt) {
			t.Fatalf("transition times out of order: %+v", got)
		}
		// Arrived since: by the time it became working.
		arrived := *got.WorkingAt
		if as, err := s.FindAssignments(ctx, enroute.AssignmentFilter{JobID: &f.job.ID, ArrivedSince: &arrived}); err != nil || len(as) != 1 || as[0].ID != a.ID {
			t.Fatalf("arrived since its arrival = %v, %v", as, err)
		}
		later := arrived.Add(time.Millisecond)
		if as, err := s.FindAssignments(ctx, enroute.AssignmentFilter{JobID: &f.job.ID, ArrivedSince: &later}); err != nil || len(as) != 0 {
			t.Fatalf("arrived since after its arrival = %v, %v", as, err)
		}
		// A finished assignment frees the technician for another on the job.
		again := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
		must(t, s.CreateAssignment(ctx, again))
		_, err = s.TransitionAssignment(ctx, again.ID, enroute.StatusCancelled)
		must(t, err)
		list, err := s.FindAssignments(ctx, enroute.AssignmentFilter{JobID: &f.job.ID})
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("assignments = %v", list)
		}
		open, err := s.FindAssignments(ctx, enroute.AssignmentFilter{JobID: &f.job.ID, Statuses: []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking}})
		must(t, err)
		if len(open) != 0 {
			t.Fatalf("open = %v", open)
		}
		wantCode(t, s.DeleteJob(ctx, f.job.ID), enroute.ECONFLICT)
		wantCode(t, s.DeleteTechnician(ctx, f.tech.ID), enroute.ECONFLICT)
	})
	t.Run("ErrInvalidTransition", func(t *testing.T) {
		f := newFixture(t, s, "A-2")
		a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
		must(t, s.CreateAssignment(ctx, a))
		for _, next := range []enroute.AssignmentStatus{enroute.StatusWorking, enroute.StatusDone, enroute.StatusScheduled, "flying"} {
			_, err := s.TransitionAssignment(ctx, a.ID, next)
			wantCode(t, err, enroute.EINVALID)
		}
		_, err := s.TransitionAssignment(ctx, a.ID, enroute.StatusCancelled)
		must(t, err)
		_, err = s.TransitionAssignment(ctx, a.ID, enroute.StatusDispatched)
		wantCode(t, err, enroute.EINVALID)
		got, err := s.FindAssignmentByID(ctx, a.ID)
		must(t, err)
		if got.Status != enroute.StatusCancelled || got.DispatchedAt != nil {
			t.Fatalf("after refused moves = %+v", got)
		}
	})
	t.Run("ErrConflict", func(t *testing.T) {
		f := newFixture(t, s, "A-3")
		must(t, s.CreateAssignment(ctx, &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}))
		wantCode(t, s.CreateAssignment(ctx, &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}), enroute.ECONFLICT)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		f := newFixture(t, s, "A-4")
		_, err := s.UpdateTechnician(ctx, f.tech.ID, enroute.TechnicianUpdate{Active: ptr(false)})
		must(t, err)
		wantCode(t, s.CreateAssignment(ctx, &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}), enroute.EINVALID)
		wantCode(t, s.CreateAssignment(ctx, &enroute.Assignment{JobID: f.job.ID, TechnicianID: 999999}), enroute.EINVALID)
		wantCode(t, s.CreateAssignment(ctx, &enroute.Assignment{JobID: 999999, TechnicianID: f.tech.ID}), enroute.ENOTFOUND)
		_, err = s.TransitionAssignment(ctx, 999999, enroute.StatusDispatched)
		wantCode(t, err, enroute.ENOTFOUND)
	})
}

// testAssignmentRace dispatches one assignment from many goroutines: exactly
// one wins.
func testAssignmentRace(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "R-1")
	a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { _, errs[i] = s.TransitionAssignment(ctx, a.ID, enroute.StatusDispatched) })
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			wantCode(t, err, enroute.EINVALID)
		}
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent dispatches succeeded, want 1", wins, n)
	}
}

func testAPIKeys(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	secret := enroute.NewAPIKeySecret()
	admin := &enroute.APIKey{Name: "first admin", Role: enroute.RoleAdmin, Prefix: secret[:8]}
	must(t, s.CreateAPIKey(ctx, admin, enroute.HashSecret(secret)))
	t.Run("FindByHash", func(t *testing.T) {
		got, err := s.FindAPIKeys(ctx, enroute.APIKeyFilter{KeyHash: enroute.HashSecret(secret)})
		must(t, err)
		if len(got) != 1 {
			t.Fatalf("keys = %v", got)
		}
		diff(t, got[0], admin)
	})
	t.Run("ErrConflictLastAdmin", func(t *testing.T) {
		_, err := s.RevokeAPIKey(ctx, admin.ID)
		wantCode(t, err, enroute.ECONFLICT)
	})
	t.Run("Revoke", func(t *testing.T) {
		s2 := enroute.NewAPIKeySecret()
		second := &enroute.APIKey{Name: "second", Role: enroute.RoleAdmin, Prefix: s2[:8]}
		must(t, s.CreateAPIKey(ctx, second, enroute.HashSecret(s2)))
		k, err := s.RevokeAPIKey(ctx, second.ID)
		must(t, err)
		if k.RevokedAt == nil {
			t.Fatal("not revoked")
		}
		got, err := s.FindAPIKeys(ctx, enroute.APIKeyFilter{KeyHash: enroute.HashSecret(s2)})
		must(t, err)
		if len(got) != 0 {
			t.Fatalf("revoked key still found: %v", got)
		}
		// What a node caching keys asks: the keys revoked since a time.
		since, err := s.FindAPIKeys(ctx, enroute.APIKeyFilter{RevokedSince: k.RevokedAt.Add(-time.Second)})
		must(t, err)
		if len(since) != 1 || since[0].ID != second.ID {
			t.Fatalf("revoked since a second before = %v", since)
		}
		later, err := s.FindAPIKeys(ctx, enroute.APIKeyFilter{RevokedSince: k.RevokedAt.Add(time.Second)})
		must(t, err)
		if len(later) != 0 {
			t.Fatalf("revoked since a second after = %v", later)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		wantCode(t, s.CreateAPIKey(ctx, &enroute.APIKey{Name: "x", Role: "root"}, enroute.HashSecret("y")), enroute.EINVALID)
		wantCode(t, s.CreateAPIKey(ctx, &enroute.APIKey{Name: "dup", Role: enroute.RoleDispatcher}, enroute.HashSecret(secret)), enroute.ECONFLICT)
	})
}

func testIdempotency(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	hash := enroute.HashSecret("POST /x {}")
	resp, err := s.ClaimIdempotencyKey(ctx, 1, "k1", hash)
	must(t, err)
	if resp != nil {
		t.Fatalf("new key replayed %+v", resp)
	}
	want := &enroute.IdempotentResponse{Status: 201, ContentType: "application/json", Body: []byte(`{"id":1}`)}
	must(t, s.SaveIdempotentResponse(ctx, 1, "k1", want))
	got, err := s.ClaimIdempotencyKey(ctx, 1, "k1", hash)
	must(t, err)
	diff(t, got, want)

	_, err = s.ClaimIdempotencyKey(ctx, 1, "k1", enroute.HashSecret("other"))
	wantCode(t, err, enroute.EINVALID)
	// Keys are per API key.
	resp, err = s.ClaimIdempotencyKey(ctx, 2, "k1", hash)
	must(t, err)
	if resp != nil {
		t.Fatalf("another API key's claim replayed %+v", resp)
	}
	// A claim rolled back with its transaction is forgotten.
	boom := errors.New("boom")
	err = s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.ClaimIdempotencyKey(ctx, 1, "k2", hash); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}
	resp, err = s.ClaimIdempotencyKey(ctx, 1, "k2", hash)
	must(t, err)
	if resp != nil {
		t.Fatalf("rolled-back claim replayed %+v", resp)
	}
	n, err := s.DeleteIdempotencyKeysBefore(ctx, time.Now().Add(time.Hour))
	must(t, err)
	if n != 3 {
		t.Fatalf("deleted %d keys, want 3", n)
	}
}

func testTransactions(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	t.Run("Rollback", func(t *testing.T) {
		boom := errors.New("boom")
		committed := false
		err := s.InTx(ctx, func(ctx context.Context) error {
			must(t, s.CreateTechnician(ctx, &enroute.Technician{Name: "Ghost", Active: true}))
			s.AfterCommit(ctx, func() { committed = true })
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx = %v", err)
		}
		if committed {
			t.Fatal("AfterCommit ran after a rollback")
		}
		all, err := s.FindTechnicians(ctx, enroute.TechnicianFilter{})
		must(t, err)
		for _, tech := range all {
			if tech.Name == "Ghost" {
				t.Fatal("rolled-back technician stored")
			}
		}
	})
	t.Run("Commit", func(t *testing.T) {
		var id int64
		committed := false
		err := s.InTx(ctx, func(ctx context.Context) error {
			tech := &enroute.Technician{Name: "Kept", Active: true}
			if err := s.CreateTechnician(ctx, tech); err != nil {
				return err
			}
			id = tech.ID
			s.AfterCommit(ctx, func() { committed = true })
			if committed {
				t.Error("AfterCommit ran before the commit")
			}
			// Reads in the transaction see its writes.
			_, err := s.FindTechnicianByID(ctx, id)
			return err
		})
		must(t, err)
		if !committed {
			t.Fatal("AfterCommit did not run")
		}
		_, err = s.FindTechnicianByID(ctx, id)
		must(t, err)
	})
	t.Run("Ping", func(t *testing.T) {
		must(t, s.Ping(ctx))
	})
}

func testSessions(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	secret := enroute.NewAPIKeySecret()
	k := &enroute.APIKey{Name: "office", Role: enroute.RoleDispatcher, Prefix: secret[:8]}
	must(t, s.CreateAPIKey(ctx, k, enroute.HashSecret(secret)))
	admin := &enroute.APIKey{Name: "admin", Role: enroute.RoleAdmin, Prefix: "x"}
	must(t, s.CreateAPIKey(ctx, admin, enroute.HashSecret(enroute.NewAPIKeySecret())))
	tok := enroute.HashSecret("session-1")
	must(t, s.CreateSession(ctx, k.ID, tok, time.Now().Add(time.Hour)))
	got, err := s.FindSessionKey(ctx, tok)
	must(t, err)
	if got.ID != k.ID || got.Role != enroute.RoleDispatcher {
		t.Fatalf("session key = %+v", got)
	}
	expired := enroute.HashSecret("session-2")
	must(t, s.CreateSession(ctx, k.ID, expired, time.Now().Add(-time.Minute)))
	_, err = s.FindSessionKey(ctx, expired)
	wantCode(t, err, enroute.EUNAUTHORIZED)
	_, err = s.RevokeAPIKey(ctx, k.ID)
	must(t, err)
	_, err = s.FindSessionKey(ctx, tok)
	wantCode(t, err, enroute.EUNAUTHORIZED)
	must(t, s.DeleteSession(ctx, tok))
	must(t, s.DeleteSession(ctx, tok))
}
