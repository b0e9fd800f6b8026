package load

// Sending: the bodies, the senders of each mode (batch, stream, osmand,
// live, livestream) and their pacing.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// nativeBody builds a batch with append-style formatting: the generator
// shares the machine with the server and must not waste its cores.
func nativeBody(d *Device, n int, live bool) []byte {
	b := make([]byte, 0, n*140+2)
	b = append(b, '[')
	for i := range n {
		p, ts := d.Step(live)
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"ts":"`...)
		b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","lat":`...)
		b = strconv.AppendFloat(b, p.Lat, 'f', 6, 64)
		b = append(b, `,"lng":`...)
		b = strconv.AppendFloat(b, p.Lng, 'f', 6, 64)
		b = append(b, `,"accuracy_m":8,"speed_mps":9.5,"heading_deg":90,"battery":80}`...)
	}
	return append(b, ']')
}

type ingestResult struct {
	Accepted int               `json:"accepted"`
	Rejected []json.RawMessage `json:"rejected"`
}

// parseAllAccepted reads the common answer, nothing rejected, without
// reflection (encoding/json was 6% of the generator at 10,000 requests a
// second); anything else is left to json.Unmarshal.
func (r *ingestResult) parseAllAccepted(raw []byte) bool {
	rest, ok := bytes.CutPrefix(bytes.TrimSpace(raw), []byte(`{"accepted":`))
	if !ok {
		return false
	}
	i := bytes.IndexByte(rest, ',')
	if i < 0 || !bytes.HasSuffix(rest, []byte(`,"rejected":[]}`)) {
		return false
	}
	n, err := strconv.Atoi(string(rest[:i]))
	if err != nil {
		return false
	}
	r.Accepted, r.Rejected = n, nil
	return true
}

// sender is one sending goroutine's connections, one per node.
type sender map[string]*RawConn

func (s sender) conn(base string) *RawConn {
	rc := s[base]
	if rc == nil {
		rc, _ = NewRawConn(base)
		s[base] = rc
	}
	return rc
}

// postBatch posts fixes on the native batch API and counts the answer.
func (s sender) postBatch(base, token string, body []byte, n int, accepted, rejected, sent, errs *atomic.Int64) {
	status, raw, err := s.conn(base).Do("POST", "/api/v1/positions", []string{"Authorization: Bearer " + token, "Content-Type: application/json"}, body)
	sent.Add(int64(n))
	var r ingestResult
	if err == nil && status != 200 {
		err = fmt.Errorf("status %d: %s", status, raw)
	}
	if err == nil && !r.parseAllAccepted(raw) {
		err = json.Unmarshal(raw, &r)
	}
	if err != nil {
		errs.Add(1)
		return
	}
	accepted.Add(int64(r.Accepted))
	rejected.Add(int64(len(r.Rejected)))
}

// throughputHTTP sends as fast as c.Conns senders can: each takes a
// device at a time (one device is never sent for by two senders at once).
func throughputHTTP(ctx context.Context, c Config, devs []*Device, accepted, rejected, sent, errs *atomic.Int64) error {
	free := make(chan *Device, len(devs))
	for _, d := range devs {
		free <- d
	}
	var wg sync.WaitGroup
	for range c.Conns {
		wg.Go(func() {
			s := sender{}
			for ctx.Err() == nil {
				d := <-free
				if c.Mode == "osmand" {
					p, ts := d.Step(false)
					q := fmt.Appendf(nil, "/?id=%s&timestamp=%d&lat=%.6f&lon=%.6f&speed=18.5&bearing=90&accuracy=8&batt=80", d.ident, ts.Unix(), p.Lat, p.Lng)
					status, _, err := s.conn(c.OsmAnd).Do("GET", string(q), nil, nil)
					sent.Add(1)
					switch {
					case err != nil:
						errs.Add(1)
					case status == 200:
						accepted.Add(1)
					default:
						rejected.Add(1)
					}
				} else {
					s.postBatch(c.node(d.n), d.tok, nativeBody(d, c.Batch, false), c.Batch, accepted, rejected, sent, errs)
				}
				free <- d
			}
		})
	}
	wg.Wait()
	return nil
}

