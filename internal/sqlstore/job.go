package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const jobCols = "id, COALESCE(external_id, ''), number, customer_id, location_id, window_start, window_end, notes, created_at, updated_at"

func scanJob(r scanner) (*enroute.Job, error) {
	var j enroute.Job
	err := r.Scan(&j.ID, &j.ExternalID, &j.Number, &j.CustomerID, &j.LocationID, &j.WindowStart, &j.WindowEnd, &j.Notes, &j.CreatedAt, &j.UpdatedAt)
	return &j, err
}

// FindJobByID implements enroute.JobStore.
func (s *Store) FindJobByID(ctx context.Context, id int64) (*enroute.Job, error) {
	j, err := scanJob(s.q(ctx).QueryRow(ctx, "SELECT "+jobCols+" FROM jobs WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Job", id)
	}
	return j, nil
}

// FindJobs implements enroute.JobStore.
func (s *Store) FindJobs(ctx context.Context, f enroute.JobFilter) ([]*enroute.Job, error) {
	var w where
	if f.Number != nil {
		w.add("number = ?", *f.Number)
	}
	if f.ExternalID != nil {
		w.add("external_id = ?", *f.ExternalID)
	}
	if f.CustomerID != nil {
		w.add("customer_id = ?", *f.CustomerID)
	}
	if f.LocationID != nil {
		w.add("location_id = ?", *f.LocationID)
	}
	return list(ctx, s.q(ctx), "SELECT "+jobCols+" FROM jobs"+w.sql(f.Page), w.args, scanJob)
}

// CreateJob implements enroute.JobStore.
func (s *Store) CreateJob(ctx context.Context, j *enroute.Job) error {
	j.WindowStart, j.WindowEnd = enroute.Timestamp(j.WindowStart), enroute.Timestamp(j.WindowEnd)
	if err := j.Validate(); err != nil {
		return err
	}
	j.CreatedAt = s.now()
	j.UpdatedAt = j.CreatedAt
	return s.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.exists(ctx, "customers", j.CustomerID); err != nil {
			return err
		} else if !ok {
			return enroute.FieldErrors(map[string]string{"customer_id": "does not exist"})
		}
		l, err := s.FindLocationByID(ctx, j.LocationID)
		if enroute.ErrorCode(err) == enroute.ENOTFOUND {
			return enroute.FieldErrors(map[string]string{"location_id": "does not exist"})
		} else if err != nil {
			return err
		} else if l.CustomerID != j.CustomerID {
			return enroute.FieldErrors(map[string]string{"location_id": "belongs to another customer"})
		}
		if err := s.jobExternalIDFree(ctx, j); err != nil {
			return err
		}
		err = s.q(ctx).QueryRow(ctx, `INSERT INTO jobs (number, customer_id, location_id, window_start, window_end, notes, created_at, updated_at, external_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULLIF($9, '')) RETURNING id`,
			j.Number, j.CustomerID, j.LocationID, j.WindowStart, j.WindowEnd, j.Notes, j.CreatedAt, j.UpdatedAt, j.ExternalID).Scan(&j.ID)
		return s.jobWriteErr(err, j.Number)
	})
}

// jobExternalIDFree returns ECONFLICT when another job has j's external
// id: jobs have two unique columns, and a unique violation does not say
// which (jobWriteErr takes it for the number).
func (s *Store) jobExternalIDFree(ctx context.Context, j *enroute.Job) error {
	if j.ExternalID == "" {
		return nil
	}
	var n int
	if err := s.q(ctx).QueryRow(ctx, "SELECT count(*) FROM jobs WHERE external_id = $1 AND id <> $2", j.ExternalID, j.ID).Scan(&n); err != nil {
		return fmt.Errorf("find job by external id: %w", err)
	}
	if n > 0 {
		return enroute.Errorf(enroute.ECONFLICT, "Another job has the external_id %q.", j.ExternalID)
	}
	return nil
}

func (s *Store) jobWriteErr(err error, number string) error {
	if s.d.ConstraintOf(err) == Unique {
		return enroute.Errorf(enroute.ECONFLICT, "Job number %q is taken.", number)
	} else if err != nil {
		return fmt.Errorf("write job: %w", err)
	}
	return nil
}

// UpdateJob implements enroute.JobStore.
func (s *Store) UpdateJob(ctx context.Context, id int64, upd enroute.JobUpdate) (*enroute.Job, error) {
	var j *enroute.Job
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		j, err = scanJob(s.q(ctx).QueryRow(ctx, "SELECT "+jobCols+" FROM jobs WHERE id = $1"+s.d.ForUpdate, id))
		if err != nil {
			return notFound(err, "Job", id)
		}
		upd.Apply(j)
		j.WindowStart, j.WindowEnd = enroute.Timestamp(j.WindowStart), enroute.Timestamp(j.WindowEnd)
		if err := j.Validate(); err != nil {
			return err
		}
		j.UpdatedAt = s.now()
		if err := s.jobExternalIDFree(ctx, j); err != nil {
			return err
		}
		_, err = s.q(ctx).Exec(ctx, `UPDATE jobs SET number = $1, window_start = $2, window_end = $3, notes = $4, updated_at = $5,
			external_id = NULLIF($7, '') WHERE id = $6`,
			j.Number, j.WindowStart, j.WindowEnd, j.Notes, j.UpdatedAt, id, j.ExternalID)
		return s.jobWriteErr(err, j.Number)
	})
	return j, err
}

// DeleteJob implements enroute.JobStore.
func (s *Store) DeleteJob(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "jobs", "Job", id, "The job has assignments; cancel them instead to keep the history.")
}
