package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// TestBackupDuringIngest: `enroute backup` copies the embedded store while
// the server runs and phones send; `enroute restore` puts the copy in a new
// data directory, where a server starts and finds every fix acknowledged
// before the backup began, every job and every message.
func TestBackupDuringIngest(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": dir, "ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_EMAIL_PROVIDER": "log"}}
	st.m, _ = start(t, st.env)
	st.settings(true, true, false, false)
	s := st.site("+351912345678", "maria@example.com")
	tech := st.technician("Bruno Reis")
	logs := map[int64][]map[string]any{}
	for range 3 {
		job := st.job(s)
		st.move(st.assign(job, tech), "dispatch")
		logs[job] = st.messages(job)
		st.move(int64(logs[job][0]["assignment_id"].(float64)), "cancel")
	}
	phones := []*phone{newPhone(t, st, "Ana"), newPhone(t, st, "Carla")}
	stop := make(chan struct{})
	wg := sending(phones, stop)
	time.Sleep(500 * time.Millisecond)

	acked := make([]map[int64]bool, len(phones)) // before the backup began
	for i, p := range phones {
		p.mu.Lock()
		acked[i] = maps.Clone(p.acked)
		p.mu.Unlock()
	}
	tool := NewMain()
	tool.Getenv = func(k string) string { return map[string]string{"ENROUTE_DATA_DIR": dir}[k] }
	tool.Stdout = io.Discard
	backup := filepath.Join(t.TempDir(), "enroute-backup.db")
	if err := tool.Tool(ctx, "backup", []string{backup}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // ingest goes on after the backup
	close(stop)
	wg.Wait()
	if err := tool.Tool(ctx, "backup", []string{backup}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a backup over an existing file = %v", err)
	}
	if _, err := os.Stat(backup + ".partial"); !os.IsNotExist(err) {
		t.Fatalf("a partial file is left beside the backup: %v", err)
	}

	restored := t.TempDir()
	if err := tool.Tool(ctx, "restore", []string{"--data-dir", restored, backup}); err != nil {
		t.Fatal(err)
	}
	if err := tool.Tool(ctx, "restore", []string{"--data-dir", restored, backup}); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("a restore over a store = %v, want it refused", err)
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("not a database"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := tool.Tool(ctx, "restore", []string{"--data-dir", t.TempDir(), junk}); err == nil {
		t.Fatal("a file that is no store was restored")
	}

	r := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": restored, "ENROUTE_ADMIN_TOKEN": testAdminToken}}
	r.m, _ = start(t, r.env)
	for i, p := range phones {
		ps, err := r.m.Store.FindPositions(ctx, enroute.PositionFilter{TechnicianID: &p.tech, Unlimited: true})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[int64]bool{}
		for _, x := range ps {
			stored[x.Time.UnixMilli()] = true
		}
		for ms := range acked[i] {
			if !stored[ms] {
				t.Errorf("phone %d: fix %d, acknowledged before the backup, is not in it", p.tech, ms)
			}
		}
		if len(acked[i]) == 0 {
			t.Fatalf("phone %d had nothing acknowledged before the backup", p.tech)
		}
	}
	for job, want := range logs {
		r.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil)
		got := r.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/messages", job), nil).items()
		if len(got) != len(want) {
			t.Fatalf("job %d: %d messages restored, %d before", job, len(got), len(want))
		}
		for i := range want {
			if got[i]["id"] != want[i]["id"] || got[i]["status"] != want[i]["status"] || got[i]["body"] != want[i]["body"] {
				t.Errorf("job %d message %d: %v, before %v", job, i, got[i], want[i])
			}
		}
	}
}

// TestHealthcheck: `enroute healthcheck` exits 0 for a ready server and
// fails for one that is not there (a container's HEALTHCHECK runs it).
func TestHealthcheck(t *testing.T) {
	st := newIngestStack(t)
	tool := NewMain()
	tool.Getenv = func(string) string { return "" }
	tool.Stdout = io.Discard
	if err := tool.Tool(context.Background(), "healthcheck", []string{"--addr", st.m.Addr()}); err != nil {
		t.Fatalf("a ready server: %v", err)
	}
	if err := tool.Tool(context.Background(), "healthcheck", []string{"--addr", "127.0.0.1:9"}); err == nil {
		t.Fatal("no server, yet healthy")
	}
}
