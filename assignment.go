package enroute

import (
	"context"
	"time"
)

// AssignmentStatus is where an assignment stands.
type AssignmentStatus string

// Assignment statuses: scheduled -> dispatched -> working -> done, or
// cancelled from any unfinished status.
const (
	StatusScheduled  AssignmentStatus = "scheduled"
	StatusDispatched AssignmentStatus = "dispatched"
	StatusWorking    AssignmentStatus = "working"
	StatusDone       AssignmentStatus = "done"
	StatusCancelled  AssignmentStatus = "cancelled"
)

// Valid reports whether s is a known status.
func (s AssignmentStatus) Valid() bool {
	switch s {
	case StatusScheduled, StatusDispatched, StatusWorking, StatusDone, StatusCancelled:
		return true
	}
	return false
}

// Finished reports whether s is final (done or cancelled).
func (s AssignmentStatus) Finished() bool { return s == StatusDone || s == StatusCancelled }

// CanBecome reports whether an assignment in status s may move to next.
func (s AssignmentStatus) CanBecome(next AssignmentStatus) bool {
	switch next {
	case StatusDispatched:
		return s == StatusScheduled
	case StatusWorking:
		return s == StatusDispatched
	case StatusDone:
		return s == StatusWorking
	case StatusCancelled:
		return !s.Finished()
	}
	return false
}

// Assignment is one technician sent to one job. A job may have many over a
// day, but a technician has at most one unfinished assignment per job. The
// time of every transition is kept.
type Assignment struct {
	ID           int64            `json:"id"`
	JobID        int64            `json:"job_id"`
	TechnicianID int64            `json:"technician_id"`
	Status       AssignmentStatus `json:"status"`
	ScheduledAt  time.Time        `json:"scheduled_at"`
	DispatchedAt *time.Time       `json:"dispatched_at"`
	WorkingAt    *time.Time       `json:"working_at"`
	DoneAt       *time.Time       `json:"done_at"`
	CancelledAt  *time.Time       `json:"cancelled_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	// TrackingOpenedAt is when the customer first opened the tracking
	// page (any of the assignment's links), TrackingOpens how many times
	// it was opened: in a browser that ran the page (link previews that
	// fetch it without running it do not count).
	TrackingOpenedAt *time.Time `json:"tracking_opened_at"`
	TrackingOpens    int        `json:"tracking_opens"`
	// VerificationCode is four digits (NewVerificationCode) the customer
	// may ask the technician for at the door. Every assignment gets one
	// when it is created (one made before codes existed, at its next
	// status change), whether or not the company shows codes: turning
	// TrackingSettings.VerificationCode on then works at once for the
	// visits already under way. Staff read it here; the tracking page
	// shows it only while the setting is on. Never logged.
	VerificationCode string `json:"verification_code"`
	// SiteVerified is set only on the live event a change of the job
	// site sends (tracker.AssignmentEvents.LocationChanged): whether the
	// site is verified now, so that a customer's stream starts or stops
	// its positions at once. Never stored; nil everywhere else.
	SiteVerified *bool `json:"site_verified,omitempty"`
}

// Transition moves a to status next at time at, recording the time. It
// returns EINVALID when the move is not allowed.
func (a *Assignment) Transition(next AssignmentStatus, at time.Time) error {
	if !a.Status.CanBecome(next) {
		return Errorf(EINVALID, "An assignment that is %s cannot become %s.", a.Status, next)
	}
	t := Timestamp(at)
	switch next {
	case StatusDispatched:
		a.DispatchedAt = &t
	case StatusWorking:
		a.WorkingAt = &t
	case StatusDone:
		a.DoneAt = &t
	case StatusCancelled:
		a.CancelledAt = &t
	}
	a.Status, a.UpdatedAt = next, t
	return nil
}

// AssignmentFilter selects assignments; nil fields do not filter.
type AssignmentFilter struct {
	JobID        *int64
	TechnicianID *int64
	// LocationID selects the assignments of every job at a job site.
	LocationID *int64
	Statuses   []AssignmentStatus
	// ArrivedSince, when set, selects the assignments whose technician
	// arrived (became working) at or after it.
	ArrivedSince *time.Time
	Page
}

// AssignmentStore persists assignments.
type AssignmentStore interface {
	// FindAssignmentByID returns ENOTFOUND when there is no such assignment.
	FindAssignmentByID(ctx context.Context, id int64) (*Assignment, error)
	// FindAssignments returns the matching assignments ordered by id.
	FindAssignments(ctx context.Context, f AssignmentFilter) ([]*Assignment, error)
	// CreateAssignment schedules a technician for a job. Returns EINVALID
	// (unknown job or technician, inactive technician), or ECONFLICT when the
	// technician already has an unfinished assignment on the job.
	CreateAssignment(ctx context.Context, a *Assignment) error
	// TransitionAssignment moves an assignment to next, atomically: of two
	// concurrent moves from the same status one wins and the other gets
	// EINVALID. Returns ENOTFOUND or EINVALID.
	TransitionAssignment(ctx context.Context, id int64, next AssignmentStatus) (*Assignment, error)
}

// AssignmentHook is told of every assignment status change, inside the
// change's transaction: what it writes commits or rolls back with it.
type AssignmentHook interface {
	// AssignmentChanged is called after a moved from prev to a.Status.
	AssignmentChanged(ctx context.Context, a *Assignment, prev AssignmentStatus) error
}

// TransitionAssignment moves assignment id to next and runs hooks, all in
// one transaction of s. Every status change, by a dispatcher or by Enroute
// itself, goes through here. An assignment that becomes done keeps its
// live tracking links for FeedbackLinkTTL more, for the feedback form.
// Returns ENOTFOUND or EINVALID.
func TransitionAssignment(ctx context.Context, s Store, id int64, next AssignmentStatus, hooks ...AssignmentHook) (*Assignment, error) {
	var a *Assignment
	err := s.InTx(ctx, func(ctx context.Context) error {
		prev, err := s.FindAssignmentByID(ctx, id)
		if err != nil {
			return err
		}
		if a, err = s.TransitionAssignment(ctx, id, next); err != nil {
			return err
		}
		if next == StatusDone {
			if err := s.ExtendTrackingLinks(ctx, id, a.DoneAt.Add(FeedbackLinkTTL)); err != nil {
				return err
			}
		}
		for _, h := range hooks {
			if err := h.AssignmentChanged(ctx, a, prev.Status); err != nil {
				return err
			}
		}
		return nil
	})
	return a, err
}
