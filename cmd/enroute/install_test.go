package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// need looks the commands up, or skips the test (fails it under CI, whose
// .ci/run installs them).
func need(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs it", c)
			}
			t.Skipf("this test needs %s", c)
		}
	}
}

// run runs a command with a deadline and returns its output, failing the
// test when it fails.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestInstallPaths: `make release` gives static linux/amd64 and
// linux/arm64 binaries with their SHA-256 sums; `make image` builds the
// container image from it without pulling anything, and a container of it
// runs, answers /readyz and its HEALTHCHECK, takes a fix through the OsmAnd
// port, and a new container on the same volume finds the data; the compose
// file is one podman-compose reads.
func TestInstallPaths(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release: not with -short")
	}
	need(t, "make", "aarch64-linux-gnu-gcc", "sha256sum")
	dist, version := t.TempDir(), "v0.0.0-test"
	run(t, 10*time.Minute, nil, "make", "-C", "../..", "release", "DIST="+dist, "VERSION="+version)
	sums, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for arch, machine := range map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64} {
		name := "enroute-" + version + "-linux-" + arch
		raw, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		if line := hex.EncodeToString(sum[:]) + "  " + name; !strings.Contains(string(sums), line) {
			t.Errorf("SHA256SUMS lacks %q:\n%s", line, sums)
		}
		f, err := elf.Open(filepath.Join(dist, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s is linked dynamically (it names an interpreter)", name)
			}
		}
		if f.Machine != machine {
			t.Errorf("%s is for %v", name, f.Machine)
		}
		f.Close()
	}
	if out := run(t, 10*time.Second, nil, filepath.Join(dist, "enroute-"+version+"-linux-amd64"), "--version"); strings.TrimSpace(out) != "enroute "+version {
		t.Errorf("--version = %q", out)
	}

	t.Run("image", func(t *testing.T) { testImage(t, dist, version) })
	t.Run("compose", testCompose)
}

// testImage builds the image and runs it as the README says.
func testImage(t *testing.T, dist, version string) {
	need(t, "podman", "runc")
	conf := filepath.Join(t.TempDir(), "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTAINERS_CONF=" + conf}
	tag := fmt.Sprintf("enroute-test-%d", time.Now().UnixNano())
	image := "localhost/" + tag
	run(t, 10*time.Minute, env, "make", "-C", "../..", "image", "DIST="+dist, "VERSION="+version, "IMAGE="+image)
	t.Cleanup(func() { _ = exec.Command("podman", "rmi", "-f", image+":"+version, image+":latest").Run() })
	inspect := run(t, 30*time.Second, env, "podman", "image", "inspect", "--format", "{{.Config.User}} {{.Config.Healthcheck.Test}} {{.Config.ExposedPorts}} {{.Config.Volumes}}", image+":"+version)
	for _, want := range []string{"65532:65532", "/enroute healthcheck", "5055/tcp", "/data"} {
		if !strings.Contains(inspect, want) {
			t.Errorf("the image lacks %s: %s", want, inspect)
		}
	}

	volume := tag + "-data"
	t.Cleanup(func() { _ = exec.Command("podman", "volume", "rm", "-f", volume).Run() })
	api, osmand := freeAddr(t), freeAddr(t)
	start := func(name string) {
		t.Cleanup(func() { _ = exec.Command("podman", "rm", "-f", "-t", "5", name).Run() })
		run(t, time.Minute, env, "podman", "run", "-d", "--name", name, "--runtime", "runc", "--cgroup-manager=cgroupfs", "--network", "host",
			"-v", volume+":/data", "-e", "ENROUTE_ADDR="+api, "-e", "ENROUTE_OSMAND_ADDR="+osmand, "-e", "ENROUTE_ADMIN_TOKEN="+testAdminToken,
			image+":"+version)
		if !poll(30*time.Second, func() bool {
			res, err := http.Get("http://" + api + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == 200
		}) {
			logs, _ := exec.Command("podman", "logs", name).CombinedOutput()
			t.Fatalf("the container is not ready:\n%s", logs)
		}
		run(t, 30*time.Second, env, "podman", "healthcheck", "run", name)
	}
	first := tag + "-1"
	start(first)
	call := func(method, path string, body any) map[string]any {
		t.Helper()
		return callAt(t, "http://"+api, testAdminToken, method, path, body)
	}
	tech := int64(call("POST", "/api/v1/technicians", map[string]any{"name": "Ana Silva"})["id"].(float64))
	ident := call("POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), nil)["identifier"].(string)
	if status, raw := send(t, "GET", fmt.Sprintf("http://%s/?id=%s&lat=41.1496&lon=-8.6109&timestamp=%d", osmand, ident, time.Now().Add(-time.Minute).Unix()), "", ""); status != 200 {
		t.Fatalf("a fix through the OsmAnd port = %d %s", status, raw)
	}
	run(t, time.Minute, env, "podman", "stop", "-t", "20", first)
	start(tag + "-2") // a new container on the same volume
	ps := call("GET", fmt.Sprintf("/api/v1/technicians/%d/positions", tech), nil)["items"].([]any)
	if len(ps) != 1 {
		t.Fatalf("after a new container on the volume: %d fixes, want 1", len(ps))
	}
}

// testCompose: podman-compose reads deploy/compose.yaml and would start
// two Enroute nodes on PostgreSQL and NATS, with mailpit (a dry run: no
// image is pulled here).
func testCompose(t *testing.T) {
	need(t, "podman", "podman-compose")
	project := fmt.Sprintf("enroutetest%d", time.Now().UnixNano())
	t.Cleanup(func() { // a dry run still makes the volume and the network
		_ = exec.Command("podman", "volume", "rm", "-f", project+"_pgdata").Run()
		_ = exec.Command("podman", "network", "rm", "-f", project+"_default").Run()
	})
	out := run(t, time.Minute, []string{"ENROUTE_ADMIN_TOKEN=" + testAdminToken}, "podman-compose", "-p", project, "-f", "../../deploy/compose.yaml", "--dry-run", "up", "-d")
	sc := bufio.NewScanner(strings.NewReader(out))
	runs := map[string]string{}
	for sc.Scan() {
		if l := sc.Text(); strings.HasPrefix(l, "podman run --name="+project+"_") {
			name := strings.TrimPrefix(strings.Fields(l)[2], "--name="+project+"_")
			runs[name] = l
		}
	}
	for _, svc := range []string{"postgres_1", "nats_1", "mailpit_1", "enroute1_1", "enroute2_1"} {
		if runs[svc] == "" {
			t.Errorf("compose does not run %s:\n%s", svc, out)
		}
	}
	for _, node := range []string{"enroute1_1", "enroute2_1"} {
		for _, want := range []string{"localhost/enroute:latest", "ENROUTE_DATABASE_URL=postgres://enroute:enroute@postgres:5432/enroute",
			"ENROUTE_NATS_URL=nats://nats:4222", "ENROUTE_SMTP_URL=smtp://mailpit:1025", "ENROUTE_ADMIN_TOKEN=" + testAdminToken} {
			if !strings.Contains(runs[node], want) {
				t.Errorf("%s lacks %s: %s", node, want, runs[node])
			}
		}
	}
}
