package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/sqlite"
	"github.com/enroutehq/enroute/tracker"
	"github.com/enroutehq/enroute/webhook"
)

// env is a server on a fresh SQLite store with an admin and a dispatcher key.
type env struct {
	t          testing.TB
	doc        *openapi3.T // when set, every response is checked against it
	url        string
	store      enroute.Store
	admin      string
	dispatcher string
	handler    http.Handler // the server's, for requests made in-process
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, httpapi.Config{})
}

// newEnvWith is newEnv with the server's configuration.
func newEnvWith(t testing.TB, cfg httpapi.Config, with ...func(*httpapi.Features)) *env {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	e := &env{t: t, store: store}
	e.admin = e.key(enroute.RoleAdmin)
	e.dispatcher = e.key(enroute.RoleDispatcher)
	tr := tracker.New(tracker.Config{}, store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	features := httpapi.Features{
		Ingest:   tr,
		Live:     tr,
		Hub:      tracker.NewHub(tracker.HubConfig{}, 8, 4096),
		Notify:   notify.NewService(store, notify.Config{PublicURL: "https://enroute.test"}),
		Hooks:    []enroute.AssignmentHook{&notify.Rules{Store: store, PublicURL: "https://enroute.test"}},
		Webhooks: &webhook.Service{Store: store, Sealer: testSealer(t)},
	}
	for _, f := range with {
		f(&features)
	}
	srv := httpapi.NewServer(cfg, store, features, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.handler = srv.Handler()
	ts := httptest.NewServer(e.handler)
	t.Cleanup(ts.Close)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	e.url = ts.URL
	e.doc = loadOpenAPI(t, e)
	return e
}

func (e *env) key(role enroute.Role) string {
	secret, k := httpapi.NewAPIKey(string(role), role)
	if err := e.store.CreateAPIKey(context.Background(), k, enroute.HashSecret(secret)); err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// response is a decoded answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	s, _ := e["code"].(string)
	return s
}

func (r response) errFields() map[string]any {
	e, _ := r.body["error"].(map[string]any)
	f, _ := e["fields"].(map[string]any)
	return f
}

func (r response) id() int64 {
	f, _ := r.body["id"].(float64)
	return int64(f)
}

// do sends body (a string sent as is, or a value encoded as JSON) with key.
func (e *env) do(key, method, path string, body any, headers ...string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: raw}
	if ct := res.Header.Get("Content-Type"); len(raw) > 0 && (strings.HasPrefix(ct, "application/json") || strings.HasPrefix(ct, "application/geo+json")) {
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			e.t.Fatalf("%s %s: undecodable JSON %q: %v", method, path, raw, err)
		}
		r.body, _ = v.(map[string]any)
	}
	if e.doc != nil {
		checkDocumented(e.t, e.doc, method, req.URL.Path, r)
	}
	return r
}

// must sends a request that has to answer want.
func (e *env) must(want int, key, method, path string, body any) response {
	e.t.Helper()
	r := e.do(key, method, path, body)
	if r.status != want {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, r.status, r.raw, want)
	}
	return r
}

func (e *env) count(path string) int {
	e.t.Helper()
	r := e.must(200, e.admin, "GET", path+"?limit=1000", nil)
	items, _ := r.body["items"].([]any)
	return len(items)
}

// seed creates a technician, a customer, a location and a job.
type seeded struct{ tech, cust, loc, job int64 }

func (e *env) seed(number string) seeded {
	e.t.Helper()
	var s seeded
	s.tech = e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana Silva", "rating": 4.8, "photo_url": "https://example.com/ana.jpg"}).id()
	s.cust = e.must(201, e.dispatcher, "POST", "/api/v1/customers", map[string]any{"name": "Maria Costa", "phone": "+351912345678", "email": "maria@example.com"}).id()
	s.loc = e.must(201, e.dispatcher, "POST", "/api/v1/locations", map[string]any{"customer_id": s.cust, "address": "Rua de Santa Catarina 1, Porto", "lat": 41.1496, "lng": -8.6060, "verified": true}).id()
	s.job = e.must(201, e.dispatcher, "POST", "/api/v1/jobs", map[string]any{"number": number, "customer_id": s.cust, "location_id": s.loc,
		"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}).id()
	return s
}

func TestCRUD(t *testing.T) {
	e := newEnv(t)
	s := e.seed("J-100")

	tech := e.must(200, e.dispatcher, "GET", "/api/v1/technicians/"+itoa(s.tech), nil)
	if tech.body["name"] != "Ana Silva" || tech.body["rating"] != 4.8 || tech.body["active"] != true {
		t.Fatalf("technician = %v", tech.body)
	}
	patched := e.must(200, e.admin, "PATCH", "/api/v1/technicians/"+itoa(s.tech), map[string]any{"rating": 3.9})
	if patched.body["rating"] != 3.9 || patched.body["name"] != "Ana Silva" {
		t.Fatalf("patched = %v", patched.body)
	}
	job := e.must(200, e.dispatcher, "GET", "/api/v1/jobs/"+itoa(s.job), nil)
	if job.body["number"] != "J-100" || job.body["window_start"] != "2026-11-27T09:00:00Z" {
		t.Fatalf("job = %v", job.body)
	}
	e.must(200, e.dispatcher, "PATCH", "/api/v1/jobs/"+itoa(s.job), map[string]any{"notes": "Dog in the yard"})
	if got := e.count("/api/v1/jobs"); got != 1 {
		t.Fatalf("jobs = %d", got)
	}
	byCustomer := e.must(200, e.dispatcher, "GET", "/api/v1/locations?customer_id="+itoa(s.cust), nil)
	if n := len(byCustomer.body["items"].([]any)); n != 1 {
		t.Fatalf("locations of customer = %d", n)
	}

	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech})
	if a.body["status"] != "scheduled" {
		t.Fatalf("assignment = %v", a.body)
	}
	for _, step := range []struct{ verb, status, at string }{
		{"dispatch", "dispatched", "dispatched_at"}, {"start", "working", "working_at"}, {"complete", "done", "done_at"},
	} {
		r := e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a.id())+"/"+step.verb, nil)
		if r.body["status"] != step.status || r.body[step.at] == nil {
			t.Fatalf("%s = %v", step.verb, r.body)
		}
	}
	list := e.must(200, e.dispatcher, "GET", "/api/v1/jobs/"+itoa(s.job)+"/assignments", nil)
	if n := len(list.body["items"].([]any)); n != 1 {
		t.Fatalf("assignments = %d", n)
	}
	// A second assignment the same day, then cancelled.
	b := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech})
	e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(b.id())+"/cancel", map[string]any{})

	company := e.must(200, e.admin, "PATCH", "/api/v1/company", map[string]any{"name": "Cool Air HVAC", "phone": "+13125550100", "time_zone": "America/Chicago"})
	if company.body["name"] != "Cool Air HVAC" || company.body["phone_display"] != "(312) 555-0100" {
		t.Fatalf("company = %v", company.body)
	}
	e.must(200, e.dispatcher, "GET", "/api/v1/company", nil)

	other := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bo"}).id()
	e.must(204, e.admin, "DELETE", "/api/v1/technicians/"+itoa(other), nil)
	e.must(404, e.admin, "GET", "/api/v1/technicians/"+itoa(other), nil)
}

