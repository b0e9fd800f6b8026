package sqlstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/enroutehq/enroute"
)

const replyCols = `id, job_id, assignment_id, customer_id, from_addr, body, provider_id, received_at`

func scanReply(r scanner) (*enroute.Reply, error) {
	var x enroute.Reply
	err := r.Scan(&x.ID, &x.JobID, &x.AssignmentID, &x.CustomerID, &x.From, &x.Body, &x.ProviderID, &x.ReceivedAt)
	return &x, err
}

// CreateReply implements enroute.ReplyStore. The reply goes to the job of
// the latest text that reached the number (sent, or logged by the
// development provider); without one, to the customer with the number,
// if any.
func (s *Store) CreateReply(ctx context.Context, r *enroute.Reply) (bool, error) {
	created := false
	err := s.InTx(ctx, func(ctx context.Context) error {
		var job, asg, cust int64
		err := s.q(ctx).QueryRow(ctx, `SELECT job_id, assignment_id, customer_id FROM messages
			WHERE to_addr = $1 AND channel = 'sms' AND status IN ('sent', 'logged') ORDER BY id DESC LIMIT 1`, r.From).Scan(&job, &asg, &cust)
		switch {
		case err == nil:
			r.JobID, r.AssignmentID, r.CustomerID = &job, &asg, &cust
		case errors.Is(err, ErrNoRows):
			r.JobID, r.AssignmentID, r.CustomerID = nil, nil, nil
			err = s.q(ctx).QueryRow(ctx, `SELECT id FROM customers WHERE phone = $1 ORDER BY id LIMIT 1`, r.From).Scan(&cust)
			if err == nil {
				r.CustomerID = &cust
			} else if !errors.Is(err, ErrNoRows) {
				return fmt.Errorf("find the customer of a reply: %w", err)
			}
		default:
			return fmt.Errorf("find the text a reply answers: %w", err)
		}
		r.ReceivedAt = s.now()
		// A webhook delivered twice, even at once, stores one reply: the
		// second insert does nothing and reads the first.
		err = s.q(ctx).QueryRow(ctx, `INSERT INTO replies (job_id, assignment_id, customer_id, from_addr, body, provider_id, received_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (provider_id) WHERE provider_id <> '' DO NOTHING RETURNING id`,
			r.JobID, r.AssignmentID, r.CustomerID, r.From, r.Body, r.ProviderID, r.ReceivedAt).Scan(&r.ID)
		if errors.Is(err, ErrNoRows) {
			prev, err := scanReply(s.q(ctx).QueryRow(ctx, "SELECT "+replyCols+" FROM replies WHERE provider_id = $1", r.ProviderID))
			if err != nil {
				return fmt.Errorf("find reply %s: %w", r.ProviderID, err)
			}
			*r = *prev
			return nil
		} else if err != nil {
			return fmt.Errorf("insert reply: %w", err)
		}
		created = true
		return nil
	})
	return created, err
}

// FindReplies implements enroute.ReplyStore.
func (s *Store) FindReplies(ctx context.Context, f enroute.ReplyFilter) ([]*enroute.Reply, error) {
	var w where
	if f.JobID != nil {
		w.add("job_id = ?", *f.JobID)
	}
	return list(ctx, s.q(ctx), "SELECT "+replyCols+" FROM replies"+w.sql(f.Page), w.args, scanReply)
}
