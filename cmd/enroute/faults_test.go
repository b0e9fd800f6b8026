package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/netfault"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// phone sends fixes as Traccar Client does: every new fix is kept until a
// request carrying it is acknowledged, and sent again with the next ones.
// It remembers which fixes were acknowledged and what each answer was.
type phone struct {
	t     *testing.T
	url   string // the server's address
	token string
	tech  int64

	mu       sync.Mutex
	next     time.Time // the next fix's time
	first    int64     // the first fix's time (ms)
	lat      float64
	unsent   []int64 // fix times (ms), oldest first
	acked    map[int64]bool
	statuses map[int]int // answers by status
	retry    bool        // every 503 carried Retry-After
}

func newPhone(t *testing.T, st *stack, name string) *phone {
	tech, _, token := st.device(name)
	first := time.Now().Add(-2 * time.Hour)
	return &phone{t: t, url: "http://" + st.m.Addr(), token: token, tech: tech, next: first, first: first.UnixMilli(),
		lat: 41.14, acked: map[int64]bool{}, statuses: map[int]int{}, retry: true}
}

// send takes a new fix (unless flush) and sends every fix not yet
// acknowledged, up to 500; it returns the answer's status.
func (p *phone) send(flush bool) int {
	p.mu.Lock()
	if !flush {
		p.unsent = append(p.unsent, p.next.UnixMilli())
		p.next = p.next.Add(time.Second)
	}
	batch := p.unsent[:min(len(p.unsent), 500)]
	fixes := make([]string, len(batch))
	for i, ms := range batch {
		fixes[i] = fmt.Sprintf(`{"ts":%d,"lat":%.6f,"lng":-8.61}`, ms, p.lat+float64(ms-p.first)/1e9) // 0.1 m a second
	}
	p.mu.Unlock()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/positions", strings.NewReader("["+strings.Join(fixes, ",")+"]"))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+p.token)
	client := &http.Client{Timeout: 30 * time.Second}
	res, err := client.Do(req)
	status := 0
	if err == nil {
		status = res.StatusCode
		var body struct {
			Accepted, Duplicates int
		}
		raw, _ := io.ReadAll(res.Body)
		_ = json.Unmarshal(raw, &body)
		res.Body.Close()
		if status != 200 && status != 503 {
			p.t.Errorf("answered %d %s; want 200, or 503 while the history cannot be written", status, raw)
		}
		if status == 200 && body.Accepted+body.Duplicates != len(batch) {
			p.t.Errorf("%d fixes sent, %d accepted and %d duplicates: %s", len(batch), body.Accepted, body.Duplicates, raw)
		}
		if status == 503 && res.Header.Get("Retry-After") == "" {
			p.retry = false
		}

	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.statuses[status]++
	if status == 200 {
		for _, ms := range batch {
			p.acked[ms] = true
		}
		p.unsent = p.unsent[len(batch):]
	}
	return status
}

// drain sends until every fix is acknowledged.
func (p *phone) drain(within time.Duration) {
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		left := len(p.unsent)
		p.mu.Unlock()
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d fixes still unacknowledged", left)
		}
		if p.send(true) != 200 {
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// checkStored checks that every acknowledged fix is stored, once.
func (p *phone) checkStored(store enroute.Store) {
	p.t.Helper()
	ps, err := store.FindPositions(context.Background(), enroute.PositionFilter{TechnicianID: &p.tech, Unlimited: true})
	if err != nil {
		p.t.Fatal(err)
	}
	stored := map[int64]int{}
	for _, x := range ps {
		stored[x.Time.UnixMilli()]++
	}
	for ms := range p.acked {
		if stored[ms] != 1 {
			p.t.Errorf("acknowledged fix %d stored %d times", ms, stored[ms])
		}
	}
	if len(ps) != len(p.acked) {
		p.t.Errorf("%d fixes stored, %d acknowledged", len(ps), len(p.acked))
	}
}

// resumed waits until each phone has had another request acknowledged.
func resumed(t *testing.T, phones []*phone, within time.Duration) {
	t.Helper()
	for _, p := range phones {
		p.mu.Lock()
		before := p.statuses[200]
		p.mu.Unlock()
		waitFor(t, within, "acknowledged fix once the fault was gone", func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.statuses[200] > before
		})
	}
}

// readyz returns the status of /readyz.
func readyz(st *stack) int {
	res, err := http.Get("http://" + st.m.Addr() + "/readyz")
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// sending runs phones sending a fix every 20 ms each until stop is closed.
func sending(phones []*phone, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	for _, p := range phones {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
					p.send(false)
				}
			}
		})
	}
	return &wg
}

