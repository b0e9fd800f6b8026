package enroute_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// pending is a location waiting for the geocoder.
func pending() enroute.Location {
	l := enroute.Location{CustomerID: 1, Address: "1200 W Harrison St"}
	l.InitVerification(t0)
	return l
}

// verifiedBy is a location the geocoder verified.
func verifiedBy() enroute.Location {
	l := pending()
	enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.87, Lng: -87.65, Precision: enroute.PrecisionHouse}}.Apply(&l, t0)
	return l
}

// manual is a location whose pin a dispatcher placed and verified.
func manual() enroute.Location {
	l := enroute.Location{CustomerID: 1, Address: "1200 W Harrison St", Lat: 41.8743, Lng: -87.6571, Verified: true}
	l.InitVerification(t0)
	return l
}

func TestLocationUpdateApply(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from     enroute.Location
		upd      enroute.LocationUpdate
		status   enroute.VerificationStatus
		source   enroute.VerificationSource
		located  bool
		verified bool
		invalid  string // the field Validate names
	}{
		{"new without a pin is pending", enroute.Location{CustomerID: 1}, enroute.LocationUpdate{Address: ptr("A 1")},
			enroute.VerificationPending, enroute.SourceGeocoder, false, false, ""},
		{"new with a pin is the caller's", enroute.Location{CustomerID: 1}, enroute.LocationUpdate{Address: ptr("A 1"), Lat: ptr(1.0), Lng: ptr(2.0)},
			enroute.VerificationUnverified, enroute.SourceDispatcher, true, false, ""},
		{"new with a verified pin is manual", enroute.Location{CustomerID: 1}, enroute.LocationUpdate{Address: ptr("A 1"), Lat: ptr(1.0), Lng: ptr(2.0), Verified: ptr(true)},
			enroute.VerificationManual, enroute.SourceDispatcher, true, true, ""},
		{"new verified without a pin", enroute.Location{CustomerID: 1}, enroute.LocationUpdate{Address: ptr("A 1"), Verified: ptr(true)},
			enroute.VerificationPending, enroute.SourceGeocoder, false, true, "verified"},
		{"moving the geocoder's pin keeps it verified", verifiedBy(), enroute.LocationUpdate{Lat: ptr(41.88), Lng: ptr(-87.66)},
			enroute.VerificationManual, enroute.SourceDispatcher, true, true, ""},
		{"a dispatcher confirms a pending one's pin", pending(), enroute.LocationUpdate{Lat: ptr(41.88), Lng: ptr(-87.66), Verified: ptr(true)},
			enroute.VerificationManual, enroute.SourceDispatcher, true, true, ""},
		{"verified alone confirms the pin", verifiedBy(), enroute.LocationUpdate{Verified: ptr(true)},
			enroute.VerificationManual, enroute.SourceDispatcher, true, true, ""},
		{"unverified alone withdraws it", manual(), enroute.LocationUpdate{Verified: ptr(false)},
			enroute.VerificationUnverified, enroute.SourceDispatcher, true, false, ""},
		{"a new address clears a manual pin", manual(), enroute.LocationUpdate{Address: ptr("1300 W Harrison St")},
			enroute.VerificationPending, enroute.SourceGeocoder, false, false, ""},
		{"the same address changes nothing", manual(), enroute.LocationUpdate{Address: ptr("1200 W Harrison St")},
			enroute.VerificationManual, enroute.SourceDispatcher, true, true, ""},
		{"a new address with a pin is the dispatcher's, unverified", manual(), enroute.LocationUpdate{Address: ptr("1300 W Harrison St"), Lat: ptr(41.9), Lng: ptr(-87.7)},
			enroute.VerificationUnverified, enroute.SourceDispatcher, true, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.from
			tc.upd.Apply(&l, t0)
			v := l.Verification
			if v.Status != tc.status || v.Source != tc.source || l.Located() != tc.located || l.Verified != tc.verified {
				t.Fatalf("got %s by %s, located %v, verified %v; want %s by %s, %v, %v", v.Status, v.Source, l.Located(), l.Verified,
					tc.status, tc.source, tc.located, tc.verified)
			}
			if tc.status == enroute.VerificationPending && (v.NextAttemptAt == nil || !v.NextAttemptAt.Equal(t0) || v.Attempts != 0) {
				t.Fatalf("pending, but not due at once: %+v", v)
			}
			fields := enroute.ErrorFields(l.Validate())
			if tc.invalid == "" && fields != nil || tc.invalid != "" && fields[tc.invalid] == "" {
				t.Fatalf("Validate: %v, want a problem with %q", fields, tc.invalid)
			}
		})
	}
}

func TestGeocodeResultApply(t *testing.T) {
	retryAt := t0.Add(time.Minute)
	for _, tc := range []struct {
		name     string
		r        enroute.GeocodeResult
		status   enroute.VerificationStatus
		reason   string
		located  bool
		verified bool
	}{
		{"house", enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.87, Lng: -87.65, Precision: enroute.PrecisionHouse, Name: "1200, West Harrison Street"}},
			enroute.VerificationVerified, "", true, true},
		{"street", enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.87, Lng: -87.65, Precision: enroute.PrecisionStreet}},
			enroute.VerificationUnverified, "matched the street only", true, false},
		{"postcode", enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.87, Lng: -87.65, Precision: enroute.PrecisionPostcode}},
			enroute.VerificationUnverified, "matched the postcode only", true, false},
		{"city", enroute.GeocodeResult{Match: &enroute.GeocodeMatch{Lat: 41.87, Lng: -87.65, Precision: enroute.PrecisionCity}},
			enroute.VerificationUnverified, "matched the city only", true, false},
		{"none", enroute.GeocodeResult{}, enroute.VerificationUnverified, enroute.ReasonNoMatch, false, false},
		{"unavailable", enroute.GeocodeResult{RetryAt: retryAt}, enroute.VerificationPending, enroute.ReasonGeocoderUnavailable, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := pending()
			l.Verification.Attempts = 2
			tc.r.Apply(&l, t0)
			v := l.Verification
			if v.Status != tc.status || v.Reason != tc.reason || l.Located() != tc.located || l.Verified != tc.verified ||
				v.Source != enroute.SourceGeocoder || v.CheckedAt == nil || v.Attempts != 2 {
				t.Fatalf("got %+v (located %v, verified %v)", l, l.Located(), l.Verified)
			}
			if (tc.status == enroute.VerificationPending) != (v.NextAttemptAt != nil) {
				t.Fatalf("next attempt = %v for %s", v.NextAttemptAt, v.Status)
			}
			if err := l.Validate(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestLocationJSON: no pin is null, not (0, 0).
func TestLocationJSON(t *testing.T) {
	p := pending()
	b, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(b); !strings.Contains(s, `"lat":null`) || !strings.Contains(s, `"lng":null`) || !strings.Contains(s, `"status":"pending"`) {
		t.Fatalf("pending = %s", s)
	}
	m := manual()
	if b, _ = json.Marshal(m); !strings.Contains(string(b), `"lat":41.8743`) || !strings.Contains(string(b), `"verified":true`) {
		t.Fatalf("manual = %s", b)
	}
}
