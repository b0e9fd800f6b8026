package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
)

// fuzzRoutes are the requests FuzzAPI varies: every route that reads a
// body or a query string, with who sends it. The ids name the records
// FuzzAPI creates first.
var fuzzRoutes = []struct {
	method, path, who string // who: admin, dispatcher, device or anyone
	seed              string // a body the route takes
}{
	{"POST", "/api/v1/technicians", "admin", `{"name":"Ana","rating":4.8,"photo_url":"https://example.com/a.jpg"}`},
	{"PATCH", "/api/v1/technicians/1", "admin", `{"active":false,"rating":null}`},
	{"GET", "/api/v1/technicians", "dispatcher", ``},
	{"POST", "/api/v1/technicians/1/devices", "admin", `{"name":"Pixel"}`},
	{"GET", "/api/v1/technicians/1/devices", "admin", ``},
	{"POST", "/api/v1/customers", "dispatcher", `{"name":"Bo","phone":"(312) 555-0100","email":"bo@example.com","language":"es"}`},
	{"PATCH", "/api/v1/customers/1", "dispatcher", `{"sms_opt_out":true}`},
	{"GET", "/api/v1/customers", "dispatcher", ``},
	{"POST", "/api/v1/locations", "dispatcher", `{"customer_id":1,"address":"1 Main St","lat":41.88,"lng":-87.63,"verified":true}`},
	{"PATCH", "/api/v1/locations/1", "dispatcher", `{"lat":41.9}`},
	{"GET", "/api/v1/locations", "dispatcher", ``},
	{"POST", "/api/v1/jobs", "dispatcher", `{"number":"J-9","customer_id":1,"location_id":1,"window_start":"2026-12-06T09:00:00Z","window_end":"2026-12-06T11:00:00Z"}`},
	{"PATCH", "/api/v1/jobs/1", "dispatcher", `{"window_end":"2026-12-06T12:00:00Z"}`},
	{"GET", "/api/v1/jobs", "dispatcher", ``},
	{"POST", "/api/v1/jobs/1/assignments", "dispatcher", `{"technician_id":1}`},
	{"GET", "/api/v1/assignments", "dispatcher", ``},
	{"POST", "/api/v1/assignments/1/dispatch", "dispatcher", ``},
	{"POST", "/api/v1/assignments/1/cancel", "dispatcher", `{}`},
	{"POST", "/api/v1/assignments/1/tracking-link", "dispatcher", ``},
	{"GET", "/api/v1/jobs/1/messages", "dispatcher", ``},
	{"POST", "/api/v1/keys", "admin", `{"name":"office","role":"dispatcher"}`},
	{"GET", "/api/v1/keys", "admin", ``},
	{"PATCH", "/api/v1/company", "admin", `{"name":"Cool Air","time_zone":"America/Chicago","locale":"en-US"}`},
	{"PUT", "/api/v1/settings/dispatch-notifications/text", "admin", `{"enabled":false,"template":"Hi {CustomerFirstName}, {TechnicianName} is on the way."}`},
	{"PUT", "/api/v1/settings/dispatch-notifications/email", "admin", `{"enabled":false,"subject":"{CompanyName}","body":"Hello {CustomerName}"}`},
	{"PUT", "/api/v1/settings/dispatch-notifications/tracking", "admin", `{"enabled":false,"arrival_radius_m":200}`},
	{"PUT", "/api/v1/settings/dispatch-notifications/general", "admin", `{"limit_when_multiple_techs":true}`},
	{"PUT", "/api/v1/settings/dispatch-notifications/late", "admin", `{"enabled":false,"margin_min":10}`},
	{"POST", "/api/v1/settings/dispatch-notifications/preview", "admin", `{"channel":"sms","template":"{CompanyName} {NewETA} {{x}}"}`},
	{"PUT", "/api/v1/settings/gps", "admin", `{"enabled":true}`},
	{"POST", "/api/v1/session", "anyone", `{"key":"enr_nope"}`},
	{"POST", "/api/v1/positions", "device", `[{"ts":"2026-12-06T09:00:00Z","lat":41.15,"lng":-8.61,"accuracy_m":-5}]`},
	{"POST", "/api/v1/owntracks", "anyone", `{"_type":"location","lat":41.15,"lon":-8.61,"tst":1796000000,"vel":-1}`},
	{"GET", "/api/v1/technicians/positions", "dispatcher", ``},
	{"GET", "/api/v1/technicians/1/positions", "dispatcher", ``},
	{"POST", "/api/v1/sms/inbound", "anyone", `From=%2B13125550100&To=%2B13125550199&Body=STOP`},
	{"POST", "/api/v1/sms/status", "anyone", `MessageSid=SM0123&MessageStatus=undelivered&ErrorCode=30003&To=%2B13125550199`},
	{"POST", "/t/" + fuzzTrackingToken + "/feedback", "anyone", `{"rating":5,"comment":"Kind and on time.\nThanks"}`},
	{"GET", "/api/v1/jobs/1/feedback", "dispatcher", ``},
	{"GET", "/api/v1/technicians/1/feedback", "dispatcher", ``},
	{"GET", "/t/" + fuzzTrackingToken + "/live", "anyone", ``}, // a crew member's stream: ?assignment=
	{"GET", "/api/v1/technicians/1/positions/export", "dispatcher", ``},
	{"GET", "/api/v1/positions/export", "admin", ``},
}

