package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/sqlite"

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
	// Port 0 and the address it logs: a port picked free beforehand could
	// be taken by another test before the process binds it.
	p := &proc{stderr: &syncBuffer{}}
	p.cmd = exec.Command(buildBinary(t), "--addr", "127.0.0.1:0", "--osmand-addr", "127.0.0.1:0")
	p.cmd.Env = os.Environ()
	for k, v := range env {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	if !poll(20*time.Second, func() bool {
		m := startedAddr.FindStringSubmatch(p.stderr.String())
		if m != nil {
			p.addr = m[1]
		}
		return m != nil
	}) {
		t.Fatalf("enroute did not start: %s", p.stderr.String())
	}
	return p
}

// startedAddr finds the API's address in the start-up log line.
var startedAddr = regexp.MustCompile(`enroute started.* addr=(127\.0\.0\.1:[0-9]+)`)

// messageSent finds the outbox's log lines of a delivered message.
var messageSent = regexp.MustCompile(`msg="message sent".* message_id=([0-9]+)`)

// sentAfter reports whether the process has logged delivering a message
// newer than id.
func (p *proc) sentAfter(id int64) bool {
	for _, m := range messageSent.FindAllStringSubmatch(p.stderr.String(), -1) {
		if n, _ := strconv.ParseInt(m[1], 10, 64); n > id {
			return true
		}
	}
	return false
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// crashEnv configures processes that will be killed: fast outbox retries,
// a short send lease, and the test's SMTP server and SMS stand-in.
func crashEnv(mail *mailpit.Server, sms *twiliotest.Server) map[string]string {
	return map[string]string{
		"ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_PUBLIC_URL": testPublicURL,
		"ENROUTE_SMS_PROVIDER": "twilio", "ENROUTE_TWILIO_ACCOUNT_SID": sms.AccountSID,
		"ENROUTE_TWILIO_AUTH_TOKEN": sms.AuthToken, "ENROUTE_TWILIO_BASE_URL": sms.URL,
		"ENROUTE_SMTP_URL": mail.URL(), "ENROUTE_OUTBOX_BACKOFF": "50ms", "ENROUTE_OUTBOX_POLL": "50ms",
		"ENROUTE_OUTBOX_MAX_BACKOFF": "200ms", "ENROUTE_OUTBOX_MAX_ATTEMPTS": "1000",
		// A message being sent when Enroute dies waits out its lease (1.5 × this).
		"ENROUTE_OUTBOX_SEND_TIMEOUT": "2s",
	}
}

// testCrash queues messages with SMTP down, kills Enroute with SIGKILL,
// restarts SMTP and Enroute, and checks every message arrives exactly once.
func testCrash(t *testing.T, storeEnv map[string]string) {
	mail := mailpit.Start(t)
	sms := twiliotest.Start(t)
	env := crashEnv(mail, sms)
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
	// A copy still on its way would arrive before a message queued after
	// them all: the outbox has passed them once that one is delivered.
	st.outboxPassed()
	if got := len(mail.Messages()); got != n+1 {
		t.Fatalf("e-mails after restart = %d, want %d and the marker", got, n)
	}
	if got := len(sms.Messages()); got != n+1 {
		t.Fatalf("texts after restart = %d, want %d and the marker", got, n)
	}
	seen := map[string]bool{}
	for _, m := range mail.Messages() {
		if seen[m.To[0].Address] {
			t.Fatalf("%s got two e-mails", m.To[0].Address)
		}
		seen[m.To[0].Address] = true
	}
	for _, m := range sms.Messages() {
		if seen[m.To] {
			t.Fatalf("%s got two texts", m.To)
		}
		seen[m.To] = true
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

// TestCrashDuringIngestKeepsAcknowledgedFixes sends batches from several
// devices, kills Enroute with SIGKILL mid-stream, and checks that every fix
// it acknowledged is in the history after restart.
func TestCrashDuringIngestKeepsAcknowledgedFixes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	env := map[string]string{"ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_DATABASE_URL": ""}
	p := startProc(t, env)
	st := &stack{t: t, m: &Main{}, env: env}
	st.m.ln = fakeAddr(p.addr)
	type ack struct {
		tech int64
		ms   int64
	}
	var (
		mu    sync.Mutex
		acked []ack
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for d := range 4 {
		tech, _, token := st.device(fmt.Sprintf("Tech %d", d))
		wg.Go(func() {
			for b := 0; ; b++ {
				select {
				case <-stop:
					return
				default:
				}
				var sb strings.Builder
				var batch []ack
				sb.WriteString("[")
				for i := range 50 {
					k := b*50 + i
					ts := base.Add(time.Duration(k) * 100 * time.Millisecond)
					if i > 0 {
						sb.WriteString(",")
					}
					fmt.Fprintf(&sb, `{"ts":%d,"lat":%f,"lng":-8.61}`, ts.UnixMilli(), 41.1+float64(k)*1e-6)
					batch = append(batch, ack{tech, ts.UnixMilli()})
				}
				sb.WriteString("]")
				req, _ := http.NewRequest("POST", "http://"+p.addr+"/api/v1/positions", strings.NewReader(sb.String()))
				req.Header.Set("Authorization", "Bearer "+token)
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					return // killed
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == 200 {
					mu.Lock()
					acked = append(acked, batch...)
					mu.Unlock()
				}
			}
		})
	}
	// The kill comes at 2,000 acknowledged fixes, or after 10 s of sending.
	poll(10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acked) >= 2000
	})
	p.kill()
	close(stop)
	wg.Wait()
	if len(acked) < 200 {
		t.Fatalf("only %d fixes acknowledged before the kill", len(acked))
	}

	p2 := startProc(t, env)
	st.m.ln = fakeAddr(p2.addr)
	store, err := sqlite.Open(context.Background(), filepath.Join(env["ENROUTE_DATA_DIR"], "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	all, err := store.FindPositions(context.Background(), enroute.PositionFilter{Unlimited: true})
	if err != nil {
		t.Fatal(err)
	}
	have := map[ack]bool{}
	for _, p := range all {
		have[ack{p.TechnicianID, p.Time.UnixMilli()}] = true
	}
	for _, a := range acked {
		if !have[a] {
			t.Fatalf("acknowledged fix %+v is not in the history (%d acknowledged, %d stored)", a, len(acked), len(all))
		}
	}
	t.Logf("%d fixes acknowledged before SIGKILL, %d stored, all acknowledged ones present", len(acked), len(all))
	// The live state came back from the history.
	if live := st.ok("GET", "/api/v1/technicians/positions", nil).items(); len(live) != 4 {
		t.Fatalf("live after restart = %d technicians", len(live))
	}
}
