package webhook_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/enroutehq/enroute/webhook"
)

func TestSealer(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	s, err := webhook.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	secret := webhook.NewSecret()
	sealed := s.Seal(secret)
	if bytes.Contains(sealed, []byte(secret)) || bytes.Contains(sealed, []byte(strings.TrimPrefix(secret, "whsec_"))) {
		t.Fatal("sealed secret contains the secret")
	}
	if bytes.Equal(sealed, s.Seal(secret)) {
		t.Fatal("two seals of one secret are equal: the nonce is not random")
	}
	got, err := s.Open(sealed)
	if err != nil || got != secret {
		t.Fatalf("Open = %q, %v", got, err)
	}
	other, _ := webhook.NewSealer(bytes.Repeat([]byte{8}, 32))
	if _, err := other.Open(sealed); !errors.Is(err, webhook.ErrWrongKey) {
		t.Fatalf("Open with another key = %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := s.Open(sealed); !errors.Is(err, webhook.ErrWrongKey) {
		t.Fatalf("Open of a tampered secret = %v", err)
	}
	if _, err := webhook.NewSealer(key[:16]); err == nil {
		t.Fatal("NewSealer accepted a 16-byte key")
	}
}

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"std", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=", true},
		{"raw", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc", true},
		{"newline", "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", true},
		{"short", "BwcHBwcHBwcHBwcHBwcHBw==", false},
		{"not base64", "not a key!", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, err := webhook.ParseKey(tc.in)
			if (err == nil) != tc.ok || (tc.ok && len(k) != 32) {
				t.Fatalf("ParseKey = %x, %v", k, err)
			}
		})
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret.key")
	k1, err := webhook.LoadOrCreateKeyFile(path)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create = %x, %v", k1, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v", fi.Mode(), err)
	}
	k2, err := webhook.LoadOrCreateKeyFile(path)
	if err != nil || !bytes.Equal(k1, k2) {
		t.Fatalf("reload = %x, %v, want %x", k2, err, k1)
	}
}