// throughputStream gives each of c.Conns senders its own devices, each on
// its own stream, sending a batch and waiting for its ack.
func throughputStream(ctx context.Context, c Config, devs []*Device, streams []*websocket.Conn, accepted, rejected, sent, errs *atomic.Int64) error {
	var wg sync.WaitGroup
	for k := range min(c.Conns, len(devs)) {
		wg.Go(func() {
			for seq, j := 1, k; ctx.Err() == nil; seq, j = seq+1, j+c.Conns {
				if j >= len(devs) {
					j = k
				}
				sent.Add(int64(c.Batch))
				streamBatch(streams[j], seq, nativeBody(devs[j], c.Batch, false), accepted, rejected, errs)
			}
		})
	}
	wg.Wait()
	return nil
}

// dialStreams opens each device's stream (device i on node(i)), before
// the measured time starts.
func dialStreams(c Config, devs []*Device) ([]*websocket.Conn, error) {
	conns := make([]*websocket.Conn, len(devs))
	err := Parallel(len(devs), 32, func(i int) error {
		url := strings.Replace(c.node(i), "http", "ws", 1) + "/api/v1/devices/stream"
		conn, _, err := websocket.DefaultDialer.Dial(url, http.Header{"Authorization": {"Bearer " + devs[i].tok}})
		conns[i] = conn
		return err
	})
	return conns, err
}

// paced calls send every c.Interval until ctx ends, the i-th of n callers
// starting i/n of an interval late, so n devices spread evenly over it.
func paced(ctx context.Context, c Config, i, n int, send func()) {
	select {
	case <-time.After(time.Duration(int64(c.Interval) * int64(i) / int64(n))):
	case <-ctx.Done():
		return
	}
	t := time.NewTicker(c.Interval)
	defer t.Stop()
	for {
		send()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// live sends each device's next fix every c.Interval, stamped now, spread
// evenly over the interval (Schedule), each sender on its own connections.
func live(ctx context.Context, c Config, devs []*Device, accepted, rejected, sent, errs *atomic.Int64) error {
	senders := make([]sender, min(c.Conns, len(devs)))
	for k := range senders {
		senders[k] = sender{}
	}
	Schedule(ctx, c.Interval, len(devs), len(senders), func(k, i int) {
		senders[k].postBatch(c.node(i), devs[i].tok, nativeBody(devs[i], 1, true), 1, accepted, rejected, sent, errs)
	})
	return nil
}

// Schedule calls send(k, i) for each of n devices every interval until
// ctx ends, device i at i/n of it, so they spread evenly over it. Sender
// k of conns (a goroutine each) sends for devices k, k+conns, ... in
// turn; one that falls behind sends at once (fewer sends a second, never
// older timestamps). It returns when every sender has stopped.
func Schedule(ctx context.Context, interval time.Duration, n, conns int, send func(k, i int)) {
	var wg sync.WaitGroup
	start := time.Now()
	for k := range min(conns, n) {
		wg.Go(func() {
			for round := int64(0); ; round++ {
				for i := k; i < n; i += conns {
					due := start.Add(time.Duration(round*int64(interval) + int64(interval)*int64(i)/int64(n)))
					if d := time.Until(due); d > 0 {
						select {
						case <-time.After(d):
						case <-ctx.Done():
							return
						}
					} else if ctx.Err() != nil {
						return
					}
					send(k, i)
				}
			}
		})
	}
	wg.Wait()
}

// liveStream is live mode with each device on its own device stream, as the
// native app sends: one fix per interval, stamped now, acknowledged after
// commit.
func liveStream(ctx context.Context, c Config, devs []*Device, conns []*websocket.Conn, accepted, rejected, sent, errs *atomic.Int64) error {
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Go(func() {
			conn := conns[i]
			seq := 0
			paced(ctx, c, i, len(devs), func() {
				seq++
				sent.Add(1)
				streamBatch(conn, seq, nativeBody(d, 1, true), accepted, rejected, errs)
			})
		})
	}
	wg.Wait()
	return nil
}

// streamBatch sends fixes on a device stream and counts its acknowledgement.
func streamBatch(conn *websocket.Conn, seq int, fixes []byte, accepted, rejected, errs *atomic.Int64) {
	msg := append([]byte(`{"seq":`+strconv.Itoa(seq)+`,"fixes":`), fixes...)
	msg = append(msg, '}')
	var ack struct {
		Accepted int               `json:"accepted"`
		Rejected []json.RawMessage `json:"rejected"`
		Error    *json.RawMessage  `json:"error"`
	}
	if conn.WriteMessage(websocket.TextMessage, msg) != nil || conn.ReadJSON(&ack) != nil || ack.Error != nil {
		errs.Add(1)
		return
	}
	accepted.Add(int64(ack.Accepted))
	rejected.Add(int64(len(ack.Rejected)))
}
