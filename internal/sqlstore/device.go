package sqlstore

import (
	"context"
	"fmt"
	"time"

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
	if !f.IncludeRevoked {
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
		now := s.now()
		n, err := s.q(ctx).Exec(ctx, "UPDATE devices SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL", now, id)
		if err != nil {
			return fmt.Errorf("revoke device: %w", err)
		}
		if n > 0 {
			if err := s.deviceChanged(ctx, id, now); err != nil {
				return err
			}
		}
		d, err = s.FindDeviceByID(ctx, id)
		return err
	})
	return d, err
}

// ReplaceDeviceToken implements enroute.DeviceStore.
func (s *Store) ReplaceDeviceToken(ctx context.Context, id int64, tokenHash []byte) (*enroute.Device, error) {
	if len(tokenHash) != 32 {
		return nil, enroute.Errorf(enroute.EINVALID, "Device token hash must be 32 bytes.")
	}
	var d *enroute.Device
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if d, err = s.FindDeviceByID(ctx, id); err != nil {
			return err
		} else if d.Revoked() {
			return enroute.Errorf(enroute.ECONFLICT, "Device %d is revoked; register a new one.", id)
		}
		now := s.now()
		if _, err := s.q(ctx).Exec(ctx, "UPDATE devices SET token_hash = $1 WHERE id = $2", tokenHash, id); err != nil {
			return fmt.Errorf("replace device token: %w", err)
		}
		d.TokenHash = tokenHash
		return s.deviceChanged(ctx, id, now)
	})
	return d, err
}

// DevicesChangedSince implements enroute.DeviceStore.
func (s *Store) DevicesChangedSince(ctx context.Context, t time.Time) ([]int64, error) {
	rows, err := s.q(ctx).Query(ctx, "SELECT DISTINCT device_id FROM device_changes WHERE changed_at >= $1", enroute.Timestamp(t))
	if err != nil {
		return nil, fmt.Errorf("find changed devices: %w", err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("scan changed device: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// deviceChanged records that device id changed at t, for the other nodes.
func (s *Store) deviceChanged(ctx context.Context, id int64, t time.Time) error {
	if _, err := s.q(ctx).Exec(ctx, "INSERT INTO device_changes (device_id, changed_at) VALUES ($1, $2)", id, t); err != nil {
		return fmt.Errorf("record device change: %w", err)
	}
	return nil
}
