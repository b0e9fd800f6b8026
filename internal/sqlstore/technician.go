package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const technicianCols = "id, name, photo_url, rating, active, created_at, updated_at"

func scanTechnician(r scanner) (*enroute.Technician, error) {
	var t enroute.Technician
	err := r.Scan(&t.ID, &t.Name, &t.PhotoURL, &t.Rating, &t.Active, &t.CreatedAt, &t.UpdatedAt)
	return &t, err
}

// FindTechnicianByID implements enroute.TechnicianStore.
func (s *Store) FindTechnicianByID(ctx context.Context, id int64) (*enroute.Technician, error) {
	t, err := scanTechnician(s.q(ctx).QueryRow(ctx, "SELECT "+technicianCols+" FROM technicians WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Technician", id)
	}
	return t, nil
}

// FindTechnicians implements enroute.TechnicianStore.
func (s *Store) FindTechnicians(ctx context.Context, f enroute.TechnicianFilter) ([]*enroute.Technician, error) {
	var w where
	if f.ID != nil {
		w.add("id = ?", *f.ID)
	}
	if f.Active != nil {
		w.add("active = ?", *f.Active)
	}
	return list(ctx, s.q(ctx), "SELECT "+technicianCols+" FROM technicians"+w.sql(f.Page), w.args, scanTechnician)
}

// CreateTechnician implements enroute.TechnicianStore.
func (s *Store) CreateTechnician(ctx context.Context, t *enroute.Technician) error {
	if err := t.Validate(); err != nil {
		return err
	}
	t.CreatedAt = s.now()
	t.UpdatedAt = t.CreatedAt
	return s.InTx(ctx, func(ctx context.Context) error {
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO technicians (name, photo_url, rating, active, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			t.Name, t.PhotoURL, t.Rating, t.Active, t.CreatedAt, t.UpdatedAt).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("insert technician: %w", err)
		}
		return nil
	})
}

// UpdateTechnician implements enroute.TechnicianStore.
func (s *Store) UpdateTechnician(ctx context.Context, id int64, upd enroute.TechnicianUpdate) (*enroute.Technician, error) {
	var t *enroute.Technician
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if t, err = s.findTechnicianForUpdate(ctx, id); err != nil {
			return err
		}
		upd.Apply(t)
		if err := t.Validate(); err != nil {
			return err
		}
		t.UpdatedAt = s.now()
		_, err = s.q(ctx).Exec(ctx, `UPDATE technicians SET name = $1, photo_url = $2, rating = $3, active = $4, updated_at = $5 WHERE id = $6`,
			t.Name, t.PhotoURL, t.Rating, t.Active, t.UpdatedAt, id)
		return err
	})
	return t, err
}

func (s *Store) findTechnicianForUpdate(ctx context.Context, id int64) (*enroute.Technician, error) {
	t, err := scanTechnician(s.q(ctx).QueryRow(ctx, "SELECT "+technicianCols+" FROM technicians WHERE id = $1"+s.d.ForUpdate, id))
	if err != nil {
		return nil, notFound(err, "Technician", id)
	}
	return t, nil
}

// DeleteTechnician implements enroute.TechnicianStore.
// Its devices go with it, recorded as changed so that every node closes
// their streams.
func (s *Store) DeleteTechnician(ctx context.Context, id int64) error {
	return s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.q(ctx).Exec(ctx, `INSERT INTO device_changes (device_id, changed_at)
			SELECT id, $1 FROM devices WHERE technician_id = $2`, s.now(), id); err != nil {
			return fmt.Errorf("record device changes: %w", err)
		}
		return s.deleteRow(ctx, "technicians", "Technician", id,
			"The technician has assignments; deactivate them instead (PATCH active=false) to keep the history.")
	})
}
