package main

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/notify"
)

var linkRE = regexp.MustCompile(regexp.QuoteMeta(testPublicURL) + `/t/([A-Za-z0-9_-]{22,})`)

// "When dispatch notifications are on, the customer automatically receives
// a message letting them know a technician is on the way." Text and e-mail
// both on send both; the tracking link is a 128-bit token of this
// assignment.
func TestDispatchSendsTextAndEmail(t *testing.T) {
	st := newStack(t)
	st.settings(true, true, true, false)
	s := st.site("+351912345678", "maria@example.com")
	job := st.job(s)
	a := st.assign(job, st.technician("Ana Silva"))
	st.move(a, "dispatch")
	st.settle([]int64{job}, 1, 1)

	sms := st.sms.Messages()[0]
	if sms.From != companySMS || sms.To != "+351912345678" || !contains(sms.Body, "Hi Maria,", "Ana from My Company is on the way to Rua de Santa Catarina 1, Porto.") {
		t.Fatalf("text = %+v", sms)
	}
	link := linkRE.FindStringSubmatch(sms.Body)
	if link == nil {
		t.Fatalf("text has no tracking link: %q", sms.Body)
	}
	l, err := st.m.Store.FindTrackingLink(context.Background(), enroute.HashSecret(link[1]))
	if err != nil || l.AssignmentID != a {
		t.Fatalf("tracking link = %+v, %v", l, err)
	}

	mail := st.mail.Messages()[0]
	if mail.From.Address != "dispatch@coolair.test" || mail.From.Name != "Cool Air HVAC" || mail.To[0].Address != "maria@example.com" ||
		mail.Subject != "Ana from My Company is on the way" {
		t.Fatalf("e-mail = %+v", mail)
	}
	if !contains(mail.Text, "Ana Silva from My Company", "J-", link[0]) || !contains(mail.HTML, `<a href="`+link[0]+`">`) {
		t.Fatalf("e-mail bodies lack the link: %q %q", mail.Text, mail.HTML)
	}

	log := st.messages(job)
	if got := statuses(log, a); !slices.Equal(got, []string{"sms:sent", "email:sent"}) {
		t.Fatalf("log = %v", got)
	}
	for _, m := range log {
		if strings.Contains(fmt.Sprint(m), link[1]) {
			t.Fatal("the delivery log shows a live tracking token")
		}
		if m["provider_id"] == "" {
			t.Fatalf("no provider id: %v", m)
		}
	}
}

// "If more technicians are sent out to the job site, the customer won't
// receive another dispatch notification ... if all technicians stop working
// and then you dispatch another technician later that day, the customer
// receives another notification."
func TestLimitRule(t *testing.T) {
	st := newStack(t)
	st.settings(true, true, false, true)
	s := st.site("+351912345678", "maria@example.com")
	job := st.job(s)
	first := st.assign(job, st.technician("Ana Silva"))
	st.move(first, "dispatch")
	st.settle([]int64{job}, 1, 1)

	// A second technician, on another job at the same site, while the first works.
	st.move(first, "start")
	job2 := st.job(s)
	second := st.assign(job2, st.technician("Bruno Reis"))
	st.move(second, "dispatch")
	st.settle([]int64{job, job2}, 1, 1)
	log := st.messages(job2)
	if got := statuses(log, second); !slices.Equal(got, []string{"sms:suppressed", "email:suppressed"}) {
		t.Fatalf("second dispatch = %v", got)
	}
	if r, _ := log[0]["reason"].(string); !strings.Contains(r, "already working at this job site") {
		t.Fatalf("reason = %q", r)
	}

	// While the first is only on the way, a third is limited too.
	job3 := st.job(s)
	third := st.assign(job3, st.technician("Carla Dias"))
	st.move(second, "start")
	st.move(first, "complete")
	st.move(third, "dispatch")
	st.settle([]int64{job3}, 1, 1)
	if got := statuses(st.messages(job3), third); !slices.Equal(got, []string{"sms:suppressed", "email:suppressed"}) {
		t.Fatalf("third dispatch = %v", got)
	}

	// All stop; a later dispatch notifies again.
	st.move(second, "complete")
	st.move(third, "cancel")
	job4 := st.job(s)
	fourth := st.assign(job4, st.technician("Duarte Lima"))
	st.move(fourth, "dispatch")
	st.settle([]int64{job4}, 2, 2)
	if got := statuses(st.messages(job4), fourth); !slices.Equal(got, []string{"sms:sent", "email:sent"}) {
		t.Fatalf("later dispatch = %v", got)
	}
}

