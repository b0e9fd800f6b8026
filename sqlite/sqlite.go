// Package sqlite is Enroute's embedded default store: one SQLite file through
// modernc.org/sqlite (pure Go, no cgo, no server). It is the only importer
// of that driver.
//
// Concurrency: SQLite allows one writer at a time, so the store keeps a
// single write connection (transactions begin IMMEDIATE, so a transaction
// never has to upgrade its lock and fail) and a pool of read connections,
// which WAL mode lets read while the writer writes. Store is safe for
// concurrent use.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/sqlstore"
	"github.com/enroutehq/enroute/migrations"
)

// Store is the SQLite implementation of enroute.Store.
type Store struct {
	*sqlstore.Store
	path string
	w, r *sql.DB // the write connection and the read pool
	c    *conn

	staging staging // see InsertPositions

	retentionChunk int    // see DeletePositionsBefore; defaultRetentionChunk
	inChunk        func() // tests: called in each retention transaction, before its commit
	// wrapHist, in tests, wraps the connection history commits run on.
	wrapHist func(driverConn) driverConn
}

var _ enroute.Store = (*Store)(nil)

// Dialect is how SQLite differs from the shared SQL: constraints named by
// extended result codes; no row locks, as its writers are serialised.
var Dialect = sqlstore.Dialect{
	ConstraintOf: sqlstore.ConstraintCodes((*sqlite.Error).Code, map[int]sqlstore.Constraint{
		sqlite3.SQLITE_CONSTRAINT_UNIQUE:     sqlstore.Unique,
		sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY: sqlstore.Unique,
		sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: sqlstore.ForeignKey,
		sqlite3.SQLITE_CONSTRAINT_CHECK:      sqlstore.Check,
	}),
}

// Open opens (creating it when needed) the database file at path and applies
// the migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	// synchronous(FULL): a committed transaction survives a power cut, not
	// only a crash of Enroute. busy_timeout covers other processes (goose,
	// an operator's sqlite3 shell). wal_autocheckpoint(4000): checkpoint at
	// 16 MiB of WAL (4,000 pages of 4 KiB) rather than 4: one-fix commits rewrite the same pages
	// (a technician's latest), which a longer WAL copies back once: 1.1x
	// the OsmAnd fixes a second (BENCHMARKS.md, "History writes").
	base := dsn(path)

	w := sql.OpenDB(writeConnector{dsn: base + "&_txlock=immediate", d: &sqlite.Driver{}})
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	r, err := sql.Open("sqlite", base+"&mode=ro")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))

	if err := migrate(ctx, w, migrations.SQLite); err != nil {
		w.Close()
		r.Close()
		return nil, err
	}
	// A connection of its own for the checkpoints retention makes: they
	// need no write lock, so ingest commits on w meanwhile.
	ck, err := sql.Open("sqlite", base)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	ck.SetMaxOpenConns(1)
	c := &conn{w: w, r: r, ck: ck}
	s := &Store{Store: sqlstore.New(c, Dialect), path: path, w: w, r: r, c: c,
		staging:        staging{mergeRows: defaultMergeRows, mergeAge: defaultMergeAge, mergeChunk: defaultMergeChunk, mergeRest: defaultMergeRest},
		retentionChunk: defaultRetentionChunk}
	if err := s.prepareHistory(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("prepare: %w", err)
	}
	// Fixes staged before a crash: merged now, so they wait no longer.
	var staged int
	if err := w.QueryRowContext(ctx, "SELECT count(*) FROM positions_recent").Scan(&staged); err != nil {
		c.Close()
		return nil, fmt.Errorf("staged positions: %w", err)
	}
	if staged > 0 {
		if err := s.Merge(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("merge staged positions: %w", err)
		}
	}
	return s, nil
}

// walAutocheckpoint is the WAL's length, in pages, at which a commit
// checkpoints it (see Open).
const walAutocheckpoint = 4000

// dsn is the data source name of the database file at path: the
// connection's settings, which every connection of the store shares.
func dsn(path string) string {
	q := url.Values{}
	// Pages are SQLite's default 4 KiB: a page_size(16384) here never took
	// effect (the driver sets journal_mode first, and a WAL file's page
	// size is fixed), and every figure in BENCHMARKS.md is of 4 KiB pages.
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(10000)", "synchronous(FULL)", fmt.Sprintf("wal_autocheckpoint(%d)", walAutocheckpoint)} {
		q.Add("_pragma", p)
	}
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// Close merges what is staged, then closes the database.
func (s *Store) Close() error {
	err := s.Merge(context.Background())
	return errors.Join(err, s.Store.Close())
}

// logMergeErr reports a failed merge; the fixes stay staged, visible, and
// the merge is tried again after the next insert.
func (s *Store) logMergeErr(err error) {
	slog.Warn("merging staged positions", "err", err)
}

// Path returns the database file.
func (s *Store) Path() string { return s.path }

// migrate brings the schema up to date with the migrations in fsys
// (migrations.SQLite), or leaves it as it was (migrations.Up).
func migrate(ctx context.Context, db *sql.DB, fsys fs.FS) error {
	return migrations.Up(ctx, goose.DialectSQLite3, db, fsys)
}
