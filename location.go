package enroute

import (
	"context"
	"encoding/json"
	"time"
)

// Location is a job site. Only a Verified location gets a map, distance and
// ETA on the tracking page; otherwise customers see the address only.
//
// A location is verified when a dispatcher placed its pin and said so
// (VerificationManual), or when the geocoder matched its address to the
// house number (VerificationVerified). Lat and Lng are (0, 0) while the
// location has no pin (waiting for the geocoder, or no match): no job site
// is at (0, 0), in the Gulf of Guinea; the API shows them as null then.
type Location struct {
	ID int64 `json:"id"`
	// ExternalID is the site's id in the company's own system, unique
	// among locations; imports find records by it.
	ExternalID   string       `json:"external_id,omitempty"`
	CustomerID   int64        `json:"customer_id"`
	Address      string       `json:"address"`
	Lat          float64      `json:"lat"`
	Lng          float64      `json:"lng"`
	Verified     bool         `json:"verified"`
	Verification Verification `json:"verification"`
	CreatedAt    time.Time    `json:"created_at"`
	UpdatedAt    time.Time    `json:"updated_at"`
}

// Located reports whether l has a pin (coordinates).
func (l *Location) Located() bool { return l.Lat != 0 || l.Lng != 0 }

// MarshalJSON writes lat and lng as null while l has no pin.
func (l Location) MarshalJSON() ([]byte, error) {
	type plain Location // without this method
	out := struct {
		plain
		Lat *float64 `json:"lat"`
		Lng *float64 `json:"lng"`
	}{plain: plain(l)}
	if l.Located() {
		out.Lat, out.Lng = &l.Lat, &l.Lng
	}
	return json.Marshal(out)
}

// Validate returns an EINVALID error naming every invalid field.
func (l *Location) Validate() error {
	v := validator{}
	v.text("external_id", l.ExternalID, false, maxExternalIDLen)
	v.id("customer_id", l.CustomerID)
	v.text("address", l.Address, true, maxAddressLen)
	v.latLng(l.Lat, l.Lng)
	vs := l.Verification
	switch {
	case !vs.Status.Valid():
		v.add("verification", "must be pending, verified, unverified or manual")
	case vs.Source != SourceGeocoder && vs.Source != SourceDispatcher:
		v.add("verification", "must come from the geocoder or a dispatcher")
	case l.Verified && !l.Located():
		v.add("verified", "needs the pin: lat and lng")
	case l.Verified != vs.Status.Verified():
		v.add("verified", "must agree with the verification")
	}
	return v.err()
}

// VerificationStatus is where the verification of a location's address
// stands.
type VerificationStatus string

// Verification statuses.
const (
	// VerificationPending: the address waits for the geocoder (its first
	// answer, or a retry after it did not answer).
	VerificationPending VerificationStatus = "pending"
	// VerificationVerified: the geocoder matched the address to the
	// house number.
	VerificationVerified VerificationStatus = "verified"
	// VerificationUnverified: the geocoder matched it more coarsely (the
	// street, the postcode, the city) or not at all, or a dispatcher said
	// it is not verified. Reason says which.
	VerificationUnverified VerificationStatus = "unverified"
	// VerificationManual: a dispatcher placed the pin and verified it. The
	// geocoder never overrides it; only a new address does.
	VerificationManual VerificationStatus = "manual"
)

// Valid reports whether s is a known status.
func (s VerificationStatus) Valid() bool {
	switch s {
	case VerificationPending, VerificationVerified, VerificationUnverified, VerificationManual:
		return true
	}
	return false
}

// Verified reports whether s makes a location verified.
func (s VerificationStatus) Verified() bool {
	return s == VerificationVerified || s == VerificationManual
}

// VerificationSource is who decided a location's verification.
type VerificationSource string

// Verification sources.
const (
	SourceGeocoder   VerificationSource = "geocoder"
	SourceDispatcher VerificationSource = "dispatcher"
)

// Verification says whether, how and why a location's address is verified.
type Verification struct {
	Status VerificationStatus `json:"status"`
	Source VerificationSource `json:"source"`
	// Reason says why a location is not verified, or why it is still
	// pending after an attempt ("matched the street only", "no match",
	// "geocoder unavailable, will retry"); "" otherwise.
	Reason string `json:"reason"`
	// Match is the geocoder's name of what it matched ("" without one).
	Match string `json:"match,omitempty"`
	// CheckedAt is when the geocoder last answered or was asked, or when a
	// dispatcher decided; nil while the geocoder has not been asked yet.
	CheckedAt *time.Time `json:"checked_at"`
	// NextAttemptAt, while pending, is when the geocoder is asked (again).
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	// Attempts counts the geocoder's attempts at the current address.
	Attempts int `json:"-"`
}

// Reasons a location is not verified, as the API gives them.
const (
	ReasonNotVerifiedByDispatcher = "placed by a dispatcher, not verified"
	ReasonNoMatch                 = "no match"
	ReasonGeocoderUnavailable     = "geocoder unavailable, will retry"
	ReasonNoGeocoder              = "no geocoder is set up; place the pin"
)

// InitVerification gives a location created without a verification the
// one its fields imply: a dispatcher's pin, verified or not, or, without a
// pin, the geocoder's to find (pending).
func (l *Location) InitVerification(now time.Time) {
	if l.Verification.Status != "" {
		return
	}
	now = Timestamp(now)
	switch {
	case l.Verified:
		l.Verification = Verification{Status: VerificationManual, Source: SourceDispatcher, CheckedAt: &now}
	case l.Located():
		l.Verification = Verification{Status: VerificationUnverified, Source: SourceDispatcher, Reason: ReasonNotVerifiedByDispatcher, CheckedAt: &now}
	default:
		l.setPending(now)
	}
}

