package httpapi

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"

	"github.com/enroutehq/enroute"
)

// RateLimit allows PerSecond requests a second on average and Burst at
// once, per client. In RateLimits the zero value means the default;
// Unlimited allows everything.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// Unlimited is a limit that allows everything.
var Unlimited = RateLimit{PerSecond: -1}

// Off reports whether the limit allows everything.
func (r RateLimit) Off() bool { return r.PerSecond <= 0 }

// String writes r as ParseRateLimit reads it.
func (r RateLimit) String() string {
	if r.Off() {
		return "off"
	}
	for _, u := range []struct {
		name string
		per  float64
	}{{"s", 1}, {"m", 60}, {"h", 3600}} {
		// Only what ParseRateLimit reads back as it is: 17000.2/s is
		// 1,020,012/m, past maxRateN; 713.15/m is 11.885.../s, which
		// times 60 is a whole number but read back is 1 ulp off.
		if n := r.PerSecond * u.per; n >= 1 && n <= maxRateN && n == math.Trunc(n) && n/u.per == r.PerSecond {
			return fmt.Sprintf("%s/%s:%d", strconv.FormatFloat(n, 'f', -1, 64), u.name, r.Burst)
		}
	}
	return fmt.Sprintf("%s/s:%d", strconv.FormatFloat(r.PerSecond, 'g', -1, 64), r.Burst)
}

// maxRateN is the largest N of "N/s", "N/m" or "N/h".
const maxRateN = 1e6

// ParseRateLimit reads "N/s", "N/m" or "N/h" (N requests a second, minute
// or hour) with an optional ":B" burst (default: N, at least 1), or "off".
func ParseRateLimit(s string) (RateLimit, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return Unlimited, nil
	}
	spec, burstS, hasBurst := strings.Cut(s, ":")
	nS, unit, ok := strings.Cut(spec, "/")
	n, err := strconv.ParseFloat(nS, 64)
	if !ok || err != nil || !(n > 0 && n <= maxRateN) {
		return RateLimit{}, errors.New(`must be "N/s", "N/m" or "N/h" with an optional ":burst", or "off"`)
	}
	var per float64
	switch unit {
	case "s":
		per = 1
	case "m":
		per = 60
	case "h":
		per = 3600
	default:
		return RateLimit{}, errors.New(`the unit must be s, m or h`)
	}
	r := RateLimit{PerSecond: n / per, Burst: max(1, int(math.Ceil(n)))}
	if !(r.PerSecond > 0) { // 5e-324/m: a rate too small to be one, not "off"
		return RateLimit{}, errors.New("the rate is too small")
	}
	if hasBurst {
		b, err := strconv.Atoi(burstS)
		if err != nil || b < 1 || b > 1e6 {
			return RateLimit{}, errors.New("the burst must be a whole number from 1 to 1000000")
		}
		r.Burst = b
	}
	return r, nil
}

// RateLimits are the limits on what clients may ask of the server. Zero
// values mean the defaults (DefaultRateLimits); a limit set Off allows
// everything. A registered device's fixes and streams are never limited,
// however often it sends.
type RateLimits struct {
	// Public limits each client address on the tracking pages, their state
	// and their live sockets.
	Public RateLimit
	// Login limits each client address on the log-in (POST /session).
	Login RateLimit
	// Webhook limits each client address on the SMS provider's webhooks.
	Webhook RateLimit
	// Unknown limits each client address on requests naming a device or an
	// API key that does not exist (OsmAnd and OwnTracks identifiers, device
	// tokens, API keys, session cookies): only such requests count.
	Unknown RateLimit
	// API limits each API key (a browser session counts as its key).
	API RateLimit
	// TrustedProxies are the addresses whose X-Forwarded-For is believed:
	// a request from one of them is limited by the client address the
	// header names. None by default: the peer's own address counts.
	TrustedProxies []netip.Prefix
}

// DefaultRateLimits are generous for people and their apps: a board makes a
// few requests a minute, a tracking page a few at opening; they stop a
// script hammering a public endpoint or guessing identifiers.
var DefaultRateLimits = RateLimits{
	Public:  RateLimit{PerSecond: 10, Burst: 60},
	Login:   RateLimit{PerSecond: 10.0 / 60, Burst: 10},
	Webhook: RateLimit{PerSecond: 20, Burst: 200},
	Unknown: RateLimit{PerSecond: 1, Burst: 30},
	API:     RateLimit{PerSecond: 100, Burst: 2000}, // a board opening on 200 technicians on the way asks 400 things
}

func (rl RateLimits) withDefaults() RateLimits {
	d := DefaultRateLimits
	for _, p := range []struct{ v, def *RateLimit }{{&rl.Public, &d.Public}, {&rl.Login, &d.Login},
		{&rl.Webhook, &d.Webhook}, {&rl.Unknown, &d.Unknown}, {&rl.API, &d.API}} {
		if *p.v == (RateLimit{}) {
			*p.v = *p.def
		}
	}
	return rl
}

