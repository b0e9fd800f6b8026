package main

// Idle memory: the server's RSS growth per idle WebSocket, Enroute's
// customer watchers (bench/load, -duration 0) against Centrifugo's clients
// each subscribed to a channel of its own. Both servers collect garbage
// (through pprof) before each reading.

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/enroutehq/enroute/bench/internal/load"
)

func idle(ctx context.Context, o *options, t *table, round int) error {
	n := o.idle
	row := t.row(fmt.Sprintf("server memory (RSS) per idle WebSocket, %s customers watching", number(float64(n))), "KiB", "Centrifugo", false)

	e, err := startEnroute(ctx, o)
	if err != nil {
		return err
	}
	res, err := load.Run(load.Config{URL: e.url, OsmAnd: e.osmand, Token: adminToken, Data: o.data, Mode: "live",
		Devices: n, Watchers: n, TimedBoards: -1, Conns: 1, Interval: time.Second, Duration: 0,
		PID: e.pid(), Pprof: e.pprof, Out: o.log})
	e.stop()
	if err != nil {
		return fmt.Errorf("enroute: %w", err)
	}
	o.progress("idle", round, "Enroute", fmt.Sprintf("%d connections, %.1f KiB RSS each (Go heap+stacks %.1f KiB)", res.IdleConns, res.IdleRSSKiB, res.IdleGoKiB))

	c, err := startCentrifugo(o)
	if err != nil {
		return err
	}
	kib, err := centrifugoIdle(o, c, n)
	c.stop()
	if err != nil {
		return fmt.Errorf("centrifugo: %w", err)
	}
	o.progress("idle", round, "Centrifugo", fmt.Sprintf("%d connections, %.1f KiB RSS each", n, kib))
	row.enroute, row.other = append(row.enroute, res.IdleRSSKiB), append(row.other, kib)
	return nil
}

// centrifugoIdle opens n clients, client i subscribed to tech:i, and
// returns the server's RSS growth per client, each reading after a
// garbage collection, 2 s after the last subscribed (as bench/load waits).
func centrifugoIdle(o *options, c *centrifugo, n int) (float64, error) {
	gc := func() {
		res, err := httpClient.Get("http://" + c.addr + "/debug/pprof/heap?gc=1")
		if err != nil {
			fmt.Fprintln(o.log, "centrifugo: no garbage collection before reading its RSS:", err)
			return
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			fmt.Fprintln(o.log, "centrifugo: no garbage collection before reading its RSS:", res.Status)
		}
	}
	gc()
	rss0 := load.RSSKiB(c.pid())
	channels := make([]string, n)
	for i := range channels {
		channels[i] = "tech:" + strconv.Itoa(i)
	}
	conns, err := subscribeCentrifugo(c, channels, nil, nil)
	defer closeAll(conns)
	if err != nil {
		return 0, err
	}
	time.Sleep(2 * time.Second)
	gc()
	rss1 := load.RSSKiB(c.pid())
	kib := float64(rss1-rss0) / float64(n)
	fmt.Fprintf(o.log, "centrifugo idle connections: %d; server RSS %d -> %d KiB (%.1f KiB each)\n", n, rss0, rss1, kib)
	return kib, nil
}