// TestPhonesAsWritten: phone numbers are taken as people write them in the
// company's country (its locale) or with their country code, and kept in
// E.164 form; what is no number is refused, naming the field.
func TestPhonesAsWritten(t *testing.T) {
	e := newEnv(t)
	cust := e.must(201, e.dispatcher, "POST", "/api/v1/customers", map[string]any{"name": "Maria Costa", "phone": "(312) 555-0100"}) // en-US, the default
	if cust.body["phone"] != "+13125550100" {
		t.Fatalf("customer phone = %v", cust.body["phone"])
	}
	if got := e.must(200, e.dispatcher, "GET", "/api/v1/customers?phone="+url.QueryEscape("312-555-0100"), nil); len(got.body["items"].([]any)) != 1 {
		t.Fatalf("found by phone = %s", got.raw)
	}
	if got := e.must(200, e.dispatcher, "PATCH", fmt.Sprintf("/api/v1/customers/%d", cust.id()), map[string]any{"phone": "+351 912 345 678"}); got.body["phone"] != "+351912345678" {
		t.Fatalf("patched phone = %v", got.body["phone"])
	}
	// The locale set in the same request reads the company's number.
	co := e.must(200, e.admin, "PATCH", "/api/v1/company", map[string]any{"phone": "22 123 4567", "locale": "pt-PT"})
	if co.body["phone"] != "+351221234567" || co.body["phone_display"] != "22 123 4567" {
		t.Fatalf("company phone = %v, shown %v", co.body["phone"], co.body["phone_display"])
	}
	text := e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": "912 345 678"})
	if text.body["from_number"] != "+351912345678" {
		t.Fatalf("from_number = %v", text.body["from_number"])
	}
	for _, bad := range []struct{ path, field string }{{"/api/v1/customers", "phone"}, {"/api/v1/company", "phone"}, {"/api/v1/settings/dispatch-notifications/text", "from_number"}} {
		method, body := "PATCH", map[string]any{bad.field: "555-01"}
		switch bad.path {
		case "/api/v1/customers":
			method, body["name"] = "POST", "Bo"
		case "/api/v1/settings/dispatch-notifications/text":
			method = "PUT"
		}
		r := e.must(400, e.admin, method, bad.path, body)
		if msg, _ := r.errFields()[bad.field].(string); !strings.Contains(msg, "must be a phone number") {
			t.Fatalf("%s %s = %s", method, bad.path, r.raw)
		}
	}
}

func TestDevices(t *testing.T) {
	e := newEnv(t)
	tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	d := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", map[string]any{"name": "Pixel 8"})
	token, _ := d.body["token"].(string)
	ident, _ := d.body["identifier"].(string)
	if !strings.HasPrefix(token, enroute.DeviceTokenPrefix) || len(token) < 40 || len(ident) < 20 {
		t.Fatalf("device = %v", d.body)
	}
	if d.header.Get("Cache-Control") != "no-store" {
		t.Fatal("a response with a secret may be cached")
	}
	list := e.must(200, e.admin, "GET", "/api/v1/technicians/"+itoa(tech)+"/devices", nil)
	if bytes.Contains(list.raw, []byte(token)) || bytes.Contains(list.raw, []byte(`"token"`)) {
		t.Fatalf("device list shows the token: %s", list.raw)
	}
	r := e.must(200, e.admin, "DELETE", "/api/v1/devices/"+itoa(d.id()), nil)
	if r.body["revoked_at"] == nil {
		t.Fatalf("revoked = %v", r.body)
	}
	e.must(404, e.admin, "POST", "/api/v1/technicians/999/devices", nil)
	e.must(403, e.dispatcher, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil)
	e.must(409, e.admin, "PATCH", "/api/v1/devices/"+itoa(d.id()), map[string]any{"name": "revoked"})
}

