package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/enroutehq/enroute"
)

// crewOf reads a link's state and returns its crew.
func (e *env) crewOf(token string) []map[string]any {
	e.t.Helper()
	st := e.must(200, "", "GET", "/t/"+token+"/state", nil)
	raw, ok := st.body["crew"].([]any)
	if !ok {
		e.t.Fatalf("state without a crew array: %s", st.raw)
	}
	out := make([]map[string]any, len(raw))
	for i, m := range raw {
		out[i] = m.(map[string]any)
	}
	return out
}

// tracking turns arrival tracking on, past its prerequisites: links show
// positions only while it is on.
func (e *env) tracking() {
	e.t.Helper()
	if _, err := e.store.UpdateSettings(context.Background(), func(s *enroute.Settings) error {
		s.GPS.Enabled, s.Dispatch.Tracking.Enabled = true, true
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
}

// deviceOf registers a phone for tech and returns its token.
func (e *env) deviceOf(tech int64) string {
	e.t.Helper()
	return e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil).body["token"].(string)
}

// fix posts one fix from a device, a few seconds old.
func (e *env) fix(token string, lat, lng float64, ago time.Duration) {
	e.t.Helper()
	b, _ := json.Marshal([]map[string]any{{"ts": time.Now().Add(-ago).UTC().Format(time.RFC3339), "lat": lat, "lng": lng}})
	e.must(200, token, "POST", "/api/v1/positions", string(b))
}

// liveDial opens a tracking link's live stream, with query (may be "").
func (e *env) liveDial(token, query string) (*websocket.Conn, *http.Response, error) {
	return websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.url, "http")+"/t/"+token+"/live"+query, nil)
}

