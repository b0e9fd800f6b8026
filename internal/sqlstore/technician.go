package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

// technicianCols reads an absent external_id (NULL, so that the unique
// index holds only real ones) as "".
const technicianCols = "id, COALESCE(external_id, ''), name, photo_url, rating, active, created_at, updated_at"

func scanTechnician(r scanner) (*enroute.Technician, error) {
	var t enroute.Technician
	err := r.Scan(&t.ID, &t.ExternalID, &t.Name, &t.PhotoURL, &t.Rating, &t.Active, &t.CreatedAt, &t.UpdatedAt)
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
	if f.ExternalID != nil {
		w.add("external_id = ?", *f.ExternalID)
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
	return s.InTx(ctx, func(ctx context.Context) error { return s.insertTechnician(ctx, t) })
}

func (s *Store) insertTechnician(ctx context.Context, t *enroute.Technician) error {
	err := s.q(ctx).QueryRow(ctx, `INSERT INTO technicians (external_id, name, photo_url, rating, active, created_at, updated_at)
		VALUES (NULLIF($1, ''), $2, $3, $4, $5, $6, $7) RETURNING id`,
		t.ExternalID, t.Name, t.PhotoURL, t.Rating, t.Active, t.CreatedAt, t.UpdatedAt).Scan(&t.ID)
	if err != nil {
		return s.externalIDTaken(fmt.Errorf("insert technician: %w", err), "technician", t.ExternalID)
	}
	return nil
}

func (s *Store) updateTechnician(ctx context.Context, t *enroute.Technician) error {
	_, err := s.q(ctx).Exec(ctx, `UPDATE technicians SET external_id = NULLIF($1, ''), name = $2, photo_url = $3, rating = $4, active = $5, updated_at = $6 WHERE id = $7`,
		t.ExternalID, t.Name, t.PhotoURL, t.Rating, t.Active, t.UpdatedAt, t.ID)
	if err != nil {
		return s.externalIDTaken(fmt.Errorf("update technician %d: %w", t.ID, err), "technician", t.ExternalID)
	}
	return nil
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
		return s.updateTechnician(ctx, t)
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

// ImportTechnicians implements enroute.TechnicianStore.
func (s *Store) ImportTechnicians(ctx context.Context, rows []enroute.TechnicianUpdate) (*enroute.ImportResult, error) {
	return importRows(ctx, s, importer[*enroute.Technician, enroute.TechnicianUpdate]{
		table: "technicians", cols: technicianCols, scan: scanTechnician,
		key:    func(t *enroute.Technician) string { return t.ExternalID },
		rowKey: func(u enroute.TechnicianUpdate) *string { return u.ExternalID },
		fresh:  func() *enroute.Technician { return &enroute.Technician{Active: true} },
		apply: func(u enroute.TechnicianUpdate, t *enroute.Technician) *enroute.Technician {
			cp := *t
			u.Apply(&cp)
			return &cp
		},
		same: func(a, b *enroute.Technician) bool {
			return a.Name == b.Name && a.PhotoURL == b.PhotoURL && a.Rating == b.Rating && a.Active == b.Active
		},
		validate: (*enroute.Technician).Validate,
		stamp: func(t *enroute.Technician, created, updated time.Time, id int64) {
			if id != 0 {
				t.ID = id
			} else {
				t.CreatedAt = created
			}
			t.UpdatedAt = updated
		},
		id:     func(t *enroute.Technician) int64 { return t.ID },
		insert: s.insertTechnician,
		update: s.updateTechnician,
	}, rows)
}