// TestDeviceMQTTIdentity: a phone's MQTT identity is set at registration or
// later, held by one active device at a time, and checked.
func TestDeviceMQTTIdentity(t *testing.T) {
	e := newEnv(t)
	tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	devices := "/api/v1/technicians/" + itoa(tech) + "/devices"
	a := e.must(201, e.admin, "POST", devices, map[string]any{"name": "Pixel", "mqtt_identity": "ana/pixel"})
	if a.body["mqtt_identity"] != "ana/pixel" {
		t.Fatalf("device = %s", a.raw)
	}
	b := e.must(201, e.admin, "POST", devices, map[string]any{"name": "Tablet"})
	if b.body["mqtt_identity"] != "" {
		t.Fatalf("device without an identity = %s", b.raw)
	}
	if r := e.must(409, e.admin, "PATCH", "/api/v1/devices/"+itoa(b.id()), map[string]any{"mqtt_identity": "ana/pixel"}); r.errFields()["mqtt_identity"] == nil {
		t.Fatalf("taken identity = %s", r.raw)
	}
	e.must(409, e.admin, "POST", devices, map[string]any{"mqtt_identity": "ana/pixel"})
	for _, bad := range []string{"ana", "owntracks/ana/pixel", "ana/+", "ana /pixel", "ana/"} {
		if r := e.must(400, e.admin, "PATCH", "/api/v1/devices/"+itoa(b.id()), map[string]any{"mqtt_identity": bad}); r.errFields()["mqtt_identity"] == nil {
			t.Fatalf("identity %q = %s", bad, r.raw)
		}
	}
	r := e.must(200, e.admin, "PATCH", "/api/v1/devices/"+itoa(a.id()), map[string]any{"name": "Pixel 9", "mqtt_identity": ""})
	if r.body["name"] != "Pixel 9" || r.body["mqtt_identity"] != "" {
		t.Fatalf("patched = %s", r.raw)
	}
	if r := e.must(200, e.admin, "PATCH", "/api/v1/devices/"+itoa(b.id()), map[string]any{"mqtt_identity": "ana/pixel"}); r.body["mqtt_identity"] != "ana/pixel" {
		t.Fatalf("freed identity taken = %s", r.raw)
	}
	e.must(400, e.admin, "PATCH", "/api/v1/devices/"+itoa(b.id()), map[string]any{"token": "x"})
	e.must(404, e.admin, "PATCH", "/api/v1/devices/999", map[string]any{"name": "x"})
	e.must(403, e.dispatcher, "PATCH", "/api/v1/devices/"+itoa(b.id()), map[string]any{"name": "x"})
}

func TestAPIKeys(t *testing.T) {
	e := newEnv(t)
	r := e.must(201, e.admin, "POST", "/api/v1/keys", map[string]any{"name": "office", "role": "dispatcher"})
	key, _ := r.body["key"].(string)
	if !strings.HasPrefix(key, enroute.APIKeyPrefix) {
		t.Fatalf("key = %v", r.body)
	}
	e.must(200, key, "GET", "/api/v1/jobs", nil)
	e.must(403, key, "GET", "/api/v1/keys", nil)
	list := e.must(200, e.admin, "GET", "/api/v1/keys", nil)
	if bytes.Contains(list.raw, []byte(key)) {
		t.Fatal("key list shows a secret")
	}
	e.must(200, e.admin, "DELETE", "/api/v1/keys/"+itoa(r.id()), nil)
	if got := e.do(key, "GET", "/api/v1/jobs", nil); got.status != 401 || got.errCode() != "unauthorized" {
		t.Fatalf("revoked key = %d %s", got.status, got.raw)
	}
	// The stored hash, not the key, is in the database.
	keys, err := e.store.FindAPIKeys(context.Background(), enroute.APIKeyFilter{KeyHash: []byte(key), IncludeRevoked: true})
	if err != nil || len(keys) != 0 {
		t.Fatalf("key stored in the clear: %v %v", keys, err)
	}
}

