package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute/internal/mailpit"
	"github.com/enroutehq/enroute/internal/netfault"
	"github.com/enroutehq/enroute/internal/twiliotest"
)

const (
	testAdminToken = "test-admin-token-0123456789"
	testPublicURL  = "https://enroute.test"
	companySMS     = "+13125550100"
)

// stack is Enroute with real SMTP (mailpit) and the SMS stand-in.
type stack struct {
	t    *testing.T
	m    *Main
	mail *mailpit.Server
	sms  *twiliotest.Server
	env  map[string]string
	// smsLink, when set, stands between Enroute and the SMS stand-in.
	smsLink *netfault.Proxy
}

func newStack(t *testing.T, extraEnv ...string) *stack {
	t.Helper()
	return newStackWith(t, func(st *stack) {
		for i := 0; i+1 < len(extraEnv); i += 2 {
			st.env[extraEnv[i]] = extraEnv[i+1]
		}
	})
}

// newStackWith is newStack with adjust run on the stack and its
// environment before Enroute starts.
func newStackWith(t *testing.T, adjust func(*stack)) *stack {
	t.Helper()
	st := &stack{t: t, mail: mailpit.Start(t), sms: twiliotest.Start(t)}
	st.env = map[string]string{
		"ENROUTE_DATA_DIR":            t.TempDir(),
		"ENROUTE_ADMIN_TOKEN":         testAdminToken,
		"ENROUTE_PUBLIC_URL":          testPublicURL,
		"ENROUTE_SMS_PROVIDER":        "twilio",
		"ENROUTE_TWILIO_ACCOUNT_SID":  st.sms.AccountSID,
		"ENROUTE_TWILIO_AUTH_TOKEN":   st.sms.AuthToken,
		"ENROUTE_TWILIO_BASE_URL":     st.sms.URL,
		"ENROUTE_SMTP_URL":            st.mail.URL(),
		"ENROUTE_OUTBOX_BACKOFF":      "50ms",
		"ENROUTE_OUTBOX_POLL":         "50ms",
		"ENROUTE_OUTBOX_MAX_BACKOFF":  "200ms",
		"ENROUTE_OUTBOX_MAX_ATTEMPTS": "6",
	}
	adjust(st)
	st.m, _ = start(t, st.env)
	// Twilio posts delivery receipts to the public URL; here the stand-in
	// takes them to the server, as a reverse proxy in front of it would.
	st.sms.Forward(testPublicURL, "http://"+st.m.Addr())
	t.Cleanup(func() {
		if errs := st.sms.Errors(); len(errs) > 0 {
			t.Errorf("requests Twilio would refuse: %v", errs)
		}
	})
	return st
}

// res is an API answer.
type res struct {
	status int
	body   map[string]any
	raw    string
}

