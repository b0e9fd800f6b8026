package load

import (
	"bufio"
	"fmt"
	"io"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"
)

// schedWaits reads how long the generator's own goroutines have waited,
// runnable, for a thread to run them (the runtime samples these waits).
// The generator shares the two cores with the server it measures: a
// watcher's read that waits here is latency it reports as the server's.
type schedWaits struct {
	counts  []uint64
	buckets []float64
}

func readSchedWaits() schedWaits {
	s := []metrics.Sample{{Name: "/sched/Latencies:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		return schedWaits{}
	}
	h := s[0].Value.Float64Histogram()
	return schedWaits{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// since returns the waits sampled after base: their count and the upper
// bounds of the buckets holding the median, the 99th percentile and the
// longest.
func (s schedWaits) since(base schedWaits) (n uint64, p50, p99, longest time.Duration) {
	if len(s.counts) == 0 || len(base.counts) != len(s.counts) {
		return 0, 0, 0, 0
	}
	d := make([]uint64, len(s.counts))
	for i := range d {
		d[i] = s.counts[i] - base.counts[i]
		n += d[i]
	}
	upper := func(i int) time.Duration { return time.Duration(s.buckets[i+1] * float64(time.Second)) }
	quantile := func(q float64) time.Duration {
		rank := uint64(q * float64(n))
		var c uint64
		for i := range d {
			if c += d[i]; c > rank {
				return upper(i)
			}
		}
		return 0
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] > 0 {
			longest = upper(i)
			break
		}
	}
	return n, quantile(0.5), quantile(0.99), longest
}

func (s schedWaits) report(w io.Writer, base schedWaits) {
	n, p50, p99, longest := s.since(base)
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "generator's goroutines waiting to run (%d sampled): p50 %v  p99 %v  max %v (bucket bounds)\n", n, p50.Round(10*time.Microsecond), p99.Round(10*time.Microsecond), longest.Round(10*time.Microsecond))
}

// pushDelays is the server's enroute_customer_push_delay_seconds
// histogram: cumulative counts by upper bound ("+Inf" last). Enroute's
// own part of the watchers' latency, from a fix's hand-over to the
// customers' connections to the write of its frame; the floor has none.
// With several nodes, the first's.
type pushDelays struct {
	bounds []string
	counts []float64
}

const pushDelayMetric = "enroute_customer_push_delay_seconds_bucket{le=\""

func readPushDelays(c Config) pushDelays {
	res, err := client.Get(c.URL + "/metrics")
	if err != nil {
		return pushDelays{}
	}
	defer res.Body.Close()
	var h pushDelays
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), pushDelayMetric)
		if !ok {
			continue
		}
		le, v, ok := strings.Cut(rest, "\"} ")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			continue
		}
		h.bounds, h.counts = append(h.bounds, le), append(h.counts, n)
	}
	return h
}

// since returns the frames timed after base and the upper bounds of the
// buckets holding their median and 99th percentile.
func (h pushDelays) since(base pushDelays) (n float64, p50, p99 string) {
	if len(h.counts) == 0 || len(base.counts) != len(h.counts) {
		return 0, "", ""
	}
	n = h.counts[len(h.counts)-1] - base.counts[len(base.counts)-1]
	quantile := func(q float64) string {
		for i := range h.counts {
			if h.counts[i]-base.counts[i] >= q*n {
				return h.bounds[i]
			}
		}
		return "+Inf"
	}
	if n == 0 {
		return 0, "", ""
	}
	return n, quantile(0.5), quantile(0.99)
}

func (h pushDelays) report(w io.Writer, base pushDelays) {
	n, p50, p99 := h.since(base)
	if n == 0 {
		return
	}
	fmt.Fprintf(w, "server's own part, hand-over to write (%.0f customer frames): p50 <= %s s  p99 <= %s s (enroute_customer_push_delay_seconds buckets)\n", n, p50, p99)
}
