package postgres

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/enroutehq/enroute/internal/storetest"
	"github.com/enroutehq/enroute/migrations"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// testPool is a pool on a fresh schema, and the schema's URL.
func testPool(t *testing.T) (*pgxpool.Pool, string) {
	dsn := pgtest.Schema(t)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool, dsn
}

// TestUpgradeFromFirstSchema: data written on the first schema that
// shipped (version 1) is all there after the current store opens it (and
// migrates it), and the store goes on.
func TestUpgradeFromFirstSchema(t *testing.T) {
	ctx := context.Background()
	pool, dsn := testPool(t)
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	storetest.SeedV1(t, func(q string, args ...any) error { _, err := pool.Exec(ctx, q, args...); return err })
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckV1(t, s)
}

// TestMigrationFailureLeavesStore: when a migration fails, those applied
// before it in the same start are undone: the schema is at the version it
// had, and the error names the migration and why.
func TestMigrationFailureLeavesStore(t *testing.T) {
	ctx := context.Background()
	pool, dsn := testPool(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	version := func() int64 {
		db := stdlib.OpenDBFromPool(pool)
		defer db.Close()
		p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.Postgres)
		if err != nil {
			t.Fatal(err)
		}
		v, err := p.GetDBVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := version()
	err = migrate(ctx, pool, storetest.FailingMigrations(t, migrations.Postgres))
	var n int
	if qerr := pool.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = $1 AND schemaname = current_schema()", storetest.GoodTable).Scan(&n); qerr != nil {
		t.Fatal(qerr)
	}
	storetest.CheckMigrationFailure(t, err, before, version(), n > 0)
	// The current store opens it as before.
	s, err = Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
