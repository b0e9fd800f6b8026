package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Backup writes a consistent copy of the store at dbPath to dest, which
// must not exist, while a server may be running on it and taking fixes:
// SQLite's VACUUM INTO reads one snapshot, so the copy holds every
// transaction committed before it began (every fix acknowledged by then)
// and nothing half-written. The copy is written beside dest, checked, and
// then renamed into place, so dest is never a partial file.
func Backup(ctx context.Context, dbPath, dest string) error {
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("no store to back up: %w", err)
	}
	if _, err := os.Stat(dest); err == nil {
		return fmt.Errorf("%s exists: back up to a new file", dest)
	}
	db, err := sql.Open("sqlite", dsn(dbPath))
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	defer db.Close()
	partial := dest + ".partial"
	_ = os.Remove(partial)
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", partial); err != nil {
		_ = os.Remove(partial)
		return fmt.Errorf("copy the store: %w", err)
	}
	if err := check(ctx, partial); err != nil {
		_ = os.Remove(partial)
		return err
	}
	if err := syncFile(partial); err != nil {
		return err
	}
	return os.Rename(partial, dest)
}

// Restore puts the backup at src in place as the store at dbPath, after
// checking that it is a whole Enroute store. It refuses to replace a
// store: stop the server and move the old one aside first.
func Restore(ctx context.Context, src, dbPath string) error {
	for _, p := range []string{dbPath, dbPath + "-wal"} {
		if _, err := os.Stat(p); err == nil {
			return fmt.Errorf("%s exists: stop the server and move the store aside (or restore into a new data directory)", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := check(ctx, src); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dbPath), 0o700); err != nil {
		return fmt.Errorf("create the data directory: %w", err)
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	partial := dbPath + ".restoring"
	out, err := os.OpenFile(partial, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		os.Remove(partial)
		return fmt.Errorf("restore: %w", err)
	}
	if err := errors.Join(out.Sync(), out.Close()); err != nil {
		os.Remove(partial)
		return fmt.Errorf("restore: %w", err)
	}
	return os.Rename(partial, dbPath)
}

// check reports a file that is not a whole Enroute store: SQLite's
// integrity check, and the migrations' version table.
func check(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return fmt.Errorf("%s is not a readable SQLite database: %w", path, err)
	} else if result != "ok" {
		return fmt.Errorf("%s is damaged: %s", path, result)
	}
	var version int64
	if err := db.QueryRowContext(ctx, "SELECT max(version_id) FROM goose_db_version").Scan(&version); err != nil || version < 1 {
		return fmt.Errorf("%s is not an Enroute store (no schema version: %v)", path, err)
	}
	return nil
}

// syncFile flushes a file to disk.
func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return errors.Join(f.Sync(), f.Close())
}
