package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// The largest OsmAnd request: Traccar Client's are a few hundred bytes.
const (
	maxOsmAndHead = 4 << 10 // request line and headers
	maxOsmAndBody = 64 << 10
)

// newOsmAndServer returns the OsmAnd listener's server. It is fasthttp,
// not net/http: OsmAnd clients send one request per fix over keep-alive,
// so the HTTP server's own work per request is a large share of a fix's,
// and net/http's is more than this needs (a background read started and
// aborted around every handler, fresh header and form maps, a context per
// request): a sixth of the server's CPU a fix (BENCHMARKS.md, "OsmAnd on
// fasthttp"). fasthttp reads a request, calls the handler and writes the
// answer on one goroutine per connection, and reuses its request and
// response; osmand keeps nothing of them.
func (s *Server) newOsmAndServer() *fasthttp.Server {
	return &fasthttp.Server{
		Handler:                      s.osmand,
		ErrorHandler:                 s.osmandBadRequest,
		ReadTimeout:                  30 * time.Second,  // one request, head and body
		WriteTimeout:                 30 * time.Second,  // one answer
		IdleTimeout:                  120 * time.Second, // between requests on a connection
		ReadBufferSize:               maxOsmAndHead,
		MaxRequestBodySize:           maxOsmAndBody,
		DisablePreParseMultipartForm: true,
		NoDefaultServerHeader:        true,
		NoDefaultContentType:         true,
		CloseOnShutdown:              true,
		// An idle connection's buffers go back to the pools (server
		// memory per idle connection 16 KiB, 26 on net/http;
		// BENCHMARKS.md, "OsmAnd on fasthttp").
		ReduceMemoryUsage: true,
		Logger:            fasthttpLogger{s.logger.With("listener", "osmand")},
	}
}

// fasthttpLogger gives fasthttp's messages to the server's logger. A
// connection fasthttp could not serve is logged by its peer's address
// only: fasthttp's error quotes the request it could not read, and that
// holds a device identifier (the app's credential) and a position.
type fasthttpLogger struct{ l *slog.Logger }

func (f fasthttpLogger) Printf(format string, args ...any) {
	if strings.HasPrefix(format, "error when serving connection") && len(args) == 3 {
		f.l.Warn("OsmAnd connection closed after a request that could not be read or answered", "remote", fmt.Sprint(args[1]))
		return
	}
	f.l.Warn(fmt.Sprintf(format, args...)) // accepting connections: counts, addresses and network errors
}

// ServeOsmAnd serves the OsmAnd protocol on ln until Close. It returns nil
// after Close, even when called after it.
func (s *Server) ServeOsmAnd(ln net.Listener) error {
	s.osmandMu.Lock()
	if s.osmandClosed {
		s.osmandMu.Unlock()
		_ = ln.Close()
		return nil
	}
	s.osmandLns = append(s.osmandLns, ln)
	s.osmandMu.Unlock()
	err := s.osmandSrv.Serve(readAheadListener{Listener: ln})
	s.osmandMu.Lock()
	defer s.osmandMu.Unlock()
	if s.osmandClosed {
		return nil
	}
	return err
}

// closeOsmAnd stops the OsmAnd listener: requests in flight are answered,
// idle connections closed. fasthttp's shutdown closes only the listeners
// its Serve has registered, so the listeners ServeOsmAnd was given are
// closed here too: a Serve just starting then returns at once.
func (s *Server) closeOsmAnd(ctx context.Context) error {
	s.osmandMu.Lock()
	s.osmandClosed = true
	lns := s.osmandLns
	s.osmandMu.Unlock()
	err := s.osmandSrv.ShutdownWithContext(ctx)
	for _, ln := range lns {
		_ = ln.Close() // already closed by the shutdown, unless Serve had not begun
	}
	return err
}

