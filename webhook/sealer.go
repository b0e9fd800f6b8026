package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/enroutehq/enroute"
)

// KeySize is the size of the server key that seals signing secrets
// (AES-256).
const KeySize = 32

// Sealer encrypts endpoints' signing secrets for the store and opens them
// for signing: AES-256-GCM under the server's key, a random nonce per
// secret. Secrets must be usable for signing, so they cannot be hashed as
// API keys are; sealing is the next best thing. The raw secret never
// reaches the database, so a leaked dump or backup cannot forge
// deliveries; the key lives outside the database (ENROUTE_SECRET_KEY, or a
// 0600 file beside an embedded store).
//
// A Sealer is safe for concurrent use.
type Sealer struct{ aead cipher.AEAD }

// NewSealer returns a Sealer for a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("the secret key must be %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// sealVersion prefixes sealed secrets, so the format can change later.
const sealVersion = 1

// Seal encrypts secret.
func (s *Sealer) Seal(secret string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+).
	out := append([]byte{sealVersion}, nonce...)
	return s.aead.Seal(out, nonce, []byte(secret), nil)
}

// ErrWrongKey is returned by Open when a secret was sealed under another
// key (ENROUTE_SECRET_KEY changed) or was tampered with.
var ErrWrongKey = errors.New("the webhook secret cannot be opened with this server's secret key (was ENROUTE_SECRET_KEY changed?)")

// Open decrypts what Seal returned.
func (s *Sealer) Open(sealed []byte) (string, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n || sealed[0] != sealVersion {
		return "", ErrWrongKey
	}
	b, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], nil)
	if err != nil {
		return "", ErrWrongKey
	}
	return string(b), nil
}

// ParseKey decodes a key given as base64 (standard or URL alphabet, padded
// or not), as ENROUTE_SECRET_KEY holds it.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("the secret key must be %d bytes, base64-encoded; it is %d bytes", KeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("the secret key must be %d bytes, base64-encoded (openssl rand -base64 32)", KeySize)
}

// LoadOrCreateKeyFile reads the key in path, or, when there is no such
// file, makes a random one and writes it there, readable by the owner only.
// It is for the embedded store, whose data directory is one node's.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return ParseKey(string(b))
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read the secret key: %w", err)
	}
	key := make([]byte, KeySize)
	_, _ = rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) { // Another process made it first.
		return LoadOrCreateKeyFile(path)
	} else if err != nil {
		return nil, fmt.Errorf("create the secret key file: %w", err)
	}
	if _, err := f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n"); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the secret key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write the secret key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write the secret key file: %w", err)
	}
	return key, nil
}

// SecretPrefix starts every signing secret, as the Standard Webhooks
// specification has it.
const SecretPrefix = "whsec_"

// NewSecret returns a new signing secret: "whsec_" and the standard base64
// of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey returns the HMAC key of a secret: its base64 part, decoded.
func secretKey(secret string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(b) < 24 || len(b) > 64 {
		return nil, enroute.Errorf(enroute.EINVALID, "A webhook secret is %q and the base64 of 24 to 64 bytes.", SecretPrefix)
	}
	return b, nil
}
