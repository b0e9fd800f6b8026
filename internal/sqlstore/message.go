package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

const messageCols = `id, assignment_id, job_id, customer_id, kind, channel, status, reason, to_addr, from_addr, from_name,
	subject, body, html, COALESCE(link_token, ''), provider_id, attempts, next_attempt_at, created_at, finished_at,
	delivery_status, delivery_error_code, delivery_updated_at, author, resend_of, quiet_until`

func scanMessage(r scanner) (*enroute.Message, error) {
	var (
		m         enroute.Message
		status    string
		code      int
		updatedAt *time.Time
	)
	err := r.Scan(&m.ID, &m.AssignmentID, &m.JobID, &m.CustomerID, &m.Kind, &m.Channel, &m.Status, &m.Reason,
		&m.To, &m.From, &m.FromName, &m.Subject, &m.Body, &m.HTML, &m.LinkToken, &m.ProviderID, &m.Attempts,
		&m.NextAttemptAt, &m.CreatedAt, &m.FinishedAt, &status, &code, &updatedAt, &m.Author, &m.ResendOf, &m.QuietUntil)
	if err == nil && status != "" && updatedAt != nil {
		m.Delivery = &enroute.Delivery{Status: enroute.DeliveryStatus(status), ErrorCode: code,
			Error: enroute.CarrierError(code), UpdatedAt: *updatedAt}
	}
	return &m, err
}

// deliveryRank is the rank (enroute.DeliveryStatus.Rank) of a message's
// delivery status, in SQL, so that an update can require a higher one in
// its WHERE: the row's lock then orders concurrent reports.
var deliveryRank = func() string {
	var b strings.Builder
	b.WriteString("CASE delivery_status")
	for _, st := range enroute.DeliveryStatuses {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", st, st.Rank())
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}()

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
			to_addr, from_addr, from_name, subject, body, html, link_token, next_attempt_at, created_at, finished_at, author, resend_of, quiet_until)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20) RETURNING id`,
			m.AssignmentID, m.JobID, m.CustomerID, m.Kind, m.Channel, m.Status, m.Reason, m.To, m.From, m.FromName,
			m.Subject, m.Body, m.HTML, link, m.NextAttemptAt, m.CreatedAt, m.FinishedAt, m.Author, m.ResendOf, m.QuietUntil).Scan(&m.ID)
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
	if f.ID != nil {
		w.add("id = ?", *f.ID)
	}
	if f.JobID != nil {
		w.add("job_id = ?", *f.JobID)
	}
	if f.AssignmentID != nil {
		w.add("assignment_id = ?", *f.AssignmentID)
	}
	if f.Kind != nil {
		w.add("kind = ?", *f.Kind)
	}
	if f.Automatic {
		w.conds = append(w.conds, "kind <> 'manual' AND resend_of IS NULL")
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
	case enroute.MessageSent, enroute.MessageLogged, enroute.MessageFailed, enroute.MessageSkipped:
		// A delivery report may have come before this outcome was recorded,
		// and given the message its provider id (UpdateMessageDelivery). An
		// outcome without one keeps it; one with another id (an earlier
		// attempt's copy was reported) clears the report, which was of the
		// other copy.
		n, err = s.q(ctx).Exec(ctx, `UPDATE messages SET status = $1, reason = $2, finished_at = $4, lease_until = NULL,
			body = CASE WHEN link_token IS NULL THEN body ELSE replace(body, link_token, $5) END,
			html = CASE WHEN link_token IS NULL THEN html ELSE replace(html, link_token, $5) END,
			subject = CASE WHEN link_token IS NULL THEN subject ELSE replace(subject, link_token, $5) END,
			link_token = NULL,
			delivery_status = CASE WHEN $3 = '' OR provider_id = $3 THEN delivery_status ELSE '' END,
			delivery_error_code = CASE WHEN $3 = '' OR provider_id = $3 THEN delivery_error_code ELSE 0 END,
			delivery_updated_at = CASE WHEN $3 = '' OR provider_id = $3 THEN delivery_updated_at ELSE NULL END,
			provider_id = CASE WHEN $3 = '' THEN provider_id ELSE $3 END
			WHERE id = $6 AND status = 'queued'`, r.Status, r.Reason, r.ProviderID, s.now(), enroute.RedactedLink, id)
	default:
		return enroute.Errorf(enroute.EINVALID, "A delivery attempt ends sent, logged, failed, skipped or queued, not %q.", r.Status)
	}
	if err != nil {
		return fmt.Errorf("complete message %d: %w", id, err)
	} else if n == 0 {
		return enroute.Errorf(enroute.ENOTFOUND, "Queued message %d not found.", id)
	}
	return nil
}

// UpdateMessageDelivery implements enroute.MessageStore.
func (s *Store) UpdateMessageDelivery(ctx context.Context, r enroute.DeliveryReport) (*enroute.Message, bool, error) {
	rank := r.Status.Rank()
	if rank == 0 {
		return nil, false, enroute.Errorf(enroute.EINVALID, "Unknown delivery status %q.", r.Status)
	}
	if r.ProviderID == "" {
		return nil, false, enroute.Errorf(enroute.EINVALID, "A delivery report names the provider's message id.")
	}
	var (
		m       *enroute.Message
		changed bool
	)
	err := s.InTx(ctx, func(ctx context.Context) error {
		// One statement, so that PostgreSQL re-checks the whole condition
		// on a row that an outcome being recorded (CompleteMessage) changes
		// under it: a report found by the message id, before the send was
		// recorded, then still applies once the send gave the row this
		// provider id. Two statements in turn could each miss it.
		n, err := s.q(ctx).Exec(ctx, `UPDATE messages SET provider_id = $1, delivery_status = $2, delivery_error_code = $3, delivery_updated_at = $4
			WHERE channel = 'sms' AND (provider_id = $1 OR (id = $5 AND provider_id = '')) AND `+deliveryRank+` < $6`,
			r.ProviderID, r.Status, r.ErrorCode, s.now(), r.MessageID, rank)
		if err != nil {
			return fmt.Errorf("record delivery of %s: %w", r.ProviderID, err)
		}
		changed = n > 0
		m, err = scanMessage(s.q(ctx).QueryRow(ctx, "SELECT "+messageCols+" FROM messages WHERE provider_id = $1 AND channel = 'sms' ORDER BY id LIMIT 1", r.ProviderID))
		if errors.Is(err, ErrNoRows) {
			return enroute.Errorf(enroute.ENOTFOUND, "No text has the provider id %q.", r.ProviderID)
		} else if err != nil {
			return fmt.Errorf("find message %s: %w", r.ProviderID, err)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return m, changed, nil
}
