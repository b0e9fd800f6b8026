package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/enroutehq/enroute/internal/storetest"
	"github.com/enroutehq/enroute/migrations"
)

// rawDB opens the database file at path as the store's connections do.
func rawDB(t testing.TB, path string) *sql.DB {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestUpgradeFromFirstSchema: data written on the first schema that
// shipped (version 1) is all there after the current store opens it (and
// migrates it), and the store goes on.
func TestUpgradeFromFirstSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enroute.db")
	db := rawDB(t, path)
	p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	storetest.SeedV1(t, func(q string, args ...any) error { _, err := db.ExecContext(ctx, q, args...); return err })
	db.Close()
	s, err := Open(ctx, path)
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
	path := filepath.Join(t.TempDir(), "enroute.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	db := rawDB(t, path)
	version := func() int64 {
		p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
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
	err = migrate(ctx, db, storetest.FailingMigrations(t, migrations.SQLite))
	var n int
	if qerr := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE name = ?", storetest.GoodTable).Scan(&n); qerr != nil {
		t.Fatal(qerr)
	}
	storetest.CheckMigrationFailure(t, err, before, version(), n > 0)
	// The current store opens it as before.
	s, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
}
