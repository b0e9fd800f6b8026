package main

// Fan-out: devices sending a fix a second, a customer watching each
// device and boards seeing every fix. Enroute's side is bench/load's live
// mode; Centrifugo's is the same pacing, fixes and histograms, each fix
// published through its HTTP API to the device's channel and the board
// channel, watchers on its WebSocket with its JSON protocol.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/enroutehq/enroute/bench/internal/load"
)

// fanoutResult is one side's fan-out measurement.
type fanoutResult struct {
	watchers, boards  *load.Latencies
	serverCPU, genCPU float64 // seconds while sending: the server's, the generator's
	elapsed           time.Duration
	accepted, errs    int64
}

func (r fanoutResult) delivered() int64 { return r.watchers.Count() + r.boards.Count() }

func fanout(ctx context.Context, o *options, t *table, round int) error {
	n, b := o.devices, o.boards
	name := fmt.Sprintf("%s devices at 1 Hz, %s watchers, %d boards", number(float64(n)), number(float64(n)), b)
	record := func(er, cr fanoutResult) {
		ms := func(l *load.Latencies, q float64) float64 { return float64(l.Quantile(q)) / 1e6 }
		perMsg := func(r fanoutResult) float64 { return r.serverCPU / float64(r.delivered()) * 1e6 }
		perS := func(r fanoutResult) float64 { return float64(r.delivered()) / r.elapsed.Seconds() }
		add := func(what, unit string, higher bool, f func(fanoutResult) float64) {
			r := t.row(what, unit, "Centrifugo", higher)
			r.enroute, r.other = append(r.enroute, f(er)), append(r.other, f(cr))
		}
		add("watcher p50, "+name, "ms", false, func(r fanoutResult) float64 { return ms(r.watchers, 0.5) })
		add("watcher p99, "+name, "ms", false, func(r fanoutResult) float64 { return ms(r.watchers, 0.99) })
		add("board p50, "+name, "ms", false, func(r fanoutResult) float64 { return ms(r.boards, 0.5) })
		add("board p99, "+name, "ms", false, func(r fanoutResult) float64 { return ms(r.boards, 0.99) })
		add("server CPU per delivered position, "+name, "µs", false, perMsg)
		t.row("positions delivered per second, "+name, "/s", "Centrifugo", true).info = true
		add("positions delivered per second, "+name, "/s", true, perS)
	}

	e, err := startEnroute(ctx, o)
	if err != nil {
		return err
	}
	res, err := load.Run(load.Config{URL: e.url, OsmAnd: e.osmand, Token: adminToken, Data: o.data, Mode: "live",
		Devices: n, Watchers: n, Boards: b, TimedBoards: -1, Conns: o.fanoutConns, Interval: time.Second,
		Warmup: o.warmup, Duration: o.duration, PID: e.pid(), SQLitePath: e.sqlite, PGURL: e.pg, Out: o.log})
	e.stop()
	if err != nil {
		return fmt.Errorf("enroute: %w", err)
	}
	er := fanoutResult{watchers: res.Watchers, boards: res.Boards, serverCPU: res.ServerCPU, genCPU: res.GeneratorCPU, elapsed: res.Elapsed, accepted: res.Accepted, errs: res.Errors}
	o.progress("fanout", round, "Enroute", er.summary())

	c, err := startCentrifugo(o)
	if err != nil {
		return err
	}
	cr, err := centrifugoFanout(ctx, o, c)
	c.stop()
	if err == nil {
		err = ctx.Err() // interrupted: a part-measured round is not recorded
	}
	if err != nil {
		return fmt.Errorf("centrifugo: %w", err)
	}
	o.progress("fanout", round, "Centrifugo", cr.summary())
	record(er, cr)
	return nil
}

func (r fanoutResult) summary() string {
	q := func(l *load.Latencies, q float64) time.Duration { return l.Quantile(q).Round(10 * time.Microsecond) }
	return fmt.Sprintf("watchers p50 %v p99 %v, boards p50 %v p99 %v, %d fixes accepted, %d errors, server %.2f cores (%.1f µs CPU per delivered position), generator %.2f",
		q(r.watchers, 0.5), q(r.watchers, 0.99), q(r.boards, 0.5), q(r.boards, 0.99),
		r.accepted, r.errs, r.serverCPU/r.elapsed.Seconds(), r.serverCPU/float64(r.delivered())*1e6, r.genCPU/r.elapsed.Seconds())
}

