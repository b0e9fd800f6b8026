package httpapi

import (
	"context"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
)

// How the API key cache trusts what it found.
const (
	// keyRevokedEvery is how often a lookup first asks the store which
	// keys were revoked since the last time: a key revoked on another
	// node stops working within it (on this node at once).
	keyRevokedEvery = 2 * time.Second
	// keyRevokedMargin widens each question back in time, for revocations
	// that committed late and nodes whose clocks differ (by up to this:
	// revoked_at is the revoking node's clock, so nodes must keep theirs
	// within a minute of each other, as NTP does, like device revocations).
	keyRevokedMargin = time.Minute
	// keyFoundTTL bounds how long a found key is trusted without asking.
	keyFoundTTL = 10 * time.Minute
	// maxCachedKeys bounds the cache; past it, it starts over.
	maxCachedKeys = 10_000
)

// keyCache remembers active API keys by their secret's hash, so that a
// request does not query the store for its key: on SQLite that lookup was
// an eighth of a near query's CPU, on PostgreSQL it is a round trip per
// request. Unknown keys are not remembered (a key made on any node works
// at once; guesses go to the store, behind the rate limits).
//
// Concurrency: safe for concurrent use; the caller that finds a question
// about revocations due asks it, the others go on meanwhile with what the
// cache knows (a revocation elsewhere reaches them a question later).
type keyCache struct {
	store enroute.APIKeyStore
	now   func() time.Time

	mu       sync.Mutex
	m        map[string]keyEntry
	checked  time.Time // when the last question was asked that was answered
	checking bool
	// gen counts forgettings: a lookup that began before one does not
	// remember what it found (the key may be the one just revoked).
	gen uint64
}

type keyEntry struct {
	key *enroute.APIKey
	at  time.Time
}

func newKeyCache(store enroute.APIKeyStore, now func() time.Time) *keyCache {
	return &keyCache{store: store, now: now, m: map[string]keyEntry{}, checked: now()}
}

// byHash returns the active key whose secret hashes to hash, or nil.
func (c *keyCache) byHash(ctx context.Context, hash []byte) (*enroute.APIKey, error) {
	if err := c.forgetRevoked(ctx); err != nil {
		return nil, err
	}
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[string(hash)]
	gen := c.gen
	c.mu.Unlock()
	if ok && now.Sub(e.at) < keyFoundTTL {
		return e.key, nil
	}
	keys, err := c.store.FindAPIKeys(ctx, enroute.APIKeyFilter{KeyHash: hash})
	if err != nil || len(keys) == 0 {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.m) >= maxCachedKeys {
			clear(c.m)
		}
		c.m[string(hash)] = keyEntry{key: keys[0], at: now}
	}
	c.mu.Unlock()
	return keys[0], nil
}

// forgetRevoked asks the store, when keyRevokedEvery has passed since the
// last answer, for the keys revoked since (less a margin) and forgets
// them. A question that fails forgets every key, so that lookups go to
// the store until one is answered.
func (c *keyCache) forgetRevoked(ctx context.Context) error {
	now := c.now()
	c.mu.Lock()
	if c.checking || now.Sub(c.checked) < keyRevokedEvery {
		c.mu.Unlock()
		return nil
	}
	c.checking = true
	since := c.checked.Add(-keyRevokedMargin)
	c.mu.Unlock()

	revoked, err := c.store.FindAPIKeys(ctx, enroute.APIKeyFilter{RevokedSince: since, Page: enroute.Page{Limit: enroute.MaxLimit}})
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checking = false
	if err != nil || len(revoked) == enroute.MaxLimit {
		clear(c.m)
		c.gen++
		return err
	}
	c.checked = now
	c.forget(revoked)
	return nil
}

// revoked forgets a key revoked through this node, at once.
func (c *keyCache) revoked(k *enroute.APIKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forget([]*enroute.APIKey{k})
}

// forget drops the entries of keys; the caller holds c.mu.
func (c *keyCache) forget(keys []*enroute.APIKey) {
	if len(keys) == 0 {
		return
	}
	c.gen++
	gone := make(map[int64]bool, len(keys))
	for _, k := range keys {
		gone[k.ID] = true
	}
	for h, e := range c.m {
		if gone[e.key.ID] {
			delete(c.m, h)
		}
	}
}
