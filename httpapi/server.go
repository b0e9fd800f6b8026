// Package httpapi serves Enroute's HTTP API with labstack/echo/v4: the admin
// and dispatcher REST API under /api/v1, the operational endpoints
// (/healthz, /readyz, /metrics), the OpenAPI document, the pages, and the
// WebSocket endpoints (customers' and dispatchers' live streams, devices'
// streams) over its own transport, httpapi/wsconn; and, on its own
// listener with valyala/fasthttp, the OsmAnd protocol. It is the only
// importer of echo and of fasthttp, and, with wsconn, of gorilla/websocket.
//
// It reaches the rest of Enroute through what Features and the store give
// it: the root's interfaces (enroute.Store, enroute.NotificationService,
// enroute.LiveService for the live state, enroute.ProgressSource) and two
// of its own for the tracker's ingest and the hub's subscriptions
// (Ingester, Hub). It uses the tracker package's decoders, which are pure.
//
// Concurrency: handlers run concurrently, one goroutine per request, and
// share the store, the features, the metrics, the device cache, the open
// device streams and the WebSocket registry, all safe for concurrent use.
// A WebSocket's writes belong to its connection's writer (wsconn). NewServer
// starts one goroutine of the server's own (it asks every 2 s which devices
// changed); Close ends it. Server.Close may be called once Serve has
// started, from any goroutine.
package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/httpapi/wsconn"
	"github.com/enroutehq/enroute/tracker"
)

// Config configures the server. Zero values mean the documented defaults.
type Config struct {
	// MaxBodyBytes bounds request bodies; larger ones get 413. Default 1 MiB.
	// MaxImportBytes bounds an import's CSV file instead; default 16 MiB.
	MaxBodyBytes, MaxImportBytes int64
	// Version is reported by /healthz.
	Version string
	// Registry receives the HTTP metrics; /metrics serves it. Default: a new
	// registry with the Go runtime and process collectors.
	Registry *prometheus.Registry
	// PublicURL is where clients reach the server (webhook signatures are
	// computed over it).
	PublicURL string
	// OsmAndURL is where phones reach the OsmAnd listener ("" when it is
	// off), shown with the GPS settings to set up Traccar Client.
	OsmAndURL string
	// TileURL is the map tile server's URL template, and TileAttribution
	// the credit it requires. Default: OpenStreetMap's.
	TileURL         string
	TileAttribution string
	// WSWriteTimeout bounds one WebSocket write: a peer that does not read
	// for this long is dropped. Default 5 s.
	WSWriteTimeout time.Duration
	// BoardFlush is the longest spacing between two writes to a
	// dispatcher board (wsconn.Options.Gap): a busy board gets everything
	// of that time in one frame, instead of a system call per position
	// (a board watching 10,000 technicians otherwise took a write per
	// fix). Default 25 ms, 40 frames a second, quicker than a map
	// redraws; negative: none.
	BoardFlush time.Duration
	// VerifySMSWebhook checks the signature of the SMS provider's webhooks
	// (texts to the company's number, delivery receipts); nil turns them
	// off.
	VerifySMSWebhook func(fullURL string, form url.Values, signature string) bool
	// RateLimits bound what each client may ask; zero values mean
	// DefaultRateLimits.
	RateLimits RateLimits
	// GeocodeWait bounds how long creating (or readdressing) a location
	// waits for the geocoder's answer before answering "pending".
	// Default 1.5 s; negative: not at all.
	GeocodeWait time.Duration
}

// The default map tiles.
const (
	DefaultTileURL         = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
	DefaultTileAttribution = "&copy; OpenStreetMap contributors"
)

// Features are what the server serves beyond the store. Each may be nil:
// its routes are then not served.
type Features struct {
	Notify enroute.NotificationService
	// Ingest takes devices' fixes (tracker.Tracker); Live is the live
	// state they make (tracker.Tracker too).
	Ingest Ingester
	Live   LiveState
	// Hub subscribes viewers to live updates (tracker.Hub).
	Hub Hub
	// Progress gives an assignment's latest distance and ETA.
	Progress enroute.ProgressSource
	// Hooks run inside the transaction of every assignment status change.
	Hooks []enroute.AssignmentHook
	// Webhooks manages outbound webhook endpoints (webhook.Service).
	Webhooks enroute.WebhookService
	// MessageHooks are told of each text's final delivery report, inside
	// the transaction that records it.
	MessageHooks []enroute.MessageHook
	// TrackingHooks are told of the first opening of a tracking page.
	TrackingHooks []enroute.TrackingHook
	// LocationHooks run inside the transaction of every location change.
	LocationHooks []enroute.LocationHook
	// JobHooks run inside the transaction of every job change.
	JobHooks []enroute.JobHook
	// Geocoding verifies locations' addresses in the background
	// (geocode.Worker); nil: locations without a pin stay pending.
	Geocoding Geocoding
}

