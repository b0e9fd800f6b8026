package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

var errVersion = errors.New("version requested")

// Config is the server's configuration: flags, each with an ENROUTE_* env
// fallback; secrets come from the environment only.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string // ENROUTE_DATABASE_URL only: it may hold a password.
	AdminToken      string // ENROUTE_ADMIN_TOKEN only.
	PublicURL       string
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration
}

// ParseFlags reads the configuration from args and the environment
// (m.Getenv) and validates it.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("enroute", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &m.Config
	env := func(name, def string) string {
		if v := m.Getenv("ENROUTE_" + name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "HTTP listen address (ENROUTE_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", "./data"), "directory of the embedded store (ENROUTE_DATA_DIR)")
	fs.StringVar(&c.PublicURL, "public-url", env("PUBLIC_URL", ""), "URL customers reach this server at (ENROUTE_PUBLIC_URL); default http://ADDR")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "text"), "log format: text or json (ENROUTE_LOG_FORMAT)")
	level := fs.String("log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn or error (ENROUTE_LOG_LEVEL)")
	shutdown := fs.String("shutdown-timeout", env("SHUTDOWN_TIMEOUT", "15s"), "how long shutdown waits for requests (ENROUTE_SHUTDOWN_TIMEOUT)")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(m.Stderr)
		fs.PrintDefaults()
		return err
	} else if err != nil {
		return err
	}
	if *version {
		return errVersion
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.DatabaseURL = m.Getenv("ENROUTE_DATABASE_URL")
	c.AdminToken = m.Getenv("ENROUTE_ADMIN_TOKEN")

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("invalid --addr %q: want host:port", c.Addr)
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", *level)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("invalid --log-format %q: want text or json", c.LogFormat)
	}
	d, err := time.ParseDuration(*shutdown)
	if err != nil || d <= 0 {
		return fmt.Errorf("invalid --shutdown-timeout %q: want a duration like 15s", *shutdown)
	}
	c.ShutdownTimeout = d
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid --public-url %q: want http(s)://host[:port]", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.AdminToken != "" && len(c.AdminToken) < 20 {
		return errors.New("ENROUTE_ADMIN_TOKEN must be at least 20 characters")
	}
	return nil
}

func (c *Config) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// storeName describes the store for logs, without credentials.
func (c *Config) storeName() string {
	if c.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}
