package main

// The dispatcher board, in Chromium.

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/enroutehq/enroute/internal/twiliotest"
)

func TestDispatchBoard(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	ana, _, anaToken := st.device("Ana Silva")
	bruno, _, boToken := st.device("Bruno Reis")
	st.fixAt(boToken, 41.1600, -8.6000)
	anaJob, _ := st.trackingLink(ana) // Ana is dispatched to a verified address
	dispatcher := st.ok("POST", "/api/v1/keys", map[string]any{"name": "office", "role": "dispatcher"}).str("key")
	// ETAs read in the company's zone, as its customers are told them,
	// whatever the dispatcher's browser is set to.
	st.ok("PATCH", "/api/v1/company", map[string]any{"time_zone": "America/Chicago"})
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	inZone(t, ctx, "Asia/Tokyo")

	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", dispatcher)
	st.fixAt(anaToken, 41.1420, -8.6080)
	st.fixAt(anaToken, 41.1422, -8.6079)
	row := func(id int64) string {
		return fmt.Sprintf(`((document.querySelector('tr[data-tech="%d"]') || {}).innerText || "")`, id)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row(ana)+`.includes("On the way") && `+row(ana)+`.includes("s ago") && /\d:\d\d/.test(`+row(ana)+`)`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row = %q: %v", eval[string](t, ctx, row(ana)), err)
	}
	soonIn(t, "Ana's ETA", eval[string](t, ctx, `document.querySelector('tr[data-tech="`+strconv.FormatInt(ana, 10)+`"] td:nth-child(4)').innerText`), chicago)
	// Where she is going: the job and its site under her name, and the
	// (verified) site on the map while she is on the way.
	job := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", anaJob), nil).body["job_id"].(float64)
	number := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", int64(job)), nil).str("number")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row(ana)+`.includes(`+strconv.Quote(number+" · Rua de Santa Catarina 1, Porto")+`) && document.querySelectorAll("#map path.dest").length === 1`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row = %q, %d destinations on the map: %v", eval[string](t, ctx, row(ana)), eval[int](t, ctx, `document.querySelectorAll("#map path.dest").length`), err)
	}
	// Clicking a technician draws their last hour from the history; a fix
	// extends it live; clicking again takes it away.
	since := url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))
	stored := len(st.ok("GET", fmt.Sprintf("/api/v1/technicians/%d/positions?since=%s", ana, since), nil).items())
	trackIs := func(want string) { // "technician:points", or "" for none drawn
		t.Helper()
		paths := 1
		if want == "" {
			paths = 0
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`(document.querySelector("#map").dataset.track || "") === %q && document.querySelectorAll("#map path.track").length === %d`, want, paths),
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("track = %q, want %q: %v", eval[string](t, ctx, `document.querySelector("#map").dataset.track || ""`), want, err)
		}
	}
	anaRow := chromedp.CSS(fmt.Sprintf(`tr[data-tech="%d"]`, ana))
	if err := chromedp.Do(ctx, chromedp.Click(anaRow)); err != nil {
		t.Fatal(err)
	}
	trackIs(fmt.Sprintf("%d:%d", ana, stored))
	st.fixAt(anaToken, 41.1424, -8.6078)
	trackIs(fmt.Sprintf("%d:%d", ana, stored+1))
	screenshot(t, ctx, "dispatch-board-track")
	// By keyboard too: the focused row keeps its focus while updates
	// redraw the list, and Enter takes the track away.
	if err := chromedp.Do(ctx, chromedp.Focus(anaRow)); err != nil {
		t.Fatal(err)
	}
	st.fixAt(anaToken, 41.1426, -8.6077)
	trackIs(fmt.Sprintf("%d:%d", ana, stored+2))
	if got := eval[string](t, ctx, `document.activeElement.dataset.tech || ""`); got != strconv.FormatInt(ana, 10) {
		t.Fatalf("focus on %q after a redraw, want Ana's row", got)
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent("\r")); err != nil {
		t.Fatal(err)
	}
	trackIs("")
	// Her arrival shows at once (the list itself reloads every 15 s).
	st.ok("POST", fmt.Sprintf("/api/v1/assignments/%d/start", anaJob), nil)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row(ana)+`.includes("Working") && document.querySelectorAll("#map path.dest").length === 0`, chromedp.WithPollingTimeout(3*time.Second))); err != nil {
		t.Fatalf("Ana's row after her arrival = %q (the site still marked: %d): %v", eval[string](t, ctx, row(ana)), eval[int](t, ctx, `document.querySelectorAll("#map path.dest").length`), err)
	}
	// Bruno has no assignment: his status reads as the legend's grey dot.
	if got := eval[string](t, ctx, row(bruno)); !strings.Contains(got, "Bruno Reis") || !strings.Contains(got, "Not assigned") {
		t.Fatalf("Bruno's row = %q", got)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll("#map path.leaflet-interactive").length`); n != 2 {
		t.Fatalf("%d markers on the map, want 2", n)
	}
	screenshot(t, ctx, "dispatch-board")

	// The settings are a link away; Sign out ends the session on the
	// server too (its cookie no longer opens the API) and shows the
	// log-in form.
	if got := eval[string](t, ctx, `document.querySelector("nav.top a").getAttribute("href")`); got != "/settings/dispatch-notifications" {
		t.Fatalf("the board links to %q", got)
	}
	jar, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var session string
	for _, c := range jar.Cookies {
		if c.Name == "enroute_session" {
			session = c.Value
		}
	}
	withCookie := func() int {
		status, _ := send(t, "GET", "http://"+st.m.Addr()+"/api/v1/technicians", "", "", "Cookie", "enroute_session="+session)
		return status
	}
	if session == "" || withCookie() != 200 {
		t.Fatalf("no working session cookie before signing out (%q)", session)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
	if status := withCookie(); status != 401 {
		t.Fatalf("the signed-out session's cookie = %d, want 401", status)
	}
}

// TestBoardDispatches: the board lists the scheduled jobs; Dispatch sends
// the technician and says how the customer was told (or, under the limit
// rule, why not); Arrived and Done move the assignment on.
func TestBoardDispatches(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.settings(true, false, false, true) // texts on, the limit rule on
	ana, bruno := st.technician("Ana Silva"), st.technician("Bruno Reis")
	s := st.site("+351912345678", "")
	job1, job2 := st.job(s), st.job(s)
	a1, a2 := st.assign(job1, ana), st.assign(job2, bruno)
	num1 := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job1), nil).str("number")
	num2 := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job2), nil).str("number")
	dispatcher := st.ok("POST", "/api/v1/keys", map[string]any{"name": "office", "role": "dispatcher"}).str("key")
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", dispatcher)

	job := fmt.Sprintf(`((document.querySelector('#jobs li[data-assignment="%d"]') || {}).innerText || "")`, a1)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](job+`.includes("Maria Costa") && `+job+`.includes("Rua de Santa Catarina") && `+job+`.includes("Ana Silva")`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("job to dispatch = %q: %v", eval[string](t, ctx, job), err)
	}
	result := func(want ...string) {
		t.Helper()
		cond := "true"
		for _, w := range want {
			cond += fmt.Sprintf(` && document.querySelector("#jobs-result").textContent.includes(%q)`, w)
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("result = %q, want %q: %v", eval[string](t, ctx, `document.querySelector("#jobs-result").textContent`), want, err)
		}
	}
	status := func(a int64, want string) {
		t.Helper()
		if got := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).str("status"); got != want {
			t.Fatalf("assignment %d is %s, want %s", a, got, want)
		}
	}
	clickButton(t, ctx, "Dispatch Ana Silva to "+num1)
	result("Ana Silva is on the way to "+num1+".", "Text to the customer")
	status(a1, "dispatched")
	screenshot(t, ctx, "dispatch-board-dispatched")
	// Ana is on the way to the same site: the limit rule holds Bruno's text.
	clickButton(t, ctx, "Dispatch Bruno Reis to "+num2)
	result("Bruno Reis is on the way to "+num2+".", "Text to the customer not sent")
	status(a2, "dispatched")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#jobs li").length === 0 && !document.querySelector("#jobs-none").hidden`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil { // the list reloads after the answer
		t.Fatalf("%d jobs still listed to dispatch: %v", eval[int](t, ctx, `document.querySelectorAll("#jobs li").length`), err)
	}
	// Ana's row: Arrived, then Done.
	clickButton(t, ctx, "Arrived: Ana Silva")
	result("Ana Silva: working at the site.")
	status(a1, "working")
	clickButton(t, ctx, "Done: Ana Silva")
	result("Ana Silva: job done.")
	status(a1, "done")
	// The row follows the live stream's update, which may come after the
	// answer.
	row := fmt.Sprintf(`((document.querySelector('tr[data-tech="%d"]') || {}).innerText || "")`, ana)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.includes("Not assigned")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row after Done = %q: %v", eval[string](t, ctx, row), err)
	}
}

