package enroute

import (
	"context"
	"math"
	"time"
)

// Technician is a field worker sent to jobs. Customers see the name, the
// photo and, only when it is 4.0 or more, the rating.
type Technician struct {
	ID int64 `json:"id"`
	// ExternalID is the technician's id in the company's own system (an
	// FSM's), unique among technicians; imports find records by it.
	ExternalID string    `json:"external_id,omitempty"`
	Name       string    `json:"name"`
	PhotoURL   string    `json:"photo_url"`
	Rating     float64   `json:"rating"`
	Active     bool      `json:"active"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// MinShownRating is the lowest rating shown to customers.
const MinShownRating = 4.0

// Validate returns an EINVALID error naming every invalid field.
func (t *Technician) Validate() error {
	v := validator{}
	v.text("external_id", t.ExternalID, false, maxExternalIDLen)
	v.text("name", t.Name, true, maxNameLen)
	v.url("photo_url", t.PhotoURL)
	if math.IsNaN(t.Rating) || t.Rating < 0 || t.Rating > 5 {
		v.add("rating", "must be between 0 and 5")
	} else if r := math.Round(t.Rating * 10); math.Abs(r-t.Rating*10) > 1e-6 {
		v.add("rating", "must have at most one decimal")
	}
	return v.err()
}

// TechnicianFilter selects technicians; nil fields do not filter.
type TechnicianFilter struct {
	ID         *int64
	ExternalID *string
	Active     *bool
	Page
}

// TechnicianUpdate is a partial update; nil fields are left unchanged.
type TechnicianUpdate struct {
	ExternalID *string
	Name       *string
	PhotoURL   *string
	Rating     *float64
	Active     *bool
}

// Apply sets the non-nil fields of u on t.
func (u TechnicianUpdate) Apply(t *Technician) {
	set(&t.ExternalID, u.ExternalID)
	set(&t.Name, u.Name)
	set(&t.PhotoURL, u.PhotoURL)
	set(&t.Rating, u.Rating)
	set(&t.Active, u.Active)
}

// TechnicianStore persists technicians.
type TechnicianStore interface {
	// FindTechnicianByID returns ENOTFOUND when there is no such technician.
	FindTechnicianByID(ctx context.Context, id int64) (*Technician, error)
	// FindTechnicians returns the matching technicians ordered by id.
	FindTechnicians(ctx context.Context, f TechnicianFilter) ([]*Technician, error)
	// CreateTechnician validates and stores t, setting its ID and times.
	// Returns EINVALID.
	CreateTechnician(ctx context.Context, t *Technician) error
	// UpdateTechnician returns EINVALID or ENOTFOUND.
	UpdateTechnician(ctx context.Context, id int64, upd TechnicianUpdate) (*Technician, error)
	// ImportTechnicians applies rows, all or none: each row's ExternalID
	// (required) finds a stored technician, which the row updates (nil
	// fields left as they are; one the row does not change is left
	// alone), or else the row creates one (nil fields take the defaults:
	// active, no photo, no rating). Returns EINVALID, naming a row as
	// record i+1 of rows, or ECONFLICT.
	ImportTechnicians(ctx context.Context, rows []TechnicianUpdate) (*ImportResult, error)
	// DeleteTechnician deletes a technician and their devices. Returns
	// ENOTFOUND, or ECONFLICT when assignments refer to them (deactivate
	// instead, to keep the history).
	DeleteTechnician(ctx context.Context, id int64) error
}