// TestBadInput sends each bad request and checks the status, the error
// body and that nothing was stored.
func TestBadInput(t *testing.T) {
	e := newEnv(t)
	s := e.seed("J-1")
	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech}).id()
	job := map[string]any{"number": "J-2", "customer_id": s.cust, "location_id": s.loc, "window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}
	with := func(m map[string]any, k string, v any) map[string]any {
		out := map[string]any{}
		for kk, vv := range m {
			out[kk] = vv
		}
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return out
	}
	big := `{"name":"` + strings.Repeat("x", 1<<20) + `"}`

	tests := []struct {
		name       string
		key        string
		method     string
		path       string
		body       any
		wantStatus int
		wantCode   string
		wantField  string
		collection string // its size must not change
	}{
		{"malformed JSON", e.admin, "POST", "/api/v1/technicians", `{"name":`, 400, "invalid", "", "/api/v1/technicians"},
		{"not an object", e.admin, "POST", "/api/v1/technicians", `[1,2]`, 400, "invalid", "", "/api/v1/technicians"},
		{"two objects", e.admin, "POST", "/api/v1/technicians", `{"name":"a"}{"name":"b"}`, 400, "invalid", "", "/api/v1/technicians"},
		{"empty body", e.admin, "POST", "/api/v1/technicians", ``, 400, "invalid", "", "/api/v1/technicians"},
		{"wrong type", e.admin, "POST", "/api/v1/technicians", `{"name":"Ana","rating":"five"}`, 400, "invalid", "rating", "/api/v1/technicians"},
		{"unknown field", e.admin, "POST", "/api/v1/technicians", `{"name":"Ana","nickname":"A"}`, 400, "invalid", "nickname", "/api/v1/technicians"},
		{"missing field", e.admin, "POST", "/api/v1/technicians", `{"rating":4}`, 400, "invalid", "name", "/api/v1/technicians"},
		{"blank name", e.admin, "POST", "/api/v1/technicians", `{"name":"  "}`, 400, "invalid", "name", "/api/v1/technicians"},
		{"rating above 5", e.admin, "POST", "/api/v1/technicians", `{"name":"Ana","rating":5.5}`, 400, "invalid", "rating", "/api/v1/technicians"},
		{"rating two decimals", e.admin, "POST", "/api/v1/technicians", `{"name":"Ana","rating":4.25}`, 400, "invalid", "rating", "/api/v1/technicians"},
		{"invalid phone", e.admin, "POST", "/api/v1/customers", `{"name":"Bo","phone":"555-0100"}`, 400, "invalid", "phone", "/api/v1/customers"},
		{"invalid email", e.admin, "POST", "/api/v1/customers", `{"name":"Bo","email":"bo@"}`, 400, "invalid", "email", "/api/v1/customers"},
		{"lat out of range", e.admin, "POST", "/api/v1/locations", map[string]any{"customer_id": s.cust, "address": "x", "lat": 91, "lng": 0}, 400, "invalid", "lat", "/api/v1/locations"},
		{"lng out of range", e.admin, "POST", "/api/v1/locations", map[string]any{"customer_id": s.cust, "address": "x", "lat": 0, "lng": 180.5}, 400, "invalid", "lng", "/api/v1/locations"},
		{"missing lat", e.admin, "POST", "/api/v1/locations", map[string]any{"customer_id": s.cust, "address": "x", "lng": 0}, 400, "invalid", "lat", "/api/v1/locations"},
		{"unknown customer", e.admin, "POST", "/api/v1/locations", map[string]any{"customer_id": 999, "address": "x", "lat": 0, "lng": 1}, 400, "invalid", "customer_id", "/api/v1/locations"},
		{"bad window time", e.admin, "POST", "/api/v1/jobs", with(job, "window_start", "tomorrow 9am"), 400, "invalid", "window_start", "/api/v1/jobs"},
		{"window ends first", e.admin, "POST", "/api/v1/jobs", with(job, "window_end", "2026-11-27T08:00:00Z"), 400, "invalid", "window_end", "/api/v1/jobs"},
		{"missing job number", e.admin, "POST", "/api/v1/jobs", with(job, "number", nil), 400, "invalid", "number", "/api/v1/jobs"},
		{"duplicate job number", e.admin, "POST", "/api/v1/jobs", with(job, "number", "J-1"), 409, "conflict", "", "/api/v1/jobs"},
		{"invalid transition", e.dispatcher, "POST", "/api/v1/assignments/" + itoa(a) + "/complete", nil, 400, "invalid", "", ""},
		{"transition with body", e.dispatcher, "POST", "/api/v1/assignments/" + itoa(a) + "/dispatch", `{"at":"now"}`, 400, "invalid", "at", ""},
		{"bad id", e.admin, "GET", "/api/v1/technicians/abc", nil, 400, "invalid", "id", ""},
		{"bad limit", e.admin, "GET", "/api/v1/technicians?limit=0", nil, 400, "invalid", "limit", ""},
		{"bad filter", e.admin, "GET", "/api/v1/technicians?active=maybe", nil, 400, "invalid", "active", ""},
		{"no key", "", "POST", "/api/v1/technicians", `{"name":"Ana"}`, 401, "unauthorized", "", "/api/v1/technicians"},
		{"wrong key", "enr_nope", "GET", "/api/v1/jobs", nil, 401, "unauthorized", "", ""},
		{"dispatcher creates technician", e.dispatcher, "POST", "/api/v1/technicians", `{"name":"Ana"}`, 403, "forbidden", "", "/api/v1/technicians"},
		{"dispatcher creates key", e.dispatcher, "POST", "/api/v1/keys", `{"name":"x","role":"admin"}`, 403, "forbidden", "", "/api/v1/keys"},
		{"dispatcher edits company", e.dispatcher, "PATCH", "/api/v1/company", `{"name":"x"}`, 403, "forbidden", "", ""},
		{"unknown technician", e.admin, "GET", "/api/v1/technicians/999", nil, 404, "not_found", "", ""},
		{"unknown route", e.admin, "GET", "/api/v1/nothing", nil, 404, "not_found", "", ""},
		{"wrong method", e.admin, "PUT", "/api/v1/technicians", `{}`, 405, "method_not_allowed", "", ""},
		{"technician with assignments", e.admin, "DELETE", "/api/v1/technicians/" + itoa(s.tech), nil, 409, "conflict", "", "/api/v1/technicians"},
		{"customer with locations", e.admin, "DELETE", "/api/v1/customers/" + itoa(s.cust), nil, 409, "conflict", "", "/api/v1/customers"},
		{"body over 1 MiB", e.admin, "POST", "/api/v1/technicians", big, 413, "too_large", "", "/api/v1/technicians"},
		{"unknown role", e.admin, "POST", "/api/v1/keys", `{"name":"x","role":"root"}`, 400, "invalid", "role", "/api/v1/keys"},
		{"a path that is no file name", "", "GET", "/static/%c0%ae%c0%ae/etc/passwd", nil, 400, "invalid", "", ""},
		{"a directory of assets", "", "GET", "/static/", nil, 404, "not_found", "", ""},
		{"a directory of vendor assets", "", "GET", "/static/vendor/", nil, 404, "not_found", "", ""},
		{"a directory without its slash", "", "GET", "/static/vendor", nil, 404, "not_found", "", ""},
		{"no such asset", "", "GET", "/static/nothing.js", nil, 404, "not_found", "", ""},
		{"xml body", e.admin, "POST", "/api/v1/technicians", "<name>Ana</name>", 415, "unsupported_media_type", "", "/api/v1/technicians"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := -1
			if tc.collection != "" {
				before = e.count(tc.collection)
			}
			var r response
			if tc.name == "xml body" {
				r = e.do(tc.key, tc.method, tc.path, tc.body, "Content-Type", "application/xml")
			} else {
				r = e.do(tc.key, tc.method, tc.path, tc.body)
			}
			if r.status != tc.wantStatus || r.errCode() != tc.wantCode {
				t.Fatalf("= %d %s, want %d %s", r.status, r.raw, tc.wantStatus, tc.wantCode)
			}
			if msg, _ := r.body["error"].(map[string]any)["message"].(string); msg == "" {
				t.Fatalf("error without a message: %s", r.raw)
			}
			if tc.wantField != "" && r.errFields()[tc.wantField] == nil {
				t.Fatalf("fields = %v, want %s", r.errFields(), tc.wantField)
			}
			if before >= 0 {
				if after := e.count(tc.collection); after != before {
					t.Fatalf("%s went from %d to %d items", tc.collection, before, after)
				}
			}
		})
	}
	got := e.must(200, e.dispatcher, "GET", "/api/v1/assignments/"+itoa(a), nil)
	if got.body["status"] != "scheduled" {
		t.Fatalf("refused transitions changed the assignment: %v", got.body)
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t)
	body := map[string]any{"name": "Ana"}
	first := e.do(e.admin, "POST", "/api/v1/technicians", body, "Idempotency-Key", "create-ana")
	retry := e.do(e.admin, "POST", "/api/v1/technicians", body, "Idempotency-Key", "create-ana")
	if first.status != 201 || retry.status != 201 || !bytes.Equal(first.raw, retry.raw) {
		t.Fatalf("first = %d %s, retry = %d %s", first.status, first.raw, retry.status, retry.raw)
	}
	if retry.header.Get("Idempotent-Replayed") != "true" {
		t.Fatal("replay not marked")
	}
	if n := e.count("/api/v1/technicians"); n != 1 {
		t.Fatalf("%d technicians after a retry, want 1", n)
	}

	t.Run("DifferentBody", func(t *testing.T) {
		r := e.do(e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bo"}, "Idempotency-Key", "create-ana")
		if r.status != 400 || r.errCode() != "invalid" {
			t.Fatalf("= %d %s", r.status, r.raw)
		}
	})
	t.Run("FailedRequestIsNotRemembered", func(t *testing.T) {
		bad := e.do(e.admin, "POST", "/api/v1/technicians", map[string]any{"name": ""}, "Idempotency-Key", "k2")
		if bad.status != 400 {
			t.Fatalf("= %d %s", bad.status, bad.raw)
		}
		if r := e.do(e.admin, "POST", "/api/v1/technicians", map[string]any{"name": ""}, "Idempotency-Key", "k2"); r.status != 400 || r.header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("retry of a failure = %d %v", r.status, r.header)
		}
	})
	t.Run("ConcurrentDoubleClick", func(t *testing.T) {
		s := e.seed("J-9")
		a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech}).id()
		var wg sync.WaitGroup
		res := make([]response, 6)
		for i := range res {
			wg.Go(func() {
				res[i] = e.do(e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/dispatch", nil, "Idempotency-Key", "dispatch-"+itoa(a))
			})
		}
		wg.Wait()
		for _, r := range res {
			if r.status != 200 || !bytes.Equal(r.raw, res[0].raw) {
				t.Fatalf("responses differ: %d %s vs %s", r.status, r.raw, res[0].raw)
			}
		}
	})
	t.Run("SecretsAreNotReplayed", func(t *testing.T) {
		first := e.do(e.admin, "POST", "/api/v1/keys", map[string]any{"name": "x", "role": "dispatcher"}, "Idempotency-Key", "key-1")
		retry := e.do(e.admin, "POST", "/api/v1/keys", map[string]any{"name": "x", "role": "dispatcher"}, "Idempotency-Key", "key-1")
		if first.body["key"] == nil || retry.body["key"] != nil || retry.id() != first.id() {
			t.Fatalf("first = %s, retry = %s", first.raw, retry.raw)
		}
		if n := e.count("/api/v1/keys"); n != 3 {
			t.Fatalf("%d keys, want 3", n)
		}
	})
	t.Run("KeyTooLong", func(t *testing.T) {
		r := e.do(e.admin, "POST", "/api/v1/technicians", body, "Idempotency-Key", strings.Repeat("k", 256))
		if r.status != 400 || r.errFields()["Idempotency-Key"] == nil {
			t.Fatalf("= %d %s", r.status, r.raw)
		}
	})
}

