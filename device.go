package enroute

import (
	"context"
	"time"
)

// Device is a technician's phone. The server issues its Identifier (long and
// random: for protocols that send only an id, such as OsmAnd, knowing it is
// the credential) and a secret token shown once and stored hashed.
type Device struct {
	ID           int64      `json:"id"`
	TechnicianID int64      `json:"technician_id"`
	Identifier   string     `json:"identifier"`
	Name         string     `json:"name"`
	CreatedAt    time.Time  `json:"created_at"`
	RevokedAt    *time.Time `json:"revoked_at"`
	// TokenHash is the hash of the device's token (never the token), as
	// stores read it: what lets a node know its devices before they send.
	TokenHash []byte `json:"-"`
}

// Revoked reports whether the device may no longer send positions.
func (d *Device) Revoked() bool { return d.RevokedAt != nil }

// Validate returns an EINVALID error naming every invalid field.
func (d *Device) Validate() error {
	v := validator{}
	v.id("technician_id", d.TechnicianID)
	v.text("name", d.Name, false, maxNameLen)
	if len(d.Identifier) < 20 {
		v.add("identifier", "must be at least 20 characters")
	}
	return v.err()
}

// DeviceFilter selects devices; nil fields do not filter.
type DeviceFilter struct {
	TechnicianID *int64
	Identifier   *string
	TokenHash    []byte
	// IncludeRevoked lists revoked devices too.
	IncludeRevoked bool
	Page
}

// DeviceStore persists devices.
type DeviceStore interface {
	// FindDeviceByID returns ENOTFOUND when there is no such device.
	FindDeviceByID(ctx context.Context, id int64) (*Device, error)
	// FindDevices returns the matching devices ordered by id.
	FindDevices(ctx context.Context, f DeviceFilter) ([]*Device, error)
	// CreateDevice stores d with the hash of its token (see HashSecret).
	// Returns EINVALID, ENOTFOUND for an unknown technician.
	CreateDevice(ctx context.Context, d *Device, tokenHash []byte) error
	// RevokeDevice stops a device from sending. Revoking twice is not an
	// error. Returns ENOTFOUND.
	RevokeDevice(ctx context.Context, id int64) (*Device, error)
	// ReplaceDeviceToken gives an active device a new token (its hash, see
	// HashSecret): the old one stops working. Returns ENOTFOUND, or
	// ECONFLICT for a revoked device.
	ReplaceDeviceToken(ctx context.Context, id int64, tokenHash []byte) (*Device, error)
	// DevicesChangedSince returns the ids of the devices revoked, given a
	// new token, or deleted with their technician at or after t: what a
	// node must stop trusting from its cache and its open streams.
	DevicesChangedSince(ctx context.Context, t time.Time) ([]int64, error)
}
