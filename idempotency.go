package enroute

import (
	"context"
	"time"
)

// IdempotentResponse is the first response to a POST that carried an
// Idempotency-Key, replayed to every retry of it.
type IdempotentResponse struct {
	Status      int
	ContentType string
	Body        []byte
}

// IdempotencyTTL is how long a key is remembered.
const IdempotencyTTL = 24 * time.Hour

// IdempotencyStore remembers the responses of idempotent requests. It is
// used inside InTx so the request's effects and its record commit together.
type IdempotencyStore interface {
	// ClaimIdempotencyKey records that the request identified by (apiKeyID,
	// key) is being handled. When the key is new it returns (nil, nil) and
	// the caller handles the request and saves the response in the same
	// transaction. When it was handled before it returns the saved response,
	// or EINVALID when requestHash differs from the first request's. A
	// concurrent claim of the same key waits for the first to finish.
	ClaimIdempotencyKey(ctx context.Context, apiKeyID int64, key string, requestHash []byte) (*IdempotentResponse, error)
	// SaveIdempotentResponse stores the response for a claimed key.
	SaveIdempotentResponse(ctx context.Context, apiKeyID int64, key string, resp *IdempotentResponse) error
	// DeleteIdempotencyKeysBefore forgets keys claimed before t.
	DeleteIdempotencyKeysBefore(ctx context.Context, t time.Time) (int64, error)
}
