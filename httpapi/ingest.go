package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/tracker"
)

// withDevice requires a device token (Authorization: Bearer <token>) and
// hands next its device: an argument, not echo's per-request map (c.Set
// made one for each fix sent, 4% of the bytes the server allocated at
// 10,000 requests a second).
func (s *Server) withDevice(next func(echo.Context, *enroute.Device) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return errorf(enroute.EUNAUTHORIZED, "Authentication required: send Authorization: Bearer <device token>.")
		}
		dev, err := s.devices.byToken(c.Request().Context(), token)
		if err != nil {
			return err
		} else if dev == nil {
			return s.unknownFrom(c.RealIP(), errorf(enroute.EUNAUTHORIZED, "The device token is unknown or revoked."))
		}
		return next(c, dev)
	}
}

// ingestMetrics counts fixes by protocol and outcome.
type ingestMetrics struct {
	fixes     *prometheus.CounterVec
	wsOpen    prometheus.Gauge
	evictions prometheus.Counter
	wsWaited  prometheus.Counter
	// pushDelay is Enroute's own part of a customer's fix-to-map latency:
	// from a fix's hand-over to the hub (decoded, checked, its ETA
	// estimated) to the write of the frame that carries it.
	pushDelay prometheus.Histogram
}

func newIngestMetrics(r prometheus.Registerer, t Ingester) *ingestMetrics {
	m := &ingestMetrics{
		fixes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enroute_fixes_total", Help: "GPS fixes received, by protocol and outcome (accepted, duplicate, rejected).",
		}, []string{"protocol", "outcome"}),
		wsOpen:    prometheus.NewGauge(prometheus.GaugeOpts{Name: "enroute_websockets_open", Help: "Open WebSocket connections."}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{Name: "enroute_websocket_evictions_total", Help: "WebSocket peers dropped for reading too slowly."}),
		wsWaited:  prometheus.NewCounter(prometheus.CounterOpts{Name: "enroute_websocket_writes_deferred_total", Help: "WebSocket frames the socket could not take at once: the rest waited for the peer (one reading slowly)."}),
	}
	m.pushDelay = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "enroute_customer_push_delay_seconds",
		Help:    "From a fix's hand-over to the customers' connections (decoded, checked, its ETA estimated) to the write of the frame carrying it to a customer's tracking page (each frame's oldest fix).",
		Buckets: []float64{.0001, .00025, .0005, .001, .002, .003, .005, .0075, .01, .015, .025, .05, .1, .25, .5, 1, 2.5},
	})
	// Every series from the start, so that a rate over the first rejected
	// fixes after a start is not lost (a series' first sample is).
	for _, protocol := range []string{"native", "stream", "osmand", "owntracks"} {
		for _, outcome := range []string{"accepted", "duplicate", "rejected"} {
			m.fixes.WithLabelValues(protocol, outcome)
		}
	}
	r.MustRegister(m.fixes, m.wsOpen, m.evictions, m.wsWaited, m.pushDelay)
	if t != nil {
		r.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "enroute_history_commits_total", Help: "Transactions of fixes written to the history (group commit: many requests' fixes in each)."},
				func() float64 { n, _ := t.Commits(); return float64(n) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "enroute_history_fixes_total", Help: "Fixes written to the history."},
				func() float64 { _, n := t.Commits(); return float64(n) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enroute_history_pending_fixes", Help: "Fixes accepted and waiting for their commit (at the buffer's limit, devices get 429)."},
				func() float64 { return float64(t.Pending()) }))
	}
	return m
}

func (m *ingestMetrics) count(protocol string, res *tracker.Result) {
	// Only the outcomes that happened (each series exists from the start):
	// a label lookup hashes its values, and a one-fix request (OsmAnd) has
	// one outcome.
	for _, c := range [...]struct {
		outcome string
		n       int
	}{{"accepted", res.Accepted}, {"duplicate", res.Duplicates}, {"rejected", len(res.Rejected)}} {
		if c.n > 0 {
			m.fixes.WithLabelValues(protocol, c.outcome).Add(float64(c.n))
		}
	}
}