// TestBoardShowsUserTextAsText: names, job numbers and addresses that look
// like HTML are shown as the text they are, in the list and in the map's
// tooltips. Before, Leaflet parsed the tooltips as HTML and made the
// elements (the Content-Security-Policy stopped their scripts).
func TestBoardShowsUserTextAsText(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	name := `<img src=x onerror="window.pwned=1">Ana`
	number := `<b id="bold">J-1</b>`
	address := `<svg onload="window.pwned=2"></svg>1 Main St`
	tech, _, token := st.device(name)
	c := st.ok("POST", "/api/v1/customers", map[string]any{"name": `<i>Maria</i>`, "phone": "+351912345678"}).id()
	l := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": c, "address": address, "lat": 41.1496, "lng": -8.606, "verified": true}).id()
	job := st.ok("POST", "/api/v1/jobs", map[string]any{"number": number, "customer_id": c, "location_id": l,
		"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}).id()
	st.move(st.assign(job, tech), "dispatch")
	st.fixAt(token, 41.1420, -8.6080)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	// Both markers (the technician and the site) show their tooltips.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#map path.leaflet-interactive").length === 2`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("markers: %v", err)
	}
	hover := `(function () { document.querySelectorAll("#map path.leaflet-interactive").forEach(function (p) { p.dispatchEvent(new MouseEvent("mouseover", {bubbles: true})); }); return true; })()`
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](hover+` && document.querySelectorAll(".leaflet-tooltip").length >= 1`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no tooltip opened: %v", err)
	}
	eval[bool](t, ctx, hover)
	tips := eval[[]string](t, ctx, `Array.from(document.querySelectorAll(".leaflet-tooltip")).map(function (e) { return e.textContent; })`)
	want := map[string]bool{name: false, name + " → " + number + ": " + address: false}
	for _, tip := range tips {
		if _, ok := want[tip]; ok {
			want[tip] = true
		}
	}
	for w, seen := range want {
		if !seen {
			t.Errorf("no tooltip reads %q; tooltips: %q", w, tips)
		}
	}
	if made := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("img:not(.leaflet-tile), svg svg, #bold, i:not(.dot)")).map(function (e) { return e.outerHTML; })`); len(made) != 0 {
		t.Errorf("elements made from user text: %q", made)
	}
	if row := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('tr[data-tech="%d"]').innerText`, tech)); !strings.Contains(row, name) || !strings.Contains(row, number) {
		t.Errorf("the row reads %q", row)
	}
	if pwned := eval[bool](t, ctx, `window.pwned !== undefined`); pwned {
		t.Error("user text ran a script")
	}
}

