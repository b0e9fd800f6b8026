package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/eta"
	"github.com/enroutehq/enroute/postgres/pgtest"
	"github.com/enroutehq/enroute/sqlite"
)

// testETASurvivesRestart: what the ETA model learned from a drive is saved
// while the server runs and at shutdown, and a restart has it back even
// when the positions it learned from are gone from the history (as they
// are past the retention): the hour-of-week paces need weeks of driving,
// which relearning the last two days of history would lose.
func testETASurvivesRestart(t *testing.T, env map[string]string) {
	ctx := context.Background()
	env["ENROUTE_ADMIN_TOKEN"] = testAdminToken
	env["ENROUTE_ETA_SAVE_EVERY"] = "1s"
	st := &stack{t: t, env: env}
	st.m, _ = start(t, env)
	_, _, token := st.device("Ana Silva")

	// A drive east at 10 m/s, a fix every 2 s, in one batch.
	t0 := time.Now().Add(-10 * time.Minute).UTC()
	var fixes []string
	for i := range 60 {
		fixes = append(fixes, fmt.Sprintf(`{"ts":%d,"lat":41.1496,"lng":%f,"speed_mps":10}`, t0.Add(time.Duration(2*i)*time.Second).UnixMilli(), -8.6300+float64(i)*20/84000))
	}
	if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", "["+strings.Join(fixes, ",")+"]", "Authorization", "Bearer "+token); status != 200 {
		t.Fatalf("positions = %d %s", status, raw)
	}
	// The model learns each segment as it comes (1.2 km in all).
	model := st.m.model
	waitFor(t, 5*time.Second, "the drive learned", func() bool { km, _ := model.Stats(); return km > 1.1 })
	km, cells := model.Stats()
	from := eta.Point{Lat: 41.1496, Lng: -8.6300, Time: t0}
	want := model.Estimate(from, -1, 41.1496, -8.6158)

	// Saved while running, every ETASaveEvery.
	waitFor(t, 5*time.Second, "a saved model", func() bool {
		s, err := st.m.Store.FindModel(ctx)
		return err == nil && !s.LearnedUntil.Before(t0.Add(118*time.Second).Truncate(time.Millisecond))
	})
	// /metrics says how much the model has learned, and that it was saved.
	if learned := counter(t, st, "enroute_eta_learned_km"); learned != km {
		t.Fatalf("enroute_eta_learned_km = %v, the model's %v", learned, km)
	}
	if saved := counter(t, st, "enroute_eta_saved_timestamp_seconds"); saved < float64(t0.Unix()) {
		t.Fatalf("enroute_eta_saved_timestamp_seconds = %v", saved)
	}
	// The history goes (in whole days, on PostgreSQL); the model does not.
	if n, err := st.m.Store.DeletePositionsBefore(ctx, time.Now().Add(48*time.Hour)); err != nil || n != 60 {
		t.Fatalf("deleted %d positions: %v", n, err)
	}
	must(t, st.m.Close())

	m2, _ := start(t, env)
	km2, cells2 := m2.model.Stats()
	if km2 != km || cells2 != cells {
		t.Fatalf("after a restart the model knows %.3f km in %d cell-hours; before it, %.3f in %d", km2, cells2, km, cells)
	}
	if got := m2.model.Estimate(from, -1, 41.1496, -8.6158); got != want {
		t.Fatalf("after a restart %+v, before %+v", got, want)
	}
	if empty := eta.New(eta.Config{}).Estimate(from, -1, 41.1496, -8.6158); empty == want {
		t.Fatal("the drive taught the model nothing")
	}
}

func TestETASurvivesRestartSQLite(t *testing.T) {
	testETASurvivesRestart(t, map[string]string{"ENROUTE_DATA_DIR": t.TempDir()})
}

func TestETASurvivesRestartPostgres(t *testing.T) {
	testETASurvivesRestart(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t)})
}

