package migrations

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"
)

// Up applies every pending migration in fsys (Postgres or SQLite) to db,
// which speaks dialect; opts are the adapter's own (PostgreSQL's session
// lock). If one fails, the ones this call applied before it are undone
// with their Down sections (the failed one rolled back in its own
// transaction), so the store is left at the version it had, and the error
// names the migration that failed and why.
func Up(ctx context.Context, dialect goose.Dialect, db *sql.DB, fsys fs.FS, opts ...goose.ProviderOption) error {
	p, err := goose.NewProvider(dialect, db, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	before, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("read the schema's version: %w", err)
	}
	_, err = p.Up(ctx)
	var partial *goose.PartialError
	if !errors.As(err, &partial) {
		if err != nil {
			return fmt.Errorf("migrate from version %d: %w", before, err)
		}
		return nil
	}
	name := "?"
	if partial.Failed != nil && partial.Failed.Source != nil {
		name = path.Base(partial.Failed.Source.Path)
	}
	if len(partial.Applied) > 0 {
		if _, derr := p.DownTo(ctx, before); derr != nil {
			return fmt.Errorf("migration %s failed: %w; undoing the %d applied before it failed too (%v): the schema is between versions", name, partial.Err, len(partial.Applied), derr)
		}
	}
	return fmt.Errorf("migration %s failed, and the store is left as it was (schema version %d): %w", name, before, partial.Err)
}
