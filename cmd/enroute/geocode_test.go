package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/nominatimtest"
)

// The addresses the Nominatim stand-in knows, and where.
const (
	houseAddr   = "1200 W Harrison St, Chicago, IL 60607"
	streetAddr  = "W Harrison St, Chicago, IL"
	unknownAddr = "99 Nowhere Lane, Atlantis"
	houseLat    = 41.8743
	houseLng    = -87.6571
)

func houseAnswer() nominatimtest.Answer {
	return nominatimtest.House(houseLat, houseLng, "1200", "West Harrison Street", "Chicago", "60607")
}

// newGeocodeStack is Enroute geocoding with the Nominatim stand-in.
func newGeocodeStack(t *testing.T, env ...string) (*stack, *nominatimtest.Server) {
	t.Helper()
	geo := nominatimtest.Start(t)
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken,
		"ENROUTE_PUBLIC_URL": testPublicURL, "ENROUTE_GEOCODER_URL": geo.URL, "ENROUTE_GEOCODE_BACKOFF": "100ms", "ENROUTE_GEOCODE_WAIT": "5s"}}
	for i := 0; i+1 < len(env); i += 2 {
		st.env[env[i]] = env[i+1]
	}
	st.m, _ = start(t, st.env)
	st.tracking()
	t.Cleanup(func() {
		if errs := geo.Errors(); len(errs) > 0 {
			t.Errorf("requests Nominatim would refuse: %v", errs)
		}
	})
	return st, geo
}

// verification returns a location's verification object.
func verification(r res) map[string]any {
	v, _ := r.body["verification"].(map[string]any)
	return v
}

// waitVerification polls a location until its verification has status.
func (st *stack) waitVerification(loc int64, status string) res {
	st.t.Helper()
	var r res
	waitFor(st.t, 15*time.Second, "location "+status, func() bool {
		r = st.ok("GET", fmt.Sprintf("/api/v1/locations/%d", loc), nil)
		return verification(r)["status"] == status
	})
	return r
}

