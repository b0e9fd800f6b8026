package nominatim

import (
	"container/list"
	"strings"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
)

// cache keeps the latest answers (a match, or none) by address, the least
// recently used dropped first. Safe for concurrent use.
type cache struct {
	size int
	ttl  time.Duration

	mu    sync.Mutex
	order *list.List // of *entry, most recently used first
	byKey map[string]*list.Element
}

type entry struct {
	key   string
	match *enroute.GeocodeMatch // nil: no match
	at    time.Time
}

func newCache(size int, ttl time.Duration) *cache {
	return &cache{size: size, ttl: ttl, order: list.New(), byKey: map[string]*list.Element{}}
}

// cacheKey folds what does not change an address: case and runs of
// spaces.
func cacheKey(address string) string {
	return strings.ToLower(strings.Join(strings.Fields(address), " "))
}

// get returns a copy of the answer for key, if one younger than the TTL is
// kept.
func (c *cache) get(key string, now time.Time) (*enroute.GeocodeMatch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if now.Sub(e.at) >= c.ttl {
		c.order.Remove(el)
		delete(c.byKey, key)
		return nil, false
	}
	c.order.MoveToFront(el)
	return clone(e.match), true
}

// put keeps the answer for key, dropping the least recently used beyond
// the size.
func (c *cache) put(key string, m *enroute.GeocodeMatch, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.byKey[key]; ok {
		el.Value = &entry{key: key, match: clone(m), at: now}
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&entry{key: key, match: clone(m), at: now})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*entry).key)
	}
}

func clone(m *enroute.GeocodeMatch) *enroute.GeocodeMatch {
	if m == nil {
		return nil
	}
	cp := *m
	return &cp
}
