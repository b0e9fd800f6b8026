package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// device registers a technician with a device, returning their ids, the
// device identifier and token.
func (st *stack) device(name string) (tech int64, ident, token string) {
	tech = st.ok("POST", "/api/v1/technicians", map[string]any{"name": name, "rating": 4.8}).id()
	d := st.ok("POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), map[string]any{"name": "phone"})
	return tech, d.str("identifier"), d.str("token")
}

// send makes a raw request and returns status and body.
// keepAlive is the tests' HTTP client: it keeps a connection for each of up
// to 16 concurrent senders, as phones keep theirs. http.DefaultClient keeps
// two, so a test with four senders opened a connection per request for the
// others, and under -race a refused SYN cost one of them a 1 s retransmit.
var keepAlive = func() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: tr}
}()

func send(t *testing.T, method, u, contentType, body string, headers ...string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := keepAlive.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

func newIngestStack(t *testing.T) *stack {
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken}}
	st.m, _ = start(t, st.env)
	st.tracking()
	return st
}

// tracking turns arrival tracking on in the store, past the settings
// screen's prerequisites (GPS set up with a device): customers' links show
// positions only while it is on.
func (st *stack) tracking() {
	st.t.Helper()
	if _, err := st.m.Store.UpdateSettings(context.Background(), func(s *enroute.Settings) error {
		s.GPS.Enabled, s.Dispatch.Tracking.Enabled = true, true
		return nil
	}); err != nil {
		st.t.Fatal(err)
	}
}

func (st *stack) stored() int64 {
	n, err := st.m.Store.CountPositions(context.Background())
	if err != nil {
		st.t.Fatal(err)
	}
	return n
}

