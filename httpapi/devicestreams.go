package httpapi

import (
	"sync"
	"sync/atomic"

	"github.com/gorilla/websocket"
)

// deviceStreams are the device streams open on this node, by device, so
// that a device revoked, given a new token or deleted with its technician
// (on this node or another) loses its open streams at once: before, a
// revoked phone's open stream went on being acknowledged.
//
// Concurrency: safe for concurrent use; closing happens outside the lock.
type deviceStreams struct {
	mu sync.Mutex
	m  map[int64]map[*websocket.Conn]*atomic.Bool
}

// add registers ws as a stream of device id. The flag it returns turns
// true when the device changes: the stream must then take no more fixes.
func (ds *deviceStreams) add(id int64, ws *websocket.Conn) *atomic.Bool {
	gone := new(atomic.Bool)
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.m == nil {
		ds.m = map[int64]map[*websocket.Conn]*atomic.Bool{}
	}
	if ds.m[id] == nil {
		ds.m[id] = map[*websocket.Conn]*atomic.Bool{}
	}
	ds.m[id][ws] = gone
	return gone
}

func (ds *deviceStreams) remove(id int64, ws *websocket.Conn) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	delete(ds.m[id], ws)
	if len(ds.m[id]) == 0 {
		delete(ds.m, id)
	}
}

// close ends every stream of these devices with 4001: their phones must
// authenticate again, with a token that is still good.
func (ds *deviceStreams) close(ids []int64) {
	var socks []*websocket.Conn
	ds.mu.Lock()
	for _, id := range ids {
		for ws, gone := range ds.m[id] {
			gone.Store(true)
			socks = append(socks, ws)
		}
	}
	ds.mu.Unlock()
	for _, ws := range socks {
		closeWith(ws, closeUnauthorized, "the device was revoked or its token replaced")
	}
}
