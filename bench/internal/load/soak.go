package load

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// soakSample is the server's state at one moment of a long run.
type soakSample struct {
	at                           time.Duration // since the measuring began
	RSSKiB                       int64
	heapKiB, goroutines, sockets float64
}

// sampleServer reads the server's RSS and /metrics every c.Sample until ctx
// ends, printing each sample, and returns them: -sample makes a run a soak
// test, whose question is whether memory and goroutines stay flat.
func sampleServer(ctx context.Context, c Config, start time.Time) []soakSample {
	w := c.out()
	var out []soakSample
	t := time.NewTicker(c.Sample)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return out
		case <-t.C:
			m := metricValues(c.URL, "go_memstats_heap_inuse_bytes", "go_goroutines", "enroute_websockets_open")
			s := soakSample{at: time.Since(start), RSSKiB: RSSKiB(c.PID), heapKiB: m["go_memstats_heap_inuse_bytes"] / 1024,
				goroutines: m["go_goroutines"], sockets: m["enroute_websockets_open"]}
			out = append(out, s)
			fmt.Fprintf(w, "soak %6.1f min: RSS %7.1f MiB, heap %7.1f MiB, %6.0f goroutines, %5.0f WebSockets\n",
				s.at.Minutes(), float64(s.RSSKiB)/1024, s.heapKiB/1024, s.goroutines, s.sockets)
		}
	}
}

// metricValues reads the named unlabelled series from a server's /metrics.
func metricValues(base string, names ...string) map[string]float64 {
	out := map[string]float64{}
	res, err := client.Get(base + "/metrics")
	if err != nil {
		return out
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if ok && slices.Contains(names, name) {
			out[name], _ = strconv.ParseFloat(v, 64)
		}
	}
	return out
}

// reportSoak compares the last quarter of the samples with the first
// (medians, so one garbage collection does not decide) and fits a line
// through all of them: flat means a ratio near 1 and a slope near 0.
func reportSoak(w io.Writer, samples []soakSample) {
	if len(samples) < 8 {
		fmt.Fprintf(w, "soak: %d samples, too few to judge (run longer or sample more often)\n", len(samples))
		return
	}
	q := len(samples) / 4
	series := []struct {
		name, unit string
		v          func(soakSample) float64
	}{
		{"RSS", "MiB", func(s soakSample) float64 { return float64(s.RSSKiB) / 1024 }},
		{"Go heap", "MiB", func(s soakSample) float64 { return s.heapKiB / 1024 }},
		{"goroutines", "", func(s soakSample) float64 { return s.goroutines }},
		{"WebSockets", "", func(s soakSample) float64 { return s.sockets }},
	}
	fmt.Fprintf(w, "soak: %d samples over %.1f min; first quarter -> last quarter (medians), least-squares slope:\n",
		len(samples), samples[len(samples)-1].at.Minutes())
	for _, se := range series {
		first, last := median(samples[:q], se.v), median(samples[len(samples)-q:], se.v)
		ratio := 0.0
		if first != 0 {
			ratio = last / first
		}
		fmt.Fprintf(w, "  %-10s %9.1f -> %9.1f %-3s (x%.3f), slope %+.2f %s/h\n", se.name, first, last, se.unit, ratio, slope(samples, se.v), se.unit)
	}
}

func median(ss []soakSample, v func(soakSample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = v(s)
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// slope is the least-squares slope of v over time, per hour.
func slope(ss []soakSample, v func(soakSample) float64) float64 {
	var n, sx, sy, sxx, sxy float64
	for _, s := range ss {
		x, y := s.at.Hours(), v(s)
		n++
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	if d := n*sxx - sx*sx; d != 0 {
		return (n*sxy - sx*sy) / d
	}
	return 0
}
