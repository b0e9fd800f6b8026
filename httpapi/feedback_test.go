package httpapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
)

// visit assigns tech to a new job of s's customer and gives the
// assignment a tracking link; it returns the assignment and the link's
// token.
func (e *env) visit(s seeded, number string, tech int64) (int64, string) {
	e.t.Helper()
	job := e.must(201, e.dispatcher, "POST", "/api/v1/jobs", map[string]any{"number": number, "customer_id": s.cust, "location_id": s.loc,
		"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}).id()
	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(job)+"/assignments", map[string]any{"technician_id": tech}).id()
	token := enroute.NewTrackingToken()
	if err := e.store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: a}, enroute.HashSecret(token)); err != nil {
		e.t.Fatal(err)
	}
	return a, token
}

// finish moves assignment a to done.
func (e *env) finish(a int64) {
	e.t.Helper()
	for _, verb := range []string{"dispatch", "start", "complete"} {
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/"+verb, nil)
	}
}

// TestVerificationCode: every assignment has four digits, which staff
// read on the assignment (created, read, moved); the tracking page's
// state carries them only while the company shows codes, and not once the
// visit is finished.
func TestVerificationCode(t *testing.T) {
	e := newEnv(t)
	s := e.seed("V-1")
	created := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech})
	code, _ := created.body["verification_code"].(string)
	if len(code) != 4 || strings.Trim(code, "0123456789") != "" {
		t.Fatalf("created assignment: %s", created.raw)
	}
	a := created.id()
	token := enroute.NewTrackingToken()
	if err := e.store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: a}, enroute.HashSecret(token)); err != nil {
		t.Fatal(err)
	}
	for _, r := range []response{
		e.must(200, e.dispatcher, "GET", "/api/v1/assignments/"+itoa(a), nil),
		e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/dispatch", nil),
	} {
		if r.body["verification_code"] != code {
			t.Fatalf("assignment read back: %s, want code %s", r.raw, code)
		}
	}
	if list := e.must(200, e.dispatcher, "GET", "/api/v1/jobs/"+itoa(s.job)+"/assignments", nil); !strings.Contains(string(list.raw), `"verification_code":"`+code+`"`) {
		t.Fatalf("job's assignments: %s", list.raw)
	}

	stateCode := func() any {
		st := e.must(200, "", "GET", "/t/"+token+"/state", nil)
		return st.body["technician"].(map[string]any)["verification_code"]
	}
	if got := stateCode(); got != nil {
		t.Fatalf("code on the page with the setting off: %v", got)
	}
	tab := e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"verification_code": true})
	if tab.body["verification_code"] != true || tab.body["feedback_updates_rating"] != false {
		t.Fatalf("tracking tab: %s", tab.raw)
	}
	if got := stateCode(); got != code {
		t.Fatalf("code on the page = %v, want %s", got, code)
	}
	e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/start", nil)
	if got := stateCode(); got != code {
		t.Fatalf("code on the page while working = %v, want %s", got, code)
	}
	e.must(200, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/complete", nil)
	if got := stateCode(); got != nil {
		t.Fatalf("code on a done visit's page: %v", got)
	}
}