func TestIngestProtocols(t *testing.T) {
	st := newIngestStack(t)
	tech, ident, token := st.device("Ana Silva")
	api := "http://" + st.m.Addr()
	osmand := "http://" + st.m.OsmAndAddr()
	now := time.Now().UTC()
	epoch := func(d time.Duration) string { return fmt.Sprint(now.Add(d).Unix()) }

	// Native batch.
	body := fmt.Sprintf(`[{"ts":%q,"lat":41.1496,"lng":-8.6109,"accuracy_m":5,"speed_mps":8.5,"heading_deg":90,"battery":80},
		{"ts":%d,"lat":41.1497,"lng":-8.6107},{"ts":"bad","lat":1,"lng":1}]`,
		now.Add(-60*time.Second).Format(time.RFC3339), now.Add(-58*time.Second).UnixMilli())
	status, raw := send(t, "POST", api+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+token)
	if status != 200 || !contains(raw, `"accepted":2`, `"index":2`) {
		t.Fatalf("native = %d %s", status, raw)
	}
	// OsmAnd as Traccar Client sends it: GET with a query, POST with a form,
	// and Traccar Client 9's JSON.
	q := "id=" + ident + "&timestamp=" + epoch(-50*time.Second) + "&lat=41.1498&lon=-8.6105&speed=9.7&bearing=88&altitude=80&accuracy=6&batt=79"
	if status, raw := send(t, "GET", osmand+"/?"+q, "", ""); status != 200 {
		t.Fatalf("osmand GET = %d %s", status, raw)
	}
	form := url.Values{"deviceid": {ident}, "timestamp": {epoch(-45 * time.Second)}, "lat": {"41.1499"}, "lon": {"-8.6103"}}
	if status, raw := send(t, "POST", osmand+"/any/path", "application/x-www-form-urlencoded", form.Encode()); status != 200 {
		t.Fatalf("osmand form = %d %s", status, raw)
	}
	js := fmt.Sprintf(`{"location":{"timestamp":%q,"coords":{"latitude":41.1500,"longitude":-8.6101,"accuracy":5,"speed":4.2,"heading":87,"altitude":80},"is_moving":true,"odometer":10,"event":"motionchange","battery":{"level":0.78,"is_charging":false},"activity":{"type":"in_vehicle"},"extras":{}},"device_id":%q}`,
		now.Add(-40*time.Second).Format("2006-01-02T15:04:05.000Z"), ident)
	if status, raw := send(t, "POST", osmand+"/", "application/json", js); status != 200 {
		t.Fatalf("osmand JSON = %d %s", status, raw)
	}
	// OwnTracks: by identifier, then by basic auth with the token.
	ot := fmt.Sprintf(`{"_type":"location","acc":5,"alt":80,"batt":77,"cog":86,"lat":41.1501,"lon":-8.6099,"tid":"AS","tst":%s,"vel":15}`, epoch(-35*time.Second))
	if status, raw := send(t, "POST", api+"/api/v1/owntracks", "application/json", ot, "X-Limit-D", ident); status != 200 || raw != "[]\n" {
		t.Fatalf("owntracks = %d %q", status, raw)
	}
	ot2 := strings.Replace(strings.Replace(ot, `"lat":41.1501`, `"lat":41.1502`, 1), epoch(-35*time.Second), epoch(-30*time.Second), 1)
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ana:"+token))
	if status, raw := send(t, "POST", api+"/api/v1/owntracks", "application/json", ot2, "Authorization", auth); status != 200 {
		t.Fatalf("owntracks basic auth = %d %s", status, raw)
	}
	if status, _ := send(t, "POST", api+"/api/v1/owntracks?id="+ident, "application/json", `{"_type":"waypoints","waypoints":[]}`); status != 200 {
		t.Fatalf("owntracks other type = %d", status)
	}
	if got := st.stored(); got != 7 {
		t.Fatalf("stored %d fixes, want 7", got)
	}
	live := st.ok("GET", "/api/v1/technicians/positions", nil).items()
	if len(live) != 1 || live[0]["lat"] != 41.1502 || int64(live[0]["technician_id"].(float64)) != tech || live[0]["stale"] != false {
		t.Fatalf("live = %v", live)
	}
	if near := st.ok("GET", "/api/v1/technicians/positions?near=41.15,-8.61&radius_m=500", nil).items(); len(near) != 1 {
		t.Fatalf("near = %v", near)
	}
	if far := st.ok("GET", "/api/v1/technicians/positions?bbox=41.0,-8.0,41.1,-7.9", nil).items(); len(far) != 0 {
		t.Fatalf("bbox elsewhere = %v", far)
	}

	// The GPS settings say where each app sends: here, the bound addresses
	// (--addr and --osmand-addr on port 0; no --public-url given).
	if st.m.Config.PublicURL != api {
		t.Fatalf("default public URL = %q, want the bound %q", st.m.Config.PublicURL, api)
	}
	gps := st.ok("GET", "/api/v1/settings/gps", nil).raw
	for _, want := range []string{`"osmand_url":"` + osmand + `"`, `"owntracks_url":"` + api + `/api/v1/owntracks"`, `"native_url":"` + api + `/api/v1/positions"`} {
		if !strings.Contains(gps, want) {
			t.Fatalf("GPS settings %s lack %s", gps, want)
		}
	}

	// Bad requests: 400 (or 401) and nothing stored.
	before := st.stored()
	for _, tc := range []struct {
		name, method, url, ct, body string
		headers                     []string
		want                        int
	}{
		{"osmand unknown device", "GET", osmand + "/?id=dev_nosuchdevice00000000000&lat=41.1&lon=-8.6", "", "", nil, 400},
		{"osmand no device", "GET", osmand + "/?lat=41.1&lon=-8.6", "", "", nil, 400},
		{"osmand no lat", "GET", osmand + "/?id=" + ident + "&lon=-8.6", "", "", nil, 400},
		{"osmand bad time", "GET", osmand + "/?id=" + ident + "&lat=41.1&lon=-8.6&timestamp=soon", "", "", nil, 400},
		{"osmand zero zero", "GET", osmand + "/?id=" + ident + "&lat=0&lon=0", "", "", nil, 400},
		{"osmand bad json", "POST", osmand + "/", "application/json", `{"device_id":`, nil, 400},
		{"osmand json no coords", "POST", osmand + "/", "application/json", `{"device_id":"` + ident + `","location":{}}`, nil, 400},
		{"osmand put", "PUT", osmand + "/", "", "", nil, 405},
		{"osmand malformed query", "GET", osmand + "/?id=" + ident + "&lat=41.1%zz&lon=-8.6", "", "", nil, 400},
		{"osmand malformed form", "POST", osmand + "/", "application/x-www-form-urlencoded", "id=" + ident + "&lat=41.1&lon=%", nil, 400},
		{"osmand body too large", "POST", osmand + "/", "application/x-www-form-urlencoded", "id=" + ident + "&lat=41.1&lon=-8.6&pad=" + strings.Repeat("x", 70<<10), nil, 413},
		{"osmand head too large", "GET", osmand + "/?id=" + ident + "&lat=41.1&lon=-8.6&pad=" + strings.Repeat("x", 5<<10), "", "", nil, 431},
		{"native no token", "POST", api + "/api/v1/positions", "application/json", `[]`, nil, 401},
		{"native wrong token", "POST", api + "/api/v1/positions", "application/json", `[]`, []string{"Authorization", "Bearer end_nope"}, 401},
		{"native not an array", "POST", api + "/api/v1/positions", "application/json", `{"lat":1}`, []string{"Authorization", "Bearer " + token}, 400},
		{"native admin key", "POST", api + "/api/v1/positions", "application/json", `[]`, []string{"Authorization", "Bearer " + testAdminToken}, 401},
		{"owntracks unknown", "POST", api + "/api/v1/owntracks", "application/json", ot, nil, 401},
		{"owntracks malformed", "POST", api + "/api/v1/owntracks?id=" + ident, "application/json", `{`, nil, 400},
		{"owntracks no tst", "POST", api + "/api/v1/owntracks?id=" + ident, "application/json", `{"_type":"location","lat":1,"lon":1}`, nil, 400},
	} {
		status, raw := send(t, tc.method, tc.url, tc.ct, tc.body, tc.headers...)
		if status != tc.want || (status >= 400 && !strings.Contains(raw, `"error"`)) {
			t.Errorf("%s = %d %s, want %d", tc.name, status, raw, tc.want)
		}
	}
	// Not HTTP at all: a JSON 400, and the connection closed.
	conn, err := net.Dial("tcp", st.m.OsmAndAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Write([]byte("HELLO THERE\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	if answer, err := io.ReadAll(conn); err != nil || !contains(string(answer), "HTTP/1.1 400", `"code":"invalid"`, "Malformed HTTP request") {
		t.Errorf("not HTTP = %q, %v", answer, err)
	}
	if got := st.stored(); got != before {
		t.Fatalf("bad requests stored %d fixes", got-before)
	}
	// The history's metrics count what was written.
	if fixes, commits := counter(t, st, "enroute_history_fixes_total"), counter(t, st, "enroute_history_commits_total"); fixes != float64(before) || commits < 1 || commits > fixes {
		t.Fatalf("metrics: %v fixes in %v commits, %d stored", fixes, commits, before)
	}
	if pending := counter(t, st, "enroute_history_pending_fixes"); pending != 0 {
		t.Fatalf("metrics: %v fixes pending after every answer", pending)
	}
	// A revoked device is refused.
	dev := st.ok("GET", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), nil).items()[0]
	st.ok("DELETE", fmt.Sprintf("/api/v1/devices/%d", int64(dev["id"].(float64))), nil)
	if status, _ := send(t, "GET", osmand+"/?id="+ident+"&lat=41.15&lon=-8.61", "", ""); status != 400 {
		t.Fatalf("revoked device = %d", status)
	}
}

// TestTraccarClientPOSTBodies: Traccar Client POSTs its parameters in a
// body with no Content-Type or text/plain, or in the query of an empty
// POST; each is a fix, read as Traccar reads it, and the fix's values
// arrive (speed in knots, battery). Before, such a body was refused: 400
// "id (or deviceid) is required". JSON still takes the JSON path.
func TestTraccarClientPOSTBodies(t *testing.T) {
	st := newIngestStack(t)
	tech, ident, _ := st.device("Ana Silva")
	osmand := "http://" + st.m.OsmAndAddr()
	now := time.Now().UTC()
	at := func(i int) int64 { return now.Add(time.Duration(i-60) * time.Second).Unix() }
	params := func(i int, lat string) string {
		return fmt.Sprintf("id=%s&timestamp=%d&lat=%s&lon=-8.6109&speed=9.7&bearing=88&accuracy=6&batt=79", ident, at(i), lat)
	}
	for i, tc := range []struct {
		name, url, ct, body string
	}{
		{"no content type", osmand + "/", "", params(0, "41.1496")},
		{"no content type, trailing newline", osmand + "/", "", params(1, "41.1497") + "\n"},
		{"text/plain", osmand + "/", "text/plain; charset=UTF-8", params(2, "41.1498")},
		{"query-string-only POST", osmand + "/?" + params(3, "41.1499"), "", ""},
		{"query-string POST, text/plain", osmand + "/any/path?" + params(4, "41.1500"), "text/plain", ""},
		{"JSON", osmand + "/", "application/json", fmt.Sprintf(`{"device_id":%q,"location":{"timestamp":"%d","coords":{"latitude":41.1501,"longitude":-8.6109,"speed":5}}}`, ident, at(5))},
	} {
		if status, raw := send(t, "POST", tc.url, tc.ct, tc.body); status != 200 {
			t.Fatalf("%s = %d %s", tc.name, status, raw)
		}
		if got := st.stored(); got != int64(i+1) {
			t.Fatalf("after %s: %d fixes stored, want %d", tc.name, got, i+1)
		}
	}
	since := url.QueryEscape(now.Add(-2 * time.Minute).Format(time.RFC3339))
	hist := st.ok("GET", fmt.Sprintf("/api/v1/technicians/%d/positions?since=%s", tech, since), nil).items()
	if len(hist) != 6 || hist[2]["lat"] != 41.1498 || hist[2]["battery"] != 79.0 || hist[2]["heading_deg"] != 88.0 ||
		fmt.Sprintf("%.2f", hist[2]["speed_mps"]) != "4.99" || hist[5]["lat"] != 41.1501 {
		t.Fatalf("history = %v", hist)
	}
	// A body that is neither a query string nor JSON is still refused,
	// saying why, and stores nothing.
	if status, raw := send(t, "POST", osmand+"/", "text/plain", "id="+ident+"&lat=41.15%zz&lon=-8.61"); status != 400 || !strings.Contains(raw, "Malformed query or form") {
		t.Fatalf("malformed text/plain body = %d %s", status, raw)
	}
	if status, raw := send(t, "POST", osmand+"/", "text/plain", `{"device_id":"`+ident+`"}`); status != 400 || !strings.Contains(raw, "id (or deviceid) is required") {
		t.Fatalf("JSON sent as text/plain = %d %s", status, raw)
	}
	if got := st.stored(); got != 6 {
		t.Fatalf("refused bodies stored fixes: %d", got)
	}
}

// TestOsmAndUnknownIdentifiersLimited: an address that keeps naming
// identifiers that do not exist on the OsmAnd listener gets 429 with
// Retry-After; a registered phone from that same address is not limited.
func TestOsmAndUnknownIdentifiersLimited(t *testing.T) {
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_RATE_UNKNOWN": "1/m:3"}}
	st.m, _ = start(t, st.env)
	_, ident, _ := st.device("Ana Silva")
	osmand := "http://" + st.m.OsmAndAddr()
	guess := func(i int) (*http.Response, string) {
		res, err := keepAlive.Get(fmt.Sprintf("%s/?id=dev_guess%020d&lat=41.15&lon=-8.61", osmand, i))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		return res, string(raw)
	}
	for i := range 3 {
		if res, raw := guess(i); res.StatusCode != 400 {
			t.Fatalf("unknown identifier %d = %d %s", i+1, res.StatusCode, raw)
		}
	}
	res, raw := guess(3)
	if wait, _ := strconv.Atoi(res.Header.Get("Retry-After")); res.StatusCode != 429 || wait < 30 || !strings.Contains(raw, `"rate_limited"`) {
		t.Fatalf("the fourth unknown identifier = %d (Retry-After %q) %s", res.StatusCode, res.Header.Get("Retry-After"), raw)
	}
	now := time.Now()
	for i := range 20 {
		u := fmt.Sprintf("%s/?id=%s&lat=41.15&lon=%f&timestamp=%d", osmand, ident, -8.61+float64(i)*1e-4, now.Add(time.Duration(i-60)*time.Second).Unix())
		if status, raw := send(t, "GET", u, "", ""); status != 200 {
			t.Fatalf("the registered phone's fix %d = %d %s", i+1, status, raw)
		}
	}
	if got := counter(t, st, `enroute_rate_limited_total{limit="unknown"}`); got != 1 {
		t.Fatalf("counted %v refusals, want 1", got)
	}
}

// TestShutdownClosesOsmAndConnections: Traccar Client keeps its connection
// open between fixes; shutting down answers the request in flight and
// closes the idle connections, without waiting out the shutdown timeout.
func TestShutdownClosesOsmAndConnections(t *testing.T) {
	st := newIngestStack(t)
	_, ident, _ := st.device("Ana Silva")
	conn, err := net.Dial("tcp", st.m.OsmAndAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET /?id=" + ident + "&lat=41.1496&lon=-8.6109 HTTP/1.1\r\nHost: enroute\r\n\r\n"
	if _, err := conn.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	res, err := http.ReadResponse(br, nil)
	if err != nil || res.StatusCode != 200 || res.Close {
		t.Fatalf("fix = %v, %v; want 200 on a kept connection", res, err)
	}
	res.Body.Close()
	if st.stored() != 1 {
		t.Fatalf("stored %d fixes, want 1", st.stored())
	}
	start := time.Now()
	if err := st.m.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > st.m.Config.ShutdownTimeout/2 {
		t.Fatalf("Close took %v with an idle OsmAnd connection open", took)
	}
	if n, err := br.ReadByte(); err == nil {
		t.Fatalf("the idle connection is still open (read %q)", n)
	}
}

// TestOsmAndLogsNoRequest: a request the OsmAnd listener cannot read is
// logged by the peer's address, never with its device identifier (the
// app's credential) or its position.
func TestOsmAndLogsNoRequest(t *testing.T) {
	logs := &syncBuffer{}
	m := NewMain()
	m.Getenv = func(k string) string {
		return map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken}[k]
	}
	m.Stdout, m.Stderr = io.Discard, logs
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:0", "--osmand-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	const ident, lat = "dev_b2Fkc2VjcmV0aWRlbnRpZmllcg", "41.987654"
	for _, req := range []string{
		"GET /?id=" + ident + "&lat=" + lat + "&lon=-8.6 HTTP/1.1\r\nHost x\r\n\r\n",                              // no colon
		"GET /?id=" + ident + "&lat=" + lat + " HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",               // bad length
		"POST /?id=" + ident + "&lat=" + lat + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", // bad chunk
	} {
		conn, err := net.Dial("tcp", m.OsmAndAddr())
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := conn.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		answer, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.HasPrefix(string(answer), "HTTP/1.1 400") {
			t.Fatalf("%q answered %q", req, answer)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	got := logs.String()
	if n := strings.Count(got, "could not be read"); n != 3 {
		t.Errorf("%d warnings for 3 bad requests in:\n%s", n, got)
	}
	if strings.Contains(got, ident) || strings.Contains(got, lat) {
		t.Fatalf("the logs hold a request's identifier or position:\n%s", got)
	}
}
