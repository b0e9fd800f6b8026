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

const webhookEndpointCols = "id, url, description, events, enabled, disabled_reason, failing_since, created_at, updated_at"

func scanWebhookEndpoint(r scanner) (*enroute.WebhookEndpoint, error) {
	var (
		e      enroute.WebhookEndpoint
		events string
	)
	err := r.Scan(&e.ID, &e.URL, &e.Description, &events, &e.Enabled, &e.DisabledReason, &e.FailingSince, &e.CreatedAt, &e.UpdatedAt)
	e.Events = splitEvents(events)
	return &e, err
}

// joinEvents stores event types as one comma-separated column: they are
// read with their endpoint, never queried by.
func joinEvents(ts []enroute.WebhookEventType) string {
	ss := make([]string, len(ts))
	for i, t := range ts {
		ss[i] = string(t)
	}
	return strings.Join(ss, ",")
}

func splitEvents(s string) []enroute.WebhookEventType {
	out := []enroute.WebhookEventType{}
	for p := range strings.SplitSeq(s, ",") {
		if p != "" {
			out = append(out, enroute.WebhookEventType(p))
		}
	}
	return out
}

// FindWebhookEndpoints implements enroute.WebhookStore.
func (s *Store) FindWebhookEndpoints(ctx context.Context, p enroute.Page) ([]*enroute.WebhookEndpoint, error) {
	var w where
	return list(ctx, s.q(ctx), "SELECT "+webhookEndpointCols+" FROM webhook_endpoints"+w.sql(p), w.args, scanWebhookEndpoint)
}

// FindWebhookEndpointByID implements enroute.WebhookStore.
func (s *Store) FindWebhookEndpointByID(ctx context.Context, id int64) (*enroute.WebhookEndpoint, error) {
	e, err := scanWebhookEndpoint(s.q(ctx).QueryRow(ctx, "SELECT "+webhookEndpointCols+" FROM webhook_endpoints WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Webhook endpoint", id)
	}
	return e, nil
}

// CreateWebhookEndpoint implements enroute.WebhookStore.
func (s *Store) CreateWebhookEndpoint(ctx context.Context, e *enroute.WebhookEndpoint, sealedSecret []byte) error {
	if err := e.Validate(true); err != nil {
		return err
	}
	if len(sealedSecret) == 0 {
		return enroute.Errorf(enroute.EINVALID, "A webhook endpoint needs a secret.")
	}
	e.CreatedAt = s.now()
	e.UpdatedAt, e.Enabled, e.DisabledReason, e.FailingSince = e.CreatedAt, true, "", nil
	return s.InTx(ctx, func(ctx context.Context) error {
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO webhook_endpoints (url, description, events, enabled, secret_sealed, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			e.URL, e.Description, joinEvents(e.Events), true, sealedSecret, e.CreatedAt, e.UpdatedAt).Scan(&e.ID)
		if err != nil {
			return fmt.Errorf("insert webhook endpoint: %w", err)
		}
		return nil
	})
}