// ingest hands fixes to the tracker and maps its refusals.
func (s *Server) ingest(ctx context.Context, protocol string, dev *enroute.Device, items []tracker.Item) (*tracker.Result, error) {
	res, err := s.ingester.Ingest(ctx, dev, items)
	switch {
	case tracker.IsBusy(err):
		return nil, errBusy
	case errors.Is(err, tracker.ErrClosed):
		return nil, errorf(codeUnavailable, "The server is shutting down; send again in a moment.")
	case errors.Is(err, tracker.ErrUnavailable):
		return nil, errorf(codeUnavailable, "The position history cannot be written right now; keep the fixes and send them again in a moment.")
	case err != nil:
		s.logger.Warn("fixes not committed", "err", err, "device_id", dev.ID)
		return nil, errorf(codeUnavailable, "The fixes could not be stored in time; send them again.")
	}
	s.ingestMetrics.count(protocol, res)
	return res, nil
}

var errBusy = errorf(codeBusy, "Too many fixes in flight; send again in a second.")

// postPositions is the native batch API: a JSON array of fixes.
func (s *Server) postPositions(c echo.Context, dev *enroute.Device) error {
	buf := bodyPool.Get().(*bytes.Buffer)
	defer putBody(buf)
	body, err := readBodyInto(c, buf)
	if err != nil {
		return err
	}
	pooled := itemPool.Get().(*[]tracker.Item)
	defer putItems(pooled)
	items, err := tracker.DecodeNativeInto(*pooled, body) // copies what it keeps
	if err != nil {
		return errorf(enroute.EINVALID, "%s", err.Error())
	}
	*pooled = items
	res, err := s.ingest(c.Request().Context(), "native", dev, items)
	if err != nil {
		return err
	}
	return writeResult(c, res)
}

// writeResult answers a batch as c.JSON would; the common answer, nothing
// rejected, is written by hand (c.JSON parsed the query string for
// "pretty" and reflected over the result: 3% of the server at 10,000
// one-fix requests a second).
func writeResult(c echo.Context, res *tracker.Result) error {
	if len(res.Rejected) > 0 {
		return c.JSON(http.StatusOK, res)
	}
	var buf [64]byte
	b := append(buf[:0], `{"accepted":`...)
	b = strconv.AppendInt(b, int64(res.Accepted), 10)
	b = append(b, `,"duplicates":`...)
	b = strconv.AppendInt(b, int64(res.Duplicates), 10)
	b = append(b, `,"rejected":[]}`+"\n"...)
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, b)
}

// bodyPool holds request body buffers of the ingest path (a new one per
// request was 3% of the bytes the server allocated under live load).
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// itemPool holds decoded batches of the ingest path, for the same reason;
// Ingest keeps nothing of them.
var itemPool = sync.Pool{New: func() any { return new([]tracker.Item) }}

func putItems(items *[]tracker.Item) {
	if cap(*items) <= 1024 {
		itemPool.Put(items)
	}
}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // the odd huge batch is not kept
		b.Reset()
		bodyPool.Put(b)
	}
}

// readBodyInto reads the body into buf (valid until buf is reused).
func readBodyInto(c echo.Context, buf *bytes.Buffer) ([]byte, error) {
	_, err := buf.ReadFrom(c.Request().Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errTooLarge(mbe.Limit)
	} else if err != nil {
		return nil, errorf(enroute.EINVALID, "The request body could not be read.")
	}
	return buf.Bytes(), nil
}

// readBody reads the body into a buffer of its own.
func readBody(c echo.Context) ([]byte, error) { return readBodyInto(c, new(bytes.Buffer)) }

