package enroute

import (
	"context"
	"time"
)

// Role is what an API key may do.
type Role string

// Roles: an admin may do everything; a dispatcher manages customers,
// locations, jobs and assignments and watches the live view, but not
// technicians, devices, settings or keys.
const (
	RoleAdmin      Role = "admin"
	RoleDispatcher Role = "dispatcher"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAdmin || r == RoleDispatcher }

// APIKey authenticates people and scripts on the REST API. The key itself
// is shown once at creation; only its hash is stored. Prefix is its first
// characters, kept so people can tell their keys apart.
type APIKey struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Role      Role       `json:"role"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
}

// Validate returns an EINVALID error naming every invalid field.
func (k *APIKey) Validate() error {
	v := validator{}
	v.text("name", k.Name, true, maxNameLen)
	if !k.Role.Valid() {
		v.add("role", "must be admin or dispatcher")
	}
	return v.err()
}

// APIKeyFilter selects keys; nil fields do not filter.
type APIKeyFilter struct {
	KeyHash        []byte
	Role           *Role
	IncludeRevoked bool
	// RevokedSince, when set, selects the keys revoked at or after it (so
	// it implies IncludeRevoked): what nodes caching keys must forget.
	RevokedSince time.Time
	Page
}

// APIKeyStore persists API keys.
type APIKeyStore interface {
	// FindAPIKeys returns the matching keys ordered by id.
	FindAPIKeys(ctx context.Context, f APIKeyFilter) ([]*APIKey, error)
	// CreateAPIKey stores k with the hash of its secret. Returns EINVALID,
	// or ECONFLICT when the hash is taken.
	CreateAPIKey(ctx context.Context, k *APIKey, keyHash []byte) error
	// RevokeAPIKey returns ENOTFOUND, or ECONFLICT when k is the last
	// active admin key (revoking it would lock every administrator out).
	RevokeAPIKey(ctx context.Context, id int64) (*APIKey, error)
}

// SessionTTL is how long a browser session lasts.
const SessionTTL = 12 * time.Hour

// SessionStore keeps browser sessions: a login with an API key gives a
// random session token (only its hash is stored) in a cookie.
type SessionStore interface {
	// CreateSession starts a session for an API key.
	CreateSession(ctx context.Context, apiKeyID int64, tokenHash []byte, expires time.Time) error
	// FindSessionKey returns the active API key of a live session. Returns
	// EUNAUTHORIZED for an unknown or expired session or a revoked key.
	FindSessionKey(ctx context.Context, tokenHash []byte) (*APIKey, error)
	// DeleteSession ends a session (logging out twice is not an error).
	DeleteSession(ctx context.Context, tokenHash []byte) error
}