// With the limit off, every dispatch notifies.
func TestLimitOffNotifiesEveryDispatch(t *testing.T) {
	st := newStack(t)
	st.settings(true, true, false, false)
	s := st.site("+351912345678", "maria@example.com")
	job := st.job(s)
	a := st.assign(job, st.technician("Ana Silva"))
	b := st.assign(job, st.technician("Bruno Reis"))
	st.move(a, "dispatch")
	st.move(a, "start")
	st.move(b, "dispatch")
	st.settle([]int64{job}, 2, 2)
}

// "Text and email notifications can't be enabled at the same time. If you
// want to enable both, repeat the process for both": each channel alone
// sends only its own message.
func TestOneChannelAtATime(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, false)
	s := st.site("+351912345678", "maria@example.com")
	job := st.job(s)
	st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
	st.settle([]int64{job}, 1, 0)
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"enabled": false})
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"enabled": true})
	job2 := st.job(s)
	st.move(st.assign(job2, st.technician("Bruno Reis")), "dispatch")
	st.settle([]int64{job, job2}, 1, 1)
}

// "The Tech Tracking URL token needs to be added ... for the tracking link
// to be included": the link goes out only when arrival tracking is on and
// the template has the token.
func TestTrackingLinkOnlyWhenOnAndInTemplate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		tracking bool
		template string
		want     bool
	}{
		{"OnWithToken", true, enroute.DefaultTextTemplate, true},
		{"OffWithToken", false, enroute.DefaultTextTemplate, false},
		{"OnWithoutToken", true, "Hi {CustomerFirstName}, {TechnicianFirstName} is on the way.", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStack(t)
			st.settings(true, true, tc.tracking, false)
			st.ok("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"template": tc.template})
			body := strings.ReplaceAll(enroute.DefaultEmailBody, "{TechTrackingURL}", "")
			if tc.template == enroute.DefaultTextTemplate {
				body = enroute.DefaultEmailBody
			}
			st.ok("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"body": body})
			s := st.site("+351912345678", "maria@example.com")
			job := st.job(s)
			st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
			st.settle([]int64{job}, 1, 1)
			sms, mail := st.sms.Messages()[0], st.mail.Messages()[0]
			for name, got := range map[string]bool{
				"text": linkRE.MatchString(sms.Body), "e-mail text": linkRE.MatchString(mail.Text), "e-mail HTML": strings.Contains(mail.HTML, "/t/"),
			} {
				if got != tc.want {
					t.Errorf("%s has a link = %v, want %v (%q)", name, got, tc.want, sms.Body)
				}
			}
			if strings.Contains(sms.Body, "{") || strings.HasSuffix(sms.Body, " ") {
				t.Errorf("text = %q", sms.Body)
			}
		})
	}
}

