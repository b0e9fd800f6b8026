// Package postgres is Enroute's PostgreSQL store, through jackc/pgx/v5 and
// pgxpool. It is the only importer of pgx. Use it to run several nodes on
// one database, or when the embedded SQLite store is not enough.
//
// Concurrency: Store is safe for concurrent use; rows read to be changed are
// locked with SELECT ... FOR UPDATE inside the transaction.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/sqlstore"
	"github.com/enroutehq/enroute/migrations"
)

// Store is the PostgreSQL implementation of enroute.Store.
type Store struct {
	*sqlstore.Store
	pool *pgxpool.Pool
}

var _ enroute.Store = (*Store)(nil)

// Dialect is how PostgreSQL differs from the shared SQL: constraints named
// by SQLSTATE, rows locked for update, claims that skip locked rows.
var Dialect = sqlstore.Dialect{
	ConstraintOf: sqlstore.ConstraintCodes(func(e *pgconn.PgError) string { return e.Code }, map[string]sqlstore.Constraint{
		"23505": sqlstore.Unique,     // unique_violation
		"23503": sqlstore.ForeignKey, // foreign_key_violation
		"23514": sqlstore.Check,      // check_violation
	}),
	ForUpdate:  " FOR UPDATE",
	SkipLocked: " FOR UPDATE SKIP LOCKED",
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string; a search_path parameter selects the schema) and applies the
// migrations, holding an advisory lock so that nodes starting together
// migrate once.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included: do not wrap it.
		return nil, errors.New("parse database URL: invalid PostgreSQL connection string")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect postgres: %w", err)
	}
	if err := migrate(ctx, pool, migrations.Postgres); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{Store: sqlstore.New(conn{pool}, Dialect), pool: pool}, nil
}

// Pool returns the connection pool, for the fast paths (COPY) of other
// files of this package.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// migrate brings the schema up to date with the migrations in fsys
// (migrations.Postgres), or leaves it as it was (migrations.Up), under a
// session lock so that nodes starting together migrate one at a time.
func migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	return migrations.Up(ctx, goose.DialectPostgres, db, fsys, goose.WithSessionLocker(locker))
}

// conn adapts a pgxpool.Pool to sqlstore.Conn.
type conn struct{ p *pgxpool.Pool }

func (c conn) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := c.p.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (c conn) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return c.p.Query(ctx, q, args...)
}

func (c conn) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{c.p.QueryRow(ctx, q, args...)}
}

func (c conn) Begin(ctx context.Context) (sqlstore.Tx, error) {
	t, err := c.p.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return tx{t}, nil
}

func (c conn) Ping(ctx context.Context) error { return c.p.Ping(ctx) }

func (c conn) Close() error { c.p.Close(); return nil }

type tx struct{ t pgx.Tx }

func (t tx) Exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := t.t.Exec(ctx, q, args...)
	return tag.RowsAffected(), err
}

func (t tx) Query(ctx context.Context, q string, args ...any) (sqlstore.Rows, error) {
	return t.t.Query(ctx, q, args...)
}

func (t tx) QueryRow(ctx context.Context, q string, args ...any) sqlstore.Row {
	return row{t.t.QueryRow(ctx, q, args...)}
}

func (t tx) Commit(ctx context.Context) error   { return t.t.Commit(ctx) }
func (t tx) Rollback(ctx context.Context) error { return t.t.Rollback(ctx) }

type row struct{ r pgx.Row }

func (r row) Scan(dest ...any) error {
	if err := r.r.Scan(dest...); errors.Is(err, pgx.ErrNoRows) {
		return sqlstore.ErrNoRows
	} else {
		return err
	}
}
