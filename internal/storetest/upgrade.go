package storetest

import (
	"bytes"
	"context"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/enroutehq/enroute"
)

// v1At is when the data written on the first schema was written.
var v1At = time.Date(2026, 11, 20, 9, 30, 0, 0, time.UTC)

// SeedV1 writes, with the SQL of the first schema that shipped (migration
// version 1), what a server on it held: the company, a technician with a
// phone, a customer at a verified site, a job with a dispatched
// assignment, an API key, each the first of its table (id 1, on a new
// store). exec runs one statement; its placeholders are
// $1, $2... in order of appearance, which both stores' drivers take.
// CheckV1 reads it all back through the current store.
func SeedV1(t testing.TB, exec func(query string, args ...any) error) {
	t.Helper()
	for _, st := range []struct {
		q    string
		args []any
	}{
		{`UPDATE company SET name = $1, phone = $2, time_zone = $3, locale = $4, updated_at = $5`,
			[]any{"Cool Air HVAC", "+13125550100", "America/Chicago", "en-US", v1At}},
		{`INSERT INTO technicians (name, photo_url, rating, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			[]any{"Ana Silva", "https://example.com/ana.jpg", 4.8, true, v1At, v1At}},
		{`INSERT INTO devices (technician_id, identifier, token_hash, name, created_at) VALUES (1, $1, $2, $3, $4)`,
			[]any{"dev_upgrade0000000000000000", enroute.HashSecret("v1-device-token"), "Pixel", v1At}},
		{`INSERT INTO customers (name, phone, email, language, sms_opt_out, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			[]any{"Maria Costa", "+13125550123", "maria@example.com", "es", false, v1At, v1At}},
		{`INSERT INTO locations (customer_id, address, lat, lng, verified, created_at, updated_at) VALUES (1, $1, $2, $3, $4, $5, $6)`,
			[]any{"1200 W Harrison St, Chicago, IL", 41.8743, -87.6571, true, v1At, v1At}},
		{`INSERT INTO jobs (number, customer_id, location_id, window_start, window_end, notes, created_at, updated_at) VALUES ($1, 1, 1, $2, $3, $4, $5, $6)`,
			[]any{"J-1001", v1At.Add(time.Hour), v1At.Add(3 * time.Hour), "Furnace tune-up", v1At, v1At}},
		{`INSERT INTO assignments (job_id, technician_id, status, scheduled_at, dispatched_at, updated_at) VALUES (1, 1, $1, $2, $3, $4)`,
			[]any{"dispatched", v1At, v1At.Add(time.Minute), v1At.Add(time.Minute)}},
		{`INSERT INTO api_keys (name, role, prefix, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)`,
			[]any{"office", "dispatcher", "enr_v1ke", enroute.HashSecret("enr_v1-dispatcher-key"), v1At}},
	} {
		if err := exec(st.q, st.args...); err != nil {
			t.Fatalf("%s: %v", st.q, err)
		}
	}
}

// CheckV1 reads back, through the current store, everything SeedV1 wrote,
// and checks that the upgraded store takes new data too.
func CheckV1(t *testing.T, s enroute.Store) {
	t.Helper()
	ctx := context.Background()
	co, err := s.FindCompany(ctx)
	must(t, err)
	if co.Name != "Cool Air HVAC" || co.Phone != "+13125550100" || co.TimeZone != "America/Chicago" || co.Locale != "en-US" {
		t.Errorf("company = %+v", co)
	}
	tech, err := s.FindTechnicianByID(ctx, 1)
	must(t, err)
	if tech.Name != "Ana Silva" || tech.Rating != 4.8 || !tech.Active || !tech.CreatedAt.Equal(v1At) {
		t.Errorf("technician = %+v", tech)
	}
	devs, err := s.FindDevices(ctx, enroute.DeviceFilter{TokenHash: enroute.HashSecret("v1-device-token")})
	must(t, err)
	if len(devs) != 1 || devs[0].TechnicianID != 1 || devs[0].Identifier != "dev_upgrade0000000000000000" || !bytes.Equal(devs[0].TokenHash, enroute.HashSecret("v1-device-token")) {
		t.Errorf("the phone does not authenticate: %+v", devs)
	}
	cust, err := s.FindCustomerByID(ctx, 1)
	must(t, err)
	if cust.Name != "Maria Costa" || cust.Phone != "+13125550123" || cust.Email != "maria@example.com" || cust.Language != "es" || cust.SMSOptOut {
		t.Errorf("customer = %+v", cust)
	}
	loc, err := s.FindLocationByID(ctx, 1)
	must(t, err)
	if loc.Address != "1200 W Harrison St, Chicago, IL" || loc.Lat != 41.8743 || loc.Lng != -87.6571 || !loc.Verified ||
		loc.Verification.Status != enroute.VerificationManual || loc.Verification.Source != enroute.SourceDispatcher {
		t.Errorf("location = %+v", loc)
	}
	job, err := s.FindJobByID(ctx, 1)
	must(t, err)
	if job.Number != "J-1001" || !job.WindowStart.Equal(v1At.Add(time.Hour)) || !job.WindowEnd.Equal(v1At.Add(3*time.Hour)) || job.Notes != "Furnace tune-up" {
		t.Errorf("job = %+v", job)
	}
	a, err := s.FindAssignmentByID(ctx, 1)
	must(t, err)
	if a.Status != enroute.StatusDispatched || a.DispatchedAt == nil || !a.DispatchedAt.Equal(v1At.Add(time.Minute)) {
		t.Errorf("assignment = %+v", a)
	}
	keys, err := s.FindAPIKeys(ctx, enroute.APIKeyFilter{KeyHash: enroute.HashSecret("enr_v1-dispatcher-key")})
	must(t, err)
	if len(keys) != 1 || keys[0].Role != enroute.RoleDispatcher || keys[0].Name != "office" {
		t.Errorf("the API key does not authenticate: %+v", keys)
	}
	// The upgraded store goes on: the dispatched technician arrives, a new
	// job is taken.
	if _, err := enroute.TransitionAssignment(ctx, s, 1, enroute.StatusWorking); err != nil {
		t.Errorf("moving the old assignment on: %v", err)
	}
	must(t, s.CreateJob(ctx, &enroute.Job{Number: "J-1002", CustomerID: 1, LocationID: 1, WindowStart: v1At, WindowEnd: v1At.Add(time.Hour)}))
}

// GoodTable is the table FailingMigrations' first extra migration makes.
const GoodTable = "upgrade_good"

// FailingMigrations is fsys (a store's migrations) with two more after
// them: 00098_good.sql, which makes GoodTable, and 00099_bad.sql, which
// fails. A store migrated with it must be left as it was.
func FailingMigrations(t testing.TB, fsys fs.FS) fs.FS {
	next := fstest.MapFS{
		"00098_good.sql": {Data: []byte("-- +goose Up\nCREATE TABLE " + GoodTable + " (id integer);\n-- +goose Down\nDROP TABLE " + GoodTable + ";\n")},
		"00099_bad.sql":  {Data: []byte("-- +goose Up\nALTER TABLE no_such_table ADD COLUMN x integer;\n-- +goose Down\nSELECT 1;\n")},
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		next[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return next
}

// CheckMigrationFailure checks what a store says after FailingMigrations:
// the migration that failed, why, and that the store is as it was: at
// version before, without GoodTable.
func CheckMigrationFailure(t testing.TB, err error, before, after int64, goodTableExists bool) {
	t.Helper()
	if err == nil || !strings.Contains(err.Error(), "00099_bad.sql") || !strings.Contains(err.Error(), "no_such_table") || !strings.Contains(err.Error(), "left as it was") {
		t.Fatalf("a failing migration = %v, want it named, with why", err)
	}
	if after != before {
		t.Fatalf("schema version %d after the failure, want %d as before", after, before)
	}
	if goodTableExists {
		t.Fatal("the migration applied before the failing one is still there")
	}
}