// A customer without a phone or an e-mail, or opted out of texts, is
// recorded as skipped with the reason.
func TestSkipped(t *testing.T) {
	st := newStack(t)
	st.settings(true, true, false, false)
	noPhone := st.site("", "maria@example.com")
	job := st.job(noPhone)
	a := st.assign(job, st.technician("Ana Silva"))
	st.move(a, "dispatch")
	noEmail := st.site("+351912345678", "")
	job2 := st.job(noEmail)
	b := st.assign(job2, st.technician("Bruno Reis"))
	st.move(b, "dispatch")
	optedOut := st.site("+351912345679", "")
	st.ok("PATCH", fmt.Sprintf("/api/v1/customers/%d", optedOut.customer), map[string]any{"sms_opt_out": true})
	job3 := st.job(optedOut)
	c := st.assign(job3, st.technician("Carla Dias"))
	st.move(c, "dispatch")
	st.settle([]int64{job, job2, job3}, 1, 1)

	for _, tc := range []struct {
		job, a int64
		want   []string
		reason string
	}{
		{job, a, []string{"sms:skipped", "email:sent"}, "no phone number"},
		{job2, b, []string{"sms:sent", "email:skipped"}, "no e-mail address"},
		{job3, c, []string{"sms:skipped", "email:skipped"}, "opted out of texts"},
	} {
		log := st.messages(tc.job)
		if got := statuses(log, tc.a); !slices.Equal(got, tc.want) {
			t.Fatalf("job %d = %v, want %v", tc.job, got, tc.want)
		}
		found := false
		for _, m := range log {
			found = found || strings.Contains(m["reason"].(string), tc.reason)
		}
		if !found {
			t.Fatalf("job %d: no reason %q in %v", tc.job, tc.reason, log)
		}
	}
}

// "Before you can enable text notifications, a default SMS number must be
// set up." "Before you can enable arrival tracking, native GPS for each
// technician device must be set up."
func TestPrerequisites(t *testing.T) {
	st := newStack(t)
	r := st.do("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"enabled": true})
	if r.status != 400 || !strings.Contains(r.raw, "default SMS number must be set up") {
		t.Fatalf("text without a number = %d %s", r.status, r.raw)
	}
	if got := st.ok("GET", "/api/v1/settings/dispatch-notifications/text", nil); got.body["enabled"] != false || got.str("from_number_status") != "missing" {
		t.Fatalf("text tab after refusal = %s", got.raw)
	}
	r = st.ok("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": companySMS})
	if r.str("from_number_status") != "ok" || r.str("template") != enroute.DefaultTextTemplate {
		t.Fatalf("text tab = %s", r.raw)
	}
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"enabled": true})
	if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": ""}); r.status != 400 {
		t.Fatalf("removing the number of enabled texts = %d", r.status)
	}

	r = st.do("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"enabled": true})
	if r.status != 400 || !strings.Contains(r.raw, "Set the from address") || !strings.Contains(r.raw, `"from_address"`) {
		t.Fatalf("e-mail without a from address = %d %s", r.status, r.raw)
	}

	r = st.do("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": true})
	if r.status != 400 || !strings.Contains(r.raw, "Native GPS must be set up") || !strings.Contains(r.raw, "View GPS settings") {
		t.Fatalf("tracking without GPS = %d %s", r.status, r.raw)
	}
	st.ok("PUT", "/api/v1/settings/gps", map[string]any{"enabled": true})
	if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": true}); r.status != 400 {
		t.Fatalf("tracking with GPS but no device = %d %s", r.status, r.raw)
	}
	st.technician("Ana Silva")
	if r := st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": true}); r.body["gps_ready"] != true {
		t.Fatalf("tracking tab = %s", r.raw)
	}
	if r := st.do("PUT", "/api/v1/settings/gps", map[string]any{"enabled": false}); r.status != 409 {
		t.Fatalf("GPS off under tracking = %d %s", r.status, r.raw)
	}

	// Unknown tokens are refused at save, naming the token.
	r = st.do("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"template": "Hi {CustomerNickname}"})
	if r.status != 400 || !strings.Contains(r.raw, "{CustomerNickname}") {
		t.Fatalf("unknown token = %d %s", r.status, r.raw)
	}
	if got := st.ok("GET", "/api/v1/settings/dispatch-notifications/text", nil); got.str("template") != enroute.DefaultTextTemplate {
		t.Fatal("a refused template was saved")
	}
	// Settings persist across a restart.
	st.m.Close()
	m2, _ := start(t, st.env)
	st.m = m2
	all := st.ok("GET", "/api/v1/settings/dispatch-notifications", nil)
	if !contains(all.raw, `"from_number":"`+companySMS+`"`, `"tracking":{"enabled":true`) {
		t.Fatalf("after restart = %s", all.raw)
	}
	if tokens := st.ok("GET", "/api/v1/settings/dispatch-notifications/tokens", nil).items(); len(tokens) != len(notify.Tokens) {
		t.Fatalf("tokens = %v", tokens)
	}
}

