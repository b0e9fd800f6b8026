package httpapi_test

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute/httpapi"
)

// limited checks that r is a 429 with a Retry-After of at least min
// seconds and the JSON error naming the limit.
func limited(t *testing.T, what string, r response, min int) {
	t.Helper()
	wait, _ := strconv.Atoi(r.header.Get("Retry-After"))
	if r.status != 429 || r.errCode() != "rate_limited" || wait < min {
		t.Fatalf("%s = %d (Retry-After %q) %s, want 429 rate_limited, Retry-After >= %d", what, r.status, r.header.Get("Retry-After"), r.raw, min)
	}
}

// TestRateLimits: each public endpoint is limited per client address, the
// API per key, and requests naming devices or keys that do not exist per
// address; a registered device is never limited, whatever its address has
// done; refusals are 429 with Retry-After and counted in /metrics.
func TestRateLimits(t *testing.T) {
	e := newEnvWith(t, httpapi.Config{RateLimits: httpapi.RateLimits{
		Public:  httpapi.RateLimit{PerSecond: 1, Burst: 2},
		Login:   httpapi.RateLimit{PerSecond: 1.0 / 60, Burst: 2},
		Webhook: httpapi.RateLimit{PerSecond: 1.0 / 60, Burst: 1},
		Unknown: httpapi.RateLimit{PerSecond: 1.0 / 60, Burst: 3},
		API:     httpapi.RateLimit{PerSecond: 1.0 / 60, Burst: 5},
	}})
	// The admin makes a device first: 2 of its 5 requests.
	tech := e.must(201, e.admin, "POST", "/api/v1/technicians", map[string]any{"name": "Ana"}).id()
	token := e.must(201, e.admin, "POST", "/api/v1/technicians/"+itoa(tech)+"/devices", nil).body["token"].(string)

	t.Run("public", func(t *testing.T) {
		for i := range 2 {
			if r := e.do("", "GET", "/t/nosuchtoken/state", nil); r.status != 404 {
				t.Fatalf("request %d = %d %s", i+1, r.status, r.raw)
			}
		}
		limited(t, "the third tracking state", e.do("", "GET", "/t/nosuchtoken/state", nil), 1)
		limited(t, "the tracking page", e.do("", "GET", "/t/nosuchtoken", nil), 1)
		limited(t, "the feedback form", e.do("", "POST", "/t/nosuchtoken/feedback", map[string]any{"rating": 5}), 1)
		// A spoofed X-Forwarded-For does not make a new client: no proxy
		// is trusted.
		limited(t, "with a spoofed X-Forwarded-For", e.do("", "GET", "/t/nosuchtoken/state", nil, "X-Forwarded-For", "203.0.113.9"), 1)
	})
	t.Run("unknown", func(t *testing.T) {
		fix := func(i int) string {
			return fmt.Sprintf(`[{"ts":%d,"lat":41.15,"lng":-8.61}]`, time.Now().Add(-time.Duration(100-i)*time.Second).UnixMilli())
		}
		for i := range 3 {
			if r := e.do("enr_nosuchtoken", "POST", "/api/v1/positions", fix(i)); r.status != 401 {
				t.Fatalf("unknown token %d = %d %s", i+1, r.status, r.raw)
			}
		}
		limited(t, "the fourth unknown token", e.do("enr_nosuchtoken", "POST", "/api/v1/positions", fix(3)), 30)
		limited(t, "an unknown API key", e.do("enr_nosuchkey", "GET", "/api/v1/jobs", nil), 30)
		limited(t, "an unknown OwnTracks identifier", e.do("", "POST", "/api/v1/owntracks?id=dev_nosuchdevice000000000000", `{"_type":"location"}`), 30)
		// The registered device, from the same address, is never limited.
		for i := range 40 {
			if r := e.do(token, "POST", "/api/v1/positions", fix(10+i)); r.status != 200 {
				t.Fatalf("the registered device's fix %d = %d %s", i+1, r.status, r.raw)
			}
		}
	})
	t.Run("api", func(t *testing.T) {
		for i := range 3 { // the admin's 3 left
			e.must(200, e.admin, "GET", "/api/v1/jobs", nil)
			_ = i
		}
		limited(t, "the admin's sixth request", e.do(e.admin, "GET", "/api/v1/jobs", nil), 30)
		e.must(200, e.dispatcher, "GET", "/api/v1/jobs", nil) // another key, its own allowance
	})
	t.Run("login", func(t *testing.T) {
		for range 2 {
			if r := e.do("", "POST", "/api/v1/session", map[string]any{"key": "enr_wrong"}); r.status != 401 {
				t.Fatalf("log-in = %d %s", r.status, r.raw)
			}
		}
		limited(t, "the third log-in", e.do("", "POST", "/api/v1/session", map[string]any{"key": e.dispatcher}), 30)
	})
	t.Run("webhook", func(t *testing.T) {
		e.do("", "POST", "/api/v1/sms/inbound", "From=%2B15550100&Body=STOP", "Content-Type", "application/x-www-form-urlencoded")
		limited(t, "the second webhook", e.do("", "POST", "/api/v1/sms/inbound", "From=%2B15550100&Body=STOP", "Content-Type", "application/x-www-form-urlencoded"), 30)
		// Delivery receipts share the webhooks' limit.
		limited(t, "a delivery receipt", e.do("", "POST", "/api/v1/sms/status", "MessageSid=SM1&MessageStatus=sent", "Content-Type", "application/x-www-form-urlencoded"), 30)
	})
	metrics := string(e.do("", "GET", "/metrics", nil).raw)
	for limit, want := range map[string]int{"public": 4, "unknown": 3, "api": 1, "login": 1, "webhook": 2} {
		if line := fmt.Sprintf(`enroute_rate_limited_total{limit=%q} %d`, limit, want); !strings.Contains(metrics, line) {
			t.Errorf("/metrics lacks %s", line)
		}
	}
}

// TestRateLimitsBehindProxy: behind a trusted proxy each client named by
// X-Forwarded-For has its own allowance; clients behind it are not
// limited together.
func TestRateLimitsBehindProxy(t *testing.T) {
	e := newEnvWith(t, httpapi.Config{RateLimits: httpapi.RateLimits{
		Public:         httpapi.RateLimit{PerSecond: 1.0 / 60, Burst: 1},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128")},
	}})
	for i := range 5 {
		if r := e.do("", "GET", "/t/nosuchtoken/state", nil, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i)); r.status != 404 {
			t.Fatalf("client %d = %d %s", i, r.status, r.raw)
		}
	}
	limited(t, "a client's second request", e.do("", "GET", "/t/nosuchtoken/state", nil, "X-Forwarded-For", "203.0.113.0"), 30)
}