// Geocoding verifies locations' addresses in the background:
// geocode.Worker.
type Geocoding interface {
	// Wake says a location waits for the geocoder.
	Wake()
	// Wait returns once location id is no longer pending, an attempt at
	// it was recorded, or ctx ends.
	Wait(ctx context.Context, id int64)
}

// Ingester takes devices' fixes into the history and the live state:
// tracker.Tracker.
type Ingester interface {
	// Ingest takes a device's fixes and returns once they are committed
	// (tracker.Tracker.Ingest, and its errors).
	Ingest(ctx context.Context, dev *enroute.Device, items []tracker.Item) (*tracker.Result, error)
	// Failing reports whether the history cannot be written now.
	Failing() bool
	// Pending is how many fixes wait for their commit; Commits how many
	// commits and fixes were written.
	Pending() int
	Commits() (commits, fixes int64)
}

// LiveState is the live state (tracker.Tracker): its positions, and the
// same rendered as GET /technicians/positions shows them, each rendered
// once per fix.
type LiveState interface {
	enroute.LiveService
	LiveInBoxRendered(b enroute.Box) []tracker.Rendered
	LiveNearRendered(lat, lng, radiusM float64, limit int) []tracker.Rendered
	LivePositionsRendered() []tracker.Rendered
}

// Hub subscribes viewers to live updates: tracker.Hub.
type Hub interface {
	// SubscribeAssignment subscribes a customer to an assignment.
	SubscribeAssignment(a *enroute.Assignment, verified bool, notify, evict func()) *tracker.Sub
	// SubscribeView subscribes a dispatcher to a viewport (nil: all).
	SubscribeView(box *geo.BBox, notify, evict func()) *tracker.Sub
	// Unsubscribe forgets a subscription; it is idempotent.
	Unsubscribe(s *tracker.Sub)
}

var (
	_ Ingester = (*tracker.Tracker)(nil)
	_ Hub      = (*tracker.Hub)(nil)
)

// Server is Enroute's HTTP server.
type Server struct {
	cfg    Config
	store  enroute.Store
	logger *slog.Logger
	echo   *echo.Echo
	srv    *http.Server

	notify        enroute.NotificationService
	hooks         []enroute.AssignmentHook
	locHooks      []enroute.LocationHook
	geocoding     Geocoding
	webhooks      enroute.WebhookService
	msgHooks      []enroute.MessageHook
	trackHooks    []enroute.TrackingHook
	jobHooks      []enroute.JobHook
	ingester      Ingester
	live          LiveState
	hub           Hub
	progress      enroute.ProgressSource
	ws            *wsconn.Registry
	devices       *deviceCache
	keys          *keyCache // API keys found, by their hash
	streams       deviceStreams
	stop          context.CancelFunc // ends the goroutines the server owns (bg)
	bg            sync.WaitGroup
	osmandSrv     *fasthttp.Server
	osmandMu      sync.Mutex
	osmandLns     []net.Listener // what ServeOsmAnd was given, closed by Close
	osmandClosed  bool
	ingestMetrics *ingestMetrics
	metrics       *metrics
	limits        limiters
	draining      atomic.Bool
	now           func() time.Time
}

