package httpapi

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/sqlite"
)

// testStore is a fresh SQLite store with one technician, to give devices.
type testStore struct {
	*sqlite.Store
	tb   testing.TB
	tech *enroute.Technician
}

func newTestStore(tb testing.TB) *testStore {
	s, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "enroute.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	tech := &enroute.Technician{Name: "Ana"}
	if err := s.CreateTechnician(context.Background(), tech); err != nil {
		tb.Fatal(err)
	}
	return &testStore{Store: s, tb: tb, tech: tech}
}

// device gives the technician a device with this identifier and token,
// or new ones where they are empty; it returns the device and its token.
func (s *testStore) device(ident, token string) (*enroute.Device, string) {
	if ident == "" {
		ident = enroute.NewDeviceIdentifier()
	}
	if token == "" {
		token = enroute.NewDeviceToken()
	}
	d := &enroute.Device{TechnicianID: s.tech.ID, Identifier: ident}
	if err := s.CreateDevice(context.Background(), d, enroute.HashSecret(token)); err != nil {
		s.tb.Fatal(err)
	}
	return d, token
}

// TestDeviceCacheRevocation: a device revoked elsewhere (another node, or
// straight in the store) is refused once the cache has asked about
// revocations, within deviceRevokedEvery, though its lookup is cached for
// much longer; one unknown is remembered for deviceMissingTTL only.
func TestDeviceCacheRevocation(t *testing.T) {
	ctx := context.Background()
	store := newTestStore(t)
	var mu sync.Mutex
	clock := time.Now()
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	store.Now = now
	a, _ := store.device("aaaaaaaaaaaaaaaaaaaaaaaa", "token-a")
	b, _ := store.device("bbbbbbbbbbbbbbbbbbbbbbbb", "token-b")

	c := newDeviceCache(store)
	c.now = now
	for _, tok := range []string{"token-a", "token-b"} {
		if d, err := c.byToken(ctx, tok); err != nil || d == nil {
			t.Fatalf("byToken(%s) = %v, %v", tok, d, err)
		}
	}
	if d, err := c.byIdentifier(ctx, a.Identifier); err != nil || d == nil || d.ID != a.ID {
		t.Fatalf("byIdentifier = %v, %v", d, err)
	}
	if _, err := store.RevokeDevice(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	// Until the next question the cache still trusts what it found.
	advance(deviceRevokedEvery / 2)
	if d, _ := c.byToken(ctx, "token-a"); d == nil {
		t.Fatal("the cache asked about revocations early")
	}
	advance(deviceRevokedEvery)
	if d, err := c.byToken(ctx, "token-a"); err != nil || d != nil {
		t.Fatalf("revoked device by token = %v, %v", d, err)
	}
	if d, err := c.byIdentifier(ctx, a.Identifier); err != nil || d != nil {
		t.Fatalf("revoked device by identifier = %v, %v", d, err)
	}
	if d, err := c.byToken(ctx, "token-b"); err != nil || d == nil || d.ID != b.ID {
		t.Fatalf("the other device = %v, %v", d, err)
	}

	// A lookup that read the device just before it was revoked is
	// dropped by a later question (the margin).
	c.mu.Lock()
	c.m["tlate"] = deviceEntry{dev: b, at: now()}
	c.mu.Unlock()
	if _, err := store.RevokeDevice(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.checked = now().Add(time.Second) // as if asked after the revocation
	c.tried = c.checked
	c.mu.Unlock()
	advance(deviceRevokedEvery + time.Second)
	if d, err := c.byToken(ctx, "token-a"); err != nil || d != nil {
		t.Fatalf("revoked device = %v, %v", d, err)
	}
	c.mu.Lock()
	_, late := c.m["tlate"]
	c.mu.Unlock()
	if late {
		t.Fatal("a device revoked just before the last question is still cached")
	}

	// An unknown token is remembered briefly; a device made later (on
	// another node) is found once that has passed.
	if d, err := c.byToken(ctx, "token-c"); err != nil || d != nil {
		t.Fatalf("unknown = %v, %v", d, err)
	}
	store.device("cccccccccccccccccccccccc", "token-c")
	if d, _ := c.byToken(ctx, "token-c"); d != nil {
		t.Fatal("an unknown lookup was not remembered")
	}
	advance(deviceMissingTTL)
	if d, err := c.byToken(ctx, "token-c"); err != nil || d == nil {
		t.Fatalf("new device = %v, %v", d, err)
	}
}

// TestDeviceCacheMQTTIdentity: a device is found by its MQTT identity,
// from a warm cache too; a new identity, set on any node, takes over from
// the old within deviceRevokedEvery, even where the new one was looked up
// and not found just before.
func TestDeviceCacheMQTTIdentity(t *testing.T) {
	ctx := context.Background()
	store := newTestStore(t)
	var mu sync.Mutex
	clock := time.Now()
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	store.Now = now
	d := &enroute.Device{TechnicianID: store.tech.ID, Identifier: enroute.NewDeviceIdentifier(), MQTTIdentity: "ana/pixel"}
	if err := store.CreateDevice(ctx, d, enroute.HashSecret(enroute.NewDeviceToken())); err != nil {
		t.Fatal(err)
	}
	counted := &lookupCounter{Store: store}
	c := newDeviceCache(counted)
	c.now = now
	if n, err := c.warm(ctx); err != nil || n != 1 {
		t.Fatalf("warm = %d, %v", n, err)
	}
	counted.lookups = 0
	if got, err := c.byMQTTIdentity(ctx, "ana/pixel"); err != nil || got == nil || got.ID != d.ID || counted.lookups != 0 {
		t.Fatalf("byMQTTIdentity = %v, %v after %d lookups; want the device from the warm cache", got, err, counted.lookups)
	}
	for _, bad := range []string{"ana", "ana/pixel/event", "owntracks/+/+", ""} {
		if got, err := c.byMQTTIdentity(ctx, bad); err != nil || got != nil {
			t.Fatalf("byMQTTIdentity(%q) = %v, %v", bad, got, err)
		}
	}
	if counted.lookups != 0 {
		t.Fatalf("%d lookups of identities no device can have", counted.lookups)
	}
	if got, err := c.byMQTTIdentity(ctx, "ana/pixel9"); err != nil || got != nil {
		t.Fatalf("unknown identity = %v, %v", got, err)
	}
	moved := "ana/pixel9"
	if _, err := store.UpdateDevice(ctx, d.ID, enroute.DeviceUpdate{MQTTIdentity: &moved}); err != nil {
		t.Fatal(err)
	}
	advance(deviceRevokedEvery + time.Second) // well within deviceMissingTTL
	if got, err := c.byMQTTIdentity(ctx, "ana/pixel"); err != nil || got != nil {
		t.Fatalf("the old identity = %v, %v", got, err)
	}
	if got, err := c.byMQTTIdentity(ctx, "ana/pixel9"); err != nil || got == nil || got.ID != d.ID {
		t.Fatalf("the new identity = %v, %v", got, err)
	}
	// A phone that publishes before its device is registered: the miss
	// is forgotten once a device is created with its identity.
	if got, err := c.byMQTTIdentity(ctx, "bob/phone"); err != nil || got != nil {
		t.Fatalf("bob before registering = %v, %v", got, err)
	}
	bob := &enroute.Device{TechnicianID: store.tech.ID, Identifier: enroute.NewDeviceIdentifier(), MQTTIdentity: "bob/phone"}
	if err := store.CreateDevice(ctx, bob, enroute.HashSecret(enroute.NewDeviceToken())); err != nil {
		t.Fatal(err)
	}
	advance(deviceRevokedEvery + time.Second) // well within deviceMissingTTL
	if got, err := c.byMQTTIdentity(ctx, "bob/phone"); err != nil || got == nil || got.ID != bob.ID {
		t.Fatalf("bob once registered = %v, %v", got, err)
	}
}

// lookupCounter is the real store, counting device lookups by token or
// identifier or MQTT identity (not the revocation questions).
type lookupCounter struct {
	enroute.Store
	mu      sync.Mutex
	lookups int
}

func (s *lookupCounter) FindDevices(ctx context.Context, f enroute.DeviceFilter) ([]*enroute.Device, error) {
	if f.TokenHash != nil || f.Identifier != nil || f.MQTTIdentity != nil {
		s.mu.Lock()
		s.lookups++
		s.mu.Unlock()
	}
	return s.Store.FindDevices(ctx, f)
}

// TestDeviceCacheWarm: a warmed cache answers every active device's first
// request, by token and by identifier, without asking the store; a revoked
// device is not cached; warmed entries expire over the second half of
// deviceFoundTTL, not all at once.
func TestDeviceCacheWarm(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t)
	var devs []*enroute.Device
	var tokens []string
	for range 3 {
		d, tok := s.device("", "")
		devs, tokens = append(devs, d), append(tokens, tok)
	}
	if _, err := s.RevokeDevice(ctx, devs[2].ID); err != nil {
		t.Fatal(err)
	}
	store := &lookupCounter{Store: s.Store}
	c := newDeviceCache(store)
	clock := time.Now()
	c.now = func() time.Time { return clock }
	c.checked, c.tried = clock, clock
	if n, err := c.warm(ctx); err != nil || n != 2 {
		t.Fatalf("warm = %d, %v; want the 2 active devices", n, err)
	}
	for i := range 2 {
		if d, err := c.byToken(ctx, tokens[i]); err != nil || d == nil || d.ID != devs[i].ID {
			t.Fatalf("byToken(device %d) = %v, %v", i, d, err)
		}
		if d, err := c.byIdentifier(ctx, devs[i].Identifier); err != nil || d == nil || d.ID != devs[i].ID {
			t.Fatalf("byIdentifier(device %d) = %v, %v", i, d, err)
		}
	}
	if store.lookups != 0 {
		t.Fatalf("%d store lookups after warming, want none", store.lookups)
	}
	if d, _ := c.byToken(ctx, tokens[2]); d != nil || store.lookups != 1 {
		t.Fatalf("revoked device = %v after %d lookups, want nil after asking the store", d, store.lookups)
	}
	for _, e := range c.m {
		if e.dev != nil && (e.at.After(clock) || e.at.Before(clock.Add(-deviceFoundTTL/2))) {
			t.Fatalf("warmed entry dated %v before warming, want within %v", clock.Sub(e.at), deviceFoundTTL/2)
		}
	}
}

// BenchmarkDeviceCache_ByToken is the hot path's device lookup, found in
// the cache.
func BenchmarkDeviceCache_ByToken(b *testing.B) {
	ctx := context.Background()
	s := newTestStore(b)
	_, tok := s.device("", "")
	c := newDeviceCache(s)
	b.ReportAllocs()
	for b.Loop() {
		if d, err := c.byToken(ctx, tok); err != nil || d == nil {
			b.Fatal(d, err)
		}
	}
}

// downStore fails the question about changed devices while down is set,
// and counts how often it is asked.
type downStore struct {
	enroute.Store
	mu    sync.Mutex
	down  bool
	asked int
}

func (s *downStore) DevicesChangedSince(ctx context.Context, t time.Time) ([]int64, error) {
	s.mu.Lock()
	s.asked++
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return s.Store.DevicesChangedSince(ctx, t)
}

// TestDeviceCacheStoreDown: while the store cannot say which devices
// changed, cached devices are still found (a phone's fix is then refused
// by the history, with 503, not failed by its lookup with 500), the store
// is asked at most every deviceRevokedEvery, and once it answers, a device
// revoked before it went down is dropped.
func TestDeviceCacheStoreDown(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t)
	var mu sync.Mutex
	clock := time.Now()
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	ts.Now = now
	a, _ := ts.device("", "token-a")
	ts.device("", "token-b")
	store := &downStore{Store: ts.Store}
	c := newDeviceCache(store)
	c.now = now
	for _, tok := range []string{"token-a", "token-b"} {
		if d, err := c.byToken(ctx, tok); err != nil || d == nil {
			t.Fatalf("byToken(%s) = %v, %v", tok, d, err)
		}
	}
	if _, err := ts.RevokeDevice(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	store.down, store.asked = true, 0
	store.mu.Unlock()
	for range 10 {
		advance(deviceRevokedEvery / 4)
		if d, err := c.byToken(ctx, "token-b"); err != nil || d == nil {
			t.Fatalf("a cached device while the store is down = %v, %v", d, err)
		}
	}
	if store.asked < 1 || store.asked > 2 {
		t.Fatalf("asked %d times in 2.5 questions' time, want 1 or 2", store.asked)
	}
	store.mu.Lock()
	store.down = false
	store.mu.Unlock()
	advance(deviceRevokedEvery)
	if d, err := c.byToken(ctx, "token-a"); err != nil || d != nil {
		t.Fatalf("the device revoked before the store went down = %v, %v", d, err)
	}
}
