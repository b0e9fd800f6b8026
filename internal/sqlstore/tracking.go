package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

// CreateTrackingLink implements enroute.TrackingStore.
func (s *Store) CreateTrackingLink(ctx context.Context, l *enroute.TrackingLink, tokenHash []byte) error {
	l.CreatedAt = s.now()
	if l.ExpiresAt.IsZero() {
		l.ExpiresAt = l.CreatedAt.Add(enroute.TrackingLinkTTL)
		// A link to a finished visit (the completed message's feedback
		// link, a copy or a resend) lasts as the visit's others do.
		var done *time.Time
		if err := s.q(ctx).QueryRow(ctx, `SELECT done_at FROM assignments WHERE id = $1`, l.AssignmentID).Scan(&done); err != nil && !errors.Is(err, ErrNoRows) {
			return fmt.Errorf("find assignment %d: %w", l.AssignmentID, err)
		}
		if done != nil && done.Add(enroute.FeedbackLinkTTL).After(l.ExpiresAt) {
			l.ExpiresAt = done.Add(enroute.FeedbackLinkTTL)
		}
	}
	l.ExpiresAt = enroute.Timestamp(l.ExpiresAt)
	_, err := s.q(ctx).Exec(ctx, `INSERT INTO tracking_links (token_hash, assignment_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		tokenHash, l.AssignmentID, l.CreatedAt, l.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert tracking link: %w", err)
	}
	return nil
}

// FindTrackingLink implements enroute.TrackingStore.
func (s *Store) FindTrackingLink(ctx context.Context, tokenHash []byte) (*enroute.TrackingLink, error) {
	var l enroute.TrackingLink
	err := s.q(ctx).QueryRow(ctx, `SELECT assignment_id, created_at, expires_at FROM tracking_links WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, s.now()).Scan(&l.AssignmentID, &l.CreatedAt, &l.ExpiresAt)
	if errors.Is(err, ErrNoRows) {
		return nil, enroute.Errorf(enroute.ENOTFOUND, "This tracking link is no longer active.")
	} else if err != nil {
		return nil, fmt.Errorf("find tracking link: %w", err)
	}
	return &l, nil
}

// RecordTrackingOpen implements enroute.TrackingStore.
func (s *Store) RecordTrackingOpen(ctx context.Context, id int64) (*enroute.Assignment, error) {
	var a *enroute.Assignment
	err := s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.q(ctx).Exec(ctx, `UPDATE assignments SET tracking_opens = tracking_opens + 1,
			tracking_opened_at = COALESCE(tracking_opened_at, $2) WHERE id = $1`, id, s.now())
		if err != nil {
			return fmt.Errorf("count a tracking page open: %w", err)
		}
		if n == 0 {
			return enroute.Errorf(enroute.ENOTFOUND, "Assignment %d not found.", id)
		}
		a, err = s.FindAssignmentByID(ctx, id)
		return err
	})
	return a, err
}

// ExtendTrackingLinks implements enroute.TrackingStore.
func (s *Store) ExtendTrackingLinks(ctx context.Context, id int64, until time.Time) error {
	until = enroute.Timestamp(until)
	_, err := s.q(ctx).Exec(ctx, `UPDATE tracking_links SET expires_at = $2 WHERE assignment_id = $1 AND expires_at > $3 AND expires_at < $2`,
		id, until, s.now())
	if err != nil {
		return fmt.Errorf("extend the tracking links of assignment %d: %w", id, err)
	}
	return nil
}

// LockLocation implements enroute.LocationStore.
func (s *Store) LockLocation(ctx context.Context, id int64) error {
	if s.txOf(ctx) == nil {
		return fmt.Errorf("lock location %d: not in a transaction", id)
	}
	// On SQLite the transaction holds the database's only write lock
	// already (BEGIN IMMEDIATE); on PostgreSQL, FOR UPDATE locks the row
	// until the transaction ends.
	var one int
	err := s.q(ctx).QueryRow(ctx, "SELECT 1 FROM locations WHERE id = $1"+s.d.ForUpdate, id).Scan(&one)
	if errors.Is(err, ErrNoRows) {
		return enroute.Errorf(enroute.ENOTFOUND, "Location %d not found.", id)
	} else if err != nil {
		return fmt.Errorf("lock location %d: %w", id, err)
	}
	return nil
}
