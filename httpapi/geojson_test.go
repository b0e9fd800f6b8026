package httpapi_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// TestTechnicianHistoryGeoJSON: the history's GeoJSON form holds the same
// page as its JSON form, as map tools read it: a LineString of the trail,
// then a Point for each fix with its values, coordinates [lng, lat].
func TestTechnicianHistoryGeoJSON(t *testing.T) {
	e := newEnv(t)
	tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	idle := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bo"}).id()
	token := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil).body["token"].(string)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	at := func(i int) string { return t0.Add(time.Duration(i) * 10 * time.Second).Format(time.RFC3339) }
	var fixes []string
	for i := range 4 { // the odd ones say nothing of speed, heading, accuracy or battery
		extra := `,"speed_mps":12.5,"heading_deg":90,"accuracy_m":5,"battery":80`
		if i%2 == 1 {
			extra = ""
		}
		fixes = append(fixes, fmt.Sprintf(`{"ts":%q,"lat":%f,"lng":-8.61%s}`, at(i), 41.15+float64(i)*1e-3, extra))
	}
	e.must(200, token, "POST", "/api/v1/positions", "["+strings.Join(fixes, ",")+"]")
	path := "/api/v1/technicians/" + itoa(tech) + "/positions"
	items := e.must(200, e.dispatcher, "GET", path, nil).body["items"].([]any)

	trail := func(r response) *geojson.FeatureCollection {
		t.Helper()
		if r.status != 200 || r.header.Get("Content-Type") != "application/geo+json" || !strings.Contains(r.header.Get("Vary"), "Accept") {
			t.Fatalf("%d, Content-Type %q, Vary %q: %s", r.status, r.header.Get("Content-Type"), r.header.Get("Vary"), r.raw)
		}
		fc, err := geojson.UnmarshalFeatureCollection(r.raw)
		if err != nil {
			t.Fatalf("%s: %v", r.raw, err)
		}
		return fc
	}
	fc := trail(e.must(200, e.dispatcher, "GET", path+"?format=geojson", nil))
	if len(fc.Features) != 1+len(items) {
		t.Fatalf("%d features for %d fixes", len(fc.Features), len(items))
	}
	line, ok := fc.Features[0].Geometry.(orb.LineString)
	if !ok || len(line) != len(items) {
		t.Fatalf("trail = %#v", fc.Features[0].Geometry)
	}
	p := fc.Features[0].Properties
	if p["technician_id"] != float64(tech) || p["from"] != at(0) || p["to"] != at(3) || p["fixes"] != 4.0 || !(p["distance_m"].(float64) > 300) {
		t.Fatalf("trail properties = %v", p)
	}
	for i, f := range fc.Features[1:] {
		it := items[i].(map[string]any)
		want := orb.Point{it["lng"].(float64), it["lat"].(float64)} // [lng, lat]
		if line[i] != want || f.Geometry != want {
			t.Fatalf("fix %d: line %v, point %v, want %v", i, line[i], f.Geometry, want)
		}
		if f.Properties["ts"] != it["ts"] || f.Properties["technician_id"] != float64(tech) || f.Properties["received_at"] != it["received_at"] {
			t.Fatalf("fix %d properties = %v, JSON form %v", i, f.Properties, it)
		}
		if _, ok := f.Properties["lat"]; ok {
			t.Fatalf("fix %d: lat among the properties: %v", i, f.Properties)
		}
		for _, k := range []string{"speed_mps", "heading_deg", "accuracy_m", "battery"} {
			v, ok := f.Properties[k]
			if !ok || (i%2 == 0) != (v != nil) || (v != nil && v != it[k]) {
				t.Fatalf("fix %d: %s = %v (JSON form %v), want null when unknown", i, k, v, it[k])
			}
		}
	}
	if lat := line[0][1]; lat != 41.15 {
		t.Fatalf("the first position's second coordinate is %v, want the latitude", lat)
	}

	// The same page as the JSON form, limits and all.
	page := trail(e.must(200, e.dispatcher, "GET", path+"?format=geojson&limit=2&offset=1", nil))
	if len(page.Features) != 3 || page.Features[0].Properties["from"] != at(1) || page.Features[0].Properties["to"] != at(2) {
		t.Fatalf("a page = %d features, trail %v", len(page.Features), page.Features[0].Properties)
	}
	one := trail(e.must(200, e.dispatcher, "GET", path+"?format=geojson&since="+at(3), nil))
	if len(one.Features) != 1 || one.Features[0].Geometry.GeoJSONType() != "Point" {
		t.Fatalf("one fix: %d features, want its point and no line (a LineString needs two)", len(one.Features))
	}
	// No fixes: an empty collection.
	empty := e.must(200, e.admin, "GET", "/api/v1/technicians/"+itoa(idle)+"/positions?format=geojson", nil)
	if fc := trail(empty); len(fc.Features) != 0 || !strings.Contains(string(empty.raw), `"features":[]`) {
		t.Fatalf("no fixes = %s", empty.raw)
	}

	// Chosen by Accept when format is not given.
	for accept, geo := range map[string]bool{
		"application/geo+json":                           true,
		"application/json, application/geo+json":         true,
		"application/geo+json;q=0.9, application/json":   false,
		"application/json;q=0.5, application/geo+json":   true,
		"application/geo+json;q=0":                       false,
		"application/geo+json;q=x":                       false,
		"*/*":                                            false,
		"application/*":                                  false,
		"text/html, application/geo+json;q=0.1, */*;q=1": true,
		"": false,
	} {
		r := e.do(e.dispatcher, "GET", path, nil, "Accept", accept)
		if got := r.header.Get("Content-Type") == "application/geo+json"; r.status != 200 || got != geo {
			t.Errorf("Accept %q: %d %q, want GeoJSON %v", accept, r.status, r.header.Get("Content-Type"), geo)
		}
	}
	// format wins over Accept.
	if r := e.do(e.dispatcher, "GET", path+"?format=json", nil, "Accept", "application/geo+json"); r.status != 200 || r.body["items"] == nil {
		t.Fatalf("format=json with Accept GeoJSON = %d %q", r.status, r.header.Get("Content-Type"))
	}

	// Errors are JSON, naming the problem.
	for query, field := range map[string]string{"?format=kml": "format", "?format=GeoJSON": "format", "?format=geojson&limit=1001": "limit",
		"?format=geojson&since=" + at(3) + "&until=" + at(1): "since"} {
		r := e.must(400, e.dispatcher, "GET", path+query, nil)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.errCode() != "invalid" || r.errFields()[field] == nil {
			t.Fatalf("%s: %q %s, want an error about %s", query, r.header.Get("Content-Type"), r.raw, field)
		}
	}
	if f := e.must(400, e.dispatcher, "GET", path+"?format=kml", nil).errFields()["format"]; f != "must be json or geojson" {
		t.Fatalf("format error = %v", f)
	}
	if r := e.do(e.dispatcher, "GET", "/api/v1/technicians/999/positions?format=geojson", nil); r.status != 404 || r.errCode() != "not_found" {
		t.Fatalf("no such technician = %d %s", r.status, r.raw)
	}
	if r := e.do("", "GET", path+"?format=geojson", nil); r.status != 401 || !slices.Contains([]string{"unauthorized"}, r.errCode()) {
		t.Fatalf("no key = %d %s", r.status, r.raw)
	}
}
