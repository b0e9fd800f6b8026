package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
)

const (
	// deviceRevokedEvery is how often the cache asks the store which
	// devices were revoked lately, on any node: a revoked device may send
	// for about this long. One cheap query, however many devices there are.
	deviceRevokedEvery = 2 * time.Second
	// deviceRevokedMargin widens each question back in time, for writes
	// that committed late and for nodes whose clocks differ a little.
	deviceRevokedMargin = time.Minute
	// deviceFoundTTL bounds how long a found device is trusted without
	// asking again (revocations reach it sooner, above).
	deviceFoundTTL = 10 * time.Minute
	// deviceMissingTTL is how long "no such device" is remembered: a
	// device made on another node can send within this time.
	deviceMissingTTL = 10 * time.Second
	// maxCachedDevices bounds the cache's entries (two or three per device).
	maxCachedDevices = 100_000
)

// deviceCache remembers device lookups so the hot path does not query the
// store per request: found devices for deviceFoundTTL, unknown ones for
// deviceMissingTTL. Every deviceRevokedEvery a lookup (or watch) first asks
// the store for the devices revoked, given a new token or deleted since the
// last time, and forgets them.
//
// Concurrency: safe for concurrent use; one caller at a time asks about
// revocations while the others go on with what the cache knows.
type deviceCache struct {
	store enroute.Store
	now   func() time.Time

	mu       sync.Mutex
	m        map[string]deviceEntry
	checked  time.Time // when the last question was answered: the next asks from there
	tried    time.Time // when the last question was asked, answered or not
	checking bool
	onChange func(ctx context.Context, ids []int64) // given the ids of changed devices; set before use
}

type deviceEntry struct {
	dev *enroute.Device // nil: not found
	at  time.Time
}

func newDeviceCache(store enroute.Store) *deviceCache {
	c := &deviceCache{store: store, now: time.Now, m: map[string]deviceEntry{}}
	c.checked = c.now() // nothing is cached yet, so nothing is stale
	c.tried = c.checked
	return c
}

// maxIdentifier is the longest identifier looked up (we issue shorter).
const maxIdentifier = 64

// Cache keys are 't' and the token's SHA-256 (enroute.HashSecret, as the
// store keeps it), 'i' and the identifier, or 'm' and the MQTT identity,
// built in a stack buffer and looked up as string(key), which does not
// allocate.

// byToken finds the active device with this token.
func (c *deviceCache) byToken(ctx context.Context, token string) (*enroute.Device, error) {
	h := sha256.Sum256([]byte(token))
	var key [1 + sha256.Size]byte
	key[0] = 't'
	copy(key[1:], h[:])
	return c.get(ctx, key[:])
}

// byIdentifier finds the active device with this identifier.
func (c *deviceCache) byIdentifier(ctx context.Context, id string) (*enroute.Device, error) {
	if len(id) < 20 || len(id) > maxIdentifier {
		return nil, nil // not an identifier we issue: no lookup
	}
	var key [1 + maxIdentifier]byte
	key[0] = 'i'
	return c.get(ctx, key[:1+copy(key[1:], id)])
}

// byMQTTIdentity finds the active device with this MQTT identity
// ("user/device" of an OwnTracks topic).
func (c *deviceCache) byMQTTIdentity(ctx context.Context, identity string) (*enroute.Device, error) {
	if !enroute.ValidMQTTIdentity(identity) {
		return nil, nil // no device can have it: no lookup
	}
	var key [2 + 2*4*64]byte // 'm', two levels of up to 64 runes, '/'
	key[0] = 'm'
	return c.get(ctx, key[:1+copy(key[1:], identity)])
}

