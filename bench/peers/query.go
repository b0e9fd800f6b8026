package main

// Near and box queries over live technicians: the same fleet loaded into
// Enroute (a registered device each, one fix each through the batch API)
// and Tile38 (SET fleet tech<i> POINT), then o.queryConns connections
// asking, for a fixed time, about the same seeded points: Enroute's
// GET /api/v1/technicians/positions?near=lat,lng&radius_m=R (or ?bbox=)
// against Tile38's NEARBY fleet LIMIT 100000 POINT lat lon R (or WITHIN
// fleet LIMIT 100000 BOUNDS ...). Both answer every technician in range.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/enroutehq/enroute/bench/internal/load"
)

// latLng is a position, lat first as everywhere in Enroute.
type latLng struct{ lat, lng float64 }

// box is a query's bounding box.
type box struct{ minLat, minLng, maxLat, maxLng float64 }

// boxAround is the square of side 2*radiusM centred on p: the box whose
// inscribed circle is the near query's.
func boxAround(p latLng, radiusM float64) box {
	dLat := radiusM / 111_320
	dLng := radiusM / (111_320 * math.Cos(p.lat*math.Pi/180))
	return box{p.lat - dLat, p.lng - dLng, p.lat + dLat, p.lng + dLng}
}

// queryFleet places n technicians on the recorded drives (a random fix of
// a random trip, moved by up to 20 m so none share a place) and draws m
// query points uniformly within the fleet's bounding box, all from seed.
func queryFleet(trips [][]load.Point, n, m int, seed uint64) (techs, points []latLng) {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	jitter := func() float64 { return (rng.Float64()*2 - 1) * 20 / 111_320 }
	b := box{math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)}
	techs = make([]latLng, n)
	for i := range techs {
		trip := trips[rng.IntN(len(trips))]
		p := trip[rng.IntN(len(trip))]
		techs[i] = latLng{p.Lat + jitter(), p.Lng + jitter()}
		b = box{min(b.minLat, techs[i].lat), min(b.minLng, techs[i].lng), max(b.maxLat, techs[i].lat), max(b.maxLng, techs[i].lng)}
	}
	points = make([]latLng, m)
	for i := range points {
		points[i] = latLng{b.minLat + rng.Float64()*(b.maxLat-b.minLat), b.minLng + rng.Float64()*(b.maxLng-b.minLng)}
	}
	return techs, points
}

// queryResult is one side's run of one kind of query.
type queryResult struct {
	n, results, errs int64
	elapsed          time.Duration
	serverCPU        float64 // seconds
	lat              *load.Latencies
}

func (r queryResult) perS() float64        { return float64(r.n) / r.elapsed.Seconds() }
func (r queryResult) cpuPerQuery() float64 { return r.serverCPU / float64(r.n) * 1e6 }
func (r queryResult) String() string {
	return fmt.Sprintf("%d queries in %v: %.0f/s, p50 %v, p99 %v, %.1f technicians an answer, %d errors, server %.2f cores (%.0f µs CPU a query)",
		r.n, r.elapsed.Round(time.Millisecond), r.perS(), r.lat.Quantile(0.5).Round(10*time.Microsecond), r.lat.Quantile(0.99).Round(10*time.Microsecond),
		float64(r.results)/float64(r.n), r.errs, r.serverCPU/r.elapsed.Seconds(), r.cpuPerQuery())
}

