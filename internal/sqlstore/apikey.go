package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

const apiKeyCols = "id, name, role, prefix, created_at, revoked_at"

func scanAPIKey(r scanner) (*enroute.APIKey, error) {
	var k enroute.APIKey
	err := r.Scan(&k.ID, &k.Name, &k.Role, &k.Prefix, &k.CreatedAt, &k.RevokedAt)
	return &k, err
}

// FindAPIKeys implements enroute.APIKeyStore.
func (s *Store) FindAPIKeys(ctx context.Context, f enroute.APIKeyFilter) ([]*enroute.APIKey, error) {
	var w where
	if f.KeyHash != nil {
		w.add("key_hash = ?", f.KeyHash)
	}
	if f.Role != nil {
		w.add("role = ?", *f.Role)
	}
	if !f.RevokedSince.IsZero() {
		w.add("revoked_at >= ?", enroute.Timestamp(f.RevokedSince))
	} else if !f.IncludeRevoked {
		w.conds = append(w.conds, "revoked_at IS NULL")
	}
	return list(ctx, s.q(ctx), "SELECT "+apiKeyCols+" FROM api_keys"+w.sql(f.Page), w.args, scanAPIKey)
}

// CreateAPIKey implements enroute.APIKeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *enroute.APIKey, keyHash []byte) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if len(keyHash) != 32 {
		return enroute.Errorf(enroute.EINVALID, "API key hash must be 32 bytes.")
	}
	k.CreatedAt, k.RevokedAt = s.now(), nil
	return s.InTx(ctx, func(ctx context.Context) error {
		err := s.q(ctx).QueryRow(ctx, `INSERT INTO api_keys (name, role, prefix, key_hash, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, k.Name, k.Role, k.Prefix, keyHash, k.CreatedAt).Scan(&k.ID)
		if s.d.ConstraintOf(err) == Unique {
			return enroute.Errorf(enroute.ECONFLICT, "This API key exists already.")
		} else if err != nil {
			return fmt.Errorf("insert api key: %w", err)
		}
		return nil
	})
}

// RevokeAPIKey implements enroute.APIKeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) (*enroute.APIKey, error) {
	var k *enroute.APIKey
	err := s.InTx(ctx, func(ctx context.Context) error {
		var err error
		k, err = scanAPIKey(s.q(ctx).QueryRow(ctx, "SELECT "+apiKeyCols+" FROM api_keys WHERE id = $1"+s.d.ForUpdate, id))
		if err != nil {
			return notFound(err, "API key", id)
		} else if k.RevokedAt != nil {
			return nil
		}
		if k.Role == enroute.RoleAdmin {
			// Lock the admin keys so two concurrent revocations cannot
			// both see the other key as the one that remains.
			var admins int
			if _, err := s.q(ctx).Exec(ctx, "SELECT id FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL"+s.d.ForUpdate); err != nil {
				return err
			}
			if err := s.q(ctx).QueryRow(ctx, "SELECT count(*) FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL").Scan(&admins); err != nil {
				return err
			}
			if admins <= 1 {
				return enroute.Errorf(enroute.ECONFLICT, "This is the last admin key; create another admin key before revoking it.")
			}
		}
		now := s.now()
		k.RevokedAt = &now
		_, err = s.q(ctx).Exec(ctx, "UPDATE api_keys SET revoked_at = $1 WHERE id = $2", now, id)
		return err
	})
	return k, err
}

// CreateSession implements enroute.SessionStore.
func (s *Store) CreateSession(ctx context.Context, apiKeyID int64, tokenHash []byte, expires time.Time) error {
	_, err := s.q(ctx).Exec(ctx, "INSERT INTO sessions (token_hash, api_key_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
		tokenHash, apiKeyID, s.now(), enroute.Timestamp(expires))
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	return nil
}

// FindSessionKey implements enroute.SessionStore.
func (s *Store) FindSessionKey(ctx context.Context, tokenHash []byte) (*enroute.APIKey, error) {
	k, err := scanAPIKey(s.q(ctx).QueryRow(ctx, "SELECT k.id, k.name, k.role, k.prefix, k.created_at, k.revoked_at FROM sessions s JOIN api_keys k ON k.id = s.api_key_id"+
		" WHERE s.token_hash = $1 AND s.expires_at > $2 AND k.revoked_at IS NULL", tokenHash, s.now()))
	if errors.Is(err, ErrNoRows) {
		return nil, enroute.Errorf(enroute.EUNAUTHORIZED, "Your session has ended; log in again.")
	} else if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	return k, nil
}

// DeleteSession implements enroute.SessionStore.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.q(ctx).Exec(ctx, "DELETE FROM sessions WHERE token_hash = $1", tokenHash)
	return err
}