// postOwnTracks is OwnTracks' HTTP mode. The device is identified by the
// password of HTTP basic auth (its token), or by its identifier in ?id=
// or in the X-Limit-D header the app sends (set the app's Device ID to it).
// The app expects a JSON array in return.
func (s *Server) postOwnTracks(c echo.Context) error {
	r := c.Request()
	var (
		dev *enroute.Device
		err error
	)
	if _, pass, ok := r.BasicAuth(); ok {
		dev, err = s.devices.byToken(r.Context(), pass)
	} else if id := firstNonEmpty(c.QueryParam("id"), r.Header.Get("X-Limit-D")); id != "" {
		dev, err = s.devices.byIdentifier(r.Context(), id)
	}
	if err != nil {
		return err
	} else if dev == nil {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Basic realm="enroute"`)
		return s.unknownFrom(c.RealIP(), errorf(enroute.EUNAUTHORIZED, "Unknown device: use the device token as the password, or its identifier as ?id= or the Device ID."))
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	p, ok, err := tracker.DecodeOwnTracks(body)
	if err != nil {
		return errorf(enroute.EINVALID, "%s", err.Error())
	}
	if ok {
		res, err := s.ingest(r.Context(), "owntracks", dev, []tracker.Item{{Pos: p}})
		if err != nil {
			return err
		}
		if len(res.Rejected) > 0 {
			return errorf(enroute.EINVALID, "The fix was rejected: %s.", res.Rejected[0].Reason)
		}
	}
	return c.JSON(http.StatusOK, []any{})
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// StaleAfter is when a live position is shown as stale.
const StaleAfter = 2 * time.Minute

// listLivePositions serves ?bbox=minLat,minLng,maxLat,maxLng or
// ?near=lat,lng&radius_m=R from the live index, or everything.
func (s *Server) listLivePositions(c echo.Context) error {
	var rs []tracker.Rendered
	switch bbox, near := c.QueryParam("bbox"), c.QueryParam("near"); {
	case bbox != "" && near != "":
		return enroute.FieldErrors(map[string]string{"bbox": "use bbox or near, not both"})
	case bbox != "":
		b, err := geo.ParseBBox(bbox)
		if err != nil {
			return enroute.FieldErrors(map[string]string{"bbox": err.Error()})
		}
		rs = s.live.LiveInBoxRendered(enroute.Box{MinLat: b.MinLat, MinLng: b.MinLng, MaxLat: b.MaxLat, MaxLng: b.MaxLng})
	case near != "":
		latS, lngS, _ := strings.Cut(near, ",")
		lat, err1 := strconv.ParseFloat(latS, 64)
		lng, err2 := strconv.ParseFloat(lngS, 64)
		// Written so that NaN fails: every comparison with it is false.
		if err1 != nil || err2 != nil || !(lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180) {
			return enroute.FieldErrors(map[string]string{"near": "must be lat,lng"})
		}
		radius, err := strconv.ParseFloat(c.QueryParam("radius_m"), 64)
		if err != nil || !(radius > 0 && radius <= 500_000) {
			return enroute.FieldErrors(map[string]string{"radius_m": "must be between 0 and 500000"})
		}
		limit := defaultNearLimit
		if v := c.QueryParam("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxNearLimit {
				return enroute.FieldErrors(map[string]string{"limit": fmt.Sprintf("must be between 1 and %d", maxNearLimit)})
			}
		}
		rs = s.live.LiveNearRendered(lat, lng, radius, limit)
	default:
		rs = s.live.LivePositionsRendered()
	}
	buf := answerPool.Get().(*[]byte)
	*buf = tracker.AppendItems((*buf)[:0], rs, time.Now(), StaleAfter)
	err := c.JSONBlob(http.StatusOK, *buf)
	if cap(*buf) <= maxPooledAnswer {
		answerPool.Put(buf)
	}
	return err
}

// answerPool holds live-position answers' buffers: an answer of 140
// technicians is 46 KB, which Go allocates zeroed and outside its size
// classes, and the garbage collector then scans; a near query spent a
// tenth of its CPU there. Buffers past maxPooledAnswer (a whole fleet's
// listing) are left to the collector.
var answerPool = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledAnswer = 1 << 20

// A near query answers the nearest defaultNearLimit technicians, or limit
// up to maxNearLimit: "who is closest" wants the first few, and a radius
// over a whole dense fleet would otherwise answer all of it.
const defaultNearLimit, maxNearLimit = 1000, 10_000
