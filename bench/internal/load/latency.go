package load

// Latency: the watchers' and boards' sockets, and the histograms of how
// long each fix took from its stamp to them.

import (
	"bytes"
	"fmt"
	"io"
	"math/bits"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Latencies collects fix-to-receiver latencies in a log-linear histogram
// (64 buckets per power of two: within 1.6%), with atomic counters: ten
// thousand watchers and twenty boards add 200,000 samples a second, and a
// shared slice under a mutex (growing to millions, copied as it grew) cost
// the generator CPU and stalls that showed up as latency.
type Latencies struct {
	buckets [64 * 64]atomic.Int64
	n       atomic.Int64
	max     atomic.Int64
	// Per second since start (-timeline): samples, those over 10 ms, the
	// largest.
	start         time.Time
	secN, secSlow [3600]atomic.Int64
	secMax        [3600]atomic.Int64
}

// timeline prints, per second, how many samples there were, how many
// took over 10 ms, and the largest: a tail that comes in bursts shows
// when.
func (l *Latencies) timeline(w io.Writer, name string) {
	// The start's wall time lines the seconds up with a server's log.
	fmt.Fprintf(w, "%s per second from %s: samples, over 10 ms, max\n", name, l.start.Format("15:04:05.000"))
	for i := range l.secN {
		if n := l.secN[i].Load(); n > 0 {
			fmt.Fprintf(w, "  %4ds %7d %7d %10v\n", i, n, l.secSlow[i].Load(), time.Duration(l.secMax[i].Load()).Round(100*time.Microsecond))
		}
	}
}

// bucketOf maps a duration (ns) to its bucket: below 64 ns one each, then
// the power of two and the next 6 bits below the leading one.
func bucketOf(ns int64) int {
	if ns < 64 {
		return int(max(ns, 0))
	}
	e := bits.Len64(uint64(ns)) - 1 // ns in [2^e, 2^(e+1))
	return (e-5)*64 + int(ns>>(e-6))&63
}

// lowerBound is the smallest duration in bucket b.
func lowerBound(b int) time.Duration {
	if b < 64 {
		return time.Duration(b)
	}
	e := b/64 + 5
	return time.Duration(int64(64+b%64) << (e - 6))
}

// Add records one sample; safe for concurrent use.
func (l *Latencies) Add(d time.Duration) {
	l.n.Add(1)
	l.buckets[min(bucketOf(int64(d)), len(l.buckets)-1)].Add(1)
	raise(&l.max, int64(d))
	if !l.start.IsZero() {
		i := min(int(time.Since(l.start)/time.Second), len(l.secN)-1)
		l.secN[i].Add(1)
		if d > 10*time.Millisecond {
			l.secSlow[i].Add(1)
		}
		raise(&l.secMax[i], int64(d))
	}
}

// raise sets m to v if v is larger.
func raise(m *atomic.Int64, v int64) {
	for old := m.Load(); v > old && !m.CompareAndSwap(old, v); old = m.Load() {
	}
}

// Quantile is the lower bound of the bucket holding the q-th sample.
func (l *Latencies) Quantile(q float64) time.Duration {
	rank := int64(q * float64(l.n.Load()))
	var seen int64
	for b := range l.buckets {
		if seen += l.buckets[b].Load(); seen > rank {
			return lowerBound(b)
		}
	}
	return time.Duration(l.max.Load())
}

// Count is how many samples were added.
func (l *Latencies) Count() int64 { return l.n.Load() }

// Max is the largest sample.
func (l *Latencies) Max() time.Duration { return time.Duration(l.max.Load()) }

func (l *Latencies) report(w io.Writer, name string) {
	n := l.n.Load()
	if n == 0 {
		fmt.Fprintf(w, "%-9s no updates\n", name)
		return
	}
	fmt.Fprintf(w, "%-9s %d updates: p50 %v  p99 %v  max %v\n", name, n,
		l.Quantile(0.5).Round(10*time.Microsecond), l.Quantile(0.99).Round(10*time.Microsecond), time.Duration(l.max.Load()).Round(10*time.Microsecond))
}

// tsKey is `"ts":"` without its first quote: bytes.Index looks for a
// pattern's first byte first, and a quote is everywhere in JSON (board
// messages are tens of kilobytes: the search was 12% of the generator).
var tsKey = []byte(`ts":"`)

// watch reads a WebSocket, timing every position by its fix timestamp
// (nil lat: reading only).
// Messages are read into one buffer per connection (boards' are tens of
// kilobytes): the generator shares the server's cores, so it spends little.
func watch(ws *websocket.Conn, lat *Latencies, measuring *atomic.Bool) {
	var buf bytes.Buffer
	for {
		_, r, err := ws.NextReader()
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return
		}
		msg := buf.Bytes()
		now := time.Now()
		if lat == nil || !(bytes.HasPrefix(msg, []byte(`{"type":"position`)) || bytes.HasPrefix(msg, []byte(`{"type":"batch"`))) || !measuring.Load() {
			continue // snapshots, status and progress events
		}
		EachTS(msg, func(ts time.Time) { lat.Add(now.Sub(ts)) })
	}
}

