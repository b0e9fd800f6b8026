package httpapi

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"

	"github.com/enroutehq/enroute/httpapi/wsconn"

	"github.com/enroutehq/enroute"
)

// deviceStreams are the device streams open on this node, by device, so
// that a device revoked, given a new token or deleted with its technician
// (on this node or another) loses its open streams at once: before, a
// revoked phone's open stream went on being acknowledged.
//
// Concurrency: safe for concurrent use; closing happens outside the lock
// (and never waits: the connection's writer sends the close).
type deviceStreams struct {
	mu sync.Mutex
	m  map[int64]map[*wsconn.Conn]*openStream
}

// openStream is one device stream: the token hash it authenticated with,
// and whether it was told to stop.
type openStream struct {
	tokenHash []byte
	gone      atomic.Bool
}

// add registers ws as a stream of device id, authenticated with the token
// whose hash is tokenHash. The flag it returns turns true when the stream
// must take no more fixes.
func (ds *deviceStreams) add(id int64, tokenHash []byte, conn *wsconn.Conn) *atomic.Bool {
	s := &openStream{tokenHash: tokenHash}
	ds.mu.Lock()
	defer ds.mu.Unlock()
	if ds.m == nil {
		ds.m = map[int64]map[*wsconn.Conn]*openStream{}
	}
	if ds.m[id] == nil {
		ds.m[id] = map[*wsconn.Conn]*openStream{}
	}
	ds.m[id][conn] = s
	return &s.gone
}

func (ds *deviceStreams) remove(id int64, conn *wsconn.Conn) {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	delete(ds.m[id], conn)
	if len(ds.m[id]) == 0 {
		delete(ds.m, id)
	}
}

// has reports whether device id has a stream open here.
func (ds *deviceStreams) has(id int64) bool {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	return len(ds.m[id]) > 0
}

// close ends with 4001 the streams of device id that did not authenticate
// with the token whose hash is keep (nil: every stream of the device): its
// phone must authenticate again, with a token that is still good.
func (ds *deviceStreams) close(id int64, keep []byte) {
	var conns []*wsconn.Conn
	ds.mu.Lock()
	for conn, s := range ds.m[id] {
		if keep == nil || !bytes.Equal(s.tokenHash, keep) {
			s.gone.Store(true)
			conns = append(conns, conn)
		}
	}
	ds.mu.Unlock()
	for _, conn := range conns {
		conn.Close(wsconn.CloseUnauthorized, errStreamGone.Error())
	}
}

// closeChangedStreams closes the streams open here of the devices just
// changed that may no longer send: all of a revoked or deleted device's,
// and those of a device given a new token that authenticated with an
// older one. A stream on the new token stays: changes are reported again
// for a while (a margin for late commits), and must not close it each time.
func (s *Server) closeChangedStreams(ctx context.Context, ids []int64) {
	for _, id := range ids {
		if !s.streams.has(id) {
			continue
		}
		d, err := s.store.FindDeviceByID(ctx, id)
		switch {
		case enroute.ErrorCode(err) == enroute.ENOTFOUND:
			s.streams.close(id, nil)
		case err != nil:
			s.logger.Warn("find changed device", "device_id", id, "err", err) // the next question retries
		case d.Revoked():
			s.streams.close(id, nil)
		default:
			s.streams.close(id, d.TokenHash)
		}
	}
}
