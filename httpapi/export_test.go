package httpapi_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/sqlite"
)

// TestPositionExport: a technician's and the fleet's history as files,
// CSV and GeoJSON, read back: the same fixes as the JSON history, in time
// order, unknown values empty (CSV) or null (GeoJSON); staff only; bad
// parameters are a 400 naming them.
func TestPositionExport(t *testing.T) {
	e := newEnv(t)
	ana := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	bo := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bo"}).id()
	anaToken := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(ana)+"/devices", nil).body["token"].(string)
	boToken := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(bo)+"/devices", nil).body["token"].(string)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	at := func(sec int) string { return t0.Add(time.Duration(sec) * time.Second).Format(time.RFC3339) }
	// A few at a time, as phones send them (staged on SQLite); the odd
	// ones say nothing of speed, heading, accuracy or battery.
	send := func(token string, lat float64, secs ...int) {
		var fixes []string
		for _, sec := range secs {
			extra := `,"speed_mps":12.34,"heading_deg":187.5,"accuracy_m":4.8,"battery":77.5,"altitude_m":-3.5`
			if sec%2 == 1 {
				extra = ""
			}
			fixes = append(fixes, fmt.Sprintf(`{"ts":%q,"lat":%v,"lng":-8.6111111%s}`, at(sec), lat+float64(sec)*1e-4, extra))
		}
		e.must(200, token, "POST", "/api/v1/positions", "["+strings.Join(fixes, ",")+"]")
	}
	send(anaToken, 41.15, 0, 10, 20)
	send(boToken, 41.16, 10, 15)
	send(anaToken, 41.15, 30, 41)
	since, until := url.QueryEscape(at(0)), url.QueryEscape(at(60))
	anaPath := "/api/v1/technicians/" + itoa(ana) + "/positions/export?since=" + since + "&until=" + until
	fleetPath := "/api/v1/positions/export?since=" + since + "&until=" + until

	// The JSON history is the reference.
	var want []map[string]any
	for _, tech := range []int64{ana, bo} {
		for _, it := range e.must(200, e.dispatcher, "GET", "/api/v1/technicians/"+itoa(tech)+"/positions?since="+since, nil).body["items"].([]any) {
			want = append(want, it.(map[string]any))
		}
	}
	slices.SortStableFunc(want, func(a, b map[string]any) int { return strings.Compare(a["ts"].(string), b["ts"].(string)) })
	if len(want) != 7 {
		t.Fatalf("%d fixes stored, want 7", len(want))
	}
	wantOf := func(tech int64) (out []map[string]any) {
		for _, w := range want {
			if int64(w["technician_id"].(float64)) == tech {
				out = append(out, w)
			}
		}
		return out
	}

	attachment := func(t *testing.T, r response, ext string) {
		t.Helper()
		disp, params, err := mime.ParseMediaType(r.header.Get("Content-Disposition"))
		if err != nil || disp != "attachment" || !strings.HasPrefix(params["filename"], "enroute-positions-") || !strings.HasSuffix(params["filename"], ext) {
			t.Fatalf("Content-Disposition %q", r.header.Get("Content-Disposition"))
		}
		if r.header.Get("Cache-Control") != "no-store" || !strings.Contains(r.header.Get("Vary"), "Accept") {
			t.Fatalf("Cache-Control %q, Vary %q", r.header.Get("Cache-Control"), r.header.Get("Vary"))
		}
	}
	readCSV := func(t *testing.T, r response) [][]string {
		t.Helper()
		if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") {
			t.Fatalf("%d %q: %s", r.status, r.header.Get("Content-Type"), r.raw)
		}
		attachment(t, r, ".csv")
		rows, err := csv.NewReader(strings.NewReader(string(r.raw))).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", r.raw, err)
		}
		head := "technician_id,device_id,ts,lat,lng,accuracy_m,speed_mps,heading_deg,altitude_m,battery,received_at"
		if len(rows) == 0 || strings.Join(rows[0], ",") != head {
			t.Fatalf("header %v", rows)
		}
		return rows[1:]
	}
	checkCSV := func(t *testing.T, rows [][]string, want []map[string]any) {
		t.Helper()
		if len(rows) != len(want) {
			t.Fatalf("%d rows, want %d", len(rows), len(want))
		}
		for i, row := range rows {
			w := want[i]
			for j, k := range []string{"technician_id", "device_id", "ts", "lat", "lng", "accuracy_m", "speed_mps", "heading_deg", "altitude_m", "battery", "received_at"} {
				var v any = row[j]
				if f, err := strconv.ParseFloat(row[j], 64); err == nil {
					v = f
				}
				if row[j] == "" {
					v = -1.0 // unknown
				}
				if v != w[k] {
					t.Fatalf("row %d: %s = %q, JSON form %v", i, k, row[j], w[k])
				}
			}
		}
	}

	t.Run("CSV", func(t *testing.T) {
		checkCSV(t, readCSV(t, e.do(e.dispatcher, "GET", anaPath, nil)), wantOf(ana))
		checkCSV(t, readCSV(t, e.do(e.admin, "GET", fleetPath+"&format=csv", nil)), want)
		// The unknowns are empty cells, not -1.
		row := readCSV(t, e.do(e.admin, "GET", anaPath, nil))[4] // at 41 s
		if row[5] != "" || row[6] != "" || row[7] != "" || row[9] != "" || row[8] != "0" {
			t.Fatalf("a fix without accuracy, speed, heading or battery = %v", row)
		}
		// A narrower period; one without fixes is the header alone.
		if rows := readCSV(t, e.do(e.admin, "GET", "/api/v1/positions/export?since="+url.QueryEscape(at(10))+"&until="+url.QueryEscape(at(20)), nil)); len(rows) != 3 {
			t.Fatalf("10 s to 20 s: %v", rows)
		}
		if rows := readCSV(t, e.do(e.admin, "GET", "/api/v1/positions/export?since="+url.QueryEscape(at(-60))+"&until="+url.QueryEscape(at(0)), nil)); len(rows) != 0 {
			t.Fatalf("before the first: %v", rows)
		}
	})

	t.Run("GeoJSON", func(t *testing.T) {
		for _, r := range []response{
			e.do(e.dispatcher, "GET", fleetPath+"&format=geojson", nil),
			e.do(e.dispatcher, "GET", fleetPath, nil, "Accept", "text/csv;q=0.5, application/geo+json"),
		} {
			if r.status != 200 || r.header.Get("Content-Type") != "application/geo+json" {
				t.Fatalf("%d %q: %s", r.status, r.header.Get("Content-Type"), r.raw)
			}
			attachment(t, r, ".geojson")
			fc, err := geojson.UnmarshalFeatureCollection(r.raw)
			if err != nil {
				t.Fatalf("%s: %v", r.raw, err)
			}
			if len(fc.Features) != len(want) {
				t.Fatalf("%d features, want %d", len(fc.Features), len(want))
			}
			for i, f := range fc.Features {
				w := want[i]
				if pt, ok := f.Geometry.(orb.Point); !ok || pt != (orb.Point{w["lng"].(float64), w["lat"].(float64)}) { // [lng, lat]
					t.Fatalf("feature %d: %#v, want the point of %v", i, f.Geometry, w)
				}
				for k, v := range f.Properties {
					if wv := w[k]; v != wv && !(v == nil && wv == -1.0) {
						t.Fatalf("feature %d: %s = %v, JSON form %v", i, k, v, wv)
					}
				}
				if len(f.Properties) != len(w)-2 { // all but lat and lng
					t.Fatalf("feature %d properties %v", i, f.Properties)
				}
			}
		}
		empty := e.do(e.dispatcher, "GET", "/api/v1/technicians/"+itoa(bo)+"/positions/export?format=geojson&since="+url.QueryEscape(at(20))+"&until="+until, nil)
		if fc, err := geojson.UnmarshalFeatureCollection(empty.raw); err != nil || len(fc.Features) != 0 {
			t.Fatalf("no fixes = %s, %v", empty.raw, err)
		}
	})

	t.Run("Accept", func(t *testing.T) {
		for accept, ct := range map[string]string{
			"":                                     "text/csv",
			"*/*":                                  "text/csv",
			"text/csv":                             "text/csv",
			"application/geo+json":                 "application/geo+json",
			"application/geo+json;q=0.4, text/csv": "text/csv",
		} {
			if r := e.do(e.dispatcher, "GET", anaPath, nil, "Accept", accept); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), ct) {
				t.Errorf("Accept %q: %d %q, want %s", accept, r.status, r.header.Get("Content-Type"), ct)
			}
		}
	})

	t.Run("Auth", func(t *testing.T) {
		for _, p := range []string{anaPath, fleetPath} {
			for key, what := range map[string]string{"": "no key", anaToken: "a device's token", "not-a-key": "an unknown key"} {
				if r := e.do(key, "GET", p, nil); r.status != 401 || r.errCode() != "unauthorized" {
					t.Fatalf("%s, %s: %d %s", p, what, r.status, r.raw)
				}
			}
		}
		// Both staff roles may; a revoked key may not.
		key := e.must(201, e.admin, "POST", "/api/v1/keys", map[string]any{"name": "Dee", "role": "dispatcher"})
		secret := key.body["key"].(string)
		e.must(200, secret, "GET", fleetPath, nil)
		e.must(200, e.admin, "GET", fleetPath, nil)
		e.must(200, e.admin, "DELETE", "/api/v1/keys/"+itoa(key.id()), nil)
		e.must(401, secret, "GET", fleetPath, nil)
	})

	t.Run("BadInput", func(t *testing.T) {
		for query, field := range map[string]string{
			"?until=" + until:                                        "since",
			"?since=" + since:                                        "until",
			"?since=yesterday&until=" + until:                        "since",
			"?since=" + since + "&until=2026-13":                     "until",
			"?since=" + until + "&until=" + since:                    "since",
			"?since=" + since + "&until=" + since:                    "since",
			"?since=2025-01-01T00:00:00Z&until=2026-01-02T00:00:01Z": "until",
			"?since=" + since + "&until=" + until + "&format=kml":    "format",
			"?since=" + since + "&until=" + until + "&format=json":   "format",
		} {
			for _, p := range []string{"/api/v1/positions/export", "/api/v1/technicians/" + itoa(ana) + "/positions/export"} {
				r := e.must(400, e.dispatcher, "GET", p+query, nil)
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.errCode() != "invalid" || r.errFields()[field] == nil {
					t.Fatalf("%s%s: %s, want an error naming %s", p, query, r.raw, field)
				}
			}
		}
		// 366 days is the longest period.
		e.must(200, e.dispatcher, "GET", "/api/v1/positions/export?since=2025-01-01T00:00:00Z&until=2026-01-02T00:00:00Z", nil)
		if f := e.must(400, e.dispatcher, "GET", fleetPath+"&format=kml", nil).errFields()["format"]; f != "must be csv or geojson" {
			t.Fatalf("format error = %v", f)
		}
		e.must(404, e.dispatcher, "GET", "/api/v1/technicians/999/positions/export?since="+since+"&until="+until, nil)
		if r := e.must(400, e.dispatcher, "GET", "/api/v1/technicians/x/positions/export?since="+since+"&until="+until, nil); r.errFields()["id"] == nil {
			t.Fatalf("a bad id: %s", r.raw)
		}
	})
}