// fuzzTrackingToken is the tracking link FuzzAPI makes for its assignment.
const fuzzTrackingToken = "fuzz-tracking-token-0123456789"

// FuzzAPI sends any body and query string to every route that reads one,
// with the right credentials: the answer is never a server error, and an
// error is always the one JSON shape with a code and a message.
func FuzzAPI(f *testing.F) {
	queries := []string{"", "limit=5&offset=1", "limit=0", "active=maybe", "bbox=-90,-180,90,180", "bbox=41.8,-179.9,41.9,179.9",
		"near=NaN,NaN&radius_m=100", "near=41.15,-8.61&radius_m=500", "since=2026-12-06T00:00:00Z&until=yesterday",
		"status=dispatched,working", "id=dev_nosuchdevice000000000000", "date=2026-12-06", "technician_id=1",
		"format=geojson&limit=3", "format=kml"}
	for i, r := range fuzzRoutes {
		f.Add(uint8(i), "", []byte(r.seed))
		f.Add(uint8(i), queries[i%len(queries)], []byte(r.seed+"}"))
	}
	for _, q := range queries {
		f.Add(uint8(2), q, []byte{})
		f.Add(uint8(33), q, []byte{})
	}
	for i, r := range fuzzRoutes {
		if strings.HasSuffix(r.path, "/live") { // not a WebSocket handshake: refused, in the error shape, whatever the assignment
			for _, q := range []string{"assignment=1", "assignment=2", "assignment=-1", "assignment=99999999999999999999", "assignment=1e3", "assignment="} {
				f.Add(uint8(i), q, []byte{})
			}
		}
	}
	for i, r := range fuzzRoutes { // exports: a period, its bounds, a format
		if strings.HasSuffix(r.path, "/export") {
			for _, q := range []string{"since=2026-12-06T00:00:00Z&until=2026-12-07T00:00:00%2B01:00&format=geojson",
				"since=2026-12-06T00:00:00Z&until=2027-12-07T00:00:00Z", "since=0001-01-01T00:00:00Z&until=0001-01-02T00:00:00Z&format=csv",
				"since=9999-12-30T00:00:00Z&until=9999-12-31T23:59:59.999999999Z"} {
				f.Add(uint8(i), q, []byte{})
			}
		}
	}
	for i, r := range fuzzRoutes { // the customer search's text goes into LIKE patterns
		if r.method == "GET" && r.path == "/api/v1/customers" {
			f.Add(uint8(i), "q=%25_%21%5C%28312%29+555-01", []byte{})
			f.Add(uint8(i), "q=%C3%81lvaro&limit=2", []byte{})
		}
	}
	e := newEnvWith(f, httpapi.Config{
		RateLimits:       httpapi.RateLimits{Public: httpapi.Unlimited, Login: httpapi.Unlimited, Webhook: httpapi.Unlimited, Unknown: httpapi.Unlimited, API: httpapi.Unlimited},
		VerifySMSWebhook: func(string, url.Values, string) bool { return true },
	})
	s := e.seed("J-1")
	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech}).id()
	if err := e.store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: a}, enroute.HashSecret(fuzzTrackingToken)); err != nil {
		f.Fatal(err)
	}
	token := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(s.tech)+"/devices", nil).body["token"].(string)
	keys := map[string]string{"admin": e.admin, "dispatcher": e.dispatcher, "device": token}

	f.Fuzz(func(t *testing.T, route uint8, query string, body []byte) {
		r := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := r.path
		if query != "" {
			target += "?" + query
		}
		u, err := url.ParseRequestURI(target)
		if err != nil || u.Path != r.path {
			return // not a request a client could send to this route
		}
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(string(body)))
		req.URL, req.RequestURI = u, target // as a client sent it: httptest would parse a space as the HTTP version
		if strings.HasPrefix(r.path, "/api/v1/sms/") {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		if k := keys[r.who]; k != "" {
			req.Header.Set("Authorization", "Bearer "+k)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q = %d %s", r.method, target, body, rec.Code, rec.Body)
		}
		if rec.Code < 400 {
			if ct := rec.Header().Get("Content-Type"); (strings.HasPrefix(ct, "application/json") || ct == "application/geo+json") && !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %s with %q = %d and JSON that is not: %s", r.method, target, body, rec.Code, rec.Body)
			}
			return
		}
		var answer httpapi.ErrorResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || answer.Error.Code == "" || answer.Error.Message == "" {
			t.Fatalf("%s %s with %q = %d without the error shape: %s", r.method, target, body, rec.Code, rec.Body)
		}
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Fatalf("%s %s = 429 without Retry-After", r.method, target)
		}
	})
}
