package enroute

import (
	"context"
	"time"
)

// Job is work at a location for a customer, promised within an arrival
// window. Technicians are sent to it through assignments.
type Job struct {
	ID int64 `json:"id"`
	// ExternalID is the job's id in the company's own system, unique
	// among jobs; imports find records by it.
	ExternalID  string    `json:"external_id,omitempty"`
	Number      string    `json:"number"`
	CustomerID  int64     `json:"customer_id"`
	LocationID  int64     `json:"location_id"`
	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`
	Notes       string    `json:"notes"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Validate returns an EINVALID error naming every invalid field. That the
// location belongs to the customer is checked by the store.
func (j *Job) Validate() error {
	v := validator{}
	v.text("external_id", j.ExternalID, false, maxExternalIDLen)
	v.text("number", j.Number, true, 64)
	v.id("customer_id", j.CustomerID)
	v.id("location_id", j.LocationID)
	if j.WindowStart.IsZero() {
		v.add("window_start", "is required")
	}
	if j.WindowEnd.IsZero() {
		v.add("window_end", "is required")
	} else if j.WindowEnd.Before(j.WindowStart) {
		v.add("window_end", "must not be before window_start")
	}
	v.text("notes", j.Notes, false, maxNotesLen)
	return v.err()
}

// JobFilter selects jobs; nil fields do not filter.
type JobFilter struct {
	Number     *string
	ExternalID *string
	CustomerID *int64
	LocationID *int64
	Page
}

// JobUpdate is a partial update; nil fields are left unchanged. The customer
// and location of a job never change.
type JobUpdate struct {
	ExternalID  *string
	Number      *string
	WindowStart *time.Time
	WindowEnd   *time.Time
	Notes       *string
}

// Apply sets the non-nil fields of u on j.
func (u JobUpdate) Apply(j *Job) {
	set(&j.ExternalID, u.ExternalID)
	set(&j.Number, u.Number)
	set(&j.WindowStart, u.WindowStart)
	set(&j.WindowEnd, u.WindowEnd)
	set(&j.Notes, u.Notes)
}

// JobStore persists jobs.
type JobStore interface {
	// FindJobByID returns ENOTFOUND when there is no such job.
	FindJobByID(ctx context.Context, id int64) (*Job, error)
	// FindJobs returns the matching jobs ordered by id.
	FindJobs(ctx context.Context, f JobFilter) ([]*Job, error)
	// CreateJob returns EINVALID (also for an unknown customer or location,
	// or a location of another customer), or ECONFLICT for a taken number.
	CreateJob(ctx context.Context, j *Job) error
	// UpdateJob returns EINVALID, ENOTFOUND or ECONFLICT.
	UpdateJob(ctx context.Context, id int64, upd JobUpdate) (*Job, error)
	// DeleteJob returns ENOTFOUND, or ECONFLICT while it has assignments.
	DeleteJob(ctx context.Context, id int64) error
}

// JobHook is told of every change of a job, inside its transaction, with
// the job before and after.
type JobHook interface {
	JobChanged(ctx context.Context, old, j *Job) error
}
