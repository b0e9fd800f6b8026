package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute/internal/mailpit"
	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// hookReceiver is a webhook receiver: it records every request and holds
// the answer to the first one until its connection drops.
type hookReceiver struct {
	mu   sync.Mutex
	got  []hookRequest
	held chan string // gets the webhook-id of the held request
	url  string
}

type hookRequest struct {
	header http.Header
	body   []byte
	at     time.Time
}

func startHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	rc := &hookReceiver{held: make(chan string, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rc.url = "http://" + ln.Addr().String() + "/enroute"
	return rc
}

func (rc *hookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, hookRequest{r.Header.Clone(), body, time.Now()})
	first := len(rc.got) == 1
	rc.mu.Unlock()
	if first {
		rc.held <- r.Header.Get("webhook-id")
		<-r.Context().Done() // the sender died
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (rc *hookReceiver) requests() []hookRequest {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// verifyStandardWebhook checks a request as the Standard Webhooks
// specification tells receivers to: HMAC-SHA256, keyed with the base64
// after "whsec_", of "id.timestamp.body", one of the space-separated
// "v1,<base64>" signatures matching, the timestamp within 5 minutes.
func verifyStandardWebhook(secret string, r hookRequest) error {
	id, ts, sigs := r.header.Get("webhook-id"), r.header.Get("webhook-timestamp"), r.header.Get("webhook-signature")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || id == "" {
		return fmt.Errorf("bad headers %v", r.header)
	}
	if d := r.at.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("timestamp %s is %v off", ts, d)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(r.body)))
	for _, s := range strings.Fields(sigs) {
		if v, b64, ok := strings.Cut(s, ","); ok && v == "v1" {
			if got, err := base64.StdEncoding.DecodeString(b64); err == nil && hmac.Equal(got, mac.Sum(nil)) {
				return nil
			}
		}
	}
	return fmt.Errorf("no signature of %s verifies", id)
}

// testWebhooksCrash registers an endpoint on a real receiver, dispatches
// an assignment, SIGKILLs Enroute while the receiver holds the answer to
// the first delivery, restarts it, completes that assignment and cancels
// another: every event arrives at least once, each under the webhook-id it
// has in the API, the held one again under the same id, and every
// signature verifies.
func testWebhooksCrash(t *testing.T, storeEnv map[string]string) {
	mail := mailpit.Start(t)
	sms := twiliotest.Start(t)
	env := crashEnv(mail, sms)
	for k, v := range map[string]string{
		"ENROUTE_WEBHOOK_ALLOW_PRIVATE": "true", "ENROUTE_WEBHOOK_BACKOFF": "50ms", "ENROUTE_WEBHOOK_MAX_BACKOFF": "200ms",
		"ENROUTE_WEBHOOK_POLL": "50ms", "ENROUTE_WEBHOOK_TIMEOUT": "1s",
	} {
		env[k] = v
	}
	for k, v := range storeEnv {
		env[k] = v
	}
	rc := startHookReceiver(t)

	p := startProc(t, env)
	st := &stack{t: t, m: &Main{}, mail: mail, sms: sms, env: env}
	st.m.ln = fakeAddr(p.addr)
	st.settings(true, true, false, false)
	events := []string{"assignment.dispatched", "assignment.arrived", "assignment.done", "assignment.cancelled",
		"message.sent", "message.failed", "message.suppressed"}
	ep := st.ok("POST", "/api/v1/webhooks", map[string]any{"url": rc.url, "events": events})
	secret := ep.str("secret")
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("created = %s", ep.raw)
	}

	s := st.site("+351912345670", "customer@example.com")
	a1 := st.assign(st.job(s), st.technician("Ana"))
	st.move(a1, "dispatch")
	var heldID string
	select {
	case heldID = <-rc.held:
	case <-time.After(15 * time.Second):
		t.Fatal("no webhook delivery")
	}
	p.kill()

	p2 := startProc(t, env)
	st.m.ln = fakeAddr(p2.addr)
	st.move(a1, "start")
	st.move(a1, "complete")
	a2 := st.assign(st.job(st.site("+351912345671", "other@example.com")), st.technician("Rui"))
	st.move(a2, "dispatch")
	st.move(a2, "cancel")

	// 5 assignment events and a text and an e-mail per dispatch.
	want := []string{"assignment.cancelled", "assignment.dispatched", "assignment.dispatched", "assignment.done", "assignment.arrived",
		"message.sent", "message.sent", "message.sent", "message.sent"}
	sort.Strings(want)
	var deliveries []map[string]any
	waitFor(t, 30*time.Second, "every delivery delivered", func() bool {
		deliveries = st.ok("GET", fmt.Sprintf("/api/v1/webhooks/%d/deliveries?limit=1000", ep.id()), nil).items()
		if len(deliveries) != len(want) {
			return false
		}
		for _, d := range deliveries {
			if d["status"] != "delivered" {
				return false
			}
		}
		return true
	})
	var types []string
	ids := map[string]string{} // event id -> type
	for _, d := range deliveries {
		types = append(types, d["event_type"].(string))
		ids[d["event_id"].(string)] = d["event_type"].(string)
	}
	sort.Strings(types)
	if !slices.Equal(types, want) {
		t.Fatalf("event types = %v, want %v", types, want)
	}
	if ids[heldID] != "assignment.dispatched" {
		t.Fatalf("held delivery %s is not the dispatch: %v", heldID, ids)
	}

	received := map[string]int{}
	for _, r := range rc.requests() {
		id := r.header.Get("webhook-id")
		if _, ok := ids[id]; !ok {
			t.Fatalf("received unknown webhook-id %q", id)
		}
		received[id]++
		if err := verifyStandardWebhook(secret, r); err != nil {
			t.Fatal(err)
		}
		var body struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		if err := json.Unmarshal(r.body, &body); err != nil || body.ID != id || body.Type != ids[id] {
			t.Fatalf("body of %s = %s", id, r.body)
		}
	}
	if len(received) != len(ids) {
		t.Fatalf("received %d distinct events, want %d", len(received), len(ids))
	}
	if received[heldID] < 2 {
		t.Fatalf("the delivery held when Enroute died arrived %d times, want again after the restart", received[heldID])
	}
}

func TestWebhooksSurviveSIGKILLSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	testWebhooksCrash(t, map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_DATABASE_URL": ""})
}

func TestWebhooksSurviveSIGKILLPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	testWebhooksCrash(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t),
		"ENROUTE_SECRET_KEY": base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))})
}

// TestWebhookSecretKeyFile: without ENROUTE_SECRET_KEY the embedded store
// gets a key file of its own, readable by its owner only, kept across
// starts; with PostgreSQL and no key, webhooks are off.
func TestWebhookSecretKeyFile(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ENROUTE_DATA_DIR": dir, "ENROUTE_ADMIN_TOKEN": testAdminToken}
	m, _ := start(t, env)
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret.key = %v, %v", fi, err)
	}
	st := &stack{t: t, m: m}
	if r := st.do("GET", "/api/v1/webhooks", nil); r.status != http.StatusOK {
		t.Fatalf("GET /api/v1/webhooks = %d %s", r.status, r.raw)
	}
	if os.Getenv("ENROUTE_TEST_DATABASE_URL") == "" {
		return
	}
	pg, _ := start(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t), "ENROUTE_ADMIN_TOKEN": testAdminToken})
	st = &stack{t: t, m: pg}
	if r := st.do("GET", "/api/v1/webhooks", nil); r.status != http.StatusNotFound {
		t.Fatalf("webhooks without a key on PostgreSQL: GET /api/v1/webhooks = %d %s", r.status, r.raw)
	}
}
