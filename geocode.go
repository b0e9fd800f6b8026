package enroute

import (
	"context"
	"fmt"
	"time"
)

// Geocoder finds where an address is: nominatim.Client.
type Geocoder interface {
	// Geocode returns the best match for address, or nil when there is
	// none. An error means no answer (the service is down, busy or
	// refused the request): ask again later; a *GeocoderError may say
	// when.
	Geocode(ctx context.Context, address string) (*GeocodeMatch, error)
}

// GeocoderError is a geocoder's failure to answer.
type GeocoderError struct {
	// RetryAfter is how long the service asked to be left alone (429 or
	// 503 with Retry-After); 0 when it did not say.
	RetryAfter time.Duration
	Err        error
}

// Error implements the error interface.
func (e *GeocoderError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("geocoder: %v (retry after %v)", e.Err, e.RetryAfter)
	}
	return fmt.Sprintf("geocoder: %v", e.Err)
}

// Unwrap returns the cause.
func (e *GeocoderError) Unwrap() error { return e.Err }

// Precision is how exactly a geocoder's match places an address.
type Precision string

// Precisions, finest first. Only PrecisionHouse verifies an address.
const (
	PrecisionHouse    Precision = "house"    // the house number
	PrecisionPlace    Precision = "place"    // a building or place, without a house number
	PrecisionStreet   Precision = "street"   // the street only
	PrecisionPostcode Precision = "postcode" // the postcode only
	PrecisionCity     Precision = "city"     // the city, town or village only
	PrecisionArea     Precision = "area"     // something larger
)

// reasonOf says why a match of each precision short of the house number
// leaves an address unverified.
var reasonOf = map[Precision]string{
	PrecisionPlace:    "matched a place without a house number",
	PrecisionStreet:   "matched the street only",
	PrecisionPostcode: "matched the postcode only",
	PrecisionCity:     "matched the city only",
	PrecisionArea:     "matched only a wider area",
}

// GeocodeMatch is where a geocoder placed an address.
type GeocodeMatch struct {
	Lat, Lng  float64
	Precision Precision
	Name      string // the geocoder's name for what it matched
}

// GeocodeResult is the outcome of one attempt to geocode a location's
// address.
type GeocodeResult struct {
	// Match is what the geocoder matched; nil for no match, or for no
	// answer when RetryAt is set.
	Match *GeocodeMatch
	// RetryAt, when set, means the geocoder did not answer: the location
	// stays pending, to be tried again then, with Reason.
	RetryAt time.Time
	Reason  string
}

// Apply records r on l, at now: verified for a match to the house number;
// unverified with the reason for a coarser match (whose pin is kept, for
// a dispatcher to move) or none; still pending, with the reason and the
// next attempt's time, when the geocoder did not answer.
func (r GeocodeResult) Apply(l *Location, now time.Time) {
	now = Timestamp(now)
	attempts := l.Verification.Attempts
	switch m := r.Match; {
	case !r.RetryAt.IsZero():
		next := Timestamp(r.RetryAt)
		reason := r.Reason
		if reason == "" {
			reason = ReasonGeocoderUnavailable
		}
		l.Verification = Verification{Status: VerificationPending, Source: SourceGeocoder, Reason: reason, CheckedAt: &now, NextAttemptAt: &next}
	case m == nil:
		reason := r.Reason
		if reason == "" {
			reason = ReasonNoMatch
		}
		l.Lat, l.Lng, l.Verified = 0, 0, false
		l.Verification = Verification{Status: VerificationUnverified, Source: SourceGeocoder, Reason: reason, CheckedAt: &now}
	case m.Precision == PrecisionHouse:
		l.Lat, l.Lng, l.Verified = m.Lat, m.Lng, true
		l.Verification = Verification{Status: VerificationVerified, Source: SourceGeocoder, Match: m.Name, CheckedAt: &now}
	default:
		reason, ok := reasonOf[m.Precision]
		if !ok {
			reason = reasonOf[PrecisionArea]
		}
		l.Lat, l.Lng, l.Verified = m.Lat, m.Lng, false
		l.Verification = Verification{Status: VerificationUnverified, Source: SourceGeocoder, Reason: reason, Match: m.Name, CheckedAt: &now}
	}
	l.Verification.Attempts = attempts
}

// RecordGeocode records the outcome of geocoding address on location id
// and, when that settles its verification (anything but a retry), runs
// hooks, all in one transaction of s. Returns ENOTFOUND, or ECONFLICT when
// the location is no longer pending with that address.
func RecordGeocode(ctx context.Context, s Store, id int64, address string, r GeocodeResult, hooks ...LocationHook) (*Location, error) {
	var l *Location
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if l, err = s.RecordGeocode(ctx, id, address, r); err != nil {
			return err
		}
		if l.Verification.Status == VerificationPending {
			return nil
		}
		return runLocationHooks(ctx, l, hooks)
	})
	return l, err
}
