package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

const deviceCols = "id, technician_id, identifier, name, mqtt_identity, created_at, revoked_at, token_hash"

func scanDevice(r scanner) (*enroute.Device, error) {
	var d enroute.Device
	err := r.Scan(&d.ID, &d.TechnicianID, &d.Identifier, &d.Name, &d.MQTTIdentity, &d.CreatedAt, &d.RevokedAt, &d.TokenHash)
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
	if f.MQTTIdentity != nil {
		w.add("mqtt_identity = ?", *f.MQTTIdentity)
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
		if err := s.mqttIdentityFree(ctx, d.MQTTIdentity, 0); err != nil {
			return err
		}
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO devices (technician_id, identifier, token_hash, name, mqtt_identity, created_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			d.TechnicianID, d.Identifier, tokenHash, d.Name, d.MQTTIdentity, d.CreatedAt).Scan(&d.ID)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "Device identifier or MQTT identity is taken.")
		} else if err != nil {
			return fmt.Errorf("insert device: %w", err)
		}
		if d.MQTTIdentity != "" {
			// A change: every node's cache forgets that this identity
			// was unknown (a phone may publish before it is registered).
			return s.deviceChanged(ctx, d.ID, d.CreatedAt)
		}
		return nil
	})
}

// mqttIdentityFree returns ECONFLICT when an active device other than
// except has the MQTT identity (none: nil). The unique index on active
// devices' identities is the guard against a race; this names the field.
func (s *Store) mqttIdentityFree(ctx context.Context, identity string, except int64) error {
	if identity == "" {
		return nil
	}
	var id int64
	err := s.q(ctx).QueryRow(ctx, "SELECT id FROM devices WHERE mqtt_identity = $1 AND revoked_at IS NULL AND id <> $2", identity, except).Scan(&id)
	if err == nil {
		return &enroute.Error{Code: enroute.ECONFLICT, Message: fmt.Sprintf("Device %d already has this MQTT identity.", id),
			Fields: map[string]string{"mqtt_identity": "is another device's"}}
	} else if !errors.Is(err, ErrNoRows) {
		return fmt.Errorf("find device by MQTT identity: %w", err)
	}
	return nil
}

// UpdateDevice implements enroute.DeviceStore. A new MQTT identity is
// recorded as a change, so that every node forgets the old one.
func (s *Store) UpdateDevice(ctx context.Context, id int64, u enroute.DeviceUpdate) (*enroute.Device, error) {
	var d *enroute.Device
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		if d, err = scanDevice(s.q(ctx).QueryRow(ctx, "SELECT "+deviceCols+" FROM devices WHERE id = $1"+s.d.ForUpdate, id)); err != nil {
			return notFound(err, "Device", id)
		} else if d.Revoked() {
			return enroute.Errorf(enroute.ECONFLICT, "Device %d is revoked; register a new one.", id)
		}
		old := d.MQTTIdentity
		if u.Name != nil {
			d.Name = *u.Name
		}
		if u.MQTTIdentity != nil {
			d.MQTTIdentity = *u.MQTTIdentity
		}
		if err := d.Validate(); err != nil {
			return err
		}
		if err := s.mqttIdentityFree(ctx, d.MQTTIdentity, id); err != nil {
			return err
		}
		_, err = s.q(ctx).Exec(ctx, "UPDATE devices SET name = $1, mqtt_identity = $2 WHERE id = $3", d.Name, d.MQTTIdentity, id)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "The MQTT identity is taken.")
		} else if err != nil {
			return fmt.Errorf("update device: %w", err)
		}
		if d.MQTTIdentity != old {
			return s.deviceChanged(ctx, id, s.now())
		}
		return nil
	})
	return d, err
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
