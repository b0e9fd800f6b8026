package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/enroutehq/enroute"
)

// Feedback is stored by assignment only; its job and technician are the
// assignment's, read with it.
const feedbackQuery = `SELECT f.assignment_id, a.job_id, a.technician_id, f.rating, f.comment, f.created_at
	FROM feedback f JOIN assignments a ON a.id = f.assignment_id`

func scanFeedback(r scanner) (*enroute.Feedback, error) {
	var f enroute.Feedback
	err := r.Scan(&f.AssignmentID, &f.JobID, &f.TechnicianID, &f.Rating, &f.Comment, &f.CreatedAt)
	return &f, err
}

// CreateFeedback implements enroute.FeedbackStore.
func (s *Store) CreateFeedback(ctx context.Context, f *enroute.Feedback) error {
	f.Normalize()
	if err := f.Validate(); err != nil {
		return err
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		a, err := s.FindAssignmentByID(ctx, f.AssignmentID)
		if err != nil {
			return err
		}
		if a.Status != enroute.StatusDone {
			return enroute.Errorf(enroute.EINVALID, "Feedback opens once the visit is done; it is %s.", a.Status)
		}
		f.JobID, f.TechnicianID, f.CreatedAt = a.JobID, a.TechnicianID, s.now()
		_, err = s.q(ctx).Exec(ctx, `INSERT INTO feedback (assignment_id, rating, comment, created_at) VALUES ($1, $2, $3, $4)`,
			f.AssignmentID, f.Rating, f.Comment, f.CreatedAt)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "Feedback for this visit was already received.")
		} else if err != nil {
			return fmt.Errorf("insert feedback: %w", err)
		}
		return nil
	})
}

// FindFeedback implements enroute.FeedbackStore.
func (s *Store) FindFeedback(ctx context.Context, f enroute.FeedbackFilter) ([]*enroute.Feedback, error) {
	var w where
	if f.AssignmentID != nil {
		w.add("f.assignment_id = ?", *f.AssignmentID)
	}
	if f.JobID != nil {
		w.add("a.job_id = ?", *f.JobID)
	}
	if f.TechnicianID != nil {
		w.add("a.technician_id = ?", *f.TechnicianID)
	}
	// where.sql orders by "id": here the assignment's.
	return list(ctx, s.q(ctx), feedbackQuery+w.sql(f.Page), w.args, scanFeedback)
}

// FeedbackSummaries implements enroute.FeedbackStore.
func (s *Store) FeedbackSummaries(ctx context.Context, ids []int64) (map[int64]enroute.FeedbackSummary, error) {
	out := map[int64]enroute.FeedbackSummary{}
	if len(ids) == 0 {
		return out, nil
	}
	ph := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		ph[i], args[i] = "$"+strconv.Itoa(i+1), id
	}
	rows, err := s.q(ctx).Query(ctx, `SELECT a.technician_id, count(*), sum(f.rating) FROM feedback f
		JOIN assignments a ON a.id = f.assignment_id WHERE a.technician_id IN (`+strings.Join(ph, ", ")+`) GROUP BY a.technician_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("summarise feedback: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var sum enroute.FeedbackSummary
		if err := rows.Scan(&id, &sum.Count, &sum.Sum); err != nil {
			return nil, fmt.Errorf("summarise feedback: %w", err)
		}
		out[id] = sum
	}
	return out, rows.Err()
}
