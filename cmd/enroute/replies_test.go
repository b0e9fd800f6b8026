package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/notify"
)

// okReceiver is a webhook endpoint that takes every delivery.
type okReceiver struct {
	mu     sync.Mutex
	bodies [][]byte
	heads  []http.Header
	ats    []time.Time
}

func (rc *okReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.bodies, rc.heads, rc.ats = append(rc.bodies, b), append(rc.heads, r.Header.Clone()), append(rc.ats, time.Now())
	rc.mu.Unlock()
}

// ofType returns the deliveries of one event type, and their headers.
func (rc *okReceiver) ofType(typ string) ([]map[string]any, []hookRequest) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []map[string]any
	var reqs []hookRequest
	for i, b := range rc.bodies {
		var ev map[string]any
		if json.Unmarshal(b, &ev) == nil && ev["type"] == typ {
			out, reqs = append(out, ev), append(reqs, hookRequest{header: rc.heads[i], body: b, at: rc.ats[i]})
		}
	}
	return out, reqs
}

// A customer's reply that is not a keyword is stored on the job of the
// text it answers, once however often Twilio delivers it, reaches boards
// at once and the webhooks (customer.replied); a dispatcher answers it
// from the company's number, and can resend a message with a new link.
func TestRepliesAnswersAndResends(t *testing.T) {
	rc := &okReceiver{}
	hooks := httptest.NewServer(rc)
	t.Cleanup(hooks.Close)
	st := newStack(t, "ENROUTE_WEBHOOK_ALLOW_PRIVATE", "true", "ENROUTE_WEBHOOK_POLL", "50ms")
	st.settings(true, false, true, false)
	ep := st.ok("POST", "/api/v1/webhooks", map[string]any{"url": hooks.URL + "/enroute", "events": []string{"customer.replied"}})
	const customer = "+351912345678"
	s := st.site(customer, "")
	job := st.job(s)
	a := st.assign(job, st.technician("Ana Silva"))
	st.move(a, "dispatch")
	st.settle([]int64{job}, 1, 0)
	dispatch := st.messages(job)[0]
	board, _ := st.boardAll()

	inbound := func(from, body, sid string) res {
		form := url.Values{"From": {from}, "To": {companySMS}, "Body": {body}, "MessageSid": {sid}, "AccountSid": {st.sms.AccountSID}}
		return st.rawPost("/api/v1/sms/inbound", form.Encode(), "X-Twilio-Signature", notify.TwilioSignature(st.sms.AuthToken, testPublicURL+"/api/v1/sms/inbound", form))
	}
	for range 2 { // Twilio retries a webhook it thinks failed: one reply
		if r := inbound(customer, "  The gate code is 4321, ring twice  ", "SMreply1"); r.status != 200 || strings.Contains(r.raw, "<Message>") {
			t.Fatalf("reply = %d %s", r.status, r.raw)
		}
	}
	replies := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/replies", job), nil).items()
	if len(replies) != 1 || replies[0]["body"] != "The gate code is 4321, ring twice" || replies[0]["assignment_id"] != float64(a) ||
		replies[0]["customer_id"] != float64(s.customer) || replies[0]["from"] != customer || replies[0]["provider_id"] != "SMreply1" {
		t.Fatalf("replies = %v", replies)
	}
	for {
		m := nextNotProgress(t, board, 5*time.Second)
		if m["type"] == "activity" {
			if m["kind"] != "reply" || m["job_id"] != float64(job) || m["id"] != replies[0]["id"] {
				t.Fatalf("activity = %v", m)
			}
			break
		}
	}
	waitFor(t, 10*time.Second, "customer.replied delivered", func() bool { evs, _ := rc.ofType("customer.replied"); return len(evs) == 1 })
	evs, reqs := rc.ofType("customer.replied")
	if err := verifyStandardWebhook(ep.str("secret"), reqs[0]); err != nil {
		t.Fatal(err)
	}
	if r := evs[0]["data"].(map[string]any)["reply"].(map[string]any); r["body"] != "The gate code is 4321, ring twice" || r["job_id"] != float64(job) {
		t.Fatalf("customer.replied = %v", evs[0])
	}
	// A number Enroute never texted: kept, with no job.
	inbound("+351930000000", "who is this?", "SMreply2")
	all := st.ok("GET", "/api/v1/replies", nil).items()
	if len(all) != 2 || all[1]["job_id"] != nil || all[1]["body"] != "who is this?" {
		t.Fatalf("all replies = %v", all)
	}
	if r := st.do("GET", "/api/v1/jobs/999999/replies", nil); r.status != 404 {
		t.Fatalf("replies of no job = %d %s", r.status, r.raw)
	}

	// The dispatcher answers from the board: a text from the company's
	// number, in the job's log with the key that wrote it.
	for _, bad := range []map[string]any{{}, {"body": "   "}, {"body": strings.Repeat("x", 1601)}} {
		if r := st.do("POST", fmt.Sprintf("/api/v1/jobs/%d/messages", job), bad); r.status != 400 || !strings.Contains(r.raw, `"body"`) {
			t.Fatalf("answer %v = %d %s", bad, r.status, r.raw)
		}
	}
	ans := st.ok("POST", fmt.Sprintf("/api/v1/jobs/%d/messages", job), map[string]any{"body": "Thanks! Ana will ring twice."})
	if ans.status != 201 || ans.str("kind") != "manual" || ans.str("author") == "" || ans.str("to") != customer || ans.str("from") != companySMS {
		t.Fatalf("answer = %d %s", ans.status, ans.raw)
	}
	texts := st.sms.WaitFor(t, 2, 10*time.Second)
	if texts[1].To != customer || texts[1].Body != "Thanks! Ana will ring twice." {
		t.Fatalf("answer sent = %+v", texts[1])
	}

	// Resend: the dispatch text again, with a new tracking link that works.
	res := st.ok("POST", fmt.Sprintf("/api/v1/messages/%v/resend", dispatch["id"]), nil)
	if res.status != 201 || res.str("kind") != "dispatch" || res.body["resend_of"] != dispatch["id"] || !strings.Contains(res.str("body"), "••••") {
		t.Fatalf("resend = %d %s", res.status, res.raw)
	}
	texts = st.sms.WaitFor(t, 3, 10*time.Second)
	first, again := linkIn(t, texts[0]), linkIn(t, texts[2])
	if first == again || strings.Replace(texts[2].Body, again, "", 1) != strings.Replace(texts[0].Body, first, "", 1) {
		t.Fatalf("resent %q, first %q", texts[2].Body, texts[0].Body)
	}
	if r, err := http.Get(strings.Replace(again, testPublicURL, "http://"+st.m.Addr(), 1)); err != nil || r.StatusCode != 200 {
		t.Fatalf("resent link = %v %v", r, err)
	}
	log := st.messages(job)
	if len(log) != 3 || !slices.ContainsFunc(log, func(m map[string]any) bool { return m["kind"] == "manual" && m["status"] == "sent" }) {
		t.Fatalf("log = %v", log)
	}
	if r := st.do("POST", "/api/v1/messages/999999/resend", nil); r.status != 404 {
		t.Fatalf("resend of no message = %d %s", r.status, r.raw)
	}

	// Opted out (STOP): neither an answer nor a resend goes.
	inbound(customer, "STOP", "SMstop")
	if r := st.do("POST", fmt.Sprintf("/api/v1/jobs/%d/messages", job), map[string]any{"body": "Hello?"}); r.status != 409 || !strings.Contains(r.raw, "opted out") {
		t.Fatalf("answer after STOP = %d %s", r.status, r.raw)
	}
	if r := st.do("POST", fmt.Sprintf("/api/v1/messages/%v/resend", dispatch["id"]), nil); r.status != 409 {
		t.Fatalf("resend after STOP = %d %s", r.status, r.raw)
	}
	if got := len(st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/replies", job), nil).items()); got != 1 {
		t.Fatalf("STOP stored as a reply: %d replies", got)
	}
}