func (r res) str(k string) string { s, _ := r.body[k].(string); return s }
func (r res) id() int64           { f, _ := r.body["id"].(float64); return int64(f) }
func (r res) items() []map[string]any {
	var out []map[string]any
	for _, it := range r.body["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// do sends a JSON request with the admin key and extra headers.
func (st *stack) do(method, path string, body any, headers ...string) res {
	st.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+st.m.Addr()+path, rd)
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer hr.Body.Close()
	raw, _ := io.ReadAll(hr.Body)
	r := res{status: hr.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

// ok sends a request that must succeed.
func (st *stack) ok(method, path string, body any, headers ...string) res {
	st.t.Helper()
	r := st.do(method, path, body, headers...)
	if r.status >= 300 {
		st.t.Fatalf("%s %s = %d %s", method, path, r.status, r.raw)
	}
	return r
}

// site is a customer at a verified location.
type site struct{ customer, location int64 }

func (st *stack) site(phone, email string) site {
	c := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Maria Costa", "phone": phone, "email": email}).id()
	l := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": c, "address": "Rua de Santa Catarina 1, Porto", "lat": 41.1496, "lng": -8.606, "verified": true}).id()
	return site{c, l}
}

var jobSeq int

func (st *stack) job(s site) int64 {
	jobSeq++
	return st.ok("POST", "/api/v1/jobs", map[string]any{"number": fmt.Sprintf("J-%d", jobSeq), "customer_id": s.customer, "location_id": s.location,
		"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}).id()
}

func (st *stack) technician(name string) int64 {
	id := st.ok("POST", "/api/v1/technicians", map[string]any{"name": name, "rating": 4.8}).id()
	st.ok("POST", fmt.Sprintf("/api/v1/technicians/%d/devices", id), map[string]any{"name": "phone"})
	return id
}

// assign schedules a technician on a job.
func (st *stack) assign(job, tech int64) int64 {
	return st.ok("POST", fmt.Sprintf("/api/v1/jobs/%d/assignments", job), map[string]any{"technician_id": tech}).id()
}

func (st *stack) move(assignment int64, verb string) {
	st.ok("POST", fmt.Sprintf("/api/v1/assignments/%d/%s", assignment, verb), nil)
}

// settings turns the channels on: text, e-mail, arrival tracking (with
// GPS), and sets the limit rule.
func (st *stack) settings(text, email, tracking, limit bool) {
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": companySMS, "enabled": text})
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"from_name": "Cool Air HVAC", "from_address": "dispatch@coolair.test", "enabled": email})
	if tracking {
		st.ok("PUT", "/api/v1/settings/gps", map[string]any{"enabled": true})
		st.technician("On Call") // native GPS needs a registered device
	}
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": tracking})
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/general", map[string]any{"limit_when_multiple_techs": limit})
}

// waitLog polls a job's delivery log until ok holds for it.
func (st *stack) waitLog(job int64, ok func([]map[string]any) bool) []map[string]any {
	st.t.Helper()
	var items []map[string]any
	if !poll(15*time.Second, func() bool {
		items = st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/messages", job), nil).items()
		return ok(items)
	}) {
		st.t.Fatalf("delivery log never got there: %v", items)
	}
	return items
}

// messages returns a job's delivery log once nothing in it is queued.
func (st *stack) messages(job int64) []map[string]any {
	st.t.Helper()
	var items []map[string]any
	if !poll(15*time.Second, func() bool {
		items = st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/messages", job), nil).items()
		return !slices.ContainsFunc(items, func(m map[string]any) bool { return m["status"] == "queued" })
	}) {
		st.t.Fatalf("messages still queued: %v", items)
	}
	return items
}

// statuses lists "channel:status" of an assignment's messages.
func statuses(log []map[string]any, assignment int64) []string {
	var out []string
	for _, m := range log {
		if int64(m["assignment_id"].(float64)) == assignment {
			out = append(out, fmt.Sprintf("%s:%s", m["channel"], m["status"]))
		}
	}
	return out
}

// watcherIdle waits until the ETA watcher has taken in every status
// change and fix queued so far: it does so in rounds, at most every 20 ms,
// so a fix sent right after a dispatch may come before the dispatch is
// followed.
func (st *stack) watcherIdle(within time.Duration) {
	st.t.Helper()
	waitFor(st.t, within, "idle ETA watcher", st.m.watcher.Idle)
}

// settle waits for the outbox to go quiet and checks that exactly sms texts
// and emails have been delivered in all.
func (st *stack) settle(jobs []int64, sms, emails int) {
	st.t.Helper()
	for _, j := range jobs {
		st.messages(j)
	}
	if got := len(st.sms.Messages()); got != sms {
		st.t.Fatalf("texts sent = %d, want %d: %+v", got, sms, st.sms.Messages())
	}
	if emails > 0 {
		st.mail.WaitFor(emails, 10*time.Second)
	}
	if got := len(st.mail.Messages()); got != emails {
		st.t.Fatalf("e-mails received = %d, want %d", got, emails)
	}
}

// markers counts the marker customers of outboxPassed.
var markers int

// outboxPassed shows that no copy of a message delivered so far is still on
// its way, without sleeping for one to show: it dispatches one more job, to
// a customer of its own, on st's node and waits until that job's text and
// e-mail have both arrived; it returns that customer's phone and address,
// which the counts of the caller then include. A node's outbox worker
// claims the oldest due message, sends it and records the outcome before
// its next claim, so once it has delivered the marker, everything it
// claimed before has been sent and recorded. With several nodes the marker
// speaks only for the node that sent it (the one st names, usually: it is
// woken at once).
func (st *stack) outboxPassed() (phone, email string) {
	st.t.Helper()
	markers++
	phone, email = fmt.Sprintf("+3519198%05d", markers), fmt.Sprintf("marker%d@example.com", markers)
	job := st.job(st.site(phone, email))
	st.move(st.assign(job, st.technician(fmt.Sprintf("Marker %d", markers))), "dispatch")
	waitFor(st.t, 15*time.Second, "marker text and e-mail to "+phone+" and "+email, func() bool {
		return slices.ContainsFunc(st.sms.Messages(), func(m twiliotest.Message) bool { return m.To == phone }) &&
			slices.ContainsFunc(st.mail.Messages(), func(m mailpit.Message) bool { return len(m.To) == 1 && m.To[0].Address == email })
	})
	return phone, email
}

// poll calls ok until it holds, every 10 ms, and says whether it did
// within: the one way these tests wait for state. Most call waitFor; poll
// is for a wait whose failure needs its own message or clean-up, or that
// is not a failure.
func poll(within time.Duration, ok func() bool) bool {
	for deadline := time.Now().Add(within); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// waitFor polls ok until it holds, failing the test after within.
func waitFor(t testing.TB, within time.Duration, what string, ok func() bool) {
	t.Helper()
	if !poll(within, ok) {
		t.Fatalf("no %s after %v", what, within)
	}
}

func contains(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// rawPost sends a form body without authentication.
func (st *stack) rawPost(path, form string, headers ...string) res {
	st.t.Helper()
	req, _ := http.NewRequest("POST", "http://"+st.m.Addr()+path, strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hr, err := http.DefaultClient.Do(req)
	if err != nil {
		st.t.Fatal(err)
	}
	defer hr.Body.Close()
	raw, _ := io.ReadAll(hr.Body)
	return res{status: hr.StatusCode, raw: string(raw)}
}
