package httpapi

import (
	"context"
	"encoding/hex"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
)

// deviceCacheTTL bounds how long a revoked device may still send: lookups
// are cached so the hot path does not query the store per request.
const deviceCacheTTL = 10 * time.Second

// deviceCache remembers device lookups, found or not, for deviceCacheTTL.
//
// Concurrency: safe for concurrent use.
type deviceCache struct {
	store enroute.Store
	now   func() time.Time
	mu    sync.Mutex
	m     map[string]deviceEntry
}

type deviceEntry struct {
	dev *enroute.Device // nil: not found
	at  time.Time
}

func newDeviceCache(store enroute.Store) *deviceCache {
	return &deviceCache{store: store, now: time.Now, m: map[string]deviceEntry{}}
}

// byToken finds the active device with this token.
func (c *deviceCache) byToken(ctx context.Context, token string) (*enroute.Device, error) {
	h := enroute.HashSecret(token)
	return c.get(ctx, "t:"+hex.EncodeToString(h), enroute.DeviceFilter{TokenHash: h})
}

// byIdentifier finds the active device with this identifier.
func (c *deviceCache) byIdentifier(ctx context.Context, id string) (*enroute.Device, error) {
	if len(id) < 20 || len(id) > 64 {
		return nil, nil // not an identifier we issue: no lookup
	}
	return c.get(ctx, "i:"+id, enroute.DeviceFilter{Identifier: &id})
}

func (c *deviceCache) get(ctx context.Context, key string, f enroute.DeviceFilter) (*enroute.Device, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[key]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < deviceCacheTTL {
		return e.dev, nil
	}
	f.Page = enroute.Page{Limit: 1}
	ds, err := c.store.FindDevices(ctx, f)
	if err != nil {
		return nil, err
	}
	e = deviceEntry{at: now}
	if len(ds) == 1 {
		e.dev = ds[0]
	}
	c.mu.Lock()
	if len(c.m) > 100_000 { // unknown keys from scanners must not grow it forever
		clear(c.m)
	}
	c.m[key] = e
	c.mu.Unlock()
	return e.dev, nil
}

// forget drops cached lookups, after a device is revoked on this node.
func (c *deviceCache) forget() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}
