package main

// The servers: Enroute (bin/enroute on a fresh store), Centrifugo
// (installed with go install) and Tile38 (unpacked from ../shared/peers),
// each started afresh for each part of each round and stopped after it.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/jackc/pgx/v5"
)

// adminToken is Enroute's admin API key (ENROUTE_ADMIN_TOKEN), as
// bench/nodes.sh sets it; centrifugoKey is Centrifugo's HTTP API key.
const (
	adminToken    = "bench-admin-token-0123456789"
	centrifugoKey = "bench-api-key-0123456789"
)

// process is a started server: its command, its temporary directory
// (removed when it stops) and whether it has exited.
type process struct {
	name string
	cmd  *exec.Cmd
	dir  string
	done chan struct{} // closed when it exits
	err  error         // its exit, once done
}

// start runs bin with args and env (added to this process's environment
// less ENROUTE_ variables, which would configure Enroute from the
// caller's shell), its output to log, in a new temporary directory.
func start(name, bin string, env []string, log io.Writer, args func(dir string) []string) (*process, error) {
	dir, err := os.MkdirTemp("", "enroute-peers-"+name+"-")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args(dir)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENROUTE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, dir: dir, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// ready polls check until it succeeds, the process exits or a minute
// passes.
func (p *process) ready(check func() error) error {
	deadline := time.Now().Add(time.Minute)
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v (its output is in the log)", p.name, p.err)
		case <-t.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready within a minute: %w", p.name, err)
		}
	}
}

// stop sends SIGTERM, waits up to 20 s (then kills it), and removes its
// directory.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	os.RemoveAll(p.dir)
}

// freeAddr is a free loopback address to listen on.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func freeAddrs(n int) ([]string, error) {
	out := make([]string, n)
	for i := range out {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// getOK is nil when url answers 200.
func getOK(url string) error {
	res, err := httpClient.Get(url)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return nil
}

// enroute is a started Enroute on a fresh store: the embedded one in its
// directory, or a fresh PostgreSQL database (dropped at stop).
type enroute struct {
	*process
	url, osmand, pprof string // base URLs; pprof host:port
	sqlite, pg         string // its store, for bench/load's stored count
	dropDB             func()
}

// startEnroute starts o.enrouteBin with the rate limits off (the load
// comes from one address; bench/nodes.sh does the same), pprof on (to
// collect garbage before memory readings) and no geocoder.
func startEnroute(ctx context.Context, o *options) (*enroute, error) {
	addrs, err := freeAddrs(3)
	if err != nil {
		return nil, err
	}
	e := &enroute{url: "http://" + addrs[0], osmand: "http://" + addrs[1], pprof: addrs[2]}
	env := []string{"ENROUTE_ADMIN_TOKEN=" + adminToken, "ENROUTE_PPROF_ADDR=" + addrs[2], "ENROUTE_GEOCODER_URL=off",
		"ENROUTE_RATE_PUBLIC=off", "ENROUTE_RATE_API=off", "ENROUTE_RATE_UNKNOWN=off", "ENROUTE_RATE_LOGIN=off"}
	if o.pg != "" {
		if e.pg, e.dropDB, err = freshDatabase(ctx, o.pg); err != nil {
			return nil, err
		}
		env = append(env, "ENROUTE_DATABASE_URL="+e.pg)
	}
	e.process, err = start("enroute", o.enrouteBin, env, o.log, func(dir string) []string {
		if o.pg == "" {
			e.sqlite = filepath.Join(dir, "enroute.db")
		}
		return []string{"--addr", addrs[0], "--osmand-addr", addrs[1], "--data-dir", dir, "--log-level", "warn"}
	})
	if err == nil {
		err = e.ready(func() error { return getOK(e.url + "/readyz") })
	}
	if err != nil {
		e.stop()
		return nil, err
	}
	return e, nil
}

func (e *enroute) stop() {
	if e.process != nil {
		e.process.stop()
	}
	if e.dropDB != nil {
		e.dropDB()
	}
}

// freshDatabase creates an empty database on the PostgreSQL server at
// base (postgres://user@host:port), returning its URL and how to drop it.
func freshDatabase(ctx context.Context, base string) (string, func(), error) {
	base = strings.TrimRight(base, "/")
	admin, err := pgx.Connect(ctx, base+"/postgres?sslmode=disable")
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(ctx)
	name := fmt.Sprintf("enroute_peers_%d", os.Getpid())
	for _, q := range []string{"DROP DATABASE IF EXISTS " + name + " WITH (FORCE)", "CREATE DATABASE " + name} {
		if _, err := admin.Exec(ctx, q); err != nil {
			return "", nil, fmt.Errorf("%s: %w", q, err)
		}
	}
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if c, err := pgx.Connect(ctx, base+"/postgres?sslmode=disable"); err == nil {
			_, _ = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(ctx)
		}
	}
	return base + "/" + name + "?sslmode=disable", drop, nil
}