// EachTS calls fn with every "ts" of a message: it holds one position or
// several, or a batch of them and events (only positions have a "ts").
func EachTS(msg []byte, fn func(time.Time)) {
	for rest := msg; ; {
		i := bytes.Index(rest, tsKey)
		if i < 0 {
			return
		}
		quoted := i > 0 && rest[i-1] == '"'
		rest = rest[i+len(tsKey):]
		if !quoted {
			continue
		}
		if j := bytes.IndexByte(rest, '"'); j > 0 {
			if ts, ok := parseUTC(rest[:j]); ok {
				fn(ts)
			}
		}
	}
}

// parseUTC parses the server's timestamps, RFC 3339 in UTC with up to
// nine fractional digits ("2006-01-02T15:04:05.999999999Z"), without
// time.Parse's generality; anything else goes to time.Parse.
func parseUTC(b []byte) (time.Time, bool) {
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(b) >= 20 && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' && b[len(b)-1] == 'Z' {
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		sec, ok6 := num(b[17:19])
		ns, frac := 0, b[19:len(b)-1]
		ok7 := true
		if len(frac) > 0 {
			if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
				ok7 = false
			} else if ns, ok7 = num(frac[1:]); ok7 {
				for range 10 - len(frac) {
					ns *= 10
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			return time.Date(y, time.Month(mo), d, h, mi, sec, ns, time.UTC), true
		}
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

func connect(c Config, devs []*Device, watchers, boards *Latencies, measuring *atomic.Bool) ([]*websocket.Conn, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 512}
	conns := make([]*websocket.Conn, min(c.Watchers, len(devs))+c.Boards)
	err := Parallel(len(conns), 32, func(i int) error {
		var (
			conn *websocket.Conn
			err  error
		)
		ws := strings.Replace(c.node(i+1), "http", "ws", 1)
		if i < c.Watchers {
			conn, _, err = dialer.Dial(ws+"/t/"+devs[i].watchToken+"/live", nil)
		} else {
			conn, _, err = dialer.Dial(ws+"/api/v1/live", http.Header{"Authorization": {"Bearer " + c.Token}})
			if err == nil {
				err = conn.WriteJSON(map[string]any{"type": "subscribe"})
			}
		}
		if err != nil {
			return err
		}
		conns[i] = conn
		switch board := i - c.Watchers; {
		case board < 0:
			go watch(conn, watchers, measuring)
		case c.TimedBoards < 0 || board < c.TimedBoards:
			go watch(conn, boards, measuring)
		default:
			go watch(conn, nil, measuring)
		}
		return nil
	})
	return conns, err
}