// setPending clears l's pin and leaves it to the geocoder, due now.
func (l *Location) setPending(now time.Time) {
	l.Lat, l.Lng, l.Verified = 0, 0, false
	l.Verification = Verification{Status: VerificationPending, Source: SourceGeocoder, NextAttemptAt: &now}
}

// setByDispatcher records a dispatcher's decision on l's pin.
func (l *Location) setByDispatcher(verified bool, now time.Time) {
	l.Verified = verified
	if verified {
		l.Verification = Verification{Status: VerificationManual, Source: SourceDispatcher, CheckedAt: &now}
	} else {
		l.Verification = Verification{Status: VerificationUnverified, Source: SourceDispatcher, Reason: ReasonNotVerifiedByDispatcher, CheckedAt: &now}
	}
}

// LocationFilter selects locations; nil fields do not filter.
type LocationFilter struct {
	CustomerID *int64
	ExternalID *string
	Page
}

// LocationUpdate is a partial update; nil fields are left unchanged. The
// customer of a location never changes.
type LocationUpdate struct {
	ExternalID *string
	Address    *string
	Lat        *float64
	Lng        *float64
	Verified   *bool
}

// Apply sets the non-nil fields of u on l, and what they mean for its
// verification, decided at now:
//   - Coordinates are a dispatcher's pin: the dispatcher's verification,
//     verified as Verified says (absent: as l was, unless the address
//     changes too). They win over the geocoder.
//   - Verified alone confirms (or withdraws) the pin l has.
//   - A new address without coordinates clears the pin and any
//     verification, a dispatcher's too: the geocoder looks it up (pending).
//
// A new location is an empty one with every field applied. Validate
// refuses what makes no sense, such as verified without a pin.
func (u LocationUpdate) Apply(l *Location, now time.Time) {
	now = Timestamp(now)
	newAddress := u.Address != nil && *u.Address != l.Address
	set(&l.ExternalID, u.ExternalID)
	set(&l.Address, u.Address)
	switch {
	case u.Lat != nil || u.Lng != nil:
		set(&l.Lat, u.Lat)
		set(&l.Lng, u.Lng)
		verified := l.Verified && !newAddress
		set(&verified, u.Verified)
		l.setByDispatcher(verified, now)
	case newAddress:
		l.setPending(now)
		if u.Verified != nil && *u.Verified {
			l.Verified = true // refused by Validate: no pin to verify
		}
	case u.Verified != nil:
		l.setByDispatcher(*u.Verified, now)
	}
}

// UpdateLocation changes location id as u says and runs hooks, all in one
// transaction of s. Every change of a location goes through here. Returns
// ENOTFOUND or EINVALID.
func UpdateLocation(ctx context.Context, s Store, id int64, u LocationUpdate, hooks ...LocationHook) (*Location, error) {
	var l *Location
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if l, err = s.UpdateLocation(ctx, id, u); err != nil {
			return err
		}
		return runLocationHooks(ctx, l, hooks)
	})
	return l, err
}

// LocationHook is told of every change of a location (its address, pin or
// verification), by a dispatcher or by the geocoder, inside the change's
// transaction: what it writes commits or rolls back with it.
type LocationHook interface {
	LocationChanged(ctx context.Context, l *Location) error
}

func runLocationHooks(ctx context.Context, l *Location, hooks []LocationHook) error {
	for _, h := range hooks {
		if err := h.LocationChanged(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// LocationStore persists job sites.
type LocationStore interface {
	// FindLocationByID returns ENOTFOUND when there is no such location.
	FindLocationByID(ctx context.Context, id int64) (*Location, error)
	// FindLocations returns the matching locations ordered by id.
	FindLocations(ctx context.Context, f LocationFilter) ([]*Location, error)
	// CreateLocation stores l, first giving it the verification its fields
	// imply when it has none (InitVerification). Returns EINVALID (also
	// for an unknown customer).
	CreateLocation(ctx context.Context, l *Location) error
	// UpdateLocation applies upd (LocationUpdate.Apply) and releases a
	// claim on the location's geocoding. Returns EINVALID or ENOTFOUND.
	UpdateLocation(ctx context.Context, id int64, upd LocationUpdate) (*Location, error)
	// ClaimGeocoding claims up to n pending locations whose geocoding is
	// due and not claimed by another worker, for lease, counting an
	// attempt on each. On PostgreSQL, workers on several nodes claim
	// disjoint sets without waiting.
	ClaimGeocoding(ctx context.Context, n int, lease time.Duration) ([]*Location, error)
	// RecordGeocode applies the outcome of geocoding address to location
	// id (GeocodeResult.Apply) and releases its claim, provided the
	// location is still pending with that address; otherwise (a dispatcher
	// placed the pin, or changed the address, meanwhile) nothing changes
	// and it returns ECONFLICT. Returns ENOTFOUND.
	RecordGeocode(ctx context.Context, id int64, address string, r GeocodeResult) (*Location, error)
	// LockLocation holds a lock on the location until the transaction of
	// ctx ends, so decisions about one job site (the limit rule) are taken
	// one at a time. Returns ENOTFOUND.
	LockLocation(ctx context.Context, id int64) error
	// DeleteLocation returns ENOTFOUND, or ECONFLICT while jobs refer to it.
	DeleteLocation(ctx context.Context, id int64) error
}