// The preview reports characters, encoding and segments, and both warnings.
func TestPreview(t *testing.T) {
	st := newStack(t)
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/text", map[string]any{"from_number": companySMS})
	p := st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms"})
	sms := p.body["sms"].(map[string]any)
	if sms["encoding"] != "GSM-7" || sms["segments"] != 1.0 || !strings.Contains(p.str("body"), "Alex from My Company") {
		t.Fatalf("preview = %s", p.raw)
	}
	if !strings.Contains(p.raw, "The template has a tracking URL token but arrival tracking is off, so no link will be sent") {
		t.Fatalf("warnings = %v", p.body["warnings"])
	}
	long := strings.Repeat("Your technician is on the way. ", 6) + "🚐"
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "template": long})
	sms = p.body["sms"].(map[string]any)
	if sms["encoding"] != "UCS-2" || sms["segments"] != 3.0 || sms["characters"] != float64(len([]rune(long))) {
		t.Fatalf("long preview = %s", p.raw)
	}
	st.ok("PUT", "/api/v1/settings/gps", map[string]any{"enabled": true})
	st.technician("Ana Silva")
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"enabled": true})
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "template": "Hi {CustomerFirstName}"})
	if !strings.Contains(p.raw, "Arrival tracking is on but the template has no tracking URL token, so no link will be sent") {
		t.Fatalf("warnings = %v", p.body["warnings"])
	}
	// A real job, e-mail, with escaping.
	s := st.site("+351912345678", "maria@example.com")
	st.ok("PATCH", fmt.Sprintf("/api/v1/customers/%d", s.customer), map[string]any{"name": "Maria <b>Costa</b>"})
	job := st.job(s)
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "email", "job_id": job})
	if !strings.Contains(p.raw, "uses {CompanyPhone} but the company profile has no phone number") {
		t.Fatalf("no warning about the missing company phone: %v", p.body["warnings"])
	}
	if !contains(p.str("html"), "Maria &lt;b&gt;Costa&lt;/b&gt;") && !contains(p.str("html"), "Hi Maria") {
		t.Fatalf("html = %s", p.str("html"))
	}
	if strings.Contains(p.str("html"), "<b>") {
		t.Fatalf("html not escaped: %s", p.str("html"))
	}
	// {CompanyPhone} as people in the company's region (en-US) write it.
	st.ok("PATCH", "/api/v1/company", map[string]any{"phone": "+13125550100"})
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "job_id": job, "template": "Questions? Call {CompanyPhone}."})
	if p.str("body") != "Questions? Call (312) 555-0100." {
		t.Fatalf("body = %q", p.str("body"))
	}
	if r := st.do("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "template": "{Oops"}); r.status != 400 {
		t.Fatalf("bad template preview = %d", r.status)
	}
	if r := st.do("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "fax"}); r.status != 400 {
		t.Fatalf("bad channel = %d", r.status)
	}

	// Running-late messages: their own saved templates, {NewETA} the
	// window's end plus the margin and 12 minutes in the company's zone
	// (no technician assigned yet: the sample one; margin 10).
	st.ok("PATCH", "/api/v1/company", map[string]any{"time_zone": "America/Chicago"})
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/late", map[string]any{"margin_min": 10, "text_template": "{TechnicianFirstName} now expects {NewETA}."})
	jobRes := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil)
	end, err := time.Parse(time.RFC3339, jobRes.str("window_end"))
	if err != nil {
		t.Fatal(err)
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	want := "Alex now expects " + end.Add(22*time.Minute).In(chicago).Format("3:04 PM") + "."
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "kind": "late", "job_id": job})
	if p.str("body") != want {
		t.Fatalf("late preview = %q, want %q", p.str("body"), want)
	}
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "email", "kind": "late"})
	if !strings.Contains(p.str("subject"), "is running late") {
		t.Fatalf("late e-mail subject = %q", p.str("subject"))
	}
	// In a dispatch message {NewETA} is blank, and the preview says so.
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "template": "Arriving {NewETA}"})
	if !strings.Contains(p.raw, "{NewETA} is filled in running-late messages only") {
		t.Fatalf("no warning for {NewETA} in a dispatch message: %s", p.raw)
	}
	if r := st.do("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "kind": "reminder"}); r.status != 400 || !strings.Contains(r.raw, "kind") {
		t.Fatalf("bad kind = %d %s", r.status, r.raw)
	}
}