// maxLimitedKeys bounds a limiter's memory: past it, clients it has not
// seen share one bucket until idle ones are swept.
const maxLimitedKeys = 100_000

// limiter keeps a token bucket (golang.org/x/time/rate) per client key.
//
// Concurrency: safe for concurrent use; one mutex guards the map.
type limiter struct {
	name    string // the limit's name in /metrics
	limit   RateLimit
	counter prometheus.Counter

	mu    sync.Mutex
	m     map[string]*rate.Limiter
	swept time.Time
}

func newLimiter(name string, l RateLimit, limited *prometheus.CounterVec) *limiter {
	return &limiter{name: name, limit: l, counter: limited.WithLabelValues(name), m: map[string]*rate.Limiter{}}
}

// take spends one request of key's allowance. It returns 0 when the
// request may go on, or how long until it could.
func (l *limiter) take(key string, now time.Time) time.Duration {
	if l == nil || l.limit.Off() {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// A sweep walks every bucket: once a minute, or once a second when
	// full (not at every request: past the bound that was quadratic).
	if since := now.Sub(l.swept); since > time.Minute || (len(l.m) >= maxLimitedKeys && since > time.Second) {
		l.sweep(now)
	}
	b := l.m[key]
	if b == nil {
		if len(l.m) >= maxLimitedKeys {
			key = "" // the overflow bucket
			b = l.m[key]
		}
		if b == nil {
			b = rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)
			l.m[key] = b
		}
	}
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		l.counter.Inc()
		return d
	}
	return 0
}

// sweep forgets the buckets that are full again: a new one is the same.
func (l *limiter) sweep(now time.Time) {
	l.swept = now
	for k, b := range l.m {
		if b.TokensAt(now) >= float64(l.limit.Burst) {
			delete(l.m, k)
		}
	}
}

// errRateLimited is the 429 of a limited request, with how long to wait.
func errRateLimited(wait time.Duration) error {
	return &rateLimited{wait: wait, err: errorf(codeRateLimited, "Too many requests; retry in %d s.", retryAfterS(wait))}
}

// rateLimited carries the wait to the Retry-After header.
type rateLimited struct {
	wait time.Duration
	err  error
}

func (e *rateLimited) Error() string { return e.err.Error() }
func (e *rateLimited) Unwrap() error { return e.err }

// retryAfterS is a Retry-After header's whole seconds, at least 1.
func retryAfterS(d time.Duration) int { return max(1, int(math.Ceil(d.Seconds()))) }

// retryAfter is the Retry-After header of a 429 or 503 answering err.
func retryAfter(err error) string {
	var rl *rateLimited
	switch {
	case errors.As(err, &rl):
		return strconv.Itoa(retryAfterS(rl.wait))
	case enroute.ErrorCode(err) == codeUnavailable:
		return "5" // a store coming back, a server restarting
	}
	return "1"
}

// limitIP is middleware limiting each client address by l.
func (s *Server) limitIP(l *limiter) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if d := l.take(c.RealIP(), s.now()); d > 0 {
				return errRateLimited(d)
			}
			return next(c)
		}
	}
}

// unknownFrom spends an allowance of the unknown-credentials limit for a
// request from addr that named no device or key: err, or a 429 once the
// address has named too many.
func (s *Server) unknownFrom(addr string, err error) error {
	if d := s.limits.unknown.take(addr, s.now()); d > 0 {
		return errRateLimited(d)
	}
	return err
}

// limiters are the server's rate limiters, built from Config.RateLimits.
type limiters struct {
	public, login, webhook, unknown, api *limiter
	clientIP                             echo.IPExtractor // built once: ipExtractor
}

func newLimiters(rl RateLimits, r prometheus.Registerer) limiters {
	rl = rl.withDefaults()
	limited := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "enroute_rate_limited_total",
		Help: "Requests refused with 429 by a rate limit, by limit (public, login, webhook, unknown, api).",
	}, []string{"limit"})
	r.MustRegister(limited)
	return limiters{
		public:   newLimiter("public", rl.Public, limited),
		login:    newLimiter("login", rl.Login, limited),
		webhook:  newLimiter("webhook", rl.Webhook, limited),
		unknown:  newLimiter("unknown", rl.Unknown, limited),
		api:      newLimiter("api", rl.API, limited),
		clientIP: ipExtractor(rl.TrustedProxies),
	}
}

// ipExtractor reads a request's client address: the peer's, or, from one
// of the trusted proxies, what X-Forwarded-For says (echo skips trusted hops from
// the right). Echo's default would believe any client's header.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		_, n, err := net.ParseCIDR(p.String())
		if err == nil {
			opts = append(opts, echo.TrustIPRange(n))
		}
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// clientAddr is the client address of a request that did not come through
// echo (the OsmAnd listener), read as echo reads it.
func (ls limiters) clientAddr(remote net.Addr, xff []byte) string {
	r := &http.Request{RemoteAddr: remote.String(), Header: http.Header{}}
	if len(xff) > 0 {
		r.Header.Set(echo.HeaderXForwardedFor, string(xff))
	}
	return ls.clientIP(r)
}
