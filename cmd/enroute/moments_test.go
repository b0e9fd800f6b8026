package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// momentsOn turns the moments after the dispatch on, with nearby at 10
// minutes.
func (st *stack) momentsOn(kinds ...string) {
	st.t.Helper()
	for _, k := range kinds {
		body := map[string]any{"enabled": true}
		if k == "nearby" {
			body["minutes"] = 10
		}
		st.ok("PUT", "/api/v1/settings/dispatch-notifications/"+k, body)
	}
}

// kinds lists "kind:status" of a job's log.
func kinds(log []map[string]any) []string {
	var out []string
	for _, m := range log {
		out = append(out, fmt.Sprint(m["kind"], ":", m["status"]))
	}
	return out
}

// The customer hears of the whole visit: nearby (once, when the ETA first
// drops under the company's minutes), arrived, completed with a feedback
// link that opens their page; a visit they were told of that is cancelled
// or moved; nothing of a visit they never heard of.
func TestMomentsOfAVisit(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, true, false)
	st.momentsOn("nearby", "arrived", "completed", "cancelled", "rescheduled")
	s := st.site("+351912345678", "")

	tech, _, token := st.device("Ana Silva")
	job := st.job(s)
	a := st.assign(job, tech)
	st.move(a, "dispatch")
	st.watcherIdle(10 * time.Second)
	// From 16 km south to 1 km from the site, a fix every 40 s at 11 m/s.
	start := time.Now().Add(-24 * time.Minute)
	for i := range 36 {
		at := start.Add(time.Duration(i) * 40 * time.Second)
		body := fmt.Sprintf(`[{"ts":%d,"lat":%f,"lng":-8.6060,"speed_mps":11}]`, at.UnixMilli(), 41.00+float64(i)*0.004)
		if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+token); status != 200 {
			t.Fatalf("fix = %d %s", status, raw)
		}
	}
	st.sms.WaitFor(t, 2, 10*time.Second)
	st.watcherIdle(10 * time.Second)
	st.move(a, "start")
	st.move(a, "complete")
	st.settle([]int64{job}, 4, 0)
	if got := kinds(st.messages(job)); !slices.Equal(got, []string{"dispatch:sent", "nearby:sent", "arrived:sent", "completed:sent"}) {
		t.Fatalf("log = %v", got)
	}
	texts := st.sms.Messages()
	if !contains(texts[1].Body, "Ana from My Company is almost there: arriving around ", "/t/") {
		t.Fatalf("nearby = %q", texts[1].Body)
	}
	if !contains(texts[2].Body, "Ana from My Company has arrived at Rua de Santa Catarina 1, Porto.") {
		t.Fatalf("arrived = %q", texts[2].Body)
	}
	feedback := linkIn(t, texts[3])
	if r, err := http.Get(strings.Replace(feedback, testPublicURL, "http://"+st.m.Addr(), 1)); err != nil || r.StatusCode != 200 {
		t.Fatalf("feedback link = %v %v", r, err)
	}
	// The feedback link, made at completion, lasts as long as the visit's
	// others: a week from completion.
	done := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).str("done_at")
	doneAt, _ := time.Parse(time.RFC3339Nano, done)
	l, err := st.m.Store.FindTrackingLink(context.Background(), enroute.HashSecret(feedback[strings.LastIndex(feedback, "/")+1:]))
	if err != nil || l.ExpiresAt.Before(doneAt.Add(enroute.FeedbackLinkTTL-time.Second)) {
		t.Fatalf("feedback link expires %v (done %v): %v", l, doneAt, err)
	}

	// Cancelled after the dispatch reached the customer: told. Cancelled
	// while only scheduled: not.
	job2 := st.job(s)
	b := st.assign(job2, st.technician("Bruno Reis"))
	st.move(b, "dispatch")
	st.move(b, "cancel")
	job3 := st.job(s)
	st.move(st.assign(job3, st.technician("Carla Dias")), "cancel")
	// Moved after the dispatch: told once, however often it moves.
	job4 := st.job(s)
	st.move(st.assign(job4, st.technician("Duarte Lima")), "dispatch")
	st.ok("PATCH", fmt.Sprintf("/api/v1/jobs/%d", job4), map[string]any{"notes": "gate code 4321"}) // not a move
	st.ok("PATCH", fmt.Sprintf("/api/v1/jobs/%d", job4), map[string]any{"window_start": "2026-11-27T13:00:00Z", "window_end": "2026-11-27T15:00:00Z"})
	st.ok("PATCH", fmt.Sprintf("/api/v1/jobs/%d", job4), map[string]any{"window_start": "2026-11-27T14:00:00Z", "window_end": "2026-11-27T16:00:00Z"})
	st.settle([]int64{job2, job3, job4}, 8, 0)
	if got := kinds(st.messages(job2)); !slices.Equal(got, []string{"dispatch:sent", "cancelled:sent"}) {
		t.Fatalf("cancelled log = %v", got)
	}
	if got := kinds(st.messages(job3)); len(got) != 0 {
		t.Fatalf("a never-dispatched visit told: %v", got)
	}
	log4 := st.messages(job4)
	if got := kinds(log4); !slices.Equal(got, []string{"dispatch:sent", "rescheduled:sent"}) {
		t.Fatalf("rescheduled log = %v", got)
	}
	if !contains(log4[1]["body"].(string), "now arrives 1:00 PM – 3:00 PM on Fri, Nov 27") {
		t.Fatalf("rescheduled = %q", log4[1]["body"])
	}
}

