package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// syncBuffer is a bytes.Buffer safe for the logger and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs a Main on a free port with env, as main would.
func start(t *testing.T, env map[string]string, args ...string) (*Main, *syncBuffer) {
	t.Helper()
	out := &syncBuffer{}
	m := NewMain()
	m.Getenv = func(k string) string {
		if v, ok := env[k]; ok || k != "ENROUTE_GEOCODER_URL" {
			return v
		}
		return "off" // tests never reach the public geocoder
	}
	m.Stdout, m.Stderr = out, io.Discard
	if err := m.ParseFlags(append([]string{"--addr", "127.0.0.1:0", "--osmand-addr", "127.0.0.1:0"}, args...)); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		m.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, out
}

var keyRE = regexp.MustCompile(`enr_[A-Za-z0-9_-]{43}`)

func call(t *testing.T, m *Main, key, method, path string, body any) map[string]any {
	t.Helper()
	return callAt(t, "http://"+m.Addr(), key, method, path, body)
}

// callAt calls the API at base (http://host:port) with key; a status of
// 300 or more fails the test.
func callAt(t *testing.T, base, key, method, path string, body any) map[string]any {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		t.Fatalf("%s %s = %d %s", method, path, res.StatusCode, raw)
	}
	_ = json.Unmarshal(raw, &out)
	return out
}

func id(v map[string]any) string { return fmt.Sprint(int64(v["id"].(float64))) }

// testRestart creates one of everything, restarts, and finds it all again.
func testRestart(t *testing.T, env map[string]string) {
	m, out := start(t, env)
	key := keyRE.FindString(out.String())
	if key == "" {
		t.Fatalf("first start printed no admin key: %q", out.String())
	}
	tech := call(t, m, key, "POST", "/api/v1/technicians", map[string]any{"name": "Ana Silva", "rating": 4.8})
	cust := call(t, m, key, "POST", "/api/v1/customers", map[string]any{"name": "Maria", "phone": "+351912345678"})
	loc := call(t, m, key, "POST", "/api/v1/locations", map[string]any{"customer_id": cust["id"], "address": "Rua A", "lat": 41.1, "lng": -8.6, "verified": true})
	job := call(t, m, key, "POST", "/api/v1/jobs", map[string]any{"number": "J-1", "customer_id": cust["id"], "location_id": loc["id"],
		"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"})
	a := call(t, m, key, "POST", "/api/v1/jobs/"+id(job)+"/assignments", map[string]any{"technician_id": tech["id"]})
	call(t, m, key, "POST", "/api/v1/assignments/"+id(a)+"/dispatch", nil)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	m2, out2 := start(t, env)
	if keyRE.MatchString(out2.String()) {
		t.Fatal("a second start printed another admin key")
	}
	for path, want := range map[string]string{
		"/api/v1/technicians/" + id(tech): "Ana Silva",
		"/api/v1/customers/" + id(cust):   "Maria",
		"/api/v1/locations/" + id(loc):    "Rua A",
		"/api/v1/jobs/" + id(job):         "J-1",
		"/api/v1/assignments/" + id(a):    "dispatched",
	} {
		got := call(t, m2, key, "GET", path, nil)
		if !strings.Contains(fmt.Sprint(got), want) {
			t.Fatalf("after restart %s = %v, want %q", path, got, want)
		}
	}
}

func TestRestartSQLite(t *testing.T) {
	testRestart(t, map[string]string{"ENROUTE_DATA_DIR": t.TempDir()})
}

func TestRestartPostgres(t *testing.T) {
	testRestart(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t)})
}

// TestPostgresPartitionsAtStart: a start makes the history's partitions of
// today and the days ahead, so the hourly upkeep finds them made.
func TestPostgresPartitionsAtStart(t *testing.T) {
	before := time.Now()
	m, _ := start(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t)})
	p, ok := m.Store.(partitioner)
	if !ok {
		t.Fatalf("the PostgreSQL store (%T) keeps no partitions", m.Store)
	}
	n, err := p.EnsurePartitions(context.Background(), before)
	if midnight := before.UTC().Truncate(24*time.Hour) != time.Now().UTC().Truncate(24*time.Hour); err != nil || n != 0 && !midnight {
		t.Fatalf("after a start, the upkeep made %d partitions: %v", n, err)
	}
}

