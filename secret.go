package enroute

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// NewSecret returns a random URL-safe string carrying n bytes (8n bits) of
// entropy from crypto/rand, behind prefix.
func NewSecret(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashSecret returns the SHA-256 of a server-issued secret. The secrets are
// 256-bit random values, so a fast hash is enough to make a stolen database
// useless without slowing down per-request authentication.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// Secret prefixes, so a leaked secret can be recognised by scanners.
const (
	APIKeyPrefix      = "enr_"
	DeviceTokenPrefix = "end_"
	DeviceIDPrefix    = "dev_"
)

// NewAPIKeySecret returns a new API key (256 bits).
func NewAPIKeySecret() string { return NewSecret(APIKeyPrefix, 32) }

// NewDeviceToken returns a new device token (256 bits).
func NewDeviceToken() string { return NewSecret(DeviceTokenPrefix, 32) }

// NewDeviceIdentifier returns a new device identifier (160 bits). It is
// shorter than a token so it can be typed into a phone app's settings.
func NewDeviceIdentifier() string { return NewSecret(DeviceIDPrefix, 20) }
