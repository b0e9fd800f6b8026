package webhook

import (
	"net/netip"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	w := &Worker{cfg: Config{}}
	w.cfg.defaults()
	for _, tc := range []struct {
		attempt int
		want    time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {10, 2560 * time.Second}, {11, time.Hour}, {30, time.Hour}} {
		for range 50 {
			got := w.backoff(tc.attempt)
			if got < tc.want*8/10 || got > tc.want*12/10 {
				t.Fatalf("backoff(%d) = %v, want %v ±20%%", tc.attempt, got, tc.want)
			}
		}
	}
	// The default gives up after DisableAfter: a dead endpoint is disabled
	// before its deliveries fail for good.
	var total time.Duration
	for a := 1; a < w.cfg.MaxAttempts; a++ {
		d := w.cfg.BaseBackoff << (a - 1)
		if a > 20 || d > w.cfg.MaxBackoff {
			d = w.cfg.MaxBackoff
		}
		total += d * 8 / 10
	}
	if total <= w.cfg.DisableAfter {
		t.Fatalf("retries span at least %v, not more than DisableAfter %v", total, w.cfg.DisableAfter)
	}
}

func TestPrivateAddr(t *testing.T) {
	for _, tc := range []struct {
		ip      string
		private bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.20.0.1", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"100.64.0.1", true}, {"0.0.0.0", true}, {"::1", true},
		{"fd00::1", true}, {"fe80::1", true}, {"::ffff:127.0.0.1", true},
		{"93.184.216.34", false}, {"2606:2800:220:1:248:1893:25c8:1946", false}, {"8.8.8.8", false},
	} {
		if got := privateAddr(netip.MustParseAddr(tc.ip)); got != tc.private {
			t.Errorf("privateAddr(%s) = %v, want %v", tc.ip, got, tc.private)
		}
	}
}