func TestAdminToken(t *testing.T) {
	env := map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": "demo-admin-token-0123456789"}
	m, out := start(t, env)
	if keyRE.MatchString(out.String()) {
		t.Fatal("printed a key although ENROUTE_ADMIN_TOKEN is set")
	}
	call(t, m, env["ENROUTE_ADMIN_TOKEN"], "GET", "/api/v1/keys", nil)
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--addr", "nope"}, nil, "--addr"},
		{[]string{"--log-level", "loud"}, nil, "--log-level"},
		{[]string{"--log-format", "xml"}, nil, "--log-format"},
		{nil, map[string]string{"ENROUTE_PUBLIC_URL": "ftp://x"}, "--public-url"},
		{[]string{"--osmand-public-url", "phone:5055"}, nil, "--osmand-public-url"},
		{nil, map[string]string{"ENROUTE_ADMIN_TOKEN": "short"}, "ENROUTE_ADMIN_TOKEN"},
		{[]string{"extra"}, nil, "unexpected"},
		{[]string{"--eta-save-every", "0s"}, nil, "--eta-save-every"},
		{nil, map[string]string{"ENROUTE_ETA_SAVE_EVERY": "10ms"}, "--eta-save-every"},
		{[]string{"--rate-public", "fast"}, nil, "--rate-public"},
		{nil, map[string]string{"ENROUTE_RATE_API": "10/d"}, "--rate-api"},
		{[]string{"--trusted-proxies", "10.0.0.0/8,proxy"}, nil, "--trusted-proxies"},
		{[]string{"--geocoder-url", "nominatim.local"}, nil, "--geocoder-url"},
		{nil, map[string]string{"ENROUTE_GEOCODER_RATE": "-1"}, "--geocoder-rate"},
		{[]string{"--geocode-wait", "1m"}, nil, "--geocode-wait"},
		{nil, map[string]string{"ENROUTE_GEOCODE_BACKOFF": "soon"}, "--geocode-backoff"},
		{nil, map[string]string{"ENROUTE_SECRET_KEY": "c2hvcnQ="}, "ENROUTE_SECRET_KEY"},
		{[]string{"--gc-spacing", "-1s"}, nil, "--gc-spacing"},
		{nil, map[string]string{"ENROUTE_GC_CEILING_MB": "lots"}, "--gc-ceiling-mb"},
		{[]string{"--gc-ceiling-mb", "17592186044416"}, nil, "--gc-ceiling-mb"},
	} {
		m := NewMain()
		m.Getenv = func(k string) string { return tc.env[k] }
		err := m.ParseFlags(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFlags(%v, %v) = %v, want an error naming %s", tc.args, tc.env, err, tc.want)
		}
	}
	m := NewMain()
	m.Getenv = func(k string) string { return map[string]string{"ENROUTE_ADDR": "127.0.0.1:9999"}[k] }
	if err := m.ParseFlags(nil); err != nil || m.Config.Addr != "127.0.0.1:9999" || m.Config.PublicURL != "http://127.0.0.1:9999" {
		t.Fatalf("env fallback: %v %+v", err, m.Config)
	}
	// Rate limits: defaults, a flag, an env value, off; trusted proxies.
	m = NewMain()
	m.Getenv = func(k string) string {
		return map[string]string{"ENROUTE_RATE_LOGIN": "off", "ENROUTE_RATE_API": "100/s:1000"}[k]
	}
	if err := m.ParseFlags([]string{"--rate-public", "120/m", "--trusted-proxies", "10.1.2.3, 192.168.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	rl := m.Config.RateLimits
	if rl.Public != (httpapi.RateLimit{PerSecond: 2, Burst: 120}) || !rl.Login.Off() || rl.API != (httpapi.RateLimit{PerSecond: 100, Burst: 1000}) ||
		rl.Unknown != httpapi.DefaultRateLimits.Unknown || len(rl.TrustedProxies) != 2 || rl.TrustedProxies[0].String() != "10.1.2.3/32" {
		t.Fatalf("rate limits = %+v", rl)
	}
	// The geocoder: the public Nominatim by default, off, or another.
	m = NewMain()
	m.Getenv = func(string) string { return "" }
	if err := m.ParseFlags(nil); err != nil || m.Config.GeocoderURL != "https://nominatim.openstreetmap.org" || m.Config.GeocodeWait != 1500*time.Millisecond {
		t.Fatalf("geocoder defaults: %v %q %v", err, m.Config.GeocoderURL, m.Config.GeocodeWait)
	}
	m = NewMain()
	m.Getenv = func(k string) string { return map[string]string{"ENROUTE_GEOCODER_URL": "off"}[k] }
	if err := m.ParseFlags([]string{"--geocode-backoff", "2s"}); err != nil || m.Config.GeocoderURL != "off" || m.Config.Geocode.PollInterval != 2*time.Second {
		t.Fatalf("geocoder off: %v %+v", err, m.Config.Geocode)
	}
	if err := NewMain().ParseFlags([]string{"--version"}); err != errVersion {
		t.Fatalf("--version = %v", err)
	}
}

// TestPaceGC: GOGC set leaves Go's pacing alone; unset, collections are
// spaced within the ceiling asked for, or a quarter of the memory.
func TestPaceGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"GOGC": "300"}, nil, "paced by GOGC"},
		{nil, []string{"--gc-ceiling-mb", "64"}, "heap_ceiling_mb=64"},
		{map[string]string{"ENROUTE_GC_SPACING": "5s"}, nil, "spacing=5s"},
	} {
		m := NewMain()
		m.Getenv = func(k string) string { return tc.env[k] }
		if err := m.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		m.Logger = m.Config.newLogger(&logs)
		m.paceGC()()
		if !strings.Contains(logs.String(), tc.want) {
			t.Errorf("env %v, args %v: log %q, want %q", tc.env, tc.args, logs.String(), tc.want)
		}
	}
	m := NewMain()
	m.Getenv = func(string) string { return "" }
	if err := m.ParseFlags([]string{"--gc-spacing", "0"}); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	m.Logger = m.Config.newLogger(&logs)
	m.paceGC()()
	if logs.Len() != 0 {
		t.Errorf("--gc-spacing 0 logged %q, want nothing", logs.String())
	}
	if c := defaultGCCeiling(); c < 1<<20 || c > 1<<30 {
		t.Errorf("default ceiling %d bytes, want between 1 MiB and 1 GiB", c)
	}
	// GOMEMLIMIT bounds all of Go's memory: the heap goal gets half of it.
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(64 << 20))
	m = NewMain()
	m.Getenv = func(string) string { return "" }
	if err := m.ParseFlags([]string{"--gc-ceiling-mb", "512"}); err != nil {
		t.Fatal(err)
	}
	logs.Reset()
	m.Logger = m.Config.newLogger(&logs)
	m.paceGC()()
	if !strings.Contains(logs.String(), "heap_ceiling_mb=32") {
		t.Errorf("with GOMEMLIMIT 64 MiB: log %q, want heap_ceiling_mb=32", logs.String())
	}
}