// NewServer returns a server over store with every route registered.
func NewServer(cfg Config, store enroute.Store, f Features, logger *slog.Logger) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxImportBytes <= 0 {
		cfg.MaxImportBytes = 16 << 20
	}
	if cfg.TileURL == "" {
		cfg.TileURL = DefaultTileURL
		cfg.TileAttribution = DefaultTileAttribution
	}
	if cfg.WSWriteTimeout <= 0 {
		cfg.WSWriteTimeout = 5 * time.Second
	}
	if cfg.BoardFlush == 0 {
		cfg.BoardFlush = 25 * time.Millisecond
	}
	if cfg.GeocodeWait == 0 {
		cfg.GeocodeWait = 1500 * time.Millisecond
	}
	if cfg.Registry == nil {
		cfg.Registry = NewRegistry()
	}
	s := &Server{
		cfg:        cfg,
		store:      store,
		logger:     logger.With("component", "httpapi"),
		echo:       echo.New(),
		notify:     f.Notify,
		hooks:      f.Hooks,
		locHooks:   f.LocationHooks,
		geocoding:  f.Geocoding,
		webhooks:   f.Webhooks,
		msgHooks:   f.MessageHooks,
		trackHooks: f.TrackingHooks,
		jobHooks:   f.JobHooks,
		ingester:   f.Ingest,
		live:       f.Live,
		hub:        f.Hub,
		progress:   f.Progress,
		devices:    newDeviceCache(store),
		keys:       newKeyCache(store, time.Now),
		metrics:    newMetrics(cfg.Registry),
		now:        time.Now,
	}
	s.devices.onChange = s.closeChangedStreams
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	s.bg.Go(func() { s.devices.watch(ctx, s.logger) })
	s.limits = newLimiters(cfg.RateLimits, cfg.Registry)
	e := s.echo
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = s.limits.clientIP
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.RequestIDWithConfig(middleware.RequestIDConfig{Generator: newRequestIDs().next}))
	e.Use(s.observe, s.recoverPanic, s.limitBody)
	s.ingestMetrics = newIngestMetrics(cfg.Registry, s.ingester)
	s.ws = s.newWS()
	s.routes()
	s.osmandSrv = s.newOsmAndServer()
	s.srv = &http.Server{
		Handler:           e,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	return s
}

// WarmDevices reads every active device into the device cache before the
// server takes requests: after a restart, thousands of phones send within
// a second, and each would otherwise wait for a store query of its own.
// It returns how many devices it read.
func (s *Server) WarmDevices(ctx context.Context) (int, error) { return s.devices.warm(ctx) }

// DeviceByMQTTIdentity returns the active device registered under an MQTT
// identity ("user/device" of owntracks/user/device), or nil, nil when none
// is: the lookup of the OwnTracks MQTT subscriber (mqttsub), through the
// same cache as the HTTP protocols', so a device revoked or changed on any
// node stops within 2 s there too.
func (s *Server) DeviceByMQTTIdentity(ctx context.Context, identity string) (*enroute.Device, error) {
	return s.devices.byMQTTIdentity(ctx, identity)
}

// Handler returns the server's http.Handler, for tests.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve serves HTTP on ln until Close. It returns nil after Close.
func (s *Server) Serve(ln net.Listener) error {
	if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the server gracefully: /readyz answers 503 at once, then
// in-flight requests finish (until ctx ends) and connections close.
func (s *Server) Close(ctx context.Context) error {
	s.draining.Store(true)
	s.stop()
	s.bg.Wait()
	wsErr := s.ws.Close(ctx) // 1001 to every WebSocket: Shutdown does not close hijacked connections
	return errors.Join(s.srv.Shutdown(ctx), s.closeOsmAnd(ctx), wsErr)
}

// observe logs and measures every request. It renders errors itself, so the
// status it records is the one the client gets. It logs the route pattern,
// never the raw path, which may carry tokens.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := s.now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		elapsed := s.now().Sub(start)
		route := c.Path()
		if route == "" {
			route = "unmatched"
		}
		status := c.Response().Status
		s.metrics.observe(c.Request().Method, route, status, elapsed)
		level := slog.LevelDebug
		if status >= 500 {
			level = slog.LevelError
		}
		s.logger.Log(c.Request().Context(), level, "request",
			"method", c.Request().Method, "route", route, "status", status,
			"duration_ms", float64(elapsed.Microseconds())/1000,
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID))
		return nil
	}
}

// recoverPanic turns a handler panic into a 500 and a log line.
func (s *Server) recoverPanic(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				err = errorf(enroute.EINTERNAL, "panic: %v", p)
			}
		}()
		return next(c)
	}
}

// limitBody refuses bodies over MaxBodyBytes: at once when Content-Length
// says so, or when reading passes the limit.
// An import's file may be larger (MaxImportBytes).
func (s *Server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		limit := s.cfg.MaxBodyBytes
		if strings.HasPrefix(c.Path(), importPath) {
			limit = s.cfg.MaxImportBytes
		}
		if r.ContentLength > limit {
			return errTooLarge(limit)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
		return next(c)
	}
}

// requestIDs name requests in the logs and to their clients. They are
// unique, not secret: this process's random prefix and a count (a client
// can tell which process answered, and how many requests it had served),
// where a random ID read the system's generator on every device's fix.
type requestIDs struct {
	prefix string
	n      atomic.Uint64
}

func newRequestIDs() *requestIDs { return &requestIDs{prefix: enroute.NewSecret("", 6) + "-"} }

func (r *requestIDs) next() string { return r.prefix + strconv.FormatUint(r.n.Add(1), 36) }
