package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

const locationCols = `id, COALESCE(external_id, ''), customer_id, address, lat, lng, verified, verification_status, verification_source,
	verification_reason, verification_match, checked_at, geocode_at, geocode_attempts, created_at, updated_at`

func scanLocation(r scanner) (*enroute.Location, error) {
	var l enroute.Location
	v := &l.Verification
	err := r.Scan(&l.ID, &l.ExternalID, &l.CustomerID, &l.Address, &l.Lat, &l.Lng, &l.Verified, &v.Status, &v.Source,
		&v.Reason, &v.Match, &v.CheckedAt, &v.NextAttemptAt, &v.Attempts, &l.CreatedAt, &l.UpdatedAt)
	return &l, err
}

// FindLocationByID implements enroute.LocationStore.
func (s *Store) FindLocationByID(ctx context.Context, id int64) (*enroute.Location, error) {
	l, err := scanLocation(s.q(ctx).QueryRow(ctx, "SELECT "+locationCols+" FROM locations WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Location", id)
	}
	return l, nil
}

// FindLocations implements enroute.LocationStore.
func (s *Store) FindLocations(ctx context.Context, f enroute.LocationFilter) ([]*enroute.Location, error) {
	var w where
	if f.CustomerID != nil {
		w.add("customer_id = ?", *f.CustomerID)
	}
	if f.ExternalID != nil {
		w.add("external_id = ?", *f.ExternalID)
	}
	return list(ctx, s.q(ctx), "SELECT "+locationCols+" FROM locations"+w.sql(f.Page), w.args, scanLocation)
}

// CreateLocation implements enroute.LocationStore.
func (s *Store) CreateLocation(ctx context.Context, l *enroute.Location) error {
	l.CreatedAt = s.now()
	l.UpdatedAt = l.CreatedAt
	l.InitVerification(l.CreatedAt)
	if err := l.Validate(); err != nil {
		return err
	}
	return s.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.exists(ctx, "customers", l.CustomerID); err != nil {
			return err
		} else if !ok {
			return enroute.FieldErrors(map[string]string{"customer_id": "does not exist"})
		}
		v := &l.Verification
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO locations (customer_id, address, lat, lng, verified, verification_status,
			verification_source, verification_reason, verification_match, checked_at, geocode_at, geocode_attempts, created_at, updated_at, external_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULLIF($15, '')) RETURNING id`,
			l.CustomerID, l.Address, l.Lat, l.Lng, l.Verified, v.Status, v.Source, v.Reason, v.Match, v.CheckedAt,
			v.NextAttemptAt, v.Attempts, l.CreatedAt, l.UpdatedAt, l.ExternalID).Scan(&l.ID)
		if err != nil {
			return s.externalIDTaken(fmt.Errorf("insert location: %w", err), "location", l.ExternalID)
		}
		return nil
	})
}

// saveLocation writes every changeable column of l and releases any claim
// on its geocoding. In a transaction, after reading l for update.
func (s *Store) saveLocation(ctx context.Context, l *enroute.Location) error {
	v := &l.Verification
	_, err := s.q(ctx).Exec(ctx, `UPDATE locations SET address = $1, lat = $2, lng = $3, verified = $4,
		verification_status = $5, verification_source = $6, verification_reason = $7, verification_match = $8,
		checked_at = $9, geocode_at = $10, geocode_attempts = $11, geocode_lease_until = NULL, updated_at = $12,
		external_id = NULLIF($14, '') WHERE id = $13`,
		l.Address, l.Lat, l.Lng, l.Verified, v.Status, v.Source, v.Reason, v.Match, v.CheckedAt, v.NextAttemptAt, v.Attempts,
		l.UpdatedAt, l.ID, l.ExternalID)
	if err != nil {
		return s.externalIDTaken(fmt.Errorf("update location %d: %w", l.ID, err), "location", l.ExternalID)
	}
	return nil
}

// UpdateLocation implements enroute.LocationStore.
func (s *Store) UpdateLocation(ctx context.Context, id int64, upd enroute.LocationUpdate) (*enroute.Location, error) {
	var l *enroute.Location
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		l, err = scanLocation(s.q(ctx).QueryRow(ctx, "SELECT "+locationCols+" FROM locations WHERE id = $1"+s.d.ForUpdate, id))
		if err != nil {
			return notFound(err, "Location", id)
		}
		l.UpdatedAt = s.now()
		upd.Apply(l, l.UpdatedAt)
		if err := l.Validate(); err != nil {
			return err
		}
		return s.saveLocation(ctx, l)
	})
	return l, err
}

// ClaimGeocoding implements enroute.LocationStore, as ClaimMessages does
// for the outbox: SKIP LOCKED on PostgreSQL, and a lease.
func (s *Store) ClaimGeocoding(ctx context.Context, n int, lease time.Duration) ([]*enroute.Location, error) {
	var out []*enroute.Location
	err := s.InTx(ctx, func(ctx context.Context) error {
		now := s.now()
		var err error
		out, err = list(ctx, s.q(ctx), `UPDATE locations SET geocode_lease_until = $1, geocode_attempts = geocode_attempts + 1
			WHERE id IN (SELECT id FROM locations WHERE verification_status = 'pending' AND geocode_at <= $2
				AND (geocode_lease_until IS NULL OR geocode_lease_until <= $2) ORDER BY geocode_at, id LIMIT $3`+s.d.SkipLocked+`)
			RETURNING `+locationCols, []any{now.Add(lease), now, n}, scanLocation)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim locations to geocode: %w", err)
	}
	return out, nil
}

// RecordGeocode implements enroute.LocationStore.
func (s *Store) RecordGeocode(ctx context.Context, id int64, address string, r enroute.GeocodeResult) (*enroute.Location, error) {
	var l *enroute.Location
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		l, err = scanLocation(s.q(ctx).QueryRow(ctx, "SELECT "+locationCols+" FROM locations WHERE id = $1"+s.d.ForUpdate, id))
		if errors.Is(err, ErrNoRows) {
			return notFound(err, "Location", id)
		} else if err != nil {
			return fmt.Errorf("read location %d: %w", id, err)
		}
		if l.Verification.Status != enroute.VerificationPending || l.Address != address {
			return enroute.Errorf(enroute.ECONFLICT, "Location %d changed while its address was geocoded.", id)
		}
		l.UpdatedAt = s.now()
		r.Apply(l, l.UpdatedAt)
		if err := l.Validate(); err != nil {
			return err
		}
		return s.saveLocation(ctx, l)
	})
	return l, err
}

// DeleteLocation implements enroute.LocationStore.
func (s *Store) DeleteLocation(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "locations", "Location", id, "Jobs refer to this location; delete them first.")
}
