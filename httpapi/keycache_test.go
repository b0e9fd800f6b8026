package httpapi

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// keyLookups counts the store's key lookups and can fail them.
type keyLookups struct {
	enroute.Store
	mu           sync.Mutex
	byHash, revs int
	down         bool
}

func (s *keyLookups) FindAPIKeys(ctx context.Context, f enroute.APIKeyFilter) ([]*enroute.APIKey, error) {
	s.mu.Lock()
	if f.KeyHash != nil {
		s.byHash++
	} else {
		s.revs++
	}
	down := s.down
	s.mu.Unlock()
	if down {
		return nil, errors.New("connection refused")
	}
	return s.Store.FindAPIKeys(ctx, f)
}

func (s *keyLookups) counts() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byHash, s.revs
}

// TestKeyCache: a found key is answered from memory; a key revoked
// elsewhere (another node: straight in the store) is refused once the
// cache has asked about revocations, within keyRevokedEvery; one revoked
// through this node at once; unknown keys are never remembered; while the
// store cannot answer, keys are looked up in it, not trusted from memory.
func TestKeyCache(t *testing.T) {
	ctx := context.Background()
	ts := newTestStore(t)
	var mu sync.Mutex
	clock := time.Now()
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	ts.Now = now
	keys := map[string]*enroute.APIKey{}
	for _, name := range []string{"a", "b", "c", "spare admin"} {
		k := &enroute.APIKey{Name: name, Role: enroute.RoleAdmin, Prefix: name}
		if err := ts.CreateAPIKey(ctx, k, enroute.HashSecret("secret-"+name)); err != nil {
			t.Fatal(err)
		}
		keys[name] = k
	}
	store := &keyLookups{Store: ts}
	c := newKeyCache(store, now)
	find := func(name string) *enroute.APIKey {
		t.Helper()
		k, err := c.byHash(ctx, enroute.HashSecret("secret-"+name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return k
	}
	for range 3 {
		for _, name := range []string{"a", "b", "c"} {
			if k := find(name); k == nil || k.ID != keys[name].ID {
				t.Fatalf("%s = %+v", name, k)
			}
		}
	}
	if byHash, _ := store.counts(); byHash != 3 {
		t.Fatalf("%d lookups in the store for 3 keys asked 3 times each", byHash)
	}
	for range 2 {
		if find("nobody") != nil {
			t.Fatal("an unknown key was found")
		}
	}
	if byHash, _ := store.counts(); byHash != 5 {
		t.Fatalf("an unknown key was remembered (%d lookups)", byHash)
	}

	// Revoked on another node: still found until the cache asks.
	if _, err := ts.RevokeAPIKey(ctx, keys["a"].ID); err != nil {
		t.Fatal(err)
	}
	if find("a") == nil {
		t.Fatal("the cache asked about revocations before keyRevokedEvery")
	}
	advance(keyRevokedEvery)
	if find("a") != nil {
		t.Fatal("a key revoked elsewhere is still found after keyRevokedEvery")
	}
	if find("b") == nil {
		t.Fatal("another key was forgotten")
	}

	// Revoked through this node: refused at once.
	k, err := ts.RevokeAPIKey(ctx, keys["b"].ID)
	if err != nil {
		t.Fatal(err)
	}
	c.revoked(k)
	if find("b") != nil {
		t.Fatal("a key revoked here is still found")
	}

	// The store down when a question is due: nothing is trusted from
	// memory; once it answers, the cache serves again.
	advance(keyRevokedEvery)
	store.mu.Lock()
	store.down = true
	store.mu.Unlock()
	if _, err := c.byHash(ctx, enroute.HashSecret("secret-c")); err == nil {
		t.Fatal("with the store down, a key was trusted from memory")
	}
	store.mu.Lock()
	store.down = false
	store.mu.Unlock()
	if find("c") == nil {
		t.Fatal("c not found once the store answers")
	}
	before, _ := store.counts()
	if find("c") == nil {
		t.Fatal("c not found")
	}
	if after, _ := store.counts(); after != before {
		t.Fatal("the cache did not serve again after the store came back")
	}
}
