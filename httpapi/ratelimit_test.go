package httpapi

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestParseRateLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want RateLimit
		bad  bool
	}{
		{in: "10/s", want: RateLimit{10, 10}},
		{in: "10/s:60", want: RateLimit{10, 60}},
		{in: "600/m", want: RateLimit{10, 600}},
		{in: "10/m:10", want: RateLimit{10.0 / 60, 10}},
		{in: "36/h", want: RateLimit{0.01, 36}},
		{in: "0.5/s", want: RateLimit{0.5, 1}},
		{in: "off", want: Unlimited},
		{in: "", bad: true},
		{in: "10", bad: true},
		{in: "10/d", bad: true},
		{in: "-1/s", bad: true},
		{in: "NaN/s", bad: true},
		{in: "10/s:0", bad: true},
		{in: "10/s:x", bad: true},
		{in: "5e-324/m", bad: true}, // no rate at all once per second, not "off"
	} {
		got, err := ParseRateLimit(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseRateLimit(%q) = %+v, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRateLimit(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
		// What String writes, ParseRateLimit reads back.
		if back, err := ParseRateLimit(got.String()); err != nil || back != got {
			t.Errorf("%q: String %q reads back as %+v, %v", tc.in, got.String(), back, err)
		}
	}
}

func newTestLimiter(l RateLimit) (*limiter, *prometheus.CounterVec) {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "limited"}, []string{"limit"})
	return newLimiter("test", l, v), v
}

// TestLimiter: a client gets its burst, then waits its rate; clients do not
// share an allowance; the wait it returns is when the next request passes.
func TestLimiter(t *testing.T) {
	l, counted := newTestLimiter(RateLimit{PerSecond: 2, Burst: 3})
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for i := range 3 {
		if d := l.take("a", now); d != 0 {
			t.Fatalf("request %d of the burst waits %v", i+1, d)
		}
	}
	d := l.take("a", now)
	if d != 500*time.Millisecond {
		t.Fatalf("the fourth request waits %v, want 500ms", d)
	}
	if d := l.take("b", now); d != 0 {
		t.Fatalf("another client waits %v", d)
	}
	// A refused request costs nothing: after the wait, one passes.
	if d := l.take("a", now.Add(d)); d != 0 {
		t.Fatalf("after the wait: %v", d)
	}
	if got := testutil.ToFloat64(counted.WithLabelValues("test")); got != 1 {
		t.Fatalf("counted %v refusals, want 1", got)
	}
	// Unlimited takes nothing and keeps nothing.
	off, _ := newTestLimiter(Unlimited)
	for range 1000 {
		if d := off.take("a", now); d != 0 {
			t.Fatal("an unlimited limiter refused")
		}
	}
	if len(off.m) != 0 {
		t.Fatalf("an unlimited limiter keeps %d buckets", len(off.m))
	}
}

// TestLimiterBounded: however many addresses ask, the limiter keeps at most
// maxLimitedKeys buckets (the rest share one), and forgets the full ones.
func TestLimiterBounded(t *testing.T) {
	l, _ := newTestLimiter(RateLimit{PerSecond: 1, Burst: 1})
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for i := range maxLimitedKeys + 5000 {
		l.take(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
	}
	if n := len(l.m); n > maxLimitedKeys+1 {
		t.Fatalf("%d buckets, want at most %d", n, maxLimitedKeys+1)
	}
	// Past the bound, new addresses share the overflow bucket: limited.
	if d := l.take("192.0.2.1", now); d == 0 {
		t.Fatal("a new address past the bound was not limited")
	}
	// A minute later every bucket is full again and forgotten.
	l.take("192.0.2.2", now.Add(time.Minute+time.Second))
	if n := len(l.m); n != 1 {
		t.Fatalf("%d buckets after the sweep, want 1", n)
	}
}

// TestClientAddr: X-Forwarded-For counts only from a trusted proxy, and then
// names the client nearest to it that is not itself trusted.
func TestClientAddr(t *testing.T) {
	peer := &net.TCPAddr{IP: net.ParseIP("10.0.0.5"), Port: 4000}
	none := limiters{clientIP: ipExtractor(nil)}
	if got := none.clientAddr(peer, []byte("203.0.113.7")); got != "10.0.0.5" {
		t.Errorf("no trusted proxy: %q, want the peer", got)
	}
	trusting := limiters{clientIP: ipExtractor([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")})}
	if got := trusting.clientAddr(peer, []byte("198.51.100.1, 203.0.113.7")); got != "203.0.113.7" {
		t.Errorf("from a trusted proxy: %q, want the client it names", got)
	}
	if got := trusting.clientAddr(&net.TCPAddr{IP: net.ParseIP("192.0.2.9"), Port: 1}, []byte("203.0.113.7")); got != "192.0.2.9" {
		t.Errorf("from an untrusted peer: %q, want the peer", got)
	}
}

// FuzzParseRateLimit: a limit read from the configuration is refused, or
// is one that String writes back the same.
func FuzzParseRateLimit(f *testing.F) {
	for _, s := range []string{"10/s", "10/s:60", "600/m", "1/h:1", "off", "", "0.5/s", "1e6/s:1000000", "-1/s", "10/s:", "/s", "10/x",
		"17000.2/s", "713.15/m", "12132.3/m", "1e-300/h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseRateLimit(s)
		if err != nil {
			return
		}
		if !l.Off() && (l.Burst < 1 || !(l.PerSecond > 0)) {
			t.Fatalf("ParseRateLimit(%q) = %+v", s, l)
		}
		back, err := ParseRateLimit(l.String())
		if err != nil || back != l {
			t.Fatalf("ParseRateLimit(%q) = %+v, written %q, read back %+v, %v", s, l, l.String(), back, err)
		}
	})
}
