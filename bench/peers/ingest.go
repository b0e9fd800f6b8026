package main

// Ingest with every fix stored: Enroute's batch API (bench/load -mode
// batch: a device's 100 next fixes a request, 16 senders) against Tile38's
// SET with its append-only file on (a device's 100 next fixes pipelined on
// one of 16 connections), and Enroute's one request per fix (OsmAnd).
// Both replay the same recorded drives; the server's CPU is read from
// /proc over the measured time.

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enroutehq/enroute/bench/internal/load"
)

// ingestResult is one side's ingest measurement.
type ingestResult struct {
	fixes             int64
	elapsed           time.Duration
	serverCPU, genCPU float64 // seconds: the server's, the generator's
}

func (r ingestResult) perS() float64      { return float64(r.fixes) / r.elapsed.Seconds() }
func (r ingestResult) cpuPerFix() float64 { return r.serverCPU / float64(r.fixes) * 1e6 }
func (r ingestResult) String() string {
	return fmt.Sprintf("%d fixes in %v: %.0f/s, server %.2f cores (%.1f µs CPU a fix), generator %.2f", r.fixes, r.elapsed.Round(time.Millisecond),
		r.perS(), r.serverCPU/r.elapsed.Seconds(), r.cpuPerFix(), r.genCPU/r.elapsed.Seconds())
}

func ingest(ctx context.Context, o *options, t *table, round int) error {
	enrouteRun := func(mode string, devices, conns int) (ingestResult, error) {
		e, err := startEnroute(ctx, o)
		if err != nil {
			return ingestResult{}, err
		}
		if o.profile != "" && mode == "osmand" {
			// After the devices are made (a few seconds), for the rest.
			go profileEnroute(o, e, mode, 5*time.Second, o.ingestDuration-5*time.Second)
		}
		res, err := load.Run(load.Config{URL: e.url, OsmAnd: e.osmand, Token: adminToken, Data: o.data, Mode: mode,
			Devices: devices, Batch: o.batch, Conns: conns, TimedBoards: -1, Interval: time.Second, Duration: o.ingestDuration,
			PID: e.pid(), SQLitePath: e.sqlite, PGURL: e.pg, Out: o.log})
		e.stop()
		if err != nil {
			return ingestResult{}, fmt.Errorf("enroute -mode %s: %w", mode, err)
		}
		if res.Errors > 0 || res.Rejected > 0 {
			return ingestResult{}, fmt.Errorf("enroute -mode %s: %d request errors, %d fixes rejected (the log has the report)", mode, res.Errors, res.Rejected)
		}
		return ingestResult{fixes: res.Accepted, elapsed: res.Elapsed, serverCPU: res.ServerCPU, genCPU: res.GeneratorCPU}, nil
	}
	batch, err := enrouteRun("batch", o.ingestDevices, o.ingestConns)
	if err != nil {
		return err
	}
	o.progress("ingest", round, "Enroute batch", batch.String())

	t38, err := startTile38(o)
	if err != nil {
		return err
	}
	tr, err := tile38Ingest(ctx, o, t38)
	t38.stop()
	if err == nil {
		err = ctx.Err() // interrupted: a part-measured round is not recorded
	}
	if err != nil {
		return fmt.Errorf("tile38: %w", err)
	}
	o.progress("ingest", round, "Tile38 SET", tr.String())

	osm, err := enrouteRun("osmand", o.osmandDevices, o.osmandConns)
	if err != nil {
		return err
	}
	o.progress("ingest", round, "Enroute OsmAnd", osm.String())

	add := func(what, unit string, higher bool, e, p float64) {
		r := t.row(what, unit, "Tile38", higher)
		r.enroute, r.other = append(r.enroute, e), append(r.other, p)
	}
	add(fmt.Sprintf("ingest, every fix stored: batch API (%d fixes a request) vs pipelined SET, AOF on", o.batch), "fixes/s", true, batch.perS(), tr.perS())
	add("server CPU per fix: batch API vs pipelined SET", "µs", false, batch.cpuPerFix(), tr.cpuPerFix())
	add("ingest, one HTTP request per fix (OsmAnd) vs pipelined SET", "fixes/s", true, osm.perS(), tr.perS())
	add("server CPU per fix: OsmAnd request vs pipelined SET", "µs", false, osm.cpuPerFix(), tr.cpuPerFix())
	return nil
}

// tile38Ingest sends SET fleet tech<i> POINT lat lon as fast as
// o.ingestConns connections can, each taking a device at a time and
// pipelining its o.batch next fixes, for o.ingestDuration.
func tile38Ingest(ctx context.Context, o *options, t *tile38) (ingestResult, error) {
	var r ingestResult
	trips, err := load.ReadTrips(o.data)
	if err != nil {
		return r, err
	}
	devs := load.Replay(trips, o.ingestDevices)
	free := make(chan int, len(devs))
	for i := range devs {
		free <- i
	}
	ctx, cancel := context.WithTimeout(ctx, o.ingestDuration)
	defer cancel()
	var (
		fixes atomic.Int64
		wg    sync.WaitGroup
		first error
		once  sync.Once
	)
	cpu0, gen0, start := load.CPUSeconds(t.pid()), load.CPUSeconds(0), time.Now()
	for range o.ingestConns {
		wg.Go(func() {
			c, err := t.dial()
			if err != nil {
				once.Do(func() { first = err })
				return
			}
			defer c.Close()
			for ctx.Err() == nil {
				i := <-free
				id := "tech" + strconv.Itoa(i)
				for range o.batch {
					p, _ := devs[i].Step(false)
					c.Send("SET", "fleet", id, "POINT", p.Lat, p.Lng)
				}
				err := c.Flush()
				for j := 0; j < o.batch && err == nil; j++ {
					var reply any
					if reply, err = c.Receive(); err == nil && reply != "OK" {
						err = fmt.Errorf("SET answered %v", reply)
					}
				}
				free <- i
				if err != nil {
					once.Do(func() { first = err })
					return
				}
				fixes.Add(int64(o.batch))
			}
		})
	}
	wg.Wait()
	r.elapsed, r.serverCPU, r.genCPU, r.fixes = time.Since(start), load.CPUSeconds(t.pid())-cpu0, load.CPUSeconds(0)-gen0, fixes.Load()
	fmt.Fprintf(o.log, "tile38 ingest: %s\n", r)
	return r, first
}