func TestPortTaken(t *testing.T) {
	m, _ := start(t, map[string]string{"ENROUTE_DATA_DIR": t.TempDir()})
	m2 := NewMain()
	env := map[string]string{"ENROUTE_DATA_DIR": t.TempDir()}
	m2.Getenv = func(k string) string { return env[k] }
	m2.Stdout, m2.Stderr = io.Discard, io.Discard
	if err := m2.ParseFlags([]string{"--addr", m.Addr(), "--osmand-addr", "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	err := m2.Run(context.Background())
	m2.Close()
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Run on a taken port = %v", err)
	}
}

// TestSIGTERM builds the binary, starts it, and stops it with SIGTERM: it
// exits 0 after a graceful shutdown.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "enroute")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--osmand-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--log-format", "json")
	// GOGC unset: collections spaced, logged after the start.
	cmd.Env = append(os.Environ(), "ENROUTE_DATABASE_URL=", "GOGC=")
	stderr := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = io.Discard, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if !poll(20*time.Second, func() bool {
		return strings.Contains(stderr.String(), "enroute started") && strings.Contains(stderr.String(), "garbage collections spaced")
	}) {
		cmd.Process.Kill()
		t.Fatalf("no start-up line: %s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "enroute stopped") {
		t.Fatalf("no shutdown line: %s", stderr.String())
	}
}