// TestTrackingCrew: two technicians dispatched to one site (two jobs
// there): each one's link lists the other in its state's crew, shown by
// the same rules (first name, photo, the rating only at 4.0 or more, a
// position only on the way to a verified site, the verification code
// while codes are shown), and follows them on
// /t/{token}/live?assignment={id}; a technician at another site of the
// same customer never appears, and neither stream nor state lets a link
// follow one; a finished crew member leaves the crew and its stream is
// refused. (The streams' positions and events, end to end:
// cmd/enroute's TestCrewStream.)
func TestTrackingCrew(t *testing.T) {
	e := newEnv(t)
	s := e.seed("C-1") // Ana, rated 4.8, with a photo; the site is verified
	bruno := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bruno Reis", "rating": 3.9}).id()
	carla := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Carla Dias", "rating": 5}).id()
	e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"verification_code": true})
	e.tracking()
	anaA, anaLink := e.visit(s, "C-1a", s.tech)
	brunoA, brunoLink := e.visit(s, "C-1b", bruno)
	// Carla goes to another site of the same customer.
	other := e.must(201, e.dispatcher, "POST", "/api/v1/locations", map[string]any{"customer_id": s.cust, "address": "Rua das Flores 9, Porto", "lat": 41.1430, "lng": -8.6130, "verified": true}).id()
	carlaA, carlaLink := e.visit(seeded{cust: s.cust, loc: other}, "C-2", carla)
	for _, a := range []int64{anaA, brunoA, carlaA} {
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/dispatch", nil)
	}
	anaPhone, brunoPhone, carlaPhone := e.deviceOf(s.tech), e.deviceOf(bruno), e.deviceOf(carla)
	e.fix(anaPhone, 41.1420, -8.6080, 5*time.Second)
	e.fix(brunoPhone, 41.1450, -8.6000, 5*time.Second)
	e.fix(carlaPhone, 41.1440, -8.6120, 5*time.Second)

	t.Run("EachLinkListsTheOther", func(t *testing.T) {
		crew := e.crewOf(anaLink)
		if len(crew) != 1 || crew[0]["assignment_id"] != float64(brunoA) || crew[0]["status"] != "dispatched" {
			t.Fatalf("Ana's link's crew = %v", crew)
		}
		tech := crew[0]["technician"].(map[string]any)
		if tech["first_name"] != "Bruno" || tech["rating"] != nil || tech["photo_url"] != "" || len(tech["verification_code"].(string)) != 4 {
			t.Fatalf("Bruno as the crew = %v (want the first name, no 3.9 rating, a code)", tech)
		}
		if pos, ok := crew[0]["position"].(map[string]any); !ok || pos["lat"] != 41.145 {
			t.Fatalf("Bruno's position = %v", crew[0]["position"])
		}
		crew = e.crewOf(brunoLink)
		if len(crew) != 1 || crew[0]["assignment_id"] != float64(anaA) {
			t.Fatalf("Bruno's link's crew = %v", crew)
		}
		if tech := crew[0]["technician"].(map[string]any); tech["first_name"] != "Ana" || tech["rating"] != 4.8 || tech["photo_url"] != "https://example.com/ana.jpg" {
			t.Fatalf("Ana as the crew = %v", tech)
		}
	})

	t.Run("AnotherSiteNeverAppears", func(t *testing.T) {
		for _, link := range []string{anaLink, brunoLink} {
			if st := e.must(200, "", "GET", "/t/"+link+"/state", nil); strings.Contains(string(st.raw), "Carla") || strings.Contains(string(st.raw), "41.144") {
				t.Fatalf("another site's technician in a state: %s", st.raw)
			}
		}
		if crew := e.crewOf(carlaLink); len(crew) != 0 {
			t.Fatalf("Carla's link's crew = %v", crew)
		}
		// Nor can a link follow her, or its own visit's through another's link.
		for _, tc := range []struct{ link, query string }{
			{anaLink, "?assignment=" + itoa(carlaA)},
			{carlaLink, "?assignment=" + itoa(anaA)},
			{anaLink, "?assignment=" + itoa(anaA)}, // the link's own is its plain stream
			{anaLink, "?assignment=999999"},
		} {
			r := e.do("", "GET", "/t/"+tc.link+"/live"+tc.query, nil)
			if r.status != 404 || r.errCode() != "not_found" || strings.Contains(string(r.raw), "Carla") {
				t.Errorf("%s: %d %s, want 404", tc.query, r.status, r.raw)
			}
			if _, res, err := e.liveDial(tc.link, tc.query); err == nil || res == nil || res.StatusCode != 404 {
				t.Errorf("WebSocket %s: %v, want a 404 handshake", tc.query, err)
			}
		}
		if r := e.do("", "GET", "/t/"+anaLink+"/live?assignment=x", nil); r.status != 400 || r.errFields()["assignment"] == nil {
			t.Errorf("assignment=x: %d %s", r.status, r.raw)
		}
	})

	t.Run("FollowsTheCrew", func(t *testing.T) {
		ws, _, err := e.liveDial(anaLink, "?assignment="+itoa(brunoA))
		if err != nil {
			t.Fatal(err)
		}
		defer ws.Close()
		var snap map[string]any
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		if err := ws.ReadJSON(&snap); err != nil {
			t.Fatal(err)
		}
		if snap["type"] != "snapshot" || snap["assignment_id"] != float64(brunoA) || snap["status"] != "dispatched" || snap["position"].(map[string]any)["lat"] != 41.145 {
			t.Fatalf("Bruno's snapshot = %v", snap)
		}
		// What follows (positions, status events) is the customer stream's,
		// end to end in cmd/enroute (TestCrewStream). Bruno arrives: his
		// state has no position after.
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(brunoA)+"/start", nil)
		crew := e.crewOf(anaLink)
		if len(crew) != 1 || crew[0]["status"] != "working" || crew[0]["arrived_at"] == nil || crew[0]["position"] != nil {
			t.Fatalf("crew once Bruno arrived = %v", crew)
		}
	})

	t.Run("AfterTheLinksOwnVisit", func(t *testing.T) {
		// Ana is done while Bruno still works: her link (the feedback
		// form now) still shows him; a technician dispatched to the site
		// later is another visit's, listed on Bruno's link only.
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(anaA)+"/start", nil)
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(anaA)+"/complete", nil)
		if crew := e.crewOf(anaLink); len(crew) != 1 || crew[0]["assignment_id"] != float64(brunoA) || crew[0]["technician"].(map[string]any)["verification_code"] == nil {
			t.Fatalf("Ana's link once she is done = %v", crew)
		}
		if st := e.must(200, "", "GET", "/t/"+anaLink+"/state", nil); st.body["technician"].(map[string]any)["verification_code"] != nil {
			t.Fatalf("a done technician's code still shows: %s", st.raw)
		}
		dana := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Dana Lima"}).id()
		danaA, _ := e.visit(s, "C-1d", dana)
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(danaA)+"/dispatch", nil)
		if crew := e.crewOf(anaLink); len(crew) != 1 || crew[0]["assignment_id"] != float64(brunoA) {
			t.Fatalf("Ana's link lists a later visit's technician: %v", crew)
		}
		if r := e.do("", "GET", "/t/"+anaLink+"/live?assignment="+itoa(danaA), nil); r.status != 404 {
			t.Fatalf("Ana's link follows a later visit's technician: %d", r.status)
		}
		if crew := e.crewOf(brunoLink); len(crew) != 1 || crew[0]["assignment_id"] != float64(danaA) {
			t.Fatalf("Bruno's link's crew = %v", crew)
		}
	})

	t.Run("FinishedLeaves", func(t *testing.T) {
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(brunoA)+"/complete", nil)
		if crew := e.crewOf(anaLink); len(crew) != 0 {
			t.Fatalf("crew once Bruno finished = %v", crew)
		}
		if r := e.do("", "GET", "/t/"+anaLink+"/live?assignment="+itoa(brunoA), nil); r.status != 404 {
			t.Fatalf("a finished crew member's stream: %d %s", r.status, r.raw)
		}
	})
}