// TestAddressVerification creates locations through the API with
// addresses only, against a Nominatim stand-in that answers in its real
// format: a house-number match verifies, a street-only match or none
// does not and says why, a 429 or a 500 leaves it pending and it is
// verified later, and a dispatcher's pin wins.
func TestAddressVerification(t *testing.T) {
	st, geo := newGeocodeStack(t)
	cust := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Jordan Smith", "phone": "+13125550123"}).id()
	create := func(address string, headers ...string) res {
		t.Helper()
		r := st.do("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": address}, headers...)
		if r.status != 201 {
			t.Fatalf("create = %d %s", r.status, r.raw)
		}
		return r
	}

	t.Run("House", func(t *testing.T) {
		geo.Script(houseAddr, houseAnswer())
		r := create(houseAddr)
		v := verification(r)
		if r.body["verified"] != true || v["status"] != "verified" || v["source"] != "geocoder" || v["reason"] != "" ||
			r.body["lat"] != houseLat || r.body["lng"] != houseLng || v["checked_at"] == nil {
			t.Fatalf("house match = %s", r.raw)
		}
		if want := "Enroute/dev (" + testPublicURL + ")"; geo.Requests(houseAddr)[0].UserAgent != want {
			t.Fatalf("User-Agent = %q, want %q", geo.Requests(houseAddr)[0].UserAgent, want)
		}
	})
	t.Run("StreetOnly", func(t *testing.T) {
		geo.Script(streetAddr, nominatimtest.Street(41.8742, -87.66, "West Harrison Street", "Chicago", "60607"))
		r := create(streetAddr)
		v := verification(r)
		if r.body["verified"] != false || v["status"] != "unverified" || v["reason"] != "matched the street only" || r.body["lat"] != 41.8742 {
			t.Fatalf("street match = %s", r.raw)
		}
		// The dispatcher moves the pin to the house and verifies it.
		loc := r.id()
		p := st.ok("PATCH", fmt.Sprintf("/api/v1/locations/%d", loc), map[string]any{"lat": 41.8744, "lng": -87.6573, "verified": true})
		if v := verification(p); p.body["verified"] != true || v["status"] != "manual" || v["source"] != "dispatcher" || p.body["lat"] != 41.8744 {
			t.Fatalf("moved pin = %s", p.raw)
		}
	})
	t.Run("NoMatch", func(t *testing.T) {
		r := create(unknownAddr)
		v := verification(r)
		if r.body["verified"] != false || v["status"] != "unverified" || v["reason"] != "no match" || r.body["lat"] != nil || r.body["lng"] != nil {
			t.Fatalf("no match = %s", r.raw)
		}
	})
	t.Run("TooManyRequestsThenVerified", func(t *testing.T) {
		addr := "1201 W Harrison St, Chicago, IL 60607"
		geo.Script(addr, nominatimtest.TooMany(1), houseAnswer())
		r := create(addr)
		v := verification(r)
		if r.body["verified"] != false || v["status"] != "pending" || v["reason"] != enroute.ReasonGeocoderUnavailable || v["next_attempt_at"] == nil {
			t.Fatalf("after a 429 = %s", r.raw)
		}
		done := st.waitVerification(r.id(), "verified")
		if done.body["address"] != addr || done.body["customer_id"] != float64(cust) || done.body["lat"] != houseLat {
			t.Fatalf("verified after the 429 = %s", done.raw)
		}
		// Retry-After was honoured: one second between the two.
		rs := geo.Requests(addr)
		if len(rs) != 2 || rs[1].At.Sub(rs[0].At) < 900*time.Millisecond {
			t.Fatalf("requests after a 429 with Retry-After: 1: %+v", rs)
		}
	})
	t.Run("ServerErrorThenVerified", func(t *testing.T) {
		addr := "1202 W Harrison St, Chicago, IL 60607"
		geo.Script(addr, nominatimtest.Broken(), nominatimtest.Broken(), houseAnswer())
		r := create(addr)
		if v := verification(r); v["status"] != "pending" || v["reason"] != enroute.ReasonGeocoderUnavailable {
			t.Fatalf("after a 500 = %s", r.raw)
		}
		st.waitVerification(r.id(), "verified")
		if n := len(geo.Requests(addr)); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("NewAddressGeocodesAgain", func(t *testing.T) {
		// A dispatcher's pin at creation: no geocoding.
		before := len(geo.Requests(""))
		r := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": "1 Old Rd", "lat": 41.9, "lng": -87.7, "verified": true})
		if v := verification(r); v["status"] != "manual" || v["source"] != "dispatcher" {
			t.Fatalf("a dispatcher's pin = %s", r.raw)
		}
		// A new address clears it and is geocoded.
		geo.Script(houseAddr, houseAnswer())
		p := st.ok("PATCH", fmt.Sprintf("/api/v1/locations/%d", r.id()), map[string]any{"address": houseAddr})
		if v := verification(p); v["status"] != "verified" || v["source"] != "geocoder" || p.body["lat"] != houseLat {
			t.Fatalf("new address = %s", p.raw)
		}
		if n := len(geo.Requests("")) - before; n != 0 && n != 1 { // the first lookup of houseAddr may be cached
			t.Fatalf("%d geocoder requests", n)
		}
	})
	t.Run("IdempotencyKeyAnswersPending", func(t *testing.T) {
		addr := "1203 W Harrison St, Chicago, IL 60607"
		geo.Script(addr, houseAnswer())
		r := create(addr, "Idempotency-Key", "geo-1")
		if v := verification(r); v["status"] != "pending" || v["checked_at"] != nil {
			t.Fatalf("with an Idempotency-Key = %s", r.raw)
		}
		st.waitVerification(r.id(), "verified")
		if again := create(addr, "Idempotency-Key", "geo-1"); again.id() != r.id() || verification(again)["status"] != "pending" {
			t.Fatalf("replay = %s", again.raw)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, body := range []map[string]any{
			{"customer_id": cust, "address": houseAddr, "lat": 41.8},
			{"customer_id": cust, "address": houseAddr, "verified": true},
			{"customer_id": cust},
		} {
			if r := st.do("POST", "/api/v1/locations", body); r.status != 400 {
				t.Errorf("%v = %d %s", body, r.status, r.raw)
			}
		}
	})
}

// TestAddressVerificationSurvivesRestart: a location pending while the
// geocoder is down is still pending after a restart, and verified once the
// geocoder answers.
func TestAddressVerificationSurvivesRestart(t *testing.T) {
	st, geo := newGeocodeStack(t)
	geo.Script(houseAddr, nominatimtest.Broken())
	cust := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Jordan Smith"}).id()
	loc := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": houseAddr}).id()
	if v := verification(st.ok("GET", fmt.Sprintf("/api/v1/locations/%d", loc), nil)); v["status"] != "pending" {
		t.Fatalf("while the geocoder is down: %v", v)
	}
	st.m.Close()
	geo.Script(houseAddr, houseAnswer())
	st.m, _ = start(t, st.env)
	r := st.waitVerification(loc, "verified")
	if r.body["address"] != houseAddr || r.body["lat"] != houseLat {
		t.Fatalf("after the restart = %s", r.raw)
	}
}

// TestGeocodeWaitIsBounded: a slow geocoder does not hold the request
// past --geocode-wait; the location is verified when the answer comes.
func TestGeocodeWaitIsBounded(t *testing.T) {
	st, geo := newGeocodeStack(t, "ENROUTE_GEOCODE_WAIT", "200ms")
	geo.Script(houseAddr, nominatimtest.Slow(2*time.Second, houseAnswer()))
	cust := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Jordan Smith"}).id()
	r := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": houseAddr})
	if v := verification(r); v["status"] != "pending" || v["reason"] != "" {
		t.Fatalf("before the slow answer = %s", r.raw)
	}
	st.waitVerification(r.id(), "verified")
}

// pendingVisit dispatches a technician to a site whose address the
// geocoder cannot look up yet (it answers 500 until told otherwise), and
// returns the technician's device token and the customer's tracking token.
func pendingVisit(t *testing.T, st *stack, geo *nominatimtest.Server) (assignment int64, devToken, token string) {
	t.Helper()
	geo.Script(houseAddr, nominatimtest.Broken())
	tech, _, devToken := st.device("Ana Silva")
	st.fixAt(devToken, 41.8700, -87.6500)
	cust := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Jordan Smith", "phone": "+13125550123"}).id()
	loc := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": houseAddr}).id()
	a := st.assign(st.job(site{cust, loc}), tech)
	st.move(a, "dispatch")
	token = enroute.NewTrackingToken()
	if err := st.m.Store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: a}, enroute.HashSecret(token)); err != nil {
		t.Fatal(err)
	}
	return a, devToken, token
}