// TestPostgresDownDuringIngest: PostgreSQL goes away while phones send (a
// restart, as the server sees it: its connections reset, new ones refused)
// and comes back. Meanwhile /readyz says not ready and fixes are refused
// with 503 and Retry-After, not acknowledged; ingest resumes by itself; and
// every acknowledged fix is stored once.
func TestPostgresDownDuringIngest(t *testing.T) {
	u, err := url.Parse(pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	db := netfault.Start(t, u.Host)
	u.Host = db.Addr()
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATABASE_URL": u.String(), "ENROUTE_ADMIN_TOKEN": testAdminToken}}
	st.m, _ = start(t, st.env)
	phones := []*phone{newPhone(t, st, "Ana"), newPhone(t, st, "Bruno"), newPhone(t, st, "Carla")}
	stop := make(chan struct{})
	wg := sending(phones, stop)
	time.Sleep(500 * time.Millisecond)

	db.Cut()
	waitFor(t, 10*time.Second, "503 from /readyz", func() bool { return readyz(st) == 503 })
	refused := func() bool {
		n := 0
		for _, p := range phones {
			p.mu.Lock()
			n += p.statuses[503]
			p.mu.Unlock()
		}
		return n >= 3
	}
	waitFor(t, 15*time.Second, "refused fixes", refused)
	// While it stays down, nothing is acknowledged.
	acked := func() (n int) {
		for _, p := range phones {
			p.mu.Lock()
			n += p.statuses[200]
			p.mu.Unlock()
		}
		return n
	}
	time.Sleep(100 * time.Millisecond)
	during := acked()
	time.Sleep(2 * time.Second)
	if n := acked() - during; n != 0 {
		t.Fatalf("%d requests acknowledged while PostgreSQL was down", n)
	}
	db.Restore()
	waitFor(t, 15*time.Second, "200 from /readyz", func() bool { return readyz(st) == 200 })
	resumed(t, phones, 15*time.Second)
	close(stop)
	wg.Wait()
	for _, p := range phones {
		p.drain(15 * time.Second)
		p.checkStored(st.m.Store)
		if !p.retry {
			t.Error("a 503 without Retry-After")
		}
		t.Logf("phone %d: answers %v, %d fixes acknowledged", p.tech, p.statuses, len(p.acked))
	}
}

// TestNATSRestartTwoNodes: the bus between two nodes goes away and comes
// back; live fan-out across the nodes resumes without restarting either.
func TestNATSRestartTwoNodes(t *testing.T) {
	nu, err := url.Parse(natsURL(t))
	if err != nil {
		t.Fatal(err)
	}
	bus := netfault.Start(t, nu.Host)
	nu.Host = bus.Addr()
	a, b := nodePair(t, nu.String())
	_, _, token := a.device("Ana Silva")
	board, _ := b.boardAll()
	_ = board.SetReadDeadline(time.Time{}) // boardAll's
	frames := make(chan string, 1000)
	go func() { // gorilla fails a connection for good on a read timeout: one reader, no deadline
		defer close(frames)
		for {
			_, raw, err := board.ReadMessage()
			if err != nil {
				return
			}
			frames <- string(raw)
		}
	}()
	// seen waits for node B's board to show the technician at lat.
	seen := func(lat float64, within time.Duration) bool {
		timeout := time.After(within)
		for {
			select {
			case f, ok := <-frames:
				if !ok {
					t.Fatal("node B closed the board")
				}
				if strings.Contains(f, fmt.Sprintf(`"lat":%g`, lat)) {
					return true
				}
			case <-timeout:
				return false
			}
		}
	}
	a.fixAt(token, 41.1430, -8.6075)
	if !seen(41.143, 5*time.Second) {
		t.Fatal("node B's board did not get node A's fix before the fault")
	}
	bus.Cut()
	time.Sleep(time.Second) // both nodes notice the bus is gone
	bus.Restore()
	// Without restarting a node, a fix on A reaches B again.
	i := 0
	waitFor(t, 20*time.Second, "fix from node A on node B's board once the bus was back", func() bool {
		i++
		lat := math.Round((41.1440+float64(i)*0.0001)*1e4) / 1e4 // as the board writes it
		a.fixAt(token, lat, -8.6075)
		return seen(lat, 500*time.Millisecond)
	})
}

// TestProvidersDownPastRetries: the SMTP server and the SMS API stay down
// longer than the outbox retries; the messages fail with the reason. Once
// both are back, a new dispatch is delivered once, and the failed
// messages are not sent after all.
func TestProvidersDownPastRetries(t *testing.T) {
	st := newStackWith(t, func(st *stack) {
		sms, err := url.Parse(st.sms.URL)
		if err != nil {
			t.Fatal(err)
		}
		proxy := netfault.Start(t, sms.Host)
		st.smsLink = proxy
		sms.Host = proxy.Addr()
		st.env["ENROUTE_TWILIO_BASE_URL"] = sms.String()
		st.env["ENROUTE_OUTBOX_MAX_ATTEMPTS"] = "4"
	})
	st.settings(true, true, false, false)
	s := st.site("+351912345678", "maria@example.com")
	st.smsLink.Cut()
	st.mail.Stop()
	job := st.job(s)
	st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
	log := st.waitLog(job, func(log []map[string]any) bool {
		return len(log) == 2 && log[0]["status"] == "failed" && log[1]["status"] == "failed"
	})
	for _, m := range log {
		if reason, _ := m["reason"].(string); m["attempts"] != 4.0 || !strings.Contains(reason, "gave up after 4 attempts") || !strings.Contains(reason, "connection refused") {
			t.Errorf("%s message: %v", m["channel"], m)
		}
	}
	st.smsLink.Restore()
	st.mail.Start()
	job2 := st.job(s)
	st.move(st.assign(job2, st.technician("Bruno Reis")), "dispatch")
	st.settle([]int64{job, job2}, 1, 1)
	st.outboxPassed() // a stray retry would come before it
	if n, m := len(st.sms.Messages()), len(st.mail.Messages()); n != 2 || m != 2 {
		t.Fatalf("%d texts and %d e-mails delivered, want two each (the second dispatch's and the marker's)", n, m)
	}
	for _, m := range st.messages(job) {
		if m["status"] != "failed" {
			t.Errorf("a failed message became %v", m)
		}
	}
}

// TestDiskFull: the embedded store's disk fills while phones send. Fixes
// are refused with 503 (and /readyz says not ready) rather than
// acknowledged; when space returns, ingest resumes by itself, and every
// acknowledged fix is stored once. It mounts a small tmpfs, so it runs as
// root (CI does).
func TestDiskFull(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the disk-full test needs root to mount a tmpfs; CI runs as root")
		}
		t.Skip("the disk-full test needs root (to mount a small tmpfs)")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=16m"); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) }) // after Enroute stops
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": filepath.Join(dir, "data"), "ENROUTE_ADMIN_TOKEN": testAdminToken}}
	st.m, _ = start(t, st.env)
	phones := []*phone{newPhone(t, st, "Ana"), newPhone(t, st, "Bruno")}
	stop := make(chan struct{})
	wg := sending(phones, stop)
	time.Sleep(300 * time.Millisecond)

	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	waitFor(t, 30*time.Second, "fix refused on a full disk", func() bool {
		for _, p := range phones {
			p.mu.Lock()
			n := p.statuses[503]
			p.mu.Unlock()
			if n > 0 {
				return true
			}
		}
		return false
	})
	if got := readyz(st); got != 503 {
		t.Errorf("/readyz on a full disk = %d, want 503", got)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	resumed(t, phones, 20*time.Second)
	close(stop)
	wg.Wait()
	waitFor(t, 10*time.Second, "200 from /readyz", func() bool { return readyz(st) == 200 })
	for _, p := range phones {
		p.drain(20 * time.Second)
		p.checkStored(st.m.Store)
		t.Logf("phone %d: answers %v, %d fixes acknowledged", p.tech, p.statuses, len(p.acked))
	}
}

// fill writes a file until the disk is full.
func fill(t *testing.T, path string) {
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill the disk: %v", err)
			}
			break
		}
	}
	for { // the last pages, a byte at a time
		if _, err := f.Write(chunk[:512]); err != nil {
			return
		}
	}
}