// TestFeedback: the customer rates a done visit once from the page's
// link; bad input is a 400 naming the field; staff read it by job and by
// technician; the comment is kept as the text it was.
func TestFeedback(t *testing.T) {
	e := newEnv(t)
	s := e.seed("F-1")
	a, token := e.visit(s, "F-2", s.tech)
	path := "/t/" + token + "/feedback"

	if r := e.must(400, "", "POST", path, map[string]any{"rating": 5}); !strings.Contains(string(r.raw), "once the visit is done") {
		t.Fatalf("feedback before the visit is done: %s", r.raw)
	}
	e.finish(a)
	if st := e.must(200, "", "GET", "/t/"+token+"/state", nil); st.body["status"] != "done" || st.body["feedback"] != nil {
		t.Fatalf("state of a done visit: %s", st.raw)
	}
	for _, tc := range []struct {
		name  string
		body  any
		field string
	}{
		{"no rating", map[string]any{"comment": "ok"}, "rating"},
		{"rating 0", map[string]any{"rating": 0}, "rating"},
		{"rating 6", map[string]any{"rating": 6}, "rating"},
		{"half a star", map[string]any{"rating": 4.5}, "rating"},
		{"rating as text", map[string]any{"rating": "five"}, "rating"},
		{"comment too long", map[string]any{"rating": 4, "comment": strings.Repeat("a", enroute.MaxFeedbackCommentLen+1)}, "comment"},
		{"comment not text", map[string]any{"rating": 4, "comment": 7}, "comment"},
		{"unknown field", map[string]any{"rating": 4, "stars": 4}, "stars"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.must(400, "", "POST", path, tc.body)
			if r.errCode() != "invalid" || r.errFields()[tc.field] == nil {
				t.Fatalf("%s: %s, want invalid naming %s", tc.name, r.raw, tc.field)
			}
		})
	}
	if r := e.do("", "POST", path, `{"rating":4,"comment":"`+strings.Repeat("a", 20<<10)+`"}`); r.status != 413 || r.errCode() != "too_large" {
		t.Fatalf("a 20 KiB body = %d %s", r.status, r.raw)
	}
	if r := e.must(404, "", "POST", "/t/"+enroute.NewTrackingToken()+"/feedback", map[string]any{"rating": 5}); r.errCode() != "not_found" {
		t.Fatalf("unknown token: %s", r.raw)
	}

	comment := "  Fixed the <b>AC</b> & cleaned up.\r\nThank you!  "
	got := e.must(201, "", "POST", path, map[string]any{"rating": 5, "comment": comment})
	if got.body["rating"] != 5.0 || got.body["comment"] != "Fixed the <b>AC</b> & cleaned up.\nThank you!" || got.body["created_at"] == nil {
		t.Fatalf("received: %s", got.raw)
	}
	if r := e.must(409, "", "POST", path, map[string]any{"rating": 1}); r.errCode() != "conflict" {
		t.Fatalf("second feedback: %s", r.raw)
	}
	if st := e.must(200, "", "GET", "/t/"+token+"/state", nil); st.body["feedback"].(map[string]any)["rating"] != 5.0 {
		t.Fatalf("state after feedback: %s", st.raw)
	}

	job := int64(e.must(200, e.dispatcher, "GET", "/api/v1/assignments/"+itoa(a), nil).body["job_id"].(float64))
	for _, p := range []string{"/api/v1/jobs/" + itoa(job) + "/feedback", "/api/v1/technicians/" + itoa(s.tech) + "/feedback"} {
		items := e.must(200, e.dispatcher, "GET", p, nil).body["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%s: %v", p, items)
		}
		f := items[0].(map[string]any)
		if f["rating"] != 5.0 || f["assignment_id"] != float64(a) || f["job_id"] != float64(job) || f["technician_id"] != float64(s.tech) ||
			f["comment"] != "Fixed the <b>AC</b> & cleaned up.\nThank you!" {
			t.Fatalf("%s: %v", p, f)
		}
	}
	if items := e.must(200, e.dispatcher, "GET", "/api/v1/jobs/"+itoa(s.job)+"/feedback", nil).body["items"].([]any); len(items) != 0 {
		t.Fatalf("another job's feedback: %v", items)
	}
	e.must(404, e.dispatcher, "GET", "/api/v1/jobs/999/feedback", nil)
	e.must(404, e.dispatcher, "GET", "/api/v1/technicians/999/feedback", nil)
	e.must(401, "", "GET", "/api/v1/jobs/"+itoa(job)+"/feedback", nil)
	if tech := e.must(200, e.dispatcher, "GET", "/api/v1/technicians/"+itoa(s.tech), nil); tech.body["feedback_count"] != 1.0 || tech.body["feedback_mean"] != 5.0 {
		t.Fatalf("technician: %s", tech.raw)
	}
}