// centrifugo is a started Centrifugo: anonymous clients may connect and
// subscribe to tech:* (a technician's customer) and board:* (dispatchers),
// channels without history, as a tracking service would use it.
type centrifugo struct {
	*process
	addr string // host:port of its WebSocket endpoint and HTTP API
}

func startCentrifugo(o *options) (*centrifugo, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, portS, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portS)
	ns := func(name string) map[string]any {
		return map[string]any{"name": name, "allow_subscribe_for_client": true, "allow_subscribe_for_anonymous": true, "history_size": 0}
	}
	config := map[string]any{
		"http_server": map[string]any{"address": host, "port": port},
		"client":      map[string]any{"allow_anonymous_connect_without_token": true},
		"http_api":    map[string]any{"key": centrifugoKey},
		"channel":     map[string]any{"namespaces": []any{ns("tech"), ns("board")}},
		"log":         map[string]any{"level": "error"},
		"health":      map[string]any{"enabled": true},
		"usage_stats": map[string]any{"disabled": true},
		// /debug/pprof, to collect garbage before memory readings as
		// Enroute's are taken.
		"debug": map[string]any{"enabled": true},
	}
	c := &centrifugo{addr: addr}
	c.process, err = start("centrifugo", o.centrifugoBin, nil, o.log, func(dir string) []string {
		path := filepath.Join(dir, "config.json")
		b, _ := json.Marshal(config)
		if err := os.WriteFile(path, b, 0o600); err != nil {
			fmt.Fprintln(o.log, "write centrifugo config:", err)
		}
		return []string{"--config", path}
	})
	if err == nil {
		err = c.ready(func() error { return getOK("http://" + addr + "/health") })
	}
	if err != nil {
		if c.process != nil {
			c.stop()
		}
		return nil, err
	}
	return c, nil
}

// tile38 is a started Tile38 with its append-only file on (its default:
// every write appended, fsync once a second).
type tile38 struct {
	*process
	addr string
}

func startTile38(o *options) (*tile38, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	host, port, _ := net.SplitHostPort(addr)
	t := &tile38{addr: addr}
	t.process, err = start("tile38", o.tile38Bin, nil, o.log, func(dir string) []string {
		return []string{"-q", "-h", host, "-p", port, "-d", dir, "--appendonly", "yes"}
	})
	if err == nil {
		err = t.ready(func() error {
			c, err := t.dial()
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Do("PING")
			return err
		})
	}
	if err != nil {
		if t.process != nil {
			t.stop()
		}
		return nil, err
	}
	return t, nil
}

func (t *tile38) dial() (redis.Conn, error) {
	return redis.Dial("tcp", t.addr, redis.DialConnectTimeout(10*time.Second), redis.DialReadTimeout(30*time.Second), redis.DialWriteTimeout(30*time.Second))
}

// installCentrifugo installs Centrifugo with go install into dir, unless
// it is there already.
func installCentrifugo(ctx context.Context, dir, version string, log io.Writer) (string, error) {
	bin := filepath.Join(dir, "centrifugo")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(os.Stderr, "installing Centrifugo %s into %s (go install, a few minutes the first time)\n", version, dir)
	cmd := exec.CommandContext(ctx, "go", "install", "github.com/centrifugal/centrifugo/v6@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+abs)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&out, log), io.MultiWriter(&out, log)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go install centrifugo: %w\n%s", err, out.String())
	}
	return bin, nil
}

// unpackTile38 gunzips tile38-server.gz from peersDir into dir, unless it
// is there already.
func unpackTile38(peersDir, dir string) (string, error) {
	bin := filepath.Join(dir, "tile38-server")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	f, err := os.Open(filepath.Join(peersDir, "tile38-server.gz"))
	if err != nil {
		return "", fmt.Errorf("tile38: %w (-peers names the folder of tile38-server.gz)", err)
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return "", fmt.Errorf("tile38: %w", err)
	}
	tmp := bin + ".tmp"
	out, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o755)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, z)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("tile38: %w", err)
	}
	return bin, os.Rename(tmp, bin)
}

// buildEnroute runs make build when bin is missing.
func buildEnroute(ctx context.Context, bin string, log io.Writer) error {
	if _, err := os.Stat(bin); err == nil {
		return nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s missing: make build\n", bin)
	cmd := exec.CommandContext(ctx, "make", "build")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("make build: %w (its output is in the log)", err)
	}
	return nil
}