// STOP opts the number out, START back in, HELP is answered; a request
// without Twilio's signature is refused.
func TestInboundSMS(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, false)
	s := st.site("+351912345678", "")
	send := func(body string, sign bool) res {
		form := url.Values{"From": {"+351912345678"}, "To": {companySMS}, "Body": {body}, "MessageSid": {"SM1"}, "AccountSid": {st.sms.AccountSID}}
		sig := "wrong"
		if sign {
			sig = notify.TwilioSignature(st.sms.AuthToken, testPublicURL+"/api/v1/sms/inbound", form)
		}
		req := st.rawPost("/api/v1/sms/inbound", form.Encode(), "X-Twilio-Signature", sig)
		return req
	}
	if r := send("STOP", false); r.status != 403 {
		t.Fatalf("unsigned = %d %s", r.status, r.raw)
	}
	r := send(" stop ", true)
	if r.status != 200 || !strings.Contains(r.raw, "<Response><Message>You are unsubscribed") {
		t.Fatalf("STOP = %d %s", r.status, r.raw)
	}
	if c := st.ok("GET", fmt.Sprintf("/api/v1/customers/%d", s.customer), nil); c.body["sms_opt_out"] != true {
		t.Fatalf("after STOP = %s", c.raw)
	}
	job := st.job(s)
	st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
	st.settle([]int64{job}, 0, 0)
	st.ok("PATCH", "/api/v1/company", map[string]any{"phone": "+13125550100"})
	if r := send("HELP", true); !strings.Contains(r.raw, "Call (312) 555-0100 for help. Reply STOP to unsubscribe") {
		t.Fatalf("HELP = %s", r.raw)
	}
	send("Start", true)
	if c := st.ok("GET", fmt.Sprintf("/api/v1/customers/%d", s.customer), nil); c.body["sms_opt_out"] != false {
		t.Fatalf("after START = %s", c.raw)
	}
	if r := send("thanks!", true); r.status != 200 || strings.Contains(r.raw, "<Message>") {
		t.Fatalf("other reply = %s", r.raw)
	}
}

// Faults: 5xx and 429 are retried until they work; a 4xx fails at once;
// a server that stays down fails after the bounded attempts, with the
// reason; SMTP down is retried until it is back.
func TestDeliveryFaults(t *testing.T) {
	st := newStack(t, "ENROUTE_OUTBOX_MAX_ATTEMPTS", "12")
	st.settings(true, true, false, false)
	s := st.site("+351912345678", "maria@example.com")

	st.sms.FailNext(500, 429, 503)
	st.mail.Stop()
	job := st.job(s)
	a := st.assign(job, st.technician("Ana Silva"))
	st.move(a, "dispatch")
	st.sms.WaitFor(t, 1, 10*time.Second)
	st.waitLog(job, func(log []map[string]any) bool {
		return len(log) == 2 && log[1]["status"] == "queued" && log[1]["attempts"].(float64) >= 3 &&
			strings.Contains(log[1]["reason"].(string), "connection refused")
	})
	st.mail.Start()
	st.settle([]int64{job}, 1, 1)
	log := st.messages(job)
	if log[0]["attempts"] != 4.0 || log[0]["status"] != "sent" {
		t.Fatalf("text after 500, 429, 503 = %v", log[0])
	}

	st.sms.FailNext(400)
	job2 := st.job(s)
	b := st.assign(job2, st.technician("Bruno Reis"))
	st.move(b, "dispatch")
	log = st.messages(job2)
	if log[0]["status"] != "failed" || log[0]["attempts"] != 1.0 || !strings.Contains(log[0]["reason"].(string), "twilio 400") {
		t.Fatalf("text after 400 = %v", log[0])
	}

	st.sms.FailNext(500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500, 500)
	job3 := st.job(s)
	c := st.assign(job3, st.technician("Carla Dias"))
	st.move(c, "dispatch")
	log = st.messages(job3)
	if log[0]["status"] != "failed" || log[0]["attempts"] != 12.0 || !strings.Contains(log[0]["reason"].(string), "gave up after 12 attempts") {
		t.Fatalf("text after 12 × 500 = %v", log[0])
	}
	st.settle([]int64{job, job2, job3}, 1, 3)
}

