// Package migrations embeds Enroute's SQL migrations, one folder per
// dialect, applied with pressly/goose at start-up by the store adapters.
// The files are immutable once released: change the schema with a new file.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Postgres holds the PostgreSQL migrations.
var Postgres = sub("postgres")

// SQLite holds the SQLite migrations.
var SQLite = sub("sqlite")

func sub(dir string) fs.FS {
	f, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // Only on a typo in dir, caught by every test.
	}
	return f
}
