package sqlstore

import (
	"context"
	"fmt"

	"github.com/enroutehq/enroute"
)

const deviceCols = "id, technician_id, identifier, name, created_at, revoked_at, token_hash"

func scanDevice(r scanner) (*enroute.Device, error) {
	var d enroute.Device
	err := r.Scan(&d.ID, &d.TechnicianID, &d.Identifier, &d.Name, &d.CreatedAt, &d.RevokedAt, &d.TokenHash)
	return &d, err
}

// FindDeviceByID implements enroute.DeviceStore.
func (s *Store) FindDeviceByID(ctx context.Context, id int64) (*enroute.Device, error) {
	d, err := scanDevice(s.q(ctx).QueryRow(ctx, "SELECT "+deviceCols+" FROM devices WHERE id = $1", id))
	if err != nil {
		return nil, notFound(err, "Device", id)
	}
	return d, nil
}

// FindDevices implements enroute.DeviceStore.
func (s *Store) FindDevices(ctx context.Context, f enroute.DeviceFilter) ([]*enroute.Device, error) {
	var w where
	if f.TechnicianID != nil {
		w.add("technician_id = ?", *f.TechnicianID)
	}
	if f.Identifier != nil {
		w.add("identifier = ?", *f.Identifier)
	}
	if f.TokenHash != nil {
		w.add("token_hash = ?", f.TokenHash)
	}
	switch {
	case f.RevokedSince != nil:
		w.add("revoked_at >= ?", enroute.Timestamp(*f.RevokedSince))
	case !f.IncludeRevoked:
		w.conds = append(w.conds, "revoked_at IS NULL")
	}
	return list(ctx, s.q(ctx), "SELECT "+deviceCols+" FROM devices"+w.sql(f.Page), w.args, scanDevice)
}

// CreateDevice implements enroute.DeviceStore.
func (s *Store) CreateDevice(ctx context.Context, d *enroute.Device, tokenHash []byte) error {
	if err := d.Validate(); err != nil {
		return err
	}
	if len(tokenHash) != 32 {
		return enroute.Errorf(enroute.EINVALID, "Device token hash must be 32 bytes.")
	}
	d.CreatedAt, d.RevokedAt, d.TokenHash = s.now(), nil, tokenHash
	return s.InTx(ctx, func(ctx context.Context) error {
		if ok, err := s.exists(ctx, "technicians", d.TechnicianID); err != nil {
			return err
		} else if !ok {
			return enroute.Errorf(enroute.ENOTFOUND, "Technician %d not found.", d.TechnicianID)
		}
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO devices (technician_id, identifier, token_hash, name, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			d.TechnicianID, d.Identifier, tokenHash, d.Name, d.CreatedAt).Scan(&d.ID)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "Device identifier is taken.")
		} else if err != nil {
			return fmt.Errorf("insert device: %w", err)
		}
		return nil
	})
}

// RevokeDevice implements enroute.DeviceStore.
func (s *Store) RevokeDevice(ctx context.Context, id int64) (*enroute.Device, error) {
	var d *enroute.Device
	err := s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.q(ctx).Exec(ctx, "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", s.now(), id); err != nil {
			return fmt.Errorf("revoke device: %w", err)
		}
		var err error
		d, err = s.FindDeviceByID(ctx, id)
		return err
	})
	return d, err
}