// A retried dispatch (same Idempotency-Key) or a double click never sends
// twice.
func TestDispatchRetriesSendOnce(t *testing.T) {
	st := newStack(t)
	st.settings(true, true, false, false)
	s := st.site("+351912345678", "maria@example.com")
	job := st.job(s)
	a := st.assign(job, st.technician("Ana Silva"))
	path := fmt.Sprintf("/api/v1/assignments/%d/dispatch", a)
	var wg sync.WaitGroup
	for range 5 {
		wg.Go(func() { st.ok("POST", path, nil, "Idempotency-Key", "dispatch-once") })
	}
	wg.Wait()
	if r := st.do("POST", path, nil); r.status != 400 {
		t.Fatalf("double click = %d %s", r.status, r.raw)
	}
	st.settle([]int64{job}, 1, 1)
}

// Dispatches racing to one site with the limit on: exactly one notifies.
func TestConcurrentDispatchesToOneSite(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, true)
	s := st.site("+351912345678", "")
	var as, jobs []int64
	for i := range 6 {
		job := st.job(s)
		jobs = append(jobs, job)
		as = append(as, st.assign(job, st.technician(fmt.Sprintf("Tech %d", i))))
	}
	var wg sync.WaitGroup
	for _, a := range as {
		wg.Go(func() { st.move(a, "dispatch") })
	}
	wg.Wait()
	st.settle(jobs, 1, 0)
}

