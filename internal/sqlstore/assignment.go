package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const assignmentCols = "id, job_id, technician_id, status, scheduled_at, dispatched_at, working_at, done_at, cancelled_at, updated_at, tracking_opened_at, tracking_opens, verification_code"

func scanAssignment(r scanner) (*enroute.Assignment, error) {
	var a enroute.Assignment
	err := r.Scan(&a.ID, &a.JobID, &a.TechnicianID, &a.Status, &a.ScheduledAt,
		&a.DispatchedAt, &a.WorkingAt, &a.DoneAt, &a.CancelledAt, &a.UpdatedAt, &a.TrackingOpenedAt, &a.TrackingOpens, &a.VerificationCode)
	return &a, err
}

// FindAssignmentByID implements enroute.AssignmentStore.
func (s *Store) FindAssignmentByID(ctx context.Context, id int64) (*enroute.Assignment, error) {
	a, err := scanAssignment(s.q(ctx).QueryRow(ctx, "SELECT "+assignmentCols+" FROM assignments WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Assignment", id)
	}
	return a, nil
}

// FindAssignments implements enroute.AssignmentStore.
func (s *Store) FindAssignments(ctx context.Context, f enroute.AssignmentFilter) ([]*enroute.Assignment, error) {
	var w where
	if f.JobID != nil {
		w.add("job_id = ?", *f.JobID)
	}
	if f.TechnicianID != nil {
		w.add("technician_id = ?", *f.TechnicianID)
	}
	if f.LocationID != nil {
		w.add("job_id IN (SELECT id FROM jobs WHERE location_id = ?)", *f.LocationID)
	}
	in(&w, "status", f.Statuses)
	if f.ArrivedSince != nil {
		w.add("working_at >= ?", enroute.Timestamp(*f.ArrivedSince))
	}
	return list(ctx, s.q(ctx), "SELECT "+assignmentCols+" FROM assignments"+w.sql(f.Page), w.args, scanAssignment)
}

// CreateAssignment implements enroute.AssignmentStore.
func (s *Store) CreateAssignment(ctx context.Context, a *enroute.Assignment) error {
	fields := map[string]string{}
	if a.JobID <= 0 {
		fields["job_id"] = "is required"
	}
	if a.TechnicianID <= 0 {
		fields["technician_id"] = "is required"
	}
	if err := enroute.FieldErrors(fields); err != nil {
		return err
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.exists(ctx, "jobs", a.JobID); err != nil {
			return err
		} else if !ok {
			return enroute.Errorf(enroute.ENOTFOUND, "Job %d not found.", a.JobID)
		}
		t, err := s.FindTechnicianByID(ctx, a.TechnicianID)
		if enroute.ErrorCode(err) == enroute.ENOTFOUND {
			return enroute.FieldErrors(map[string]string{"technician_id": "does not exist"})
		} else if err != nil {
			return err
		} else if !t.Active {
			return enroute.FieldErrors(map[string]string{"technician_id": "is inactive"})
		}
		a.Status = enroute.StatusScheduled
		a.ScheduledAt = s.now()
		a.UpdatedAt = a.ScheduledAt
		a.DispatchedAt, a.WorkingAt, a.DoneAt, a.CancelledAt = nil, nil, nil, nil
		a.VerificationCode = enroute.NewVerificationCode()
		err = s.q(ctx).QueryRow(ctx, `INSERT INTO assignments (job_id, technician_id, status, scheduled_at, updated_at, verification_code)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			a.JobID, a.TechnicianID, a.Status, a.ScheduledAt, a.UpdatedAt, a.VerificationCode).Scan(&a.ID)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "Technician %d already has an unfinished assignment on job %d.", a.TechnicianID, a.JobID)
		} else if err != nil {
			return fmt.Errorf("insert assignment: %w", err)
		}
		return nil
	})
}

// TransitionAssignment implements enroute.AssignmentStore.
func (s *Store) TransitionAssignment(ctx context.Context, id int64, next enroute.AssignmentStatus) (*enroute.Assignment, error) {
	var a *enroute.Assignment
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		a, err = scanAssignment(s.q(ctx).QueryRow(ctx, "SELECT "+assignmentCols+" FROM assignments WHERE id = $1"+s.d.ForUpdate, id))
		if err != nil {
			return notFound(err, "Assignment", id)
		}
		prev := a.Status
		if err := a.Transition(next, s.now()); err != nil {
			return err
		}
		if a.VerificationCode == "" { // made before assignments had codes
			a.VerificationCode = enroute.NewVerificationCode()
		}
		// The status condition makes the move atomic even where the row
		// was not locked: of two racing moves only one matches.
		n, err := s.q(ctx).Exec(ctx, `UPDATE assignments SET status = $1, dispatched_at = $2, working_at = $3, done_at = $4,
			cancelled_at = $5, updated_at = $6, verification_code = $9 WHERE id = $7 AND status = $8`,
			a.Status, a.DispatchedAt, a.WorkingAt, a.DoneAt, a.CancelledAt, a.UpdatedAt, id, prev, a.VerificationCode)
		if err != nil {
			return fmt.Errorf("update assignment: %w", err)
		} else if n == 0 {
			return enroute.Errorf(enroute.EINVALID, "The assignment changed meanwhile; reload it and try again.")
		}
		return nil
	})
	return a, err
}
