package enroute

import (
	"context"
	"time"
)

// Location is a job site. Only a Verified location gets a map, distance and
// ETA on the tracking page; otherwise customers see the address only.
type Location struct {
	ID         int64     `json:"id"`
	CustomerID int64     `json:"customer_id"`
	Address    string    `json:"address"`
	Lat        float64   `json:"lat"`
	Lng        float64   `json:"lng"`
	Verified   bool      `json:"verified"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Validate returns an EINVALID error naming every invalid field.
func (l *Location) Validate() error {
	v := validator{}
	v.id("customer_id", l.CustomerID)
	v.text("address", l.Address, true, maxAddressLen)
	v.latLng(l.Lat, l.Lng)
	return v.err()
}

// LocationFilter selects locations; nil fields do not filter.
type LocationFilter struct {
	CustomerID *int64
	Page
}

// LocationUpdate is a partial update; nil fields are left unchanged. The
// customer of a location never changes.
type LocationUpdate struct {
	Address  *string
	Lat      *float64
	Lng      *float64
	Verified *bool
}

// Apply sets the non-nil fields of u on l.
func (u LocationUpdate) Apply(l *Location) {
	set(&l.Address, u.Address)
	set(&l.Lat, u.Lat)
	set(&l.Lng, u.Lng)
	set(&l.Verified, u.Verified)
}

// LocationStore persists job sites.
type LocationStore interface {
	// FindLocationByID returns ENOTFOUND when there is no such location.
	FindLocationByID(ctx context.Context, id int64) (*Location, error)
	// FindLocations returns the matching locations ordered by id.
	FindLocations(ctx context.Context, f LocationFilter) ([]*Location, error)
	// CreateLocation returns EINVALID (also for an unknown customer).
	CreateLocation(ctx context.Context, l *Location) error
	// UpdateLocation returns EINVALID or ENOTFOUND.
	UpdateLocation(ctx context.Context, id int64, upd LocationUpdate) (*Location, error)
	// LockLocation holds a lock on the location until the transaction of
	// ctx ends, so decisions about one job site (the limit rule) are taken
	// one at a time. Returns ENOTFOUND.
	LockLocation(ctx context.Context, id int64) error
	// DeleteLocation returns ENOTFOUND, or ECONFLICT while jobs refer to it.
	DeleteLocation(ctx context.Context, id int64) error
}