// countingStore counts the fixes EachPosition hands out, and keeps how it
// ended. With pauseAt, it waits there for resume and then for the
// request's ctx to end; with failAt, it fails there.
type countingStore struct {
	enroute.Store
	given           atomic.Int64
	pauseAt, failAt atomic.Int64
	resume          chan struct{}
	ctxEnded        atomic.Bool
	ended           chan error
}

var errStoreFailed = errors.New("the disk is on fire")

func (s *countingStore) EachPosition(ctx context.Context, f enroute.PositionFilter, fn func(*enroute.Position) error) error {
	err := s.Store.EachPosition(ctx, f, func(p *enroute.Position) error {
		switch s.given.Add(1) {
		case s.failAt.Load():
			return errStoreFailed
		case s.pauseAt.Load():
			<-s.resume
			select {
			case <-ctx.Done():
				s.ctxEnded.Store(true)
			case <-time.After(10 * time.Second):
			}
		}
		return fn(p)
	})
	s.ended <- err
	return err
}

// An export streams: the client has its first fixes while the store has
// handed out 200 of 20,000; when the client goes, the request's
// ctx ends and the reading stops.
func TestPositionExportStreams(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	batch := make([]enroute.Position, 0, 100)
	for tech := int64(1); tech <= 200; tech++ {
		for i := range 100 {
			batch = append(batch, enroute.Position{TechnicianID: tech, DeviceID: tech, Time: t0.Add(time.Duration(i) * 10 * time.Second),
				Lat: 41.15 + float64(i)*1e-5, Lng: -8.61, AccuracyM: 5, SpeedMPS: 10, HeadingDeg: 90, AltitudeM: 80, Battery: 70, ReceivedAt: t0})
		}
		if err := st.InsertPositions(ctx, batch); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	store := &countingStore{Store: st, resume: make(chan struct{}), ended: make(chan error, 1)}
	store.pauseAt.Store(200) // past the first 32 KiB written: the client has it; within the sockets' buffers
	srv := httpapi.NewServer(httpapi.Config{}, store, httpapi.Features{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	secret, k := httpapi.NewAPIKey("dispatcher", enroute.RoleDispatcher)
	if err := st.CreateAPIKey(ctx, k, enroute.HashSecret(secret)); err != nil {
		t.Fatal(err)
	}

	req, _ := http.NewRequest("GET", ts.URL+"/api/v1/positions/export?format=geojson&since=2026-11-27T00:00:00Z&until=2026-11-28T00:00:00Z", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(res.Body)
	for range 3 { // the head, and two features
		if _, err := r.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	if res.ContentLength != -1 {
		t.Fatalf("Content-Length %d: the body was made before it was sent", res.ContentLength)
	}
	res.Body.Close() // the client goes
	close(store.resume)
	select {
	case err := <-store.ended:
		if err == nil {
			t.Fatal("the export read on to the end without its client")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the export went on reading without its client")
	}
	if !store.ctxEnded.Load() {
		t.Fatal("the request's ctx did not end when the client went")
	}
	if n := store.given.Load(); n >= 20_000 {
		t.Fatalf("the store handed out %d fixes", n)
	}

	// A store that fails before the file begins: a JSON error. After: the
	// download is cut short, not ended as if whole.
	store.pauseAt.Store(0)
	for _, failAt := range []int64{1, 15_000} {
		store.given.Store(0)
		store.failAt.Store(failAt)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		<-store.ended
		if failAt == 1 && (res.StatusCode != 500 || !strings.Contains(string(body), `"code":"internal"`) ||
			!strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") || res.Header.Get("Content-Disposition") != "") {
			t.Fatalf("failing at once: %d %v %.200s", res.StatusCode, res.Header, body)
		}
		if failAt > 1 && (res.StatusCode != 200 || err == nil) {
			t.Fatalf("failing after %d fixes: %d, %d bytes read whole (%v)", failAt, res.StatusCode, len(body), err)
		}
	}
}