// TestTrackingCrewUnverifiedSite: a crew at an unverified address shows
// names and statuses, never positions, as the link's own technician.
func TestTrackingCrewUnverifiedSite(t *testing.T) {
	e := newEnv(t)
	s := e.seed("U-1")
	e.must(200, e.dispatcher, "PATCH", "/api/v1/locations/"+itoa(s.loc), map[string]any{"verified": false})
	bruno := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Bruno Reis", "rating": 4.5}).id()
	anaA, anaLink := e.visit(s, "U-1a", s.tech)
	brunoA, _ := e.visit(s, "U-1b", bruno)
	for _, a := range []int64{anaA, brunoA} {
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/dispatch", nil)
	}
	e.fix(e.deviceOf(bruno), 41.1450, -8.6000, 5*time.Second)
	e.fix(e.deviceOf(s.tech), 41.1420, -8.6080, 5*time.Second)
	st := e.must(200, "", "GET", "/t/"+anaLink+"/state", nil)
	crew := st.body["crew"].([]any)
	if len(crew) != 1 || st.body["position"] != nil || strings.Contains(string(st.raw), "41.145") || strings.Contains(string(st.raw), "41.142") {
		t.Fatalf("state at an unverified site: %s", st.raw)
	}
	if m := crew[0].(map[string]any); m["technician"].(map[string]any)["rating"] != 4.5 || m["status"] != "dispatched" {
		t.Fatalf("crew at an unverified site = %v", m)
	}
	ws, _, err := e.liveDial(anaLink, "?assignment="+itoa(brunoA))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var snap map[string]any
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.ReadJSON(&snap); err != nil || snap["position"] != nil || snap["status"] != "dispatched" {
		t.Fatalf("crew snapshot at an unverified site = %v, %v", snap, err)
	}
}

// TestTrackingLanguage: the page's language is the customer's when the
// page has strings for it, else the company's, else English; its locale
// formats dates.
func TestTrackingLanguage(t *testing.T) {
	e := newEnv(t)
	s := e.seed("L-1")
	_, link := e.visit(s, "L-1a", s.tech)
	for _, tc := range []struct{ company, customer, lang, locale string }{
		{"en-US", "es-MX", "es", "es-MX"},
		{"en-US", "pt-PT", "en", "en-US"},
		{"es-ES", "fr", "es", "es-ES"},
		{"en-US", "en", "en", "en-US"},
		{"pt-BR", "de", "en", "en"},
	} {
		e.must(200, e.admin, "PATCH", "/api/v1/company", map[string]any{"locale": tc.company})
		e.must(200, e.dispatcher, "PATCH", "/api/v1/customers/"+itoa(s.cust), map[string]any{"language": tc.customer})
		st := e.must(200, "", "GET", "/t/"+link+"/state", nil)
		if st.body["language"] != tc.lang || st.body["locale"] != tc.locale {
			t.Errorf("customer %s, company %s: language %v, locale %v; want %s, %s", tc.customer, tc.company, st.body["language"], st.body["locale"], tc.lang, tc.locale)
		}
	}
}