// Under the limit rule the moments are once per site visit, not once per
// technician: the second technician's arrival is not announced, and the
// visit is completed when the last one finishes.
func TestMomentsUnderTheLimitRule(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, true)
	st.momentsOn("arrived", "completed", "cancelled")
	s := st.site("+351912345678", "")
	job := st.job(s)
	a, b := st.assign(job, st.technician("Ana Silva")), st.assign(job, st.technician("Bruno Reis"))
	for _, step := range []struct {
		id   int64
		verb string
	}{{a, "dispatch"}, {b, "dispatch"}, {a, "start"}, {b, "start"}, {a, "complete"}, {b, "complete"}} {
		st.move(step.id, step.verb)
	}
	st.settle([]int64{job}, 3, 0)
	log := st.messages(job)
	var got []string
	for _, m := range log {
		who := map[float64]string{float64(a): "a", float64(b): "b"}[m["assignment_id"].(float64)]
		got = append(got, fmt.Sprint(who, " ", m["kind"], ":", m["status"]))
	}
	want := []string{"a dispatch:sent", "b dispatch:suppressed", "a arrived:sent", "b arrived:suppressed", "a completed:suppressed", "b completed:sent"}
	if !slices.Equal(got, want) {
		t.Fatalf("log = %v, want %v", got, want)
	}
	if r := log[3]["reason"].(string); !strings.Contains(r, "the visit has begun") {
		t.Fatalf("arrived reason = %q", r)
	}
	if r := log[4]["reason"].(string); !strings.Contains(r, "the visit goes on") {
		t.Fatalf("completed reason = %q", r)
	}
	// One of a crew cancelled while the other is still coming: the
	// customer is not told to rebook.
	job2 := st.job(s)
	c, d := st.assign(job2, st.technician("Carla Dias")), st.assign(job2, st.technician("Duarte Lima"))
	st.move(c, "dispatch")
	st.move(d, "dispatch")
	st.move(c, "cancel")
	st.settle([]int64{job2}, 4, 0)
	log = st.messages(job2)
	if got := kinds(log); !slices.Equal(got, []string{"dispatch:sent", "dispatch:suppressed", "cancelled:suppressed"}) || !strings.Contains(log[2]["reason"].(string), "the visit goes on") {
		t.Fatalf("crew cancel log = %v", log)
	}
}