// TestETAUnreadableSnapshot: a saved model this release cannot read (here,
// damaged) is set aside with a warning and the history relearned; the
// server starts.
func TestETAUnreadableSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := sqlite.Open(ctx, filepath.Join(dir, "enroute.db"))
	must(t, err)
	now := time.Now().UTC()
	must(t, s.InsertPositions(ctx, []enroute.Position{
		{TechnicianID: 1, DeviceID: 1, Time: now.Add(-time.Minute), Lat: 41.1496, Lng: -8.6300, ReceivedAt: now},
		{TechnicianID: 1, DeviceID: 1, Time: now.Add(-50 * time.Second), Lat: 41.1496, Lng: -8.6290, ReceivedAt: now},
	}))
	must(t, s.SaveModel(ctx, &enroute.ModelSnapshot{Data: []byte("ENRETA\x01\x09"), LearnedUntil: now}))
	must(t, s.Close())

	m, _ := start(t, map[string]string{"ENROUTE_DATA_DIR": dir, "ENROUTE_ADMIN_TOKEN": testAdminToken})
	if km, _ := m.model.Stats(); km < 0.05 {
		t.Fatalf("with an unreadable snapshot the history was not relearned: %.3f km", km)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestArriveOnce: automatic arrival moves an assignment en route to
// working; one already moved (by another node, or a dispatcher) is left
// as it is without an error, so two nodes noticing the same arrival do not
// warn.
func TestArriveOnce(t *testing.T) {
	st := newIngestStack(t)
	tech, _, _ := st.device("Ana Silva")
	a, _ := st.trackingLink(tech)
	ctx := context.Background()
	must(t, st.m.arrive(ctx, a))
	if got := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["status"]; got != "working" {
		t.Fatalf("after arriving: %v", got)
	}
	must(t, st.m.arrive(ctx, a)) // the second node's
	st.move(a, "complete")
	must(t, st.m.arrive(ctx, a))
	if got := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["status"]; got != "done" {
		t.Fatalf("a late arrival moved a finished assignment: %v", got)
	}
	if err := st.m.arrive(ctx, 999999); err == nil {
		t.Fatal("arriving at an assignment that does not exist: no error")
	}
}

// TestETARange: once the model knows its own errors, the customer's
// stream, the tracking state and the API give the ETA with its range,
// which holds it.
func TestETARange(t *testing.T) {
	st := newIngestStack(t)
	tech, _, token := st.device("Ana Silva")
	teachArrivals(st.m.model, 41.1496, -8.606)
	a, link := st.trackingLink(tech) // the address: 41.1496, -8.606, verified
	ws, _, err := st.wsDial("/t/" + link + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	next(t, ws, 5*time.Second) // snapshot
	st.fixAt(token, 41.1300, -8.6060)
	var m map[string]any
	for m = next(t, ws, 5*time.Second); m["type"] != "progress"; m = next(t, ws, 5*time.Second) {
	}
	inRange := func(what string, v map[string]any) {
		t.Helper()
		var ts [3]time.Time
		for i, k := range []string{"eta_early", "eta", "eta_late"} {
			s, _ := v[k].(string)
			var err error
			if ts[i], err = time.Parse(time.RFC3339Nano, s); err != nil {
				t.Fatalf("%s: %s = %v (%v)", what, k, v[k], v)
			}
		}
		if ts[0].After(ts[1]) || ts[1].After(ts[2]) || !ts[0].Before(ts[2]) {
			t.Fatalf("%s: the range %v - %v does not hold the ETA %v", what, ts[0], ts[2], ts[1])
		}
	}
	inRange("stream", m)
	_, raw := send(t, "GET", "http://"+st.m.Addr()+"/t/"+link+"/state", "", "")
	var s map[string]any
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		t.Fatalf("state: %s", raw)
	}
	inRange("state", s)
	pr, _ := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["progress"].(map[string]any)
	inRange("assignment", pr)
}

// teachArrivals teaches model drives that arrive at (lat, lng) from 3 km
// south, their speeds spread (5 to 12 m/s), over the last days: enough of
// its own errors for a range.
func teachArrivals(model *eta.Model, lat, lng float64) {
	start := time.Now().Add(-72 * time.Hour)
	for k := range 40 {
		speed := 5 + float64(k%8)
		var ps []eta.Point
		at := start.Add(time.Duration(k) * 90 * time.Minute)
		for d := 3000.0; d >= 0; d -= speed * 10 {
			ps = append(ps, eta.Point{Lat: lat - d/111_200, Lng: lng, Time: at})
			at = at.Add(10 * time.Second)
		}
		model.AddTrip(ps)
	}
}