// TestFeedbackFeedsRating: with the company's setting on, a technician's
// rating is their customers' mean with the set rating counted as five
// ratings; the page shows it only at 4.0 or more. Off, it is the set one.
func TestFeedbackFeedsRating(t *testing.T) {
	e := newEnv(t)
	s := e.seed("R-1") // Ana, rated 4.8
	var tokens []string
	for i, stars := range []int{1, 1} {
		a, token := e.visit(s, "R-"+itoa(int64(i+2)), s.tech)
		e.finish(a)
		e.must(201, "", "POST", "/t/"+token+"/feedback", map[string]any{"rating": stars})
		tokens = append(tokens, token)
	}
	rating := func() (tech response, shown any) {
		tech = e.must(200, e.dispatcher, "GET", "/api/v1/technicians/"+itoa(s.tech), nil)
		st := e.must(200, "", "GET", "/t/"+tokens[0]+"/state", nil)
		return tech, st.body["technician"].(map[string]any)["rating"]
	}
	tech, shown := rating()
	if tech.body["rating"] != 4.8 || tech.body["effective_rating"] != 4.8 || tech.body["feedback_count"] != 2.0 || tech.body["feedback_mean"] != 1.0 || shown != 4.8 {
		t.Fatalf("setting off: %s, page shows %v", tech.raw, shown)
	}
	e.must(200, e.admin, "PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"feedback_updates_rating": true})
	tech, shown = rating()
	if tech.body["rating"] != 4.8 || tech.body["effective_rating"] != 3.7 || shown != nil { // (5 × 4.8 + 1 + 1) / 7
		t.Fatalf("setting on, two 1-star visits: %s, page shows %v", tech.raw, shown)
	}
	// Three 5-star visits: (24 + 2 + 15) / 10 = 4.1, shown again.
	for i := range 3 {
		a, token := e.visit(s, "R-"+itoa(int64(i+10)), s.tech)
		e.finish(a)
		e.must(201, "", "POST", "/t/"+token+"/feedback", map[string]any{"rating": 5})
	}
	tech, shown = rating()
	if tech.body["effective_rating"] != 4.1 || shown != 4.1 {
		t.Fatalf("after three 5-star visits: %s, page shows %v", tech.raw, shown)
	}
	if list := e.must(200, e.dispatcher, "GET", "/api/v1/technicians", nil); !strings.Contains(string(list.raw), `"effective_rating":4.1`) {
		t.Fatalf("list: %s", list.raw)
	}
}

// TestBrandColor: the company's colour is #rrggbb or nothing, and the
// tracking page's state carries it.
func TestBrandColor(t *testing.T) {
	e := newEnv(t)
	s := e.seed("B-1")
	_, token := e.visit(s, "B-2", s.tech)
	for _, bad := range []string{"teal", "#12345", "#1234567", "#12345g", "rgb(1,2,3)"} {
		if r := e.must(400, e.admin, "PATCH", "/api/v1/company", map[string]any{"brand_color": bad}); r.errFields()["brand_color"] == nil {
			t.Fatalf("%q: %s", bad, r.raw)
		}
	}
	if r := e.must(200, e.admin, "PATCH", "/api/v1/company", map[string]any{"brand_color": "#0a7e8c"}); r.body["brand_color"] != "#0a7e8c" {
		t.Fatalf("company: %s", r.raw)
	}
	e.must(403, e.dispatcher, "PATCH", "/api/v1/company", map[string]any{"brand_color": "#000000"})
	if st := e.must(200, "", "GET", "/t/"+token+"/state", nil); st.body["company"].(map[string]any)["brand_color"] != "#0a7e8c" {
		t.Fatalf("state: %s", st.raw)
	}
}

// TestFeedbackLinkAfterDone: a dispatcher may make a link for a done
// visit (the page is then the feedback form), not for a cancelled one.
func TestFeedbackLinkAfterDone(t *testing.T) {
	e := newEnvWith(t, httpapi.Config{PublicURL: "https://enroute.test"})
	s := e.seed("L-1")
	a, _ := e.visit(s, "L-2", s.tech)
	e.finish(a)
	link := e.must(201, e.dispatcher, "POST", "/api/v1/assignments/"+itoa(a)+"/tracking-link", nil)
	e.must(201, "", "POST", "/t/"+link.body["token"].(string)+"/feedback", map[string]any{"rating": 4})
}
