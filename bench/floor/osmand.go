package main

import (
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// osmandServer is the floor's OsmAnd listener: Enroute's stack for one fix
// a request (fasthttp, configured as Enroute's listener) with nothing
// behind it. A fix's id, timestamp, lat and lon are parsed, the fix is
// handed to its technician's watcher and to every board, and answered 200.
// Enroute's own reading ahead (httpapi's readAheadConn) is Enroute's work,
// not the stack's: the floor reads as fasthttp does.
func (s *server) osmandServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.osmand,
		ReadTimeout:                  30 * time.Second,
		WriteTimeout:                 30 * time.Second,
		IdleTimeout:                  120 * time.Second,
		ReadBufferSize:               4096,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		ReduceMemoryUsage:            true,
	}
}

func (s *server) serveOsmAnd(ln net.Listener) error { return s.osmandServer().Serve(ln) }

// osmand takes one fix from the query (or a form body).
func (s *server) osmand(ctx *fasthttp.RequestCtx) {
	args := ctx.QueryArgs()
	if ctx.IsPost() && args.Len() == 0 {
		// A body in the query's format, whatever its content type (as
		// Traccar Client posts it, and as Enroute reads it).
		args = fasthttp.AcquireArgs()
		defer fasthttp.ReleaseArgs(args)
		args.ParseBytes(ctx.PostBody())
	}
	s.mu.Lock()
	tech, ok := s.byIdent[string(args.Peek("id"))]
	s.mu.Unlock()
	ts, errT := strconv.ParseInt(string(args.Peek("timestamp")), 10, 64)
	lat, errA := strconv.ParseFloat(string(args.Peek("lat")), 64)
	lng, errO := strconv.ParseFloat(string(args.Peek("lon")), 64)
	switch {
	case !ok:
		ctx.SetStatusCode(http.StatusNotFound)
		return
	case errT != nil || errA != nil || errO != nil:
		ctx.SetStatusCode(http.StatusBadRequest)
		return
	}
	s.publish(tech, fmt.Appendf(nil, `{"type":"position","technician_id":%d,"ts":%q,"lat":%g,"lng":%g}`,
		tech, time.Unix(ts, 0).UTC().Format(time.RFC3339), lat, lng))
	ctx.SetStatusCode(http.StatusOK)
}
