package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/enroutehq/enroute"
)

const messageCols = `id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name,
	subject, body, html, COALESCE(link_token, ''), provider_id, attempts, next_attempt_at, created_at, finished_at`

func scanMessage(r scanner) (*enroute.Message, error) {
	var m enroute.Message
	err := r.Scan(&m.ID, &m.AssignmentID, &m.JobID, &m.CustomerID, &m.Kind, &m.Channel, &m.Status, &m.Reason,
		&m.To, &m.From, &m.FromName, &m.Subject, &m.Body, &m.HTML, &m.LinkToken, &m.ProviderID, &m.Attempts,
		&m.NextAttemptAt, &m.CreatedAt, &m.FinishedAt)
	return &m, err
}

// CreateMessage implements enroute.MessageStore.
func (s *Store) CreateMessage(ctx context.Context, m *enroute.Message) error {
	m.CreatedAt = s.now()
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	m.NextAttemptAt = enroute.Timestamp(m.NextAttemptAt)
	if m.Status != enroute.MessageQueued {
		m.FinishedAt = &m.CreatedAt
	}
	var link *string
	if m.LinkToken != "" {
		link = &m.LinkToken
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO messages (assignment_id, job_id, customer_id, kind, channel, status, reason,
			to_addr, from_addr, from_name, subject, body, html, link_token, next_attempt_at, created_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id`,
			m.AssignmentID, m.JobID, m.CustomerID, m.Kind, m.Channel, m.Status, m.Reason, m.To, m.From, m.FromName,
			m.Subject, m.Body, m.HTML, link, m.NextAttemptAt, m.CreatedAt, m.FinishedAt).Scan(&m.ID)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "Assignment %d already has a %s %s message.", m.AssignmentID, m.Kind, m.Channel)
		} else if err != nil {
			return fmt.Errorf("insert message: %w", err)
		}
		return nil
	})
}

// FindMessages implements enroute.MessageStore.
func (s *Store) FindMessages(ctx context.Context, f enroute.MessageFilter) ([]*enroute.Message, error) {
	var w where
	if f.JobID != nil {
		w.add("job_id = ?", *f.JobID)
	}
	if f.AssignmentID != nil {
		w.add("assignment_id = ?", *f.AssignmentID)
	}
	if f.Status != nil {
		w.add("status = ?", *f.Status)
	}
	return list(ctx, s.q(ctx), "SELECT "+messageCols+" FROM messages"+w.sql(f.Page), w.args, scanMessage)
}

// ClaimMessages implements enroute.MessageStore. On PostgreSQL, SKIP LOCKED
// lets workers on several nodes claim disjoint batches without waiting; the
// lease keeps a claimed message from being claimed again while it is sent.
func (s *Store) ClaimMessages(ctx context.Context, n int, lease time.Duration) ([]*enroute.Message, error) {
	var out []*enroute.Message
	err := s.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		var err error
		out, err = list(ctx, s.q(ctx), `UPDATE messages SET lease_until = $1, attempts = attempts + 1
			WHERE id IN (SELECT id FROM messages WHERE status = 'queued' AND next_attempt_at <= $2
				AND (lease_until IS NULL OR lease_until <= $2) ORDER BY id LIMIT $3`+s.d.SkipLocked+`)
			RETURNING `+messageCols, []any{now.Add(lease), now, n}, scanMessage)
		return err
	})
	slices.SortFunc(out, func(a, b *enroute.Message) int { return int(a.ID - b.ID) })
	return out, err
}

// CompleteMessage implements enroute.MessageStore.
func (s *Store) CompleteMessage(ctx context.Context, id int64, r enroute.MessageResult) error {
	var n int64
	var err error
	switch r.Status {
	case enroute.MessageQueued:
		n, err = s.q(ctx).Exec(ctx, `UPDATE messages SET reason = $1, next_attempt_at = $2, lease_until = NULL WHERE id = $3 AND status = 'queued'`,
			r.Reason, enroute.Timestamp(r.NextAttemptAt), id)
	case enroute.MessageSent, enroute.MessageLogged, enroute.MessageFailed:
		n, err = s.q(ctx).Exec(ctx, `UPDATE messages SET status = $1, reason = $2, provider_id = $3, finished_at = $4, lease_until = NULL,
			body = CASE WHEN link_token IS NULL THEN body ELSE replace(body, link_token, $5) END,
			html = CASE WHEN link_token IS NULL THEN html ELSE replace(html, link_token, $5) END,
			subject = CASE WHEN link_token IS NULL THEN subject ELSE replace(subject, link_token, $5) END,
			link_token = NULL
			WHERE id = $6 AND status = 'queued'`, r.Status, r.Reason, r.ProviderID, s.now(), enroute.RedactedLink, id)
	default:
		return enroute.Errorf(enroute.EINVALID, "A delivery attempt ends sent, logged, failed or queued, not %q.", r.Status)
	}
	if err != nil {
		return fmt.Errorf("complete message %d: %w", id, err)
	} else if n == 0 {
		return enroute.Errorf(enroute.ENOTFOUND, "Queued message %d not found.", id)
	}
	return nil
}