// warm caches every active device under its token and its identifier, so
// that after a restart the first fix of each of thousands of phones does
// not wait for a store query of its own (at 10,000 devices, 14% of the
// server's first seconds). Their entries are dated over the last half of
// deviceFoundTTL, so that they expire over minutes, not all at once. It
// returns how many devices it cached; past half the cache's bound, the
// rest are looked up as they send.
func (c *deviceCache) warm(ctx context.Context) (int, error) {
	now := c.now()
	n := 0
	err := enroute.EachPage(enroute.MaxLimit, func(p enroute.Page) ([]*enroute.Device, error) {
		return c.store.FindDevices(ctx, enroute.DeviceFilter{Page: p})
	}, func(d *enroute.Device) error {
		if n >= maxCachedDevices/2 {
			return errEnough
		}
		if len(d.TokenHash) == 0 {
			return nil
		}
		e := deviceEntry{dev: d, at: now.Add(-time.Duration(rand.Int64N(int64(deviceFoundTTL / 2))))}
		c.mu.Lock()
		c.m["t"+string(d.TokenHash)] = e
		c.m["i"+d.Identifier] = e
		if d.MQTTIdentity != "" {
			c.m["m"+d.MQTTIdentity] = e
		}
		c.mu.Unlock()
		n++
		return nil
	})
	if errors.Is(err, errEnough) {
		err = nil
	}
	return n, err
}

var errEnough = errors.New("enough")

func (c *deviceCache) get(ctx context.Context, key []byte) (*enroute.Device, error) {
	// A store that cannot answer is asked again later (the watch logs
	// it); meanwhile what the cache knows serves, and the fixes of a
	// store that is down are refused anyway.
	_ = c.forgetChanged(ctx, false)
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[string(key)]
	c.mu.Unlock()
	if ok && (e.dev != nil && now.Sub(e.at) < deviceFoundTTL || e.dev == nil && now.Sub(e.at) < deviceMissingTTL) {
		return e.dev, nil
	}
	f := enroute.DeviceFilter{Page: enroute.Page{Limit: 1}}
	switch key[0] {
	case 't':
		f.TokenHash = bytes.Clone(key[1:])
	case 'm':
		id := string(key[1:])
		f.MQTTIdentity = &id
	default:
		id := string(key[1:])
		f.Identifier = &id
	}
	ds, err := c.store.FindDevices(ctx, f)
	if err != nil {
		return nil, err
	}
	e = deviceEntry{at: now}
	if len(ds) == 1 {
		e.dev = ds[0]
	}
	c.mu.Lock()
	if len(c.m) > maxCachedDevices { // unknown keys from scanners must not grow it forever
		clear(c.m)
	}
	c.m[string(key)] = e
	c.mu.Unlock()
	return e.dev, nil
}

// forgetChanged asks the store, when deviceRevokedEvery has passed (or
// always when force is set), which devices were revoked, given a new token
// or deleted since the last question (less a margin), drops them from the
// cache and hands their ids to onChange. If another caller is asking, a
// call without force returns at once.
func (c *deviceCache) forgetChanged(ctx context.Context, force bool) error {
	now := c.now()
	c.mu.Lock()
	if !force && (c.checking || now.Sub(c.tried) < deviceRevokedEvery) {
		c.mu.Unlock()
		return nil
	}
	since := c.checked.Add(-deviceRevokedMargin)
	if !force {
		c.checking, c.tried = true, now
	}
	c.mu.Unlock()

	ids, err := c.store.DevicesChangedSince(ctx, since)
	c.mu.Lock()
	if !force {
		c.checking = false
		if err == nil {
			c.checked = now
		}
	}
	if err != nil || len(ids) == 0 {
		c.mu.Unlock()
		return err
	}
	gone := make(map[int64]bool, len(ids))
	for _, id := range ids {
		gone[id] = true
	}
	for k, e := range c.m {
		// An MQTT identity not found before may be a device's now: the
		// change may have given it.
		if e.dev != nil && gone[e.dev.ID] || e.dev == nil && k[0] == 'm' {
			delete(c.m, k)
		}
	}
	onChange := c.onChange
	c.mu.Unlock()
	if onChange != nil {
		onChange(ctx, ids)
	}
	return nil
}

// changed is called after a device was revoked, given a new token or
// deleted on this node, once that has committed: the cache and the
// device's open streams let go of it at once, not at the next question.
func (c *deviceCache) changed(ctx context.Context) error {
	return c.forgetChanged(context.WithoutCancel(ctx), true)
}

// watch asks about changed devices every deviceRevokedEvery until ctx
// ends, so that a stream of a device changed on another node closes within
// that time even when no request comes to ask.
func (c *deviceCache) watch(ctx context.Context, logger *slog.Logger) {
	t := time.NewTicker(deviceRevokedEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := c.forgetChanged(ctx, false); err != nil && ctx.Err() == nil {
				logger.Warn("ask for changed devices", "err", err)
			}
		}
	}
}