// UpdateWebhookEndpoint implements enroute.WebhookStore.
func (s *Store) UpdateWebhookEndpoint(ctx context.Context, id int64, u enroute.WebhookEndpointUpdate) (*enroute.WebhookEndpoint, error) {
	var e *enroute.WebhookEndpoint
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if e, err = scanWebhookEndpoint(s.q(ctx).QueryRow(ctx, "SELECT "+webhookEndpointCols+" FROM webhook_endpoints WHERE id = $1"+s.d.ForUpdate, id)); err != nil {
			return notFound(err, "Webhook endpoint", id)
		}
		if u.URL != nil {
			e.URL = *u.URL
		}
		if u.Description != nil {
			e.Description = *u.Description
		}
		if u.Events != nil {
			e.Events = *u.Events
		}
		if u.Enabled != nil {
			if *u.Enabled && !e.Enabled {
				e.DisabledReason, e.FailingSince = "", nil
			}
			e.Enabled = *u.Enabled
			if !e.Enabled {
				e.DisabledReason = ""
			}
		}
		if err := e.Validate(true); err != nil {
			return err
		}
		e.UpdatedAt = s.now()
		_, err = s.q(ctx).Exec(ctx, `UPDATE webhook_endpoints SET url = $1, description = $2, events = $3, enabled = $4,
			disabled_reason = $5, failing_since = $6, updated_at = $7 WHERE id = $8`,
			e.URL, e.Description, joinEvents(e.Events), e.Enabled, e.DisabledReason, e.FailingSince, e.UpdatedAt, id)
		if err != nil {
			return fmt.Errorf("update webhook endpoint %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// DeleteWebhookEndpoint implements enroute.WebhookStore.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, id int64) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		// Explicit, rather than trusting ON DELETE CASCADE alone, so the
		// result is the same whatever a connection's foreign key setting.
		if _, err := s.q(ctx).Exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN
			(SELECT id FROM webhook_deliveries WHERE endpoint_id = $1)`, id); err != nil {
			return fmt.Errorf("delete webhook attempts: %w", err)
		}
		if _, err := s.q(ctx).Exec(ctx, "DELETE FROM webhook_deliveries WHERE endpoint_id = $1", id); err != nil {
			return fmt.Errorf("delete webhook deliveries: %w", err)
		}
		return s.deleteRow(ctx, "webhook_endpoints", "Webhook endpoint", id, "")
	})
}

// DisableWebhookEndpoint implements enroute.WebhookStore.
func (s *Store) DisableWebhookEndpoint(ctx context.Context, id int64, reason string) error {
	n, err := s.q(ctx).Exec(ctx, "UPDATE webhook_endpoints SET enabled = $1, disabled_reason = $2, updated_at = $3 WHERE id = $4",
		false, reason, s.now(), id)
	if err != nil {
		return fmt.Errorf("disable webhook endpoint %d: %w", id, err)
	} else if n == 0 {
		return enroute.Errorf(enroute.ENOTFOUND, "Webhook endpoint %d not found.", id)
	}
	return nil
}

// FindWebhookSecrets implements enroute.WebhookStore.
func (s *Store) FindWebhookSecrets(ctx context.Context, id int64) (*enroute.WebhookSecrets, error) {
	var sec enroute.WebhookSecrets
	err := s.q(ctx).QueryRow(ctx, "SELECT secret_sealed, previous_secret_sealed, previous_secret_until FROM webhook_endpoints WHERE id = $1", id).
		Scan(&sec.Current, &sec.Previous, &sec.PreviousUntil)
	if err != nil {
		return nil, notFound(err, "Webhook endpoint", id)
	}
	if sec.PreviousUntil == nil || !sec.PreviousUntil.After(s.now()) {
		sec.Previous, sec.PreviousUntil = nil, nil
	}
	return &sec, nil
}

// RotateWebhookSecret implements enroute.WebhookStore.
func (s *Store) RotateWebhookSecret(ctx context.Context, id int64, sealed []byte, previousUntil time.Time) error {
	if len(sealed) == 0 {
		return enroute.Errorf(enroute.EINVALID, "A webhook endpoint needs a secret.")
	}
	n, err := s.q(ctx).Exec(ctx, `UPDATE webhook_endpoints SET previous_secret_sealed = secret_sealed, previous_secret_until = $1,
		secret_sealed = $2, updated_at = $3 WHERE id = $4`, enroute.Timestamp(previousUntil), sealed, s.now(), id)
	if err != nil {
		return fmt.Errorf("rotate webhook secret %d: %w", id, err)
	} else if n == 0 {
		return enroute.Errorf(enroute.ENOTFOUND, "Webhook endpoint %d not found.", id)
	}
	return nil
}

const webhookDeliveryCols = `id, endpoint_id, event_id, event_type, payload, status, attempts, next_attempt_at, last_error,
	last_status_code, created_at, finished_at`

func scanWebhookDelivery(r scanner) (*enroute.WebhookDelivery, error) {
	var (
		d       enroute.WebhookDelivery
		payload string
	)
	err := r.Scan(&d.ID, &d.EndpointID, &d.EventID, &d.EventType, &payload, &d.Status, &d.Attempts, &d.NextAttemptAt,
		&d.LastError, &d.LastStatusCode, &d.CreatedAt, &d.FinishedAt)
	d.Payload = []byte(payload)
	return &d, err
}

// CreateWebhookEvent implements enroute.WebhookStore.
func (s *Store) CreateWebhookEvent(ctx context.Context, ev *enroute.WebhookEvent, endpointID int64) (int, error) {
	if ev.ID == "" {
		ev.ID = enroute.NewWebhookEventID()
	}
	if ev.CreatedAt.IsZero() {
		ev.CreatedAt = s.now()
	}
	ev.CreatedAt = enroute.Timestamp(ev.CreatedAt)
	if len(ev.Data) == 0 {
		ev.Data = []byte("{}")
	}
	payload, err := ev.MarshalPayload()
	if err != nil {
		return 0, err
	}
	n := 0
	err = s.InTx(ctx, func(ctx context.Context) error {
		var targets []int64
		if endpointID != 0 {
			if ok, err := s.exists(ctx, "webhook_endpoints", endpointID); err != nil {
				return err
			} else if !ok {
				return enroute.Errorf(enroute.ENOTFOUND, "Webhook endpoint %d not found.", endpointID)
			}
			targets = []int64{endpointID}
		} else {
			err := enroute.EachPage(enroute.MaxLimit, func(p enroute.Page) ([]*enroute.WebhookEndpoint, error) {
				return s.FindWebhookEndpoints(ctx, p)
			}, func(e *enroute.WebhookEndpoint) error {
				if e.Wants(ev.Type) {
					targets = append(targets, e.ID)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		now := s.now()
		for _, id := range targets {
			if _, err := s.q(ctx).Exec(ctx, `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload, status,
				next_attempt_at, created_at) VALUES ($1, $2, $3, $4, 'queued', $5, $5)`, id, ev.ID, ev.Type, string(payload), now); err != nil {
				if s.d.ConstraintOf(err) == Unique {
					return enroute.Errorf(enroute.ECONFLICT, "Event %s is queued for endpoint %d already.", ev.ID, id)
				}
				return fmt.Errorf("insert webhook delivery: %w", err)
			}
			n++
		}
		return nil
	})
	return n, err
}

// FindWebhookDeliveries implements enroute.WebhookStore.
func (s *Store) FindWebhookDeliveries(ctx context.Context, f enroute.WebhookDeliveryFilter) ([]*enroute.WebhookDelivery, error) {
	var w where
	if f.EndpointID != nil {
		w.add("endpoint_id = ?", *f.EndpointID)
	}
	if f.EventID != nil {
		w.add("event_id = ?", *f.EventID)
	}
	if f.Status != nil {
		w.add("status = ?", *f.Status)
	}
	q := "SELECT " + webhookDeliveryCols + " FROM webhook_deliveries" + strings.Replace(w.sql(f.Page), "ORDER BY id", "ORDER BY id DESC", 1)
	ds, err := list(ctx, s.q(ctx), q, w.args, scanWebhookDelivery)
	if err != nil || !f.WithAttempts || len(ds) == 0 {
		return ds, err
	}
	var aw where
	ids := make([]int64, len(ds))
	byID := map[int64]*enroute.WebhookDelivery{}
	for i, d := range ds {
		ids[i], byID[d.ID] = d.ID, d
		d.AttemptLog = []*enroute.WebhookAttempt{}
	}
	in(&aw, "delivery_id", ids)
	type row struct {
		delivery int64
		a        *enroute.WebhookAttempt
	}
	// Every attempt of the page's deliveries (at most MaxLimit of them,
	// each with at most its worker's MaxAttempts): no LIMIT of its own.
	rows, err := list(ctx, s.q(ctx), "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts WHERE "+
		strings.Join(aw.conds, " AND ")+" ORDER BY id", aw.args, func(r scanner) (row, error) {
		var x row
		x.a = &enroute.WebhookAttempt{}
		err := r.Scan(&x.delivery, &x.a.At, &x.a.StatusCode, &x.a.Error, &x.a.DurationMS)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	for _, x := range rows {
		d := byID[x.delivery]
		d.AttemptLog = append(d.AttemptLog, x.a)
	}
	return ds, nil
}

// ClaimWebhookDeliveries implements enroute.WebhookStore, as ClaimMessages
// does the outbox: SKIP LOCKED on PostgreSQL, a lease on both.
func (s *Store) ClaimWebhookDeliveries(ctx context.Context, n int, lease time.Duration) ([]*enroute.WebhookDelivery, error) {
	var out []*enroute.WebhookDelivery
	err := s.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		var err error
		out, err = list(ctx, s.q(ctx), `UPDATE webhook_deliveries SET lease_until = $1, attempts = attempts + 1
			WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
				WHERE d.status = 'queued' AND d.next_attempt_at <= $2 AND e.enabled
				AND (d.lease_until IS NULL OR d.lease_until <= $2) ORDER BY d.id LIMIT $3`+strings.Replace(s.d.SkipLocked, "UPDATE", "UPDATE OF d", 1)+`)
			RETURNING `+webhookDeliveryCols, []any{now.Add(lease), now, n}, scanWebhookDelivery)
		return err
	})
	slices.SortFunc(out, func(a, b *enroute.WebhookDelivery) int { return int(a.ID - b.ID) })
	return out, err
}

// CompleteWebhookDelivery implements enroute.WebhookStore.
func (s *Store) CompleteWebhookDelivery(ctx context.Context, id int64, r enroute.WebhookResult) (*enroute.WebhookEndpoint, error) {
	var e *enroute.WebhookEndpoint
	err := s.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		var (
			n   int64
			err error
		)
		a := r.Attempt
		if a.At.IsZero() {
			a.At = now
		}
		switch r.Status {
		case enroute.WebhookQueued:
			n, err = s.q(ctx).Exec(ctx, `UPDATE webhook_deliveries SET last_error = $1, last_status_code = $2, next_attempt_at = $3,
				lease_until = NULL WHERE id = $4 AND status = 'queued'`, a.Error, a.StatusCode, enroute.Timestamp(r.NextAttemptAt), id)
		case enroute.WebhookDelivered, enroute.WebhookFailed:
			n, err = s.q(ctx).Exec(ctx, `UPDATE webhook_deliveries SET status = $1, last_error = $2, last_status_code = $3,
				finished_at = $4, lease_until = NULL WHERE id = $5 AND status = 'queued'`, r.Status, a.Error, a.StatusCode, now, id)
		default:
			return enroute.Errorf(enroute.EINVALID, "A delivery attempt ends delivered, failed or queued, not %q.", r.Status)
		}
		if err != nil {
			return fmt.Errorf("complete webhook delivery %d: %w", id, err)
		} else if n == 0 {
			return enroute.Errorf(enroute.ENOTFOUND, "Queued webhook delivery %d not found.", id)
		}
		if _, err := s.q(ctx).Exec(ctx, `INSERT INTO webhook_attempts (delivery_id, at, status_code, error, duration_ms)
			VALUES ($1, $2, $3, $4, $5)`, id, enroute.Timestamp(a.At), a.StatusCode, a.Error, a.DurationMS); err != nil {
			return fmt.Errorf("insert webhook attempt: %w", err)
		}
		var endpointID int64
		if err := s.q(ctx).QueryRow(ctx, "SELECT endpoint_id FROM webhook_deliveries WHERE id = $1", id).Scan(&endpointID); err != nil {
			return fmt.Errorf("find webhook delivery %d: %w", id, err)
		}
		if r.Status == enroute.WebhookDelivered {
			_, err = s.q(ctx).Exec(ctx, "UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1", endpointID)
		} else {
			_, err = s.q(ctx).Exec(ctx, "UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $1) WHERE id = $2",
				enroute.Timestamp(a.At), endpointID)
		}
		if err != nil {
			return fmt.Errorf("update webhook endpoint %d: %w", endpointID, err)
		}
		e, err = s.FindWebhookEndpointByID(ctx, endpointID)
		if errors.Is(err, ErrNoRows) {
			return enroute.Errorf(enroute.ENOTFOUND, "Webhook endpoint %d not found.", endpointID)
		}
		return err
	})
	return e, err
}

// DeleteWebhookDeliveriesBefore implements enroute.WebhookStore.
func (s *Store) DeleteWebhookDeliveriesBefore(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := s.InTx(ctx, func(ctx context.Context) error {
		t := enroute.Timestamp(t)
		if _, err := s.q(ctx).Exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN
			(SELECT id FROM webhook_deliveries WHERE status <> 'queued' AND finished_at < $1)`, t); err != nil {
			return fmt.Errorf("delete webhook attempts: %w", err)
		}
		var err error
		n, err = s.q(ctx).Exec(ctx, "DELETE FROM webhook_deliveries WHERE status <> 'queued' AND finished_at < $1", t)
		if err != nil {
			return fmt.Errorf("delete webhook deliveries: %w", err)
		}
		return nil
	})
	return n, err
}
