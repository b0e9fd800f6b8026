package eta

import (
	"sync"
	"testing"
)

// TestFollowedConcurrentReads: readers, beside the one writer, see for a
// technician one of the slices stored for it, whole, or none (go test
// -race: no read races a write).
func TestFollowedConcurrentReads(t *testing.T) {
	var f followed
	stored := make([][]*watch, 50)
	for i := range stored {
		stored[i] = []*watch{{}, {}}
	}
	known := map[*watch]bool{}
	for _, ws := range stored {
		known[ws[0]], known[ws[1]] = true, true
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				for id := int64(0); id < 2*followedShards; id++ {
					if ws := f.get(id); ws != nil && (len(ws) != 2 || !known[ws[0]] || !known[ws[1]]) {
						t.Errorf("technician %d: a slice never stored: %v", id, ws)
						return
					}
				}
			}
		})
	}
	for round := range 200 {
		for id := int64(0); id < 2*followedShards; id++ {
			if (id+int64(round))%3 == 0 {
				f.set(id, nil)
			} else {
				f.set(id, stored[(int(id)+round)%len(stored)])
			}
		}
	}
	close(done)
	wg.Wait()
	if n := f.len(); n == 0 || n == 2*followedShards {
		t.Fatalf("following %d technicians after the last round, want some forgotten", n)
	}
}

// TestFollowed: set, replace and forget technicians' watches, across
// shards.
func TestFollowed(t *testing.T) {
	var f followed
	a, b := &watch{}, &watch{}
	for id := int64(1); id <= 1000; id++ {
		f.set(id, []*watch{a})
	}
	f.set(7, []*watch{a, b})
	f.set(8, nil)
	if n := f.len(); n != 999 {
		t.Fatalf("following %d technicians, want 999", n)
	}
	if ws := f.get(7); len(ws) != 2 || ws[1] != b {
		t.Fatalf("technician 7's watches = %v", ws)
	}
	if ws := f.get(8); ws != nil {
		t.Fatalf("a forgotten technician has watches %v", ws)
	}
	if ws := f.get(1 + followedShards); len(ws) != 1 || ws[0] != a {
		t.Fatalf("technician %d's watches = %v", 1+followedShards, ws)
	}
	if ws := f.get(-5); ws != nil {
		t.Fatalf("an unknown technician has watches %v", ws)
	}
}

// BenchmarkFollowed: a read of 10,000 technicians' watches (every third
// ID has some), from every core at once, against the sync.Map it
// replaced.
func BenchmarkFollowed(b *testing.B) {
	const techs = 10_000
	ws := []*watch{{}}
	bench := func(set func(int64), get func(int64) []*watch) func(*testing.B) {
		return func(b *testing.B) {
			for id := range int64(techs) {
				set(id * 3)
			}
			b.RunParallel(func(pb *testing.PB) {
				id := int64(0)
				for pb.Next() {
					id = (id + 7919) % (3 * techs)
					_ = get(id)
				}
			})
		}
	}
	var f followed
	b.Run("sharded", bench(func(id int64) { f.set(id, ws) }, f.get))
	var m sync.Map
	b.Run("sync.Map", bench(func(id int64) { m.Store(id, ws) }, func(id int64) []*watch {
		v, _ := m.Load(id)
		xs, _ := v.([]*watch)
		return xs
	}))
}
