package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestSystemdUnit: deploy/enroute.service passes systemd-analyze verify,
// runs as a user of its own with its state in StateDirectory, and is
// locked down (ProtectSystem=strict, NoNewPrivileges), restarting on
// failure; its example environment names the settings a server needs.
func TestSystemdUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze is not installed; .ci/run installs systemd")
		}
		t.Skip("the unit test needs systemd-analyze (Debian's systemd)")
	}
	raw, err := os.ReadFile("../../deploy/enroute.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{"DynamicUser=yes", "StateDirectory=enroute", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"Restart=on-failure", "EnvironmentFile=-/etc/enroute/enroute.env", "ExecStart=/usr/local/bin/enroute --data-dir ${STATE_DIRECTORY}"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %s", want)
		}
	}
	// verify checks that ExecStart's file exists: this test's binary
	// stands in for the installed one.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "enroute.service")
	if err := os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/enroute", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", path).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
	env, err := os.ReadFile("../../deploy/enroute.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ENROUTE_ADDR=", "ENROUTE_PUBLIC_URL=", "ENROUTE_OSMAND_ADDR=", "ENROUTE_SMTP_URL=", "ENROUTE_SMS_PROVIDER=twilio"} {
		if !strings.Contains(string(env), want) {
			t.Errorf("the example environment lacks %s", want)
		}
	}
}