// osmand serves the OsmAnd protocol on its own listener, as Traccar does
// on port 5055: any path, GET or POST, parameters in the query or in a
// body in query-string format (a form, or with no or any other content
// type: osmandForm), or Traccar Client 9's JSON body. It answers 200 when
// the fix is taken.
func (s *Server) osmand(ctx *fasthttp.RequestCtx) {
	defer func() {
		if p := recover(); p != nil {
			ctx.Response.Reset()
			s.osmandError(ctx, errorf(enroute.EINTERNAL, "panic: %v\n%s", p, debug.Stack()))
		}
	}()
	if err := s.osmandFix(ctx); err != nil {
		s.osmandError(ctx, err)
		return
	}
	ctx.SetStatusCode(http.StatusOK)
}

// osmandFix takes the request's fix.
func (s *Server) osmandFix(ctx *fasthttp.RequestCtx) error {
	post := ctx.IsPost()
	if !post && !ctx.IsGet() {
		ctx.Response.Header.Set("Allow", "GET, POST")
		return errorf(codeMethodNotAllowed, "Send the fix with GET or POST.")
	}
	now := time.Now()
	var (
		id  string
		p   enroute.Position
		err error
	)
	mt, _, _ := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	switch {
	case post && (mt == "application/json" || strings.HasSuffix(mt, "+json")):
		id, p, err = tracker.DecodeTraccarJSON(ctx.PostBody(), now)
	default:
		form, ok := osmandForm(ctx.QueryArgs(), ctx.URI().QueryString(), ctx.PostBody(), post)
		if !ok {
			return errorf(enroute.EINVALID, "Malformed query or form.")
		}
		id, p, err = tracker.DecodeOsmAnd(form, now)
		form.release()
	}
	if id == "" && err != nil {
		return errorf(enroute.EINVALID, "%s.", err.Error())
	}
	// Not ctx: a fasthttp RequestCtx is done when the server shuts down,
	// and a fix taken then is still committed and must be answered so.
	// The wait is bounded by the tracker's CommitTimeout.
	rctx := context.Background()
	dev, lerr := s.devices.byIdentifier(rctx, id)
	if lerr != nil {
		return lerr
	} else if dev == nil {
		return s.unknownFrom(s.limits.clientAddr(ctx.RemoteAddr(), ctx.Request.Header.Peek("X-Forwarded-For")),
			errorf(enroute.EINVALID, "Unknown device identifier; copy it from the device's page into the app's Device identifier setting."))
	}
	if err != nil {
		return errorf(enroute.EINVALID, "%s.", err.Error())
	}
	pooled := itemPool.Get().(*[]tracker.Item) // a new one a request was 15% of the bytes allocated
	defer putItems(pooled)
	*pooled = append((*pooled)[:0], tracker.Item{Pos: p})
	res, err := s.ingest(rctx, "osmand", dev, *pooled)
	if err != nil {
		return err
	}
	if len(res.Rejected) > 0 {
		return errorf(enroute.EINVALID, "The fix was rejected: %s.", res.Rejected[0].Reason)
	}
	return nil
}

// osmandForm reads an OsmAnd request's parameters as Traccar's OsmAnd
// decoder does: from the query and, for a POST, from a body in the query
// string's format, whatever its content type says. Traccar Client sends
// its parameters in the body of a POST with no Content-Type, or
// text/plain, as well as in the query of a GET or POST; only JSON (which
// the caller decodes itself) differs. The body's values come first, then
// the query's, as net/http's ParseForm gives them; the body is trimmed of
// surrounding white space (a trailing newline), which Traccar's number
// parsing ignores too. Malformed escapes and semicolons are refused (ok
// false), as url.ParseQuery refuses them, where fasthttp's own argument
// parser would let them by; so is a body that is not a query string,
// unless the query holds the parameters (Traccar then reads the query
// alone). The arguments are fasthttp's (query is the request's
// QueryArgs), not url.ParseQuery's map of slices: that was 5% of the
// server's CPU at 40,000 fixes a second. Release the form when done.
func osmandForm(query *fasthttp.Args, rawQuery, body []byte, post bool) (f osmandArgs, ok bool) {
	if !queryOK(rawQuery) {
		return f, false
	}
	f.query = query
	b := bytes.TrimSpace(body)
	if !post || len(b) == 0 {
		return f, true
	}
	if !queryOK(b) {
		// Whether url.ParseQuery would have found any parameter: a
		// segment between '&'s that is not empty (fasthttp drops "=").
		return f, len(bytes.Trim(rawQuery, "&")) > 0
	}
	f.body = fasthttp.AcquireArgs()
	f.body.ParseBytes(b)
	return f, true
}

