package main

import (
	"context"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// walkthrough returns the shell blocks of the README's walkthrough, in
// order, as one script.
func walkthrough(t *testing.T) string {
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	start := strings.Index(doc, "## Walkthrough")
	if start < 0 {
		t.Fatal("the README has no walkthrough")
	}
	section := doc[start:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var script []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		script = append(script, m[1])
	}
	if len(script) < 5 {
		t.Fatalf("the walkthrough has %d shell blocks", len(script))
	}
	return strings.Join(script, "\n")
}

// TestREADMEWalkthrough runs the README's walkthrough, as a newcomer would
// paste it, against a started server: key, company, technician and phone,
// customer, site, job, assignment, dispatch, the message and the link, a
// fix from the native API and one from Traccar Client's protocol, the
// arrival, the end of the visit. The README cannot drift from the API.
func TestREADMEWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs it", tool)
			}
			t.Skipf("the README walkthrough needs %s", tool)
		}
	}
	script := walkthrough(t)
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken}}
	st.m, _ = start(t, st.env)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(), "BASE=http://"+st.m.Addr(), "OSMAND=http://"+st.m.OsmAndAddr(), "KEY="+testAdminToken)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{"dispatched\n", "sms: logged", "the customer's page: http://" + st.m.Addr() + "/t/", "working\n", "done\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the walkthrough's output lacks %q:\n%s", want, out)
		}
	}
	// What it made is there.
	jobs := st.ok("GET", "/api/v1/jobs", nil).items()
	if len(jobs) != 1 || jobs[0]["number"] != "J-1001" {
		t.Fatalf("jobs = %v", jobs)
	}
	techs := st.ok("GET", "/api/v1/technicians", nil).items()
	if len(techs) != 1 {
		t.Fatalf("technicians = %v", techs)
	}
	if ps := st.ok("GET", "/api/v1/technicians/1/positions", nil).items(); len(ps) != 3 {
		t.Errorf("%d fixes stored, want the walkthrough's 3", len(ps))
	}
	if c := st.ok("GET", "/api/v1/company", nil); c.str("name") != "Cool Air HVAC" || c.str("time_zone") != "America/Chicago" {
		t.Errorf("company = %s", c.raw)
	}
}
