package sqlstore

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

// ClaimIdempotencyKey implements enroute.IdempotencyStore. On PostgreSQL the
// INSERT waits while another transaction holds the same key, then finds its
// committed row; on SQLite writers are serialised, with the same outcome.
func (s *Store) ClaimIdempotencyKey(ctx context.Context, apiKeyID int64, key string, requestHash []byte) (*enroute.IdempotentResponse, error) {
	var resp *enroute.IdempotentResponse
	err := s.InTx(ctx, func(ctx context.Context) error {
		n, err := s.q(ctx).Exec(ctx, `INSERT INTO idempotency_keys (api_key_id, key, request_hash, created_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, apiKeyID, key, requestHash, s.now())
		if err != nil {
			return fmt.Errorf("claim idempotency key: %w", err)
		} else if n == 1 {
			return nil
		}
		var hash []byte
		r := &enroute.IdempotentResponse{}
		err = s.q(ctx).QueryRow(ctx, `SELECT request_hash, status, content_type, body FROM idempotency_keys
			WHERE api_key_id = $1 AND key = $2`, apiKeyID, key).Scan(&hash, &r.Status, &r.ContentType, &r.Body)
		if err != nil {
			return fmt.Errorf("read idempotency key: %w", err)
		}
		if !bytes.Equal(hash, requestHash) {
			return enroute.Errorf(enroute.EINVALID, "This Idempotency-Key was used for a different request; use a new key for a new request.")
		}
		resp = r
		return nil
	})
	return resp, err
}

// SaveIdempotentResponse implements enroute.IdempotencyStore.
func (s *Store) SaveIdempotentResponse(ctx context.Context, apiKeyID int64, key string, resp *enroute.IdempotentResponse) error {
	_, err := s.q(ctx).Exec(ctx, `UPDATE idempotency_keys SET status = $1, content_type = $2, body = $3
		WHERE api_key_id = $4 AND key = $5`, resp.Status, resp.ContentType, resp.Body, apiKeyID, key)
	if err != nil {
		return fmt.Errorf("save idempotent response: %w", err)
	}
	return nil
}

// DeleteIdempotencyKeysBefore implements enroute.IdempotencyStore.
func (s *Store) DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error) {
	n, err := s.q(ctx).Exec(ctx, "DELETE FROM idempotency_keys WHERE created_at < $1", enroute.Timestamp(t))
	if err != nil {
		return 0, fmt.Errorf("delete idempotency keys: %w", err)
	}
	return n, nil
}