// TestRunningLate: when the ETA passes the arrival window by more than the
// margin, one running-late message goes out; not again on later fixes; and
// none while the setting is off.
func TestRunningLate(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, false)
	s := st.site("+351912345678", "")
	lateJob := func() int64 { // its window ended an hour ago
		jobSeq++
		return st.ok("POST", "/api/v1/jobs", map[string]any{"number": fmt.Sprintf("L-%d", jobSeq), "customer_id": s.customer, "location_id": s.location,
			"window_start": time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339), "window_end": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}).id()
	}
	// drive sends n fixes 40 s apart from start (before now), heading north.
	drive := func(token string, n int, start time.Duration) {
		for i := range n {
			at := time.Now().Add(-start + time.Duration(i)*40*time.Second)
			body := fmt.Sprintf(`[{"ts":%d,"lat":%f,"lng":-8.6060,"speed_mps":10}]`, at.UnixMilli(), 41.10+float64(i)*0.0005)
			if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+token); status != 200 {
				t.Fatalf("fix = %d %s", status, raw)
			}
		}
	}
	waitTexts := func(n int) {
		st.sms.WaitFor(t, n, 10*time.Second)
	}

	// Off (the default): the dispatch text only.
	tech, _, token := st.device("Ana Silva")
	job := lateJob()
	st.move(st.assign(job, tech), "dispatch")
	st.watcherIdle(10 * time.Second) // following the dispatch before its fixes come
	drive(token, 5, 4*time.Minute)
	waitTexts(1)
	// Every fix of the drive checked while the setting is off (checks run
	// on the watcher's goroutine, after the fixes are answered).
	st.watcherIdle(10 * time.Second)
	st.settle([]int64{job}, 1, 0)

	// On: one running-late text, then none however long the drive.
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/late", map[string]any{"enabled": true, "margin_min": 5})
	tech2, _, token2 := st.device("Bruno Reis")
	job2 := lateJob()
	a := st.assign(job2, tech2)
	st.move(a, "dispatch")
	st.watcherIdle(10 * time.Second)
	drive(token2, 6, 10*time.Minute) // 10 to 6.7 minutes ago
	waitTexts(3)
	drive(token2, 6, 5*time.Minute) // later fixes, still late
	if p, ok := st.m.Tracker.Live.Get(tech2); !ok || time.Since(p.Time) > 2*time.Minute {
		t.Fatalf("the later drive did not become live: %+v", p)
	}
	st.settle([]int64{job, job2}, 3, 0)
	texts := st.sms.Messages()
	late := texts[2]
	if !strings.Contains(late.Body, "Bruno from My Company is running late and now expects to arrive around") {
		t.Fatalf("late text = %q", late.Body)
	}
	log := st.messages(job2)
	kinds := []string{}
	for _, m := range log {
		kinds = append(kinds, fmt.Sprint(m["kind"], ":", m["status"]))
	}
	if !slices.Equal(kinds, []string{"dispatch:sent", "late:sent"}) {
		t.Fatalf("job log = %v", kinds)
	}
	if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/late", map[string]any{"text_template": "Late {Nope}"}); r.status != 400 || !strings.Contains(r.raw, "{Nope}") {
		t.Fatalf("bad late template = %d %s", r.status, r.raw)
	}
}

// TestProvidersSaidAsTheyAre: what a server sends with is said as it is.
// With the development log providers a dispatch's messages are "logged",
// not "sent", and say what would send them; a server without an e-mail
// provider says so on the Email tab, and enabling e-mail there names that
// cause, not the from address that was given. Before, "sent" could mean
// logged, and the refusal named from_address.
func TestProvidersSaidAsTheyAre(t *testing.T) {
	bare := newIngestStack(t) // SMS: log; e-mail: none
	email := bare.ok("GET", "/api/v1/settings/dispatch-notifications/email", nil)
	if email.str("provider") != "none" || !strings.Contains(email.str("provider_note"), "cannot send e-mail") {
		t.Fatalf("Email tab without a provider = %s", email.raw)
	}
	r := bare.do("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"from_address": "dispatch@coolair.test", "enabled": true})
	fields, _ := r.body["error"].(map[string]any)["fields"].(map[string]any)
	if r.status != 400 || !strings.Contains(fmt.Sprint(fields["enabled"]), "ENROUTE_SMTP_URL") || fields["from_address"] != nil {
		t.Fatalf("enabling e-mail without a provider = %d %s", r.status, r.raw)
	}
	if text := bare.ok("GET", "/api/v1/settings/dispatch-notifications/text", nil); text.str("provider") != "log" || !strings.Contains(text.str("provider_note"), "only writes texts to its log") {
		t.Fatalf("Text tab with the log provider = %s", text.raw)
	}

	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_EMAIL_PROVIDER": "log"}}
	st.m, _ = start(t, st.env)
	st.settings(true, true, false, false)
	job := st.job(st.site("+351912345678", "maria@example.com"))
	a := st.assign(job, st.technician("Ana Silva"))
	st.move(a, "dispatch")
	log := st.messages(job)
	if got := statuses(log, a); !slices.Equal(got, []string{"sms:logged", "email:logged"}) {
		t.Fatalf("with the log providers = %v", got)
	}
	for _, m := range log {
		want := map[any]string{"sms": "ENROUTE_SMS_PROVIDER=twilio", "email": "ENROUTE_SMTP_URL"}[m["channel"]]
		if reason, _ := m["reason"].(string); !strings.Contains(reason, want) {
			t.Errorf("%s logged with reason %q, want it to name %s", m["channel"], reason, want)
		}
	}
}