func TestOps(t *testing.T) {
	e := newEnv(t)
	e.must(200, "", "GET", "/healthz", nil)
	if r := e.must(200, "", "GET", "/readyz", nil); r.body["status"] != "ready" {
		t.Fatalf("readyz = %s", r.raw)
	}
	e.must(200, e.admin, "GET", "/api/v1/jobs", nil)
	r := e.must(200, "", "GET", "/metrics", nil)
	for _, want := range []string{`enroute_http_requests_total{method="GET",route="/api/v1/jobs",status="200"} 1`, "enroute_http_request_duration_seconds_bucket", "go_goroutines"} {
		if !bytes.Contains(r.raw, []byte(want)) {
			t.Fatalf("metrics lack %q", want)
		}
	}
	e.store.Close()
	if r := e.do("", "GET", "/readyz", nil); r.status != 503 {
		t.Fatalf("readyz with a closed store = %d", r.status)
	}
}

func itoa(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestNotificationEndpoints exercises the settings, preview and delivery
// log routes; env checks every answer against openapi.yaml.
func TestNotificationEndpoints(t *testing.T) {
	e := newEnv(t)
	all := e.must(200, e.admin, "GET", "/api/v1/settings/dispatch-notifications", nil)
	if !strings.Contains(string(all.raw), `"from_number_status":"missing"`) {
		t.Fatalf("settings = %s", all.raw)
	}
	for _, tab := range []string{"text", "email", "tracking", "general", "late"} {
		e.must(200, e.admin, "GET", "/api/v1/settings/dispatch-notifications/"+tab, nil)
		e.must(403, e.dispatcher, "GET", "/api/v1/settings/dispatch-notifications/"+tab, nil)
	}
	e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": "+13125550100", "enabled": true})
	e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/general", map[string]any{"limit_when_multiple_techs": true})
	e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"from_name": "Office"})
	if r := e.do(e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": true}); r.status != 400 {
		t.Fatalf("tracking without GPS = %d", r.status)
	}
	// When a technician counts as arrived: bounded, each bad value named.
	for _, bad := range []map[string]any{
		{"arrival_radius_m": 10}, {"arrival_radius_m": 5000}, {"arrival_dwell_s": 0}, {"arrival_dwell_s": 3600},
	} {
		for field := range bad {
			if r := e.do(e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", bad); r.status != 400 || r.errFields()[field] == nil {
				t.Fatalf("tracking %v = %d %s", bad, r.status, r.raw)
			}
		}
	}
	if r := e.do(e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"arrival_radius_m": "far"}); r.status != 400 {
		t.Fatalf("a radius that is not a number = %d %s", r.status, r.raw)
	}
	if r := e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"arrival_radius_m": 250, "arrival_dwell_s": 30}); !strings.Contains(string(r.raw), `"arrival_radius_m":250,"arrival_dwell_s":30`) || !strings.Contains(string(r.raw), `"auto_arrival":true`) {
		t.Fatalf("arrival rule = %s", r.raw)
	}
	if r := e.do(e.admin, "PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": "555"}); r.status != 400 || r.errFields()["from_number"] == nil {
		t.Fatalf("bad number = %d %s", r.status, r.raw)
	}
	if r := e.do(e.admin, "PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"templat": "x"}); r.status != 400 || r.errFields()["templat"] == nil {
		t.Fatalf("unknown field = %d %s", r.status, r.raw)
	}
	// A subject is one line, on both tabs that have one.
	for tab, field := range map[string]string{"email": "subject", "late": "email_subject"} {
		r := e.do(e.admin, "PUT", "/api/v1/settings/dispatch-notifications/"+tab, map[string]any{field: "Your technician\r\nBcc: x@example.com"})
		if r.status != 400 || r.errFields()[field] != "must be one line" {
			t.Fatalf("%s %s on two lines = %d %s", tab, field, r.status, r.raw)
		}
		if r := e.must(200, e.admin, "GET", "/api/v1/settings/dispatch-notifications/"+tab, nil); strings.Contains(string(r.raw), "Bcc") {
			t.Fatalf("a refused subject was kept: %s", r.raw)
		}
	}
	e.must(200, e.admin, "GET", "/api/v1/settings/gps", nil)
	e.must(200, e.admin, "PUT", "/api/v1/settings/gps", map[string]any{"enabled": true})
	e.must(400, e.admin, "PUT", "/api/v1/settings/gps", map[string]any{})
	e.must(200, e.admin, "GET", "/api/v1/settings/dispatch-notifications/tokens", nil)
	e.must(200, e.admin, "POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "email"})
	e.must(400, e.admin, "POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{})
	e.must(404, e.admin, "POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "job_id": 999})

	s := e.seed("N-1")
	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech}).id()
	e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/dispatch", nil)
	log := e.must(200, e.dispatcher, "GET", "/api/v1/jobs/"+itoa(s.job)+"/messages", nil)
	if !strings.Contains(string(log.raw), `"channel":"sms"`) {
		t.Fatalf("log = %s", log.raw)
	}
	e.must(404, e.dispatcher, "GET", "/api/v1/jobs/999/messages", nil)
	link := e.must(201, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/tracking-link", nil)
	if !strings.HasPrefix(link.body["url"].(string), "/t/") && !strings.Contains(link.body["url"].(string), "/t/"+link.body["token"].(string)) {
		t.Fatalf("link = %s", link.raw)
	}
	e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/cancel", nil)
	e.must(400, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/tracking-link", nil)
	// No Twilio account configured: the webhook is off.
	if r := e.do("", "POST", "/api/v1/sms/inbound", "From=%2B1", "Content-Type", "application/x-www-form-urlencoded"); r.status != 404 {
		t.Fatalf("inbound without Twilio = %d", r.status)
	}
	if r := e.do("", "POST", "/api/v1/sms/status", "MessageSid=SM1&MessageStatus=sent", "Content-Type", "application/x-www-form-urlencoded"); r.status != 404 {
		t.Fatalf("delivery receipt without Twilio = %d", r.status)
	}
}

func TestIngestEndpoints(t *testing.T) {
	e := newEnv(t)
	tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	d := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil)
	token := d.body["token"].(string)
	ts := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	r := e.must(200, token, "POST", "/api/v1/positions", `[{"ts":"`+ts+`","lat":41.15,"lng":-8.61},{"ts":"`+ts+`","lat":91,"lng":0}]`)
	if r.body["accepted"] != 1.0 || len(r.body["rejected"].([]any)) != 1 {
		t.Fatalf("ingest = %s", r.raw)
	}
	e.must(400, token, "POST", "/api/v1/positions", `{}`)
	e.must(401, e.admin, "POST", "/api/v1/positions", `[]`)
	live := e.must(200, e.dispatcher, "GET", "/api/v1/technicians/positions?bbox=41.1,-8.7,41.2,-8.5", nil)
	if len(live.body["items"].([]any)) != 1 {
		t.Fatalf("live = %s", live.raw)
	}
	// The world, a band of every longitude through Porto, and the point
	// where the technician is, find the technician (before: nothing, after
	// 39 s and 5.1 GB for the world; a panic in H3 for the point).
	for _, box := range []string{"-90,-180,90,180", "41.1,-179.9,41.2,179.9", "41.1,-190,41.2,170", "41.15,-8.61,41.15,-8.61"} {
		if live := e.must(200, e.dispatcher, "GET", "/api/v1/technicians/positions?bbox="+box, nil); len(live.body["items"].([]any)) != 1 {
			t.Errorf("bbox %s: %s", box, live.raw)
		}
	}
	if live := e.must(200, e.dispatcher, "GET", "/api/v1/technicians/positions?bbox=41.1,170,41.2,-170", nil); len(live.body["items"].([]any)) != 0 {
		t.Errorf("a box across the antimeridian found Porto: %s", live.raw)
	}
	for bad, field := range map[string]string{"?bbox=1,2,3": "bbox", "?near=41.1": "near", "?near=41.1,-8.6&radius_m=-1": "radius_m",
		"?bbox=1,1,2,2&near=1,1": "bbox", "?near=NaN,NaN&radius_m=100": "near", "?near=41.1,-8.6&radius_m=NaN": "radius_m",
		"?near=41.1,Inf&radius_m=100": "near", "?bbox=NaN,0,1,1": "bbox", "?bbox=0,190,1,170": "bbox",
		"?near=41.1,-8.6&radius_m=100&limit=0": "limit", "?near=41.1,-8.6&radius_m=100&limit=10001": "limit",
		"?near=41.1,-8.6&radius_m=100&limit=ten": "limit"} {
		if r := e.must(400, e.dispatcher, "GET", "/api/v1/technicians/positions"+bad, nil); r.errFields()[field] == nil {
			t.Errorf("%s: %s, want a message about %s", bad, r.raw, field)
		}
	}
	e.must(200, "", "POST", "/api/v1/owntracks?id="+d.body["identifier"].(string), `{"_type":"location","lat":41.151,"lon":-8.611,"tst":`+strconv.FormatInt(time.Now().Add(-30*time.Second).Unix(), 10)+`}`)
}

// TestNearestFirst: a near query answers nearest first, the limit nearest
// when one is given.
func TestNearestFirst(t *testing.T) {
	e := newEnv(t)
	ts := time.Now().Add(-time.Minute).UTC().Format(time.RFC3339)
	var techs []int64
	for i, lat := range []float64{41.1530, 41.1510, 41.1520} { // 330, 110 and 220 m north of the query
		tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Tech " + itoa(int64(i))}).id()
		d := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil)
		e.must(200, d.body["token"].(string), "POST", "/api/v1/positions", `[{"ts":"`+ts+`","lat":`+strconv.FormatFloat(lat, 'f', -1, 64)+`,"lng":-8.61}]`)
		techs = append(techs, tech)
	}
	order := func(r response) []int64 {
		var out []int64
		for _, it := range r.body["items"].([]any) {
			out = append(out, int64(it.(map[string]any)["technician_id"].(float64)))
		}
		return out
	}
	if got := order(e.must(200, e.dispatcher, "GET", "/api/v1/technicians/positions?near=41.15,-8.61&radius_m=1000", nil)); !slices.Equal(got, []int64{techs[1], techs[2], techs[0]}) {
		t.Fatalf("near = %v, want %v", got, []int64{techs[1], techs[2], techs[0]})
	}
	if got := order(e.must(200, e.dispatcher, "GET", "/api/v1/technicians/positions?near=41.15,-8.61&radius_m=1000&limit=2", nil)); !slices.Equal(got, []int64{techs[1], techs[2]}) {
		t.Fatalf("near, limit 2 = %v", got)
	}
	if got := order(e.must(200, e.dispatcher, "GET", "/api/v1/technicians/positions?near=41.15,-8.61&radius_m=250", nil)); !slices.Equal(got, []int64{techs[1], techs[2]}) {
		t.Fatalf("near 250 m = %v", got)
	}
}

