package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/enroutehq/enroute/internal/mailpit"
	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// buildBinary builds enroute once per test binary run.
var builtBinary string

func buildBinary(t *testing.T) string {
	t.Helper()
	if builtBinary == "" {
		dir, err := os.MkdirTemp("", "enroute-bin-")
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "enroute")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("build: %v\n%s", err, out)
		}
		builtBinary = bin
	}
	return builtBinary
}

// proc is an enroute process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	stderr *syncBuffer
}

func startProc(t *testing.T, env map[string]string) *proc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &proc{addr: addr, stderr: &syncBuffer{}}
	p.cmd = exec.Command(buildBinary(t), "--addr", addr)
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(p.stderr.String(), "enroute started") {
		if time.Now().After(deadline) {
			t.Fatalf("enroute did not start: %s", p.stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return p
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// testCrash queues messages with SMTP down, kills Enroute with SIGKILL,
// restarts SMTP and Enroute, and checks every message arrives exactly once.
func testCrash(t *testing.T, storeEnv map[string]string) {
	mail := mailpit.Start(t)
	sms := twiliotest.Start(t)
	env := map[string]string{
		"ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_PUBLIC_URL": testPublicURL,
		"ENROUTE_SMS_PROVIDER": "twilio", "ENROUTE_TWILIO_ACCOUNT_SID": sms.AccountSID,
		"ENROUTE_TWILIO_AUTH_TOKEN": sms.AuthToken, "ENROUTE_TWILIO_BASE_URL": sms.URL,
		"ENROUTE_SMTP_URL": mail.URL(), "ENROUTE_OUTBOX_BACKOFF": "50ms", "ENROUTE_OUTBOX_POLL": "50ms",
		"ENROUTE_OUTBOX_MAX_BACKOFF": "200ms", "ENROUTE_OUTBOX_MAX_ATTEMPTS": "1000",
		// A message being sent when Enroute dies waits out its lease (1.5 × this).
		"ENROUTE_OUTBOX_SEND_TIMEOUT": "2s",
	}
	for k, v := range storeEnv {
		env[k] = v
	}
	mail.Stop()
	sms.FailNext(503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503, 503)

	p := startProc(t, env)
	st := &stack{t: t, m: &Main{}, mail: mail, sms: sms, env: env}
	st.m.ln = fakeAddr(p.addr)
	st.settings(true, true, true, false)
	const n = 5
	var jobs []int64
	for i := range n {
		s := st.site(fmt.Sprintf("+35191234567%d", i), fmt.Sprintf("customer%d@example.com", i))
		job := st.job(s)
		jobs = append(jobs, job)
		st.move(st.assign(job, st.technician(fmt.Sprintf("Tech %d", i))), "dispatch")
	}
	// Every e-mail has been tried and is waiting for SMTP.
	for _, job := range jobs {
		st.waitLog(job, func(log []map[string]any) bool {
			return len(log) == 2 && log[1]["status"] == "queued" && log[1]["attempts"].(float64) >= 2
		})
	}
	p.kill()

	mail.Start()
	p2 := startProc(t, env)
	st.m.ln = fakeAddr(p2.addr)
	for _, job := range jobs {
		st.waitLog(job, func(log []map[string]any) bool { return log[0]["status"] == "sent" && log[1]["status"] == "sent" })
	}
	st.settle(jobs, n, n)
	// Give a duplicate every chance to show up: one more full outbox cycle.
	time.Sleep(500 * time.Millisecond)
	if got := len(mail.Messages()); got != n {
		t.Fatalf("e-mails after restart = %d, want %d", got, n)
	}
	if got := len(sms.Messages()); got != n {
		t.Fatalf("texts after restart = %d, want %d", got, n)
	}
	seen := map[string]bool{}
	for _, m := range mail.Messages() {
		if seen[m.To[0].Address] {
			t.Fatalf("%s got two e-mails", m.To[0].Address)
		}
		seen[m.To[0].Address] = true
	}
	for _, job := range jobs {
		for _, m := range st.messages(job) {
			if m["status"] != "sent" {
				t.Fatalf("job %d: %v", job, m)
			}
		}
	}
}

func TestCrashKeepsEveryMessageOnceSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	testCrash(t, map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_DATABASE_URL": ""})
}

func TestCrashKeepsEveryMessageOncePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	testCrash(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t)})
}

// fakeAddr lets the stack helpers talk to a process by address.
type fakeAddr string

func (a fakeAddr) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (a fakeAddr) Close() error              { return nil }
func (a fakeAddr) Addr() net.Addr            { return addrString(a) }

type addrString string

func (a addrString) Network() string { return "tcp" }
func (a addrString) String() string  { return string(a) }
