// Command history measures the PostgreSQL position history at scale
// (issue #29): on a fresh database, migrated as the server migrates it, it
// writes a fleet's days of fixes (1,000 technicians, 20 working days, a
// fix every 5 s while driving: 100 million) through the store's
// InsertPositions, in time order, in batches on a few goroutines as the
// recorder commits them, the day partitions made ahead as the hourly
// housekeeping makes them. As the history grows it prints each day's
// ingest rate and batch latency and, at checkpoints, the bytes a fix with
// indexes; then it times what is read back (a technician's day, the
// start-up's latest positions and the ETA model's learning window) and
// retention dropping the oldest day under a steady ingest, and ends with a
// markdown table for BENCHMARKS.md and an extrapolation to 10,000
// technicians for a year.
//
// The technicians drive recorded trips (-data, Porto's taxis by default)
// one after another, each shifted to start where the last ended, with
// stops at jobs in between; each fix has a phone's precision (float32
// accuracy, speed and heading, some unknown). The history is the -days
// UTC days before today, so that the start-up's reads find it where they
// look. The database is dropped at the end unless -keep.
//
//	go run ./bench/history -quick                           # 1 million fixes, under a minute
//	go run ./bench/history -fixes 100000000 -techs 1000 -days 20
//
// Concurrency: -workers goroutines insert what one goroutine generates;
// the retention part adds one streaming goroutine beside the drop.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/enroutehq/enroute/postgres"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := mainErr(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "history:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context) error {
	var (
		cfg        config
		pgURL      string
		data       string
		keep       bool
		quick      bool
		seed       uint64
		streamRate int
	)
	flag.IntVar(&cfg.Fixes, "fixes", 100_000_000, "fixes to write, spread evenly over technicians and days")
	flag.IntVar(&cfg.Techs, "techs", 1000, "technicians")
	flag.IntVar(&cfg.Days, "days", 20, "days of history: the UTC days before today")
	flag.DurationVar(&cfg.Interval, "interval", 5*time.Second, "a driving technician's fix interval")
	flag.IntVar(&cfg.Batch, "batch", 2000, "fixes to an InsertPositions (one COPY)")
	flag.IntVar(&cfg.Workers, "workers", 3, "goroutines inserting batches")
	flag.StringVar(&pgURL, "pg", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable", "a database on the PostgreSQL server to use: a fresh one is created beside it")
	flag.StringVar(&data, "data", "../shared/data/porto/porto_points.csv", "recorded drives (trip_id,seq,t,lat,lon); empty: random walks in Porto")
	flag.BoolVar(&keep, "keep", false, "keep the database at the end")
	flag.BoolVar(&quick, "quick", false, "a smoke run: 1 million fixes of 200 technicians over 5 days, 3 s stream phases (flags given win)")
	flag.Uint64Var(&seed, "seed", 29, "random seed")
	flag.IntVar(&streamRate, "stream-rate", 2000, "fixes a second streamed into today while retention drops the oldest day")
	flag.DurationVar(&cfg.StreamPhase, "stream-phase", 10*time.Second, "how long the stream runs before the drop, and after it")
	flag.Parse()
	if quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		for name, v := range map[string]string{"fixes": "1000000", "techs": "200", "days": "5", "stream-phase": "3s"} {
			if !set[name] {
				if err := flag.Set(name, v); err != nil {
					return err
				}
			}
		}
	}
	cfg.Seed, cfg.StreamRate, cfg.Out = seed, streamRate, os.Stdout

	var err error
	if data == "" {
		cfg.Trips = walkTrips(mrand.New(mrand.NewPCG(seed, 1)), 500)
	} else if cfg.Trips, err = readTrips(data); err != nil {
		return fmt.Errorf("%w (run from the project's root, or give -data; -data '' walks at random)", err)
	}

	dbURL, drop, err := freshDatabase(ctx, pgURL)
	if err != nil {
		return err
	}
	defer func() {
		if keep {
			fmt.Printf("kept the database: %s\n", dbURL)
			return
		}
		if err := drop(); err != nil {
			fmt.Fprintln(os.Stderr, "history: drop the database:", err)
		}
	}()
	u, _ := url.Parse(dbURL)
	q := u.Query()
	q.Set("pool_max_conns", strconv.Itoa(cfg.Workers+2))
	u.RawQuery = q.Encode()
	store, err := postgres.Open(ctx, u.String())
	if err != nil {
		return err
	}
	defer store.Close()
	admin, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	defer admin.Close(context.Background())
	var version string
	if err := admin.QueryRow(ctx, "SHOW server_version").Scan(&version); err != nil {
		return err
	}
	fmt.Printf("bench/history: %d fixes, %d technicians, %d days, a fix every %v while driving; batches of %d on %d goroutines; %d recorded drives; Go %s, GOMAXPROCS %d, %d CPUs, PostgreSQL %s; database %s\n",
		cfg.Fixes, cfg.Techs, cfg.Days, cfg.Interval, cfg.Batch, cfg.Workers, len(cfg.Trips), runtime.Version(), runtime.GOMAXPROCS(0), runtime.NumCPU(), version, strings.TrimPrefix(u.Path, "/"))
	res, err := run(ctx, cfg, store, admin)
	if err != nil {
		return err
	}
	report(os.Stdout, res)
	return nil
}

// freshDatabase creates an empty database beside the one base names, and
// returns its URL and how to drop it.
func freshDatabase(ctx context.Context, base string) (string, func() error, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" {
		return "", nil, errors.New("-pg: want a postgres:// URL")
	}
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(context.Background())
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "enroute_histbench_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	drop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return err
	}
	u.Path = "/" + name
	return u.String(), drop, nil
}