// osmandArgs are an OsmAnd request's parameters: the body's, then the
// query's.
type osmandArgs struct{ body, query *fasthttp.Args }

// Get implements tracker.Values.
func (f osmandArgs) Get(key string) string {
	if f.body != nil && f.body.Has(key) {
		return string(f.body.Peek(key))
	}
	return string(f.query.Peek(key))
}

func (f osmandArgs) release() {
	if f.body != nil {
		fasthttp.ReleaseArgs(f.body)
	}
}

// maxOsmAndParams is url.ParseQuery's limit on a query's parameters
// (counted as its '&' and one): beyond it a body is refused, and the
// parameters a request's lookups scan stay bounded.
const maxOsmAndParams = 10_000

// queryOK reports whether url.ParseQuery would read q: at most
// maxOsmAndParams parameters, no semicolon, and every % followed by two
// hexadecimal digits.
func queryOK(q []byte) bool {
	if bytes.Count(q, []byte("&"))+1 > maxOsmAndParams {
		return false
	}
	for i := 0; i < len(q); i++ {
		switch q[i] {
		case ';':
			return false
		case '%':
			if i+2 >= len(q) || !ishex(q[i+1]) || !ishex(q[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// osmandError answers err as JSON, like every other endpoint.
func (s *Server) osmandError(ctx *fasthttp.RequestCtx, err error) {
	status, body := errorResponse(err)
	if status == http.StatusInternalServerError {
		s.logger.Error("internal error", "err", err, "listener", "osmand")
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		ctx.Response.Header.Set("Retry-After", retryAfter(err))
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	b, _ := json.Marshal(body)
	ctx.SetBody(append(b, '\n'))
}

// osmandBadRequest answers a request fasthttp could not read (the
// connection is then closed).
func (s *Server) osmandBadRequest(ctx *fasthttp.RequestCtx, err error) {
	lingeringDrain(ctx.Conn())
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		s.osmandError(ctx, errTooLarge(maxOsmAndBody))
	case errors.As(err, &small):
		s.osmandError(ctx, errorf(codeHeadTooLarge, "The request line and headers are larger than %d bytes.", maxOsmAndHead))
	default:
		s.osmandError(ctx, errorf(enroute.EINVALID, "Malformed HTTP request."))
	}
}

// lingeringDrain reads and drops what the client is still sending, up to
// 1 MiB, for at most 2 s, until it pauses for 100 ms, before the refusal
// is written and the connection closed: closing a socket with unread data
// resets it, and the client, still writing its too-large request, would
// see the reset instead of the answer. net/http's lingering close does the
// same.
func lingeringDrain(c net.Conn) {
	if c == nil {
		return
	}
	var buf [16 << 10]byte
	end := time.Now().Add(2 * time.Second) // a client dripping bytes holds no worker longer
	for n := 0; n < 1<<20; {
		deadline := time.Now().Add(100 * time.Millisecond)
		if deadline.After(end) {
			deadline = end
		}
		_ = c.SetReadDeadline(deadline)
		k, err := c.Read(buf[:])
		n += k
		if err != nil {
			break
		}
	}
	_ = c.SetReadDeadline(time.Time{})
}