// queryLoop runs conns goroutines asking ask(k, point) in turn about the
// points (goroutine k from the k-th on) for d, after a warm-up of a
// second that is not counted, and reads the server's (pid's) CPU over
// the measured time. ask returns how many technicians the answer holds.
func queryLoop(ctx context.Context, pid, conns int, d time.Duration, points []latLng, ask func(k int, p latLng) (int, error)) queryResult {
	r := queryResult{lat: new(load.Latencies)}
	var measuring atomic.Bool
	var n, results, errs atomic.Int64
	ctx, cancel := context.WithTimeout(ctx, time.Second+d)
	defer cancel()
	var start time.Time
	var cpu0 float64
	timer := time.AfterFunc(time.Second, func() { start, cpu0 = time.Now(), load.CPUSeconds(pid); measuring.Store(true) })
	defer timer.Stop()
	var wg sync.WaitGroup
	for k := range conns {
		wg.Go(func() {
			for j := k; ctx.Err() == nil; j += conns {
				t0 := time.Now()
				got, err := ask(k, points[j%len(points)])
				if !measuring.Load() {
					continue
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				r.lat.Add(time.Since(t0))
				n.Add(1)
				results.Add(int64(got))
			}
		})
	}
	wg.Wait()
	r.elapsed = d
	if !start.IsZero() {
		r.elapsed, r.serverCPU = time.Since(start), load.CPUSeconds(pid)-cpu0
	}
	r.n, r.results, r.errs = n.Load(), results.Load(), errs.Load()
	return r
}

func query(ctx context.Context, o *options, t *table, round int) error {
	trips, err := load.ReadTrips(o.data)
	if err != nil {
		return err
	}
	techs, points := queryFleet(trips, o.techs, 10_000, o.seed)
	rad := strconv.FormatFloat(o.radiusM, 'f', -1, 64)
	size := number(float64(o.techs))

	e, err := startEnroute(ctx, o)
	if err != nil {
		return err
	}
	enear, ebox, err := enrouteQueries(ctx, o, e, techs, points)
	e.stop()
	if err == nil {
		err = ctx.Err() // interrupted: a part-measured round is not recorded
	}
	if err != nil {
		return fmt.Errorf("enroute: %w", err)
	}
	o.progress("query", round, "Enroute near", enear.String())
	o.progress("query", round, "Enroute bbox", ebox.String())

	t38, err := startTile38(o)
	if err != nil {
		return err
	}
	tnear, tbox, err := tile38Queries(ctx, o, t38, techs, points)
	t38.stop()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("tile38: %w", err)
	}
	o.progress("query", round, "Tile38 NEARBY", tnear.String())
	o.progress("query", round, "Tile38 WITHIN", tbox.String())

	add := func(what, unit string, higher bool, e, p float64) *row {
		r := t.row(what, unit, "Tile38", higher)
		r.enroute, r.other = append(r.enroute, e), append(r.other, p)
		return r
	}
	for _, q := range []struct {
		name      string
		e, t38    queryResult
		peerQuery string
	}{
		{"near " + rad + " m", enear, tnear, "NEARBY"},
		{"box " + number(2*o.radiusM) + " m", ebox, tbox, "WITHIN"},
	} {
		what := fmt.Sprintf("%s over %s live technicians, %d connections (%s)", q.name, size, o.queryConns, q.peerQuery)
		add(what+": queries/s", "/s", true, q.e.perS(), q.t38.perS())
		add(what+": p50", "ms", false, float64(q.e.lat.Quantile(0.5))/1e6, float64(q.t38.lat.Quantile(0.5))/1e6)
		add(what+": p99", "ms", false, float64(q.e.lat.Quantile(0.99))/1e6, float64(q.t38.lat.Quantile(0.99))/1e6)
		add(what+": server CPU a query", "µs", false, q.e.cpuPerQuery(), q.t38.cpuPerQuery())
		add(what+": technicians an answer", "", true, float64(q.e.results)/float64(q.e.n), float64(q.t38.results)/float64(q.t38.n)).info = true
	}
	return nil
}

// enrouteQueries registers len(techs) technicians with a device each,
// sends each device one fix (now) at its technician's place, checks that
// all are live, and runs the near and box queries.
func enrouteQueries(ctx context.Context, o *options, e *enroute, techs, points []latLng) (near, inBox queryResult, err error) {
	trips, err := load.ReadTrips(o.data)
	if err != nil {
		return near, inBox, err
	}
	t0 := time.Now()
	devs, err := load.Setup(load.Config{URL: e.url, Token: adminToken, Devices: len(techs), Nodes: []string{e.url}}, trips)
	if err != nil {
		return near, inBox, err
	}
	pool := make(chan *load.RawConn, 16)
	for range cap(pool) {
		rc, _ := load.NewRawConn(e.url)
		pool <- rc
	}
	err = load.Parallel(len(devs), cap(pool), func(i int) error {
		rc := <-pool
		defer func() { pool <- rc }()
		body := fmt.Appendf(nil, `[{"ts":"%s","lat":%.6f,"lng":%.6f,"accuracy_m":8,"speed_mps":0,"heading_deg":0,"battery":80}]`,
			time.Now().UTC().Format(time.RFC3339Nano), techs[i].lat, techs[i].lng)
		status, raw, err := rc.Do("POST", "/api/v1/positions", []string{"Authorization: Bearer " + devs[i].Token(), "Content-Type: application/json"}, body)
		if err == nil && (status != 200 || !bytes.Contains(raw, []byte(`"accepted":1`))) {
			err = fmt.Errorf("post a fix: %d %s", status, raw)
		}
		return err
	})
	close(pool)
	for rc := range pool {
		rc.Close()
	}
	if err != nil {
		return near, inBox, err
	}
	rc, _ := load.NewRawConn(e.url)
	defer rc.Close()
	auth := []string{"Authorization: Bearer " + adminToken}
	status, raw, err := rc.Do("GET", "/api/v1/technicians/positions", auth, nil)
	if err != nil || status != 200 {
		return near, inBox, fmt.Errorf("list live positions: %d %v", status, err)
	}
	if live := bytes.Count(raw, []byte(`"technician_id"`)); live != len(techs) {
		return near, inBox, fmt.Errorf("%d technicians live, want %d", live, len(techs))
	}
	fmt.Fprintf(o.log, "enroute: %d live technicians in %v\n", len(techs), time.Since(t0).Round(time.Millisecond))

	conns := make([]*load.RawConn, o.queryConns)
	for k := range conns {
		conns[k], _ = load.NewRawConn(e.url)
		defer conns[k].Close()
	}
	ask := func(k int, target []byte) (int, error) {
		status, raw, err := conns[k].Do("GET", string(target), auth, nil)
		if err == nil && status != 200 {
			err = fmt.Errorf("%s: %d %.200s", target, status, raw)
		}
		if err != nil {
			fmt.Fprintln(o.log, "enroute query:", err)
			return 0, err
		}
		return bytes.Count(raw, []byte(`"technician_id"`)), nil
	}
	if o.profile != "" {
		go profileEnroute(o, e, "near", 0, o.queryDuration)
	}
	// limit=10000, the most: Tile38's NEARBY is asked for every match
	// (LIMIT 100000), and Enroute's default answer is the nearest 1,000.
	near = queryLoop(ctx, e.pid(), o.queryConns, o.queryDuration, points, func(k int, p latLng) (int, error) {
		return ask(k, fmt.Appendf(nil, "/api/v1/technicians/positions?near=%.6f,%.6f&radius_m=%g&limit=10000", p.lat, p.lng, o.radiusM))
	})
	inBox = queryLoop(ctx, e.pid(), o.queryConns, o.queryDuration, points, func(k int, p latLng) (int, error) {
		b := boxAround(p, o.radiusM)
		return ask(k, fmt.Appendf(nil, "/api/v1/technicians/positions?bbox=%.6f,%.6f,%.6f,%.6f", b.minLat, b.minLng, b.maxLat, b.maxLng))
	})
	return near, inBox, nil
}