// TestTechnicianHistory: a technician's stored fixes, in time order, by
// time window and page; bad windows get 400 naming the parameter.
func TestTechnicianHistory(t *testing.T) {
	e := newEnv(t)
	tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	idle := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bo"}).id()
	token := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil).body["token"].(string)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Second).UTC()
	at := func(i int) string { return t0.Add(time.Duration(i) * 10 * time.Second).Format(time.RFC3339) }
	var fixes []string
	for i := range 5 { // sent newest first: stored and answered in time order
		fixes = append(fixes, fmt.Sprintf(`{"ts":%q,"lat":%f,"lng":-8.61}`, at(4-i), 41.15+float64(4-i)*1e-4))
	}
	// And one a phone's fast clock stamped a minute ahead: the history
	// without until holds it.
	ahead := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	fixes = append(fixes, fmt.Sprintf(`{"ts":%q,"lat":41.16,"lng":-8.61}`, ahead))
	e.must(200, token, "POST", "/api/v1/positions", "["+strings.Join(fixes, ",")+"]")

	history := func(query string) []any {
		t.Helper()
		return e.must(200, e.dispatcher, "GET", "/api/v1/technicians/"+itoa(tech)+"/positions"+query, nil).body["items"].([]any)
	}
	tsOf := func(items []any) (out []string) {
		for _, it := range items {
			out = append(out, it.(map[string]any)["ts"].(string))
		}
		return out
	}
	if got := tsOf(history("")); !slices.Equal(got, []string{at(0), at(1), at(2), at(3), at(4), ahead}) {
		t.Fatalf("the last day = %v", got)
	}
	if got := tsOf(history("?since=" + at(1) + "&until=" + at(3))); !slices.Equal(got, []string{at(1), at(2)}) {
		t.Fatalf("since, until = %v", got)
	}
	if got := tsOf(history("?limit=2&offset=1")); !slices.Equal(got, []string{at(1), at(2)}) {
		t.Fatalf("a page = %v", got)
	}
	if got := history("?until=" + at(0)); len(got) != 0 { // the day before the first fix
		t.Fatalf("before the first = %v", got)
	}
	if r := e.must(200, e.admin, "GET", "/api/v1/technicians/"+itoa(idle)+"/positions", nil); string(r.raw) != `{"items":[]}`+"\n" {
		t.Fatalf("no fixes = %s", r.raw)
	}
	for query, field := range map[string]string{
		"?since=" + at(3) + "&until=" + at(1): "since",
		"?since=yesterday":                    "since",
		"?until=2026-13-01T00:00:00Z":         "until",
		"?limit=0":                            "limit",
	} {
		if r := e.must(400, e.dispatcher, "GET", "/api/v1/technicians/"+itoa(tech)+"/positions"+query, nil); r.errFields()[field] == nil {
			t.Fatalf("%s: fields = %v, want %s", query, r.errFields(), field)
		}
	}
	e.must(404, e.dispatcher, "GET", "/api/v1/technicians/999/positions", nil)
	e.must(401, token, "GET", "/api/v1/technicians/"+itoa(tech)+"/positions", nil) // a device may not read it
	e.must(401, "", "GET", "/api/v1/technicians/"+itoa(tech)+"/positions", nil)
}