// linkIn returns the tracking link in a text.
func linkIn(t *testing.T, m twiliotest.Message) string {
	t.Helper()
	i := strings.Index(m.Body, testPublicURL+"/t/")
	if i < 0 {
		t.Fatalf("no link in %q", m.Body)
	}
	return strings.Fields(m.Body[i:])[0]
}

// A reply texted to one node shows at once on a board connected to
// another, through NATS; and a text's outcome on the node that sent it
// does too.
func TestReplyReachesAnotherNodesBoard(t *testing.T) {
	a, b := twoNodes(t)
	a.settings(true, false, false, false)
	const customer = "+351912345611"
	job := a.job(a.site(customer, ""))
	a.move(a.assign(job, a.technician("Ana Silva")), "dispatch")
	a.settle([]int64{job}, 1, 0)
	board, _ := b.boardAll()
	form := url.Values{"From": {customer}, "To": {companySMS}, "Body": {"Running 5 min late myself"}, "MessageSid": {"SMnode"}, "AccountSid": {a.sms.AccountSID}}
	if r := a.rawPost("/api/v1/sms/inbound", form.Encode(), "X-Twilio-Signature", notify.TwilioSignature(a.sms.AuthToken, testPublicURL+"/api/v1/sms/inbound", form)); r.status != 200 {
		t.Fatalf("reply = %d %s", r.status, r.raw)
	}
	for {
		if m := nextNotProgress(t, board, 5*time.Second); m["type"] == "activity" && m["kind"] == "reply" {
			if m["job_id"] != float64(job) {
				t.Fatalf("activity = %v", m)
			}
			break
		}
	}
	a.ok("POST", fmt.Sprintf("/api/v1/jobs/%d/messages", job), map[string]any{"body": "No problem."})
	for {
		if m := nextNotProgress(t, board, 5*time.Second); m["type"] == "activity" && m["kind"] == "message" {
			if m["job_id"] != float64(job) {
				t.Fatalf("activity = %v", m)
			}
			break
		}
	}
}