// The moments' tabs: read, changed, validated; previewed with their own
// templates and sample values.
func TestMomentTabs(t *testing.T) {
	st := newStack(t)
	for _, k := range []string{"nearby", "arrived", "completed", "cancelled", "rescheduled"} {
		tab := st.ok("GET", "/api/v1/settings/dispatch-notifications/"+k, nil)
		if tab.body["enabled"] != false || tab.str("text_template") == "" || tab.str("email_subject") == "" || tab.str("email_body") == "" {
			t.Fatalf("%s tab = %s", k, tab.raw)
		}
		if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/"+k, map[string]any{"text_template": "Hi {Nope}"}); r.status != 400 || !contains(r.raw, "text_template", "{Nope}") {
			t.Fatalf("%s bad template = %d %s", k, r.status, r.raw)
		}
		if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/"+k, map[string]any{"email_subject": "two\nlines"}); r.status != 400 || !strings.Contains(r.raw, "email_subject") {
			t.Fatalf("%s bad subject = %d %s", k, r.status, r.raw)
		}
	}
	if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/arrived", map[string]any{"minutes": 5}); r.status != 400 || !strings.Contains(r.raw, "minutes") {
		t.Fatalf("minutes on arrived = %d %s", r.status, r.raw)
	}
	for _, bad := range []int{0, 61} {
		if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/nearby", map[string]any{"minutes": bad}); r.status != 400 || !strings.Contains(r.raw, `"minutes"`) {
			t.Fatalf("nearby minutes %d = %d %s", bad, r.status, r.raw)
		}
	}
	n := st.ok("PUT", "/api/v1/settings/dispatch-notifications/nearby", map[string]any{"minutes": 15, "text_template": "{TechnicianFirstName} arrives around {ETA}."})
	if n.body["minutes"] != 15.0 || n.str("text_template") != "{TechnicianFirstName} arrives around {ETA}." {
		t.Fatalf("nearby = %s", n.raw)
	}
	if all := st.ok("GET", "/api/v1/settings/dispatch-notifications", nil); all.body["nearby"].(map[string]any)["minutes"] != 15.0 {
		t.Fatalf("all tabs = %s", all.raw)
	}
	p := st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "kind": "nearby"})
	if !strings.HasPrefix(p.str("body"), "Alex arrives around ") || strings.HasSuffix(p.str("body"), "around .") {
		t.Fatalf("nearby preview = %s", p.raw)
	}
	p = st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "kind": "arrived", "template": "Here at {ETA}"})
	if !strings.Contains(p.raw, "{ETA} is filled in nearby and running-late messages only") {
		t.Fatalf("arrived preview with {ETA} = %s", p.raw)
	}
	if r := st.do("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "kind": "manual"}); r.status != 400 || !strings.Contains(r.raw, "kind") {
		t.Fatalf("manual preview = %d %s", r.status, r.raw)
	}
}

// The preview counts a text with a tracking link as long as the one the
// customer gets: the characters it says are the characters sent.
func TestPreviewCountsTheRealLink(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, true, false)
	p := st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms"})
	job := st.job(st.site("+351912345678", ""))
	st.move(st.assign(job, st.technician("Alex Rivera")), "dispatch")
	st.settle([]int64{job}, 1, 0)
	sent := st.sms.Messages()[0].Body
	// The job's own names differ from the sample's; the link's length is
	// what must agree.
	link, sample := linkIn(t, st.sms.Messages()[0]), ""
	for _, f := range strings.Fields(p.str("body")) {
		if strings.Contains(f, "/t/") {
			sample = f
		}
	}
	if len(sample) != len(link) || len(sample) == 0 {
		t.Fatalf("preview link %q (%d), sent %q (%d): %q", sample, len(sample), link, len(link), sent)
	}
}

// Quiet hours can be turned off without giving their times.
func TestQuietHoursOff(t *testing.T) {
	st := newStack(t)
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/general", map[string]any{"quiet_hours": map[string]any{"enabled": false, "start": "", "end": ""}})
	if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/general", map[string]any{"quiet_hours": map[string]any{"enabled": true, "start": "", "end": ""}}); r.status != 400 || !strings.Contains(r.raw, "quiet_hours.start") {
		t.Fatalf("on without times = %d %s", r.status, r.raw)
	}
}

// With arrival tracking off, a link (for feedback, or copied) shows no
// position, on the state or the stream.
func TestTrackingOffShowsNoPositions(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, false)
	tech, _, token := st.device("Ana Silva")
	st.fixAt(token, 41.14, -8.61)
	job := st.job(st.site("+351912345678", ""))
	a := st.assign(job, tech)
	st.move(a, "dispatch")
	link := st.ok("POST", fmt.Sprintf("/api/v1/assignments/%d/tracking-link", a), nil).str("token")
	state := st.ok("GET", "/t/"+link+"/state", nil)
	if state.body["position"] != nil || state.body["eta"] != nil || state.str("status") != "dispatched" {
		t.Fatalf("state with tracking off = %s", state.raw)
	}
	ws, _, err := st.wsDial("/t/"+link+"/live", "Origin", "http://"+st.m.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if snap := next(t, ws, 5*time.Second); snap["type"] != "snapshot" || snap["position"] != nil {
		t.Fatalf("snapshot with tracking off = %v", snap)
	}
}
