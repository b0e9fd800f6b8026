package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const locationCols = "id, customer_id, address, lat, lng, verified, created_at, updated_at"

func scanLocation(r scanner) (*enroute.Location, error) {
	var l enroute.Location
	err := r.Scan(&l.ID, &l.CustomerID, &l.Address, &l.Lat, &l.Lng, &l.Verified, &l.CreatedAt, &l.UpdatedAt)
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
	return list(ctx, s.q(ctx), "SELECT "+locationCols+" FROM locations"+w.sql(f.Page), w.args, scanLocation)
}

// CreateLocation implements enroute.LocationStore.
func (s *Store) CreateLocation(ctx context.Context, l *enroute.Location) error {
	if err := l.Validate(); err != nil {
		return err
	}
	l.CreatedAt = s.now()
	l.UpdatedAt = l.CreatedAt
	return s.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.exists(ctx, "customers", l.CustomerID); err != nil {
			return err
		} else if !ok {
			return enroute.FieldErrors(map[string]string{"customer_id": "does not exist"})
		}
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO locations (customer_id, address, lat, lng, verified, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			l.CustomerID, l.Address, l.Lat, l.Lng, l.Verified, l.CreatedAt, l.UpdatedAt).Scan(&l.ID)
		if err != nil {
			return fmt.Errorf("insert location: %w", err)
		}
		return nil
	})
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
		upd.Apply(l)
		if err := l.Validate(); err != nil {
			return err
		}
		l.UpdatedAt = s.now()
		_, err = s.q(ctx).Exec(ctx, `UPDATE locations SET address = $1, lat = $2, lng = $3, verified = $4, updated_at = $5 WHERE id = $6`,
			l.Address, l.Lat, l.Lng, l.Verified, l.UpdatedAt, id)
		return err
	})
	return l, err
}

// DeleteLocation implements enroute.LocationStore.
func (s *Store) DeleteLocation(ctx context.Context, id int64) error {
	return s.deleteRow(ctx, "locations", "Location", id, "Jobs refer to this location; delete them first.")
}