// TestTrackingFollowsVerification: a customer whose address is pending
// sees no position; once the geocoder verifies it, the live stream says
// so, the tracking state has the pin, and the ETA follows.
func TestTrackingFollowsVerification(t *testing.T) {
	st, geo := newGeocodeStack(t)
	a, devToken, token := pendingVisit(t, st, geo)
	state := func() map[string]any {
		_, raw := send(t, "GET", "http://"+st.m.Addr()+"/t/"+token+"/state", "", "")
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("state %s: %v", raw, err)
		}
		return m
	}
	if d := state()["destination"].(map[string]any); d["verified"] != false || d["lat"] != nil || d["address"] != houseAddr {
		t.Fatalf("pending destination = %v", d)
	}
	ws, _, err := st.wsDial("/t/" + token + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if snap := next(t, ws, 5*time.Second); snap["type"] != "snapshot" || snap["position"] != nil {
		t.Fatalf("snapshot = %v", snap)
	}

	geo.Script(houseAddr, houseAnswer()) // the geocoder is back
	if m := next(t, ws, 15*time.Second); m["type"] != "status" || m["status"] != "dispatched" || m["assignment_id"] != float64(a) {
		t.Fatalf("got %v, want the assignment published again", m)
	}
	d := state()["destination"].(map[string]any)
	if d["verified"] != true || d["lat"] != houseLat || d["lng"] != houseLng {
		t.Fatalf("verified destination = %v", d)
	}
	// The ETA watcher follows the assignment to the new pin.
	waitFor(t, 15*time.Second, "distance and ETA", func() bool {
		st.fixAt(devToken, 41.8700, -87.6500)
		return state()["distance_m"] != nil
	})
}

// TestTrackingPageFollowsVerification: the customer's page, open while
// the address is pending, shows the address only; when the geocoder
// verifies it, the map and the distance appear without a reload.
func TestTrackingPageFollowsVerification(t *testing.T) {
	st, geo := newGeocodeStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png") // no tile server
	ctx := browser(t)
	_, devToken, token := pendingVisit(t, st, geo)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+token)
	if got := text(t, ctx, "#address"); got != houseAddr {
		t.Fatalf("address = %q", got)
	}
	if !hidden(t, ctx, "#map") || !hidden(t, ctx, "#eta") {
		t.Fatal("a pending address shows a map or an ETA")
	}
	geo.Script(houseAddr, houseAnswer())
	waitFor(t, 15*time.Second, "the map", func() bool { return !hidden(t, ctx, "#map") })
	waitFor(t, 15*time.Second, "the distance", func() bool {
		st.fixAt(devToken, 41.8700, -87.6500)
		return eval[string](t, ctx, `document.querySelector("#distance").textContent`) != ""
	})
	screenshot(t, ctx, "tracking-verified-by-geocoder")
}

// TestBoardSaysWhyUnverified: the board's jobs to dispatch say why a site
// is not verified, and follow when the geocoder verifies it.
func TestBoardSaysWhyUnverified(t *testing.T) {
	st, geo := newGeocodeStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
	ctx := browser(t)
	geo.Script(streetAddr, nominatimtest.Street(41.8742, -87.66, "West Harrison Street", "Chicago", "60607"))
	geo.Script(houseAddr, nominatimtest.Broken())
	cust := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Jordan Smith"}).id()
	street := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": streetAddr}).id()
	house := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": cust, "address": houseAddr}).id()
	ana := st.technician("Ana Silva")
	a1 := st.assign(st.job(site{cust, street}), ana)
	a2 := st.assign(st.job(site{cust, house}), ana)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	job := func(a int64) string {
		return fmt.Sprintf(`((document.querySelector('#jobs li[data-assignment="%d"]') || {}).innerText || "")`, a)
	}
	shows := func(a int64, want string) {
		t.Helper()
		waitFor(t, 15*time.Second, fmt.Sprintf("%q for assignment %d", want, a), func() bool {
			return strings.Contains(eval[string](t, ctx, job(a)), want)
		})
	}
	shows(a1, "address not verified: matched the street only; no map or ETA for the customer")
	shows(a2, "checking the address: geocoder unavailable, will retry")
	geo.Script(houseAddr, houseAnswer())
	st.waitVerification(house, "verified")
	waitFor(t, 15*time.Second, "the verified site without a warning", func() bool {
		got := eval[string](t, ctx, job(a2))
		return strings.Contains(got, houseAddr) && !strings.Contains(got, "checking")
	})
	screenshot(t, ctx, "dispatch-board-unverified-site")
}
