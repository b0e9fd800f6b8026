package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/enroutehq/enroute/sqlite"
)

// tools are the commands beside the server, as `enroute NAME [flags] ARGS`.
var tools = map[string]string{
	"backup":      "enroute backup [--data-dir DIR] FILE: write a consistent copy of the embedded store to FILE, while the server runs",
	"restore":     "enroute restore [--data-dir DIR] FILE: put the backup FILE in place as DIR's store (DIR must hold none: stop the server, move the old store aside)",
	"healthcheck": "enroute healthcheck [--addr HOST:PORT]: exit 0 when the server there is ready (/readyz), 1 when not: for a container's HEALTHCHECK, which has no curl",
}

// Tool runs the command name with args: backup or restore of the embedded
// store (PostgreSQL has its own tools, pg_dump and pg_restore: the README),
// or a health check of a running server.
func (m *Main) Tool(ctx context.Context, name string, args []string) error {
	usage, ok := tools[name]
	if !ok {
		return fmt.Errorf("unknown command %q", name)
	}
	if name == "healthcheck" {
		return m.healthcheck(ctx, args)
	}
	fs := flag.NewFlagSet("enroute "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := m.Getenv("ENROUTE_DATA_DIR")
	if def == "" {
		def = "./data"
	}
	dir := fs.String("data-dir", def, "the data directory (ENROUTE_DATA_DIR)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(m.Stdout, usage)
		return nil
	} else if err != nil {
		return fmt.Errorf("%w\nusage: %s", err, usage)
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("usage: %s", usage)
	}
	if m.Getenv("ENROUTE_DATABASE_URL") != "" {
		return errors.New("this server's store is PostgreSQL (ENROUTE_DATABASE_URL): back it up with pg_dump and restore it with pg_restore, as the README's Backup and restore says")
	}
	file, db := fs.Arg(0), filepath.Join(*dir, "enroute.db")
	switch name {
	case "backup":
		if err := sqlite.Backup(ctx, db, file); err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		st, err := os.Stat(file)
		if err != nil {
			return err
		}
		fmt.Fprintf(m.Stdout, "backed up %s to %s (%.1f MB)\n", db, file, float64(st.Size())/1e6)
	default: // restore
		if err := sqlite.Restore(ctx, file, db); err != nil {
			return fmt.Errorf("restore: %w", err)
		}
		fmt.Fprintf(m.Stdout, "restored %s as %s; start the server with --data-dir %s\n", file, db, *dir)
	}
	return nil
}

// healthcheck asks the server at --addr (ENROUTE_ADDR, 127.0.0.1:8080)
// whether it is ready.
func (m *Main) healthcheck(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("enroute healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := m.Getenv("ENROUTE_ADDR")
	if def == "" {
		def = "127.0.0.1:8080"
	}
	addr := fs.String("addr", def, "the server's address (ENROUTE_ADDR)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w\nusage: %s", err, tools["healthcheck"])
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("invalid --addr %q: want host:port", *addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" { // listening everywhere: ask on loopback
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 512))
		return fmt.Errorf("not ready: %d %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(m.Stdout, "ready")
	return nil
}
