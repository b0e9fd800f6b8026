package load

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// The latency histogram's buckets are ordered and tight (within 1.6%), and
// its quantiles land where the samples are.
func TestLatencies(t *testing.T) {
	prev := -1
	for ns := int64(0); ns < 1<<36; ns = ns*17/16 + 1 {
		b := bucketOf(ns)
		if b < prev {
			t.Fatalf("bucket of %d ns is %d, below %d", ns, b, prev)
		}
		prev = b
		lo := int64(lowerBound(b))
		if lo > ns || float64(ns-lo) > 0.016*float64(ns) {
			t.Fatalf("%d ns in bucket %d from %d ns", ns, b, lo)
		}
	}
	var l Latencies
	for i := 1; i <= 1000; i++ {
		l.Add(time.Duration(i) * time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{0.5: 500 * time.Millisecond, 0.99: 990 * time.Millisecond} {
		if got := l.Quantile(q); got > want+want/50 || got < want-want/50 {
			t.Fatalf("q%.2f = %v, want about %v", q, got, want)
		}
	}
	if l.max.Load() != int64(time.Second) || l.n.Load() != 1000 {
		t.Fatalf("max %v, n %d", time.Duration(l.max.Load()), l.n.Load())
	}
}

// TestParseUTC: the fast path reads what time.Parse reads, at every
// precision the server writes; other forms fall back to time.Parse.
func TestParseUTC(t *testing.T) {
	base := time.Date(2026, 11, 27, 5, 21, 18, 0, time.UTC)
	for _, ns := range []int{0, 100_000_000, 120_000_000, 123_456_000, 123_456_789, 5} {
		want := base.Add(time.Duration(ns))
		b := want.AppendFormat(nil, time.RFC3339Nano)
		got, ok := parseUTC(b)
		if !ok || !got.Equal(want) {
			t.Fatalf("%s: %v %v, want %v", b, got, ok, want)
		}
	}
	if got, ok := parseUTC([]byte("2026-11-27T06:21:18.5+01:00")); !ok || !got.Equal(base.Add(500*time.Millisecond)) {
		t.Fatalf("with an offset: %v %v", got, ok)
	}
	for _, bad := range []string{"", "2026-11-27", "2026-11-27T05:21:18.Z", "2026-1x-27T05:21:18Z"} {
		if _, ok := parseUTC([]byte(bad)); ok {
			t.Fatalf("%q parsed", bad)
		}
	}
}

// TestEachTS: every position's "ts" in a batch is found, and keys that
// only end in ts are not.
func TestEachTS(t *testing.T) {
	msg := []byte(`{"type":"batch","messages":[{"type":"progress","assignment_id":3,"eta_ts":"2026-11-27T07:00:09Z","distance_m":120},` +
		`{"type":"positions","positions":[{"type":"position","technician_id":1,"ts":"2026-11-27T07:00:01.5Z","lat":41.1},` +
		`{"type":"position","technician_id":2,"ts":"2026-11-27T07:00:02Z","lat":41.2}]}]}`)
	var got []string
	EachTS(msg, func(ts time.Time) { got = append(got, ts.Format(time.RFC3339Nano)) })
	if len(got) != 2 || got[0] != "2026-11-27T07:00:01.5Z" || got[1] != "2026-11-27T07:00:02Z" {
		t.Fatalf("EachTS = %v, want the two positions' times", got)
	}
}

// TestParseAllAccepted: the common answer is read by hand, anything else
// is left to encoding/json.
func TestParseAllAccepted(t *testing.T) {
	var r ingestResult
	if !r.parseAllAccepted([]byte(`{"accepted":12,"duplicates":0,"rejected":[]}`+"\n")) || r.Accepted != 12 || r.Rejected != nil {
		t.Fatalf("all accepted = %+v", r)
	}
	for _, other := range []string{
		`{"accepted":1,"duplicates":0,"rejected":[{"index":1,"reason":"x"}]}`,
		`{"duplicates":0,"accepted":1,"rejected":[]}`,
		`{"accepted":x,"duplicates":0,"rejected":[]}`,
		`{"error":{"code":"invalid"}}`,
	} {
		if r.parseAllAccepted([]byte(other)) {
			t.Errorf("read %s by hand", other)
		}
	}
}

// schedWaits.since counts only the waits after its base and reports the
// upper bounds of the buckets the quantiles fall in.
func TestSchedWaitsSince(t *testing.T) {
	buckets := []float64{0, 0.001, 0.002, 0.004, 0.008}
	base := schedWaits{counts: []uint64{5, 0, 0, 7}, buckets: buckets}
	now := schedWaits{counts: []uint64{5 + 900, 95, 0, 7 + 5}, buckets: buckets}
	n, p50, p99, longest := now.since(base)
	if n != 1000 || p50 != time.Millisecond || p99 != 2*time.Millisecond || longest != 8*time.Millisecond {
		t.Fatalf("n %d p50 %v p99 %v max %v; want 1000, 1ms, 2ms, 8ms", n, p50, p99, longest)
	}
	if n, _, _, _ := base.since(base); n != 0 {
		t.Fatalf("no new waits: n %d", n)
	}
	if n, _, _, _ := readSchedWaits().since(schedWaits{}); n != 0 {
		t.Fatalf("a base of another shape: n %d, want 0", n)
	}
}

// pushDelays reads Enroute's histogram from its exposition and reports the
// buckets of the frames timed since a base.
func TestPushDelays(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# HELP enroute_customer_push_delay_seconds x\n",
			`enroute_customer_push_delay_seconds_bucket{le="0.001"} 95`+"\n",
			`enroute_customer_push_delay_seconds_bucket{le="0.01"} 104`+"\n",
			`enroute_customer_push_delay_seconds_bucket{le="+Inf"} 110`+"\n",
			"enroute_customer_push_delay_seconds_count 110\n")
	}))
	defer srv.Close()
	h := readPushDelays(Config{URL: srv.URL})
	base := pushDelays{bounds: h.bounds, counts: []float64{5, 5, 10}}
	if n, p50, p99 := h.since(base); n != 100 || p50 != "0.001" || p99 != "0.01" {
		t.Fatalf("n %v p50 %s p99 %s; want 100, 0.001, 0.01", n, p50, p99)
	}
	if n, _, _ := h.since(pushDelays{}); n != 0 {
		t.Fatalf("against a server without the histogram: n %v", n)
	}
}
