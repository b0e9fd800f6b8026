package eta

import (
	"maps"
	"sync/atomic"
)

// followed maps a technician's ID to the watches followed for them. Every
// published and every learned fix reads it (two or three reads a fix:
// 20,000-30,000 a second at 10,000 fixes/s); only the watcher's Run
// goroutine writes, at a status change. Reads take no lock and allocate
// nothing: each shard is an immutable map behind an atomic pointer, and a
// write replaces its shard's map with a changed copy (~40 technicians a
// shard at 10,000). Hand-written because a profile showed the sync.Map it
// replaces (a hash trie walked per read) taking twice the CPU at 10,000
// fixes/s.
type followed struct {
	shards [followedShards]atomic.Pointer[map[int64][]*watch]
}

const followedShards = 256

// get returns technicianID's watches; the caller must not change the
// slice.
func (f *followed) get(technicianID int64) []*watch {
	if m := f.shards[uint64(technicianID)%followedShards].Load(); m != nil {
		return (*m)[technicianID]
	}
	return nil
}

// set replaces technicianID's watches (none: forgets it). Run's goroutine
// only: writes are not serialized otherwise.
func (f *followed) set(technicianID int64, ws []*watch) {
	shard := &f.shards[uint64(technicianID)%followedShards]
	next := maps.Clone(ptrMap(shard.Load()))
	if next == nil {
		next = map[int64][]*watch{}
	}
	if len(ws) == 0 {
		delete(next, technicianID)
	} else {
		next[technicianID] = ws
	}
	shard.Store(&next)
}

// len is how many technicians have watches.
func (f *followed) len() int {
	n := 0
	for i := range f.shards {
		n += len(ptrMap(f.shards[i].Load()))
	}
	return n
}

func ptrMap(m *map[int64][]*watch) map[int64][]*watch {
	if m == nil {
		return nil
	}
	return *m
}