// tile38Queries sets the same technicians and runs the same queries.
func tile38Queries(ctx context.Context, o *options, t *tile38, techs, points []latLng) (near, inBox queryResult, err error) {
	c, err := t.dial()
	if err != nil {
		return near, inBox, err
	}
	for i, p := range techs {
		c.Send("SET", "fleet", "tech"+strconv.Itoa(i), "POINT", p.lat, p.lng)
		if i%1000 == 999 || i == len(techs)-1 {
			if err := c.Flush(); err != nil {
				return near, inBox, err
			}
			for range i%1000 + 1 {
				if _, err := c.Receive(); err != nil {
					return near, inBox, err
				}
			}
		}
	}
	n, err := redis.Int(c.Do("SCAN", "fleet", "COUNT"))
	c.Close()
	if err != nil || n != len(techs) {
		return near, inBox, fmt.Errorf("SCAN fleet COUNT: %d %v, want %d", n, err, len(techs))
	}
	conns := make([]redis.Conn, o.queryConns)
	for k := range conns {
		if conns[k], err = t.dial(); err != nil {
			return near, inBox, err
		}
		defer conns[k].Close()
	}
	// A NEARBY or WITHIN answers [cursor, [object, ...]].
	ask := func(k int, args ...any) (int, error) {
		v, err := redis.Values(conns[k].Do(args[0].(string), args[1:]...))
		if err == nil && len(v) < 2 {
			err = fmt.Errorf("%v: answer of %d items", args, len(v))
		}
		var objs []any
		if err == nil {
			objs, err = redis.Values(v[1], nil)
		}
		if err != nil {
			fmt.Fprintln(o.log, "tile38 query:", err)
			return 0, err
		}
		return len(objs), nil
	}
	near = queryLoop(ctx, t.pid(), o.queryConns, o.queryDuration, points, func(k int, p latLng) (int, error) {
		return ask(k, "NEARBY", "fleet", "LIMIT", 100_000, "POINT", p.lat, p.lng, o.radiusM)
	})
	inBox = queryLoop(ctx, t.pid(), o.queryConns, o.queryDuration, points, func(k int, p latLng) (int, error) {
		b := boxAround(p, o.radiusM)
		return ask(k, "WITHIN", "fleet", "LIMIT", 100_000, "BOUNDS", b.minLat, b.minLng, b.maxLat, b.maxLng)
	})
	return near, inBox, nil
}

// profileEnroute saves a CPU profile of e over most of a run of d (what)
// starting after wait, into o.profile, for go tool pprof; the last run's
// wins.
func profileEnroute(o *options, e *enroute, what string, wait, d time.Duration) {
	time.Sleep(wait)
	secs := max(int(d.Seconds())-1, 1)
	resp, err := http.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", e.pprof, secs))
	if err == nil {
		defer resp.Body.Close()
		var f *os.File
		if f, err = os.Create(filepath.Join(o.profile, "enroute-"+what+".pprof")); err == nil {
			_, err = io.Copy(f, resp.Body)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(o.log, "profile:", err)
	}
}