func TestBrowserSession(t *testing.T) {
	e := newEnv(t)
	if r := e.do("", "POST", "/api/v1/session", map[string]any{"key": "enr_wrong"}); r.status != 401 {
		t.Fatalf("bad key = %d", r.status)
	}
	r := e.do("", "POST", "/api/v1/session", map[string]any{"key": e.dispatcher})
	cookie := r.header.Get("Set-Cookie")
	if r.status != 200 || !strings.Contains(cookie, "HttpOnly") || !strings.Contains(cookie, "SameSite=Strict") {
		t.Fatalf("login = %d, cookie %q", r.status, cookie)
	}
	session := strings.Split(cookie, ";")[0]
	get := func(method, path, body string, headers ...string) int {
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		req.Header.Set("Cookie", session)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if s := get("GET", "/api/v1/jobs", ""); s != 200 {
		t.Fatalf("cookie read = %d", s)
	}
	if s := get("GET", "/api/v1/keys", ""); s != 403 {
		t.Fatalf("a dispatcher's session on admin routes = %d", s)
	}
	if s := get("POST", "/api/v1/customers", `{"name":"Bo"}`); s != 403 {
		t.Fatalf("cookie write without the CSRF header = %d", s)
	}
	if s := get("POST", "/api/v1/customers", `{"name":"Bo"}`, "X-Enroute-CSRF", "1"); s != 201 {
		t.Fatalf("cookie write with the header = %d", s)
	}
	if s := get("DELETE", "/api/v1/session", ""); s != 204 {
		t.Fatalf("logout = %d", s)
	}
	if s := get("GET", "/api/v1/jobs", ""); s != 401 {
		t.Fatalf("after logout = %d", s)
	}
}

// TestLocationVerification: an address without a pin is accepted and
// waits for the geocoder (none runs here: it stays pending, lat and lng
// null); a dispatcher's pin verifies it; one coordinate without the other,
// or verified without a pin, is refused. Every answer is checked against
// openapi.yaml.
func TestLocationVerification(t *testing.T) {
	e := newEnv(t)
	s := e.seed("J-GEO")
	r := e.must(201, e.dispatcher, "POST", "/api/v1/locations", map[string]any{"customer_id": s.cust, "address": "Rua de Cedofeita 100, Porto"})
	v, _ := r.body["verification"].(map[string]any)
	if r.body["lat"] != nil || r.body["lng"] != nil || r.body["verified"] != false || v["status"] != "pending" || v["source"] != "geocoder" || v["next_attempt_at"] == nil {
		t.Fatalf("pending = %v", r.body)
	}
	loc := itoa(r.id())
	e.must(400, e.dispatcher, "PATCH", "/api/v1/locations/"+loc, map[string]any{"verified": true})
	e.must(400, e.dispatcher, "PATCH", "/api/v1/locations/"+loc, map[string]any{"lat": 41.15})
	p := e.must(200, e.dispatcher, "PATCH", "/api/v1/locations/"+loc, map[string]any{"lat": 41.1555, "lng": -8.6185, "verified": true})
	v, _ = p.body["verification"].(map[string]any)
	if p.body["lat"] != 41.1555 || p.body["verified"] != true || v["status"] != "manual" || v["source"] != "dispatcher" || v["next_attempt_at"] != nil {
		t.Fatalf("placed pin = %v", p.body)
	}
	old := e.must(200, e.dispatcher, "GET", "/api/v1/locations/"+itoa(s.loc), nil)
	if v, _ := old.body["verification"].(map[string]any); v["status"] != "manual" {
		t.Fatalf("a pin given at creation = %v", old.body)
	}
}