// TestBoardShowsDeliveryReceipts: after Dispatch, the board follows the
// customer's text until the carrier reports it: delivered, or not, with
// what the carrier's error means.
func TestBoardShowsDeliveryReceipts(t *testing.T) {
	st := newStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
	ctx := browser(t)
	st.settings(true, false, false, false)
	ana, bruno := st.technician("Ana Silva"), st.technician("Bruno Reis")
	job1, job2 := st.job(st.site("+351912345678", "")), st.job(st.site("+351912345679", ""))
	st.assign(job1, ana)
	st.assign(job2, bruno)
	num1 := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job1), nil).str("number")
	num2 := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job2), nil).str("number")
	st.sms.Script(twiliotest.Delivered, twiliotest.Undelivered(30006))
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	result := func(want string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector("#jobs-result").textContent.includes(%q)`, want),
			chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("result = %q, want %q: %v", eval[string](t, ctx, `document.querySelector("#jobs-result").textContent`), want, err)
		}
	}
	clickButton(t, ctx, "Dispatch Ana Silva to "+num1)
	result("Ana Silva is on the way to " + num1 + ". Text to the customer delivered.")
	screenshot(t, ctx, "dispatch-board-delivered")
	clickButton(t, ctx, "Dispatch Bruno Reis to "+num2)
	result("Bruno Reis is on the way to " + num2 + ". Text to the customer not delivered: a landline, or a carrier that cannot take texts (carrier error 30006).")
	if class := eval[string](t, ctx, `document.querySelector("#jobs-result").className`); class != "error" {
		t.Fatalf("an undelivered text's notice has class %q, want it shown as an error", class)
	}
	screenshot(t, ctx, "dispatch-board-undelivered")
}

// TestBoardReadsInOrder: each status makes the board read its list again,
// and a read's answer can come after a newer status. The read after Ana's
// arrival is held back until her visit is done: its answer, older than
// that, leaves her row done.
func TestBoardReadsInOrder(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	ana, _, token := st.device("Ana Silva")
	a, _ := st.trackingLink(ana)
	dispatcher := st.ok("POST", "/api/v1/keys", map[string]any{"name": "office", "role": "dispatcher"}).str("key")
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", dispatcher)
	st.fixAt(token, 41.1420, -8.6080)
	row := fmt.Sprintf(`((document.querySelector('tr[data-tech="%d"]') || {}).innerText || "")`, ana)
	pollJS(t, ctx, "Ana on the way, live", row+`.includes("On the way") && `+row+`.includes("s ago")`)

	holdNextRead(t, ctx, "/api/v1/assignments?status=dispatched,working")
	st.move(a, "start")
	pollJS(t, ctx, "Ana working, the read after it held", row+`.includes("Working") && window.slowRead === "held"`)
	st.move(a, "complete")
	pollJS(t, ctx, "Ana done", row+`.includes("Not assigned")`)
	releaseRead(t, ctx)
	if got := eval[string](t, ctx, row); !strings.Contains(got, "Not assigned") {
		t.Fatalf("Ana's row after the older answer = %q, want her done", got)
	}
}

// TestBoardJobsReadInOrder: each dispatch from the board reads the jobs
// to dispatch again. The read after the first is held back until the
// second job is dispatched too; once it is let go, the list ends empty
// (before, the older answer came last and listed a job again).
func TestBoardJobsReadInOrder(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	ana, bruno := st.technician("Ana Silva"), st.technician("Bruno Reis")
	s := st.site("+351912345678", "")
	job1, job2 := st.job(s), st.job(s)
	st.assign(job1, ana)
	st.assign(job2, bruno)
	num1 := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job1), nil).str("number")
	num2 := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job2), nil).str("number")
	dispatcher := st.ok("POST", "/api/v1/keys", map[string]any{"name": "office", "role": "dispatcher"}).str("key")
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", dispatcher)
	listed := `document.querySelectorAll("#jobs li").length`
	pollJS(t, ctx, "two jobs to dispatch", listed+` === 2`)

	holdNextRead(t, ctx, "/api/v1/assignments?status=scheduled")
	clickButton(t, ctx, "Dispatch Ana Silva to "+num1)
	pollJS(t, ctx, "the read after the first dispatch held", `window.slowRead === "held"`)
	clickButton(t, ctx, "Dispatch Bruno Reis to "+num2)
	pollJS(t, ctx, "the second dispatch done", `document.querySelector("#jobs-result").textContent.includes(`+strconv.Quote("Bruno Reis is on the way to "+num2)+`)`)
	releaseRead(t, ctx)
	pollJS(t, ctx, "no job left to dispatch", listed+` === 0 && !document.querySelector("#jobs-none").hidden`)
}

// clickButton clicks the button labelled label once it is there and
// enabled, found and clicked in one go in the page: the rows re-render on
// live updates, and a button found first and clicked after could be gone
// by then ("Could not find node with given id").
func clickButton(t *testing.T, ctx context.Context, label string) {
	t.Helper()
	pollJS(t, ctx, label, fmt.Sprintf(`(() => { const b = document.querySelector('button[aria-label=%q]'); if (!b || b.disabled) return false; b.click(); return true })()`, label))
}
