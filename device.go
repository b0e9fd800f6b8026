package enroute

import (
	"context"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Device is a technician's phone. The server issues its Identifier (long and
// random: for protocols that send only an id, such as OsmAnd, knowing it is
// the credential) and a secret token shown once and stored hashed.
type Device struct {
	ID           int64  `json:"id"`
	TechnicianID int64  `json:"technician_id"`
	Identifier   string `json:"identifier"`
	Name         string `json:"name"`
	// MQTTIdentity is "user/device" as OwnTracks publishes over MQTT, to
	// owntracks/user/device; "" when the phone does not use MQTT. Not a
	// secret: the broker authenticates phones (see mqttsub).
	MQTTIdentity string     `json:"mqtt_identity"`
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
	if d.MQTTIdentity != "" && !ValidMQTTIdentity(d.MQTTIdentity) {
		v.add("mqtt_identity", "must be user/device as in the OwnTracks topic owntracks/user/device: two names of up to 64 characters, without +, # or spaces")
	}
	return v.err()
}

// maxMQTTLevel is the longest user or device name of an MQTT identity.
const maxMQTTLevel = 64

// ValidMQTTIdentity reports whether s is "user/device": two non-empty MQTT
// topic levels of up to 64 characters, without wildcards (+, #), spaces or
// control characters, as OwnTracks' user and device ids are.
func ValidMQTTIdentity(s string) bool {
	user, device, ok := strings.Cut(s, "/")
	if !ok || !utf8.ValidString(s) {
		return false
	}
	for _, level := range []string{user, device} {
		if level == "" || utf8.RuneCountInString(level) > maxMQTTLevel || strings.ContainsAny(level, "/+#") ||
			strings.IndexFunc(level, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0 {
			return false
		}
	}
	return true
}

// DeviceFilter selects devices; nil fields do not filter.
type DeviceFilter struct {
	TechnicianID *int64
	Identifier   *string
	MQTTIdentity *string
	TokenHash    []byte
	// IncludeRevoked lists revoked devices too.
	IncludeRevoked bool
	Page
}

// DeviceUpdate is a partial update; nil fields are left unchanged.
type DeviceUpdate struct {
	Name         *string
	MQTTIdentity *string // "" removes it
}

// DeviceStore persists devices.
type DeviceStore interface {
	// FindDeviceByID returns ENOTFOUND when there is no such device.
	FindDeviceByID(ctx context.Context, id int64) (*Device, error)
	// FindDevices returns the matching devices ordered by id.
	FindDevices(ctx context.Context, f DeviceFilter) ([]*Device, error)
	// CreateDevice stores d with the hash of its token (see HashSecret).
	// Returns EINVALID, ENOTFOUND for an unknown technician, ECONFLICT for
	// an MQTT identity another active device has.
	CreateDevice(ctx context.Context, d *Device, tokenHash []byte) error
	// UpdateDevice changes an active device's name or MQTT identity.
	// Returns EINVALID, ENOTFOUND, or ECONFLICT for a revoked device or an
	// MQTT identity another active device has.
	UpdateDevice(ctx context.Context, id int64, u DeviceUpdate) (*Device, error)
	// RevokeDevice stops a device from sending. Revoking twice is not an
	// error. Returns ENOTFOUND.
	RevokeDevice(ctx context.Context, id int64) (*Device, error)
	// ReplaceDeviceToken gives an active device a new token (its hash, see
	// HashSecret): the old one stops working. Returns ENOTFOUND, or
	// ECONFLICT for a revoked device.
	ReplaceDeviceToken(ctx context.Context, id int64, tokenHash []byte) (*Device, error)
	// DevicesChangedSince returns the ids of the devices revoked, given a
	// new token or MQTT identity, or deleted with their technician at or
	// after t: what a
	// node must stop trusting from its cache and its open streams.
	DevicesChangedSince(ctx context.Context, t time.Time) ([]int64, error)
}