// centrifugoFanout runs the fan-out load against Centrifugo: watcher i
// subscribes to tech:i, each board to board:all; each device's fix is
// published to both in one broadcast request, with the position's fields
// as Enroute's customer message has them.
func centrifugoFanout(ctx context.Context, o *options, c *centrifugo) (fanoutResult, error) {
	r := fanoutResult{watchers: new(load.Latencies), boards: new(load.Latencies)}
	trips, err := load.ReadTrips(o.data)
	if err != nil {
		return r, err
	}
	devs := load.Replay(trips, o.devices)
	var measuring atomic.Bool
	channels := make([]string, o.devices+o.boards)
	for i := range channels {
		if i < o.devices {
			channels[i] = "tech:" + strconv.Itoa(i)
		} else {
			channels[i] = "board:all"
		}
	}
	conns, err := subscribeCentrifugo(c, channels, func(i int) *load.Latencies {
		if i < o.devices {
			return r.watchers
		}
		return r.boards
	}, &measuring)
	defer closeAll(conns)
	if err != nil {
		return r, err
	}
	time.Sleep(2 * time.Second) // as bench/load: let the server settle

	ctx, cancel := context.WithTimeout(ctx, o.warmup+o.duration)
	defer cancel()
	var accepted, errs atomic.Int64
	var base struct {
		accepted, errs int64
		cpu, gen       float64
		start          time.Time
	}
	began := make(chan struct{})
	time.AfterFunc(o.warmup, func() {
		base.accepted, base.errs, base.cpu, base.gen, base.start = accepted.Load(), errs.Load(), load.CPUSeconds(c.pid()), load.CPUSeconds(0), time.Now()
		measuring.Store(true)
		close(began)
	})
	senders := make([]*load.RawConn, min(o.fanoutConns, len(devs)))
	for k := range senders {
		if senders[k], err = load.NewRawConn("http://" + c.addr); err != nil {
			return r, err
		}
	}
	headers := []string{"X-API-Key: " + centrifugoKey, "Content-Type: application/json"}
	bodies := make([][]byte, len(senders))
	load.Schedule(ctx, time.Second, len(devs), len(senders), func(k, i int) {
		p, ts := devs[i].Step(true)
		b := append(bodies[k][:0], `{"channels":["tech:`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `","board:all"],"data":{"type":"position","technician_id":`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `,"ts":"`...)
		b = ts.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, `","lat":`...)
		b = strconv.AppendFloat(b, p.Lat, 'f', 6, 64)
		b = append(b, `,"lng":`...)
		b = strconv.AppendFloat(b, p.Lng, 'f', 6, 64)
		b = append(b, `,"accuracy_m":8,"speed_mps":9.5,"heading_deg":90,"battery":80}}`...)
		bodies[k] = b
		status, raw, err := senders[k].Do("POST", "/api/broadcast", headers, b)
		// A broadcast answers 200 with an error per channel, if any.
		if err != nil || status != 200 || bytes.Contains(raw, []byte(`"error"`)) {
			if errs.Add(1) == 1 {
				fmt.Fprintf(o.log, "centrifugo broadcast: status %d, %v: %.300s\n", status, err, raw)
			}
			return
		}
		accepted.Add(1)
	})
	<-began
	r.elapsed = time.Since(base.start)
	r.serverCPU, r.genCPU = load.CPUSeconds(c.pid())-base.cpu, load.CPUSeconds(0)-base.gen
	time.Sleep(500 * time.Millisecond) // as bench/load: the last updates reach the watchers
	measuring.Store(false)
	r.accepted, r.errs = accepted.Load()-base.accepted, errs.Load()-base.errs
	fmt.Fprintf(o.log, "centrifugo fanout: %s\n", r.summary())
	return r, nil
}

// subscribeCentrifugo opens a WebSocket per channel, connects with
// Centrifugo's JSON protocol and subscribes, then reads each on its own
// goroutine, timing the positions received into lat(i) while measuring
// (nil measuring: idle connections, read only for pings).
func subscribeCentrifugo(c *centrifugo, channels []string, lat func(i int) *load.Latencies, measuring *atomic.Bool) ([]*websocket.Conn, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 30 * time.Second, ReadBufferSize: 1024, WriteBufferSize: 512}
	conns := make([]*websocket.Conn, len(channels))
	err := load.Parallel(len(channels), 32, func(i int) error {
		ws, _, err := dialer.Dial("ws://"+c.addr+"/connection/websocket", nil)
		if err != nil {
			return err
		}
		conns[i] = ws
		ws.SetReadDeadline(time.Now().Add(30 * time.Second))
		if err := centrifugoCommand(ws, `{"id":1,"connect":{}}`, 1); err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		if err := centrifugoCommand(ws, `{"id":2,"subscribe":{"channel":"`+channels[i]+`"}}`, 2); err != nil {
			return fmt.Errorf("subscribe %s: %w", channels[i], err)
		}
		ws.SetReadDeadline(time.Time{})
		var l *load.Latencies
		if lat != nil {
			l = lat(i)
		}
		go watchCentrifugo(ws, l, measuring)
		return nil
	})
	return conns, err
}

// centrifugoCommand sends a command and reads until its reply (by id),
// answering pings; a reply with an error is an error.
func centrifugoCommand(ws *websocket.Conn, cmd string, id int) error {
	if err := ws.WriteMessage(websocket.TextMessage, []byte(cmd)); err != nil {
		return err
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(msg, []byte("\n")) {
			if isPing(line) {
				if err := ws.WriteMessage(websocket.TextMessage, []byte("{}")); err != nil {
					return err
				}
				continue
			}
			var reply struct {
				ID    int             `json:"id"`
				Error json.RawMessage `json:"error"`
			}
			if json.Unmarshal(line, &reply) != nil || reply.ID != id {
				continue
			}
			if reply.Error != nil {
				return fmt.Errorf("%s", reply.Error)
			}
			return nil
		}
	}
}

// isPing: Centrifugo's protocol pings with an empty object, and drops a
// client that does not answer with one.
func isPing(line []byte) bool { return bytes.Equal(bytes.TrimSpace(line), []byte("{}")) }

// watchCentrifugo reads a connection's frames (one or more replies and
// pushes a frame, a line each), answers pings, and times every position
// by its "ts" while measuring.
func watchCentrifugo(ws *websocket.Conn, lat *load.Latencies, measuring *atomic.Bool) {
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
		if bytes.HasPrefix(msg, []byte("{}")) || bytes.Contains(msg, []byte("\n{}")) {
			for _, line := range bytes.Split(msg, []byte("\n")) {
				if isPing(line) {
					if ws.WriteMessage(websocket.TextMessage, []byte("{}")) != nil {
						return
					}
				}
			}
		}
		if lat != nil && measuring != nil && measuring.Load() {
			load.EachTS(msg, func(ts time.Time) { lat.Add(now.Sub(ts)) })
		}
	}
}

func closeAll(conns []*websocket.Conn) {
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
}
