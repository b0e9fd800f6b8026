package main

// The board's New job panel, in Chromium: a customer found or created, a
// site picked, typed (and verified by the geocoder) or pinned on the map,
// the job and its window, the technician; dispatched at once or left
// scheduled; the API's refusals next to their fields.

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/enroutehq/enroute/internal/nominatimtest"
)

// newJobPanel opens the panel.
func newJobPanel(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#new-job-open"))); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "the New job panel", `!document.querySelector("#new-job").hidden && document.querySelectorAll("#nj-tech option").length > 1`, `document.querySelector("#new-job").innerText`)
}

// typeInto types text into the input sel, as a person does.
func typeInto(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(function () { var e = document.querySelector(%q); e.value = ""; return true; })()`, sel))
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), text)); err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
}

// setField sets an input the keyboard types badly into (a date, a
// select) and tells the page, as the browser's own picker does.
func setField(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(function () { var e = document.querySelector(%q); e.value = %q;
		e.dispatchEvent(new Event("input", {bubbles: true})); e.dispatchEvent(new Event("change", {bubbles: true})); return e.value === %q; })()`, sel, value, value))
}

func click(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
}

// fieldError waits for the message under the panel's input id.
func fieldError(t *testing.T, ctx context.Context, id, want string) {
	t.Helper()
	until(t, ctx, "the error next to "+id, fmt.Sprintf(`(function () { var p = document.querySelector("#%s-error"); return !p.hidden && p.textContent.includes(%q) && document.querySelector("#%s").getAttribute("aria-invalid") === "true"; })()`, id, want, id),
		`Array.from(document.querySelectorAll("#new-job .field-error:not([hidden]), #nj-error:not([hidden])")).map(function (p) { return p.id + ": " + p.textContent; }).join(" | ")`)
}

// doneSays waits for the panel's summary to say each of want.
func doneSays(t *testing.T, ctx context.Context, want ...string) {
	t.Helper()
	cond := `!document.querySelector("#nj-done").hidden`
	for _, w := range want {
		cond += fmt.Sprintf(` && document.querySelector("#nj-done").textContent.includes(%q)`, w)
	}
	until(t, ctx, fmt.Sprintf("the summary saying %q", want), cond, `document.querySelector("#new-job").innerText`)
}

// TestBoardNewJobForACustomer: on a desktop, a dispatcher finds a customer
// by name, keeps their verified site, gives the job a window in the
// company's time zone (an end before the start is refused next to the
// field, and nothing is made of it), picks a technician and dispatches:
// the job and its assignment exist through the API, the technician is on
// the way, the customer was told, and no second customer or site was made.
func TestBoardNewJobForACustomer(t *testing.T) {
	st := newStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
	ctx := browser(t)
	st.settings(true, false, false, false)
	st.ok("PATCH", "/api/v1/company", map[string]any{"time_zone": "America/Chicago"})
	ana := st.technician("Ana Silva")
	st.technician("Bruno Reis")
	s := st.site("+351912345678", "") // Maria Costa, at a verified site
	st.ok("POST", "/api/v1/customers", map[string]any{"name": "Jordan Smith", "phone": "+13125550123"})
	dispatcher := st.ok("POST", "/api/v1/keys", map[string]any{"name": "office", "role": "dispatcher"}).str("key")
	viewport(t, ctx, 1280, 900)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", dispatcher)
	newJobPanel(t, ctx)

	typeInto(t, ctx, "#nj-q", "costa")
	until(t, ctx, "Maria found", `document.querySelectorAll("#nj-results button").length === 1 && document.querySelector("#nj-results button").textContent === "Maria Costa · +351912345678"`, `document.querySelector("#nj-results").innerText`)
	click(t, ctx, fmt.Sprintf(`#nj-results button[data-customer="%d"]`, s.customer))
	until(t, ctx, "her site chosen", fmt.Sprintf(`(document.querySelector('#nj-sites input[value="%d"]') || {}).checked && document.querySelector("#nj-new-site").hidden && document.querySelector("#nj-verification").dataset.status === "manual"`, s.location),
		`document.querySelector("#nj-site").innerText`)
	if got := text(t, ctx, "#nj-sites"); !strings.Contains(got, "Rua de Santa Catarina 1, Porto · pin placed by a dispatcher") || !strings.Contains(got, "A new address") {
		t.Fatalf("sites = %q", got)
	}
	typeInto(t, ctx, "#nj-number", "J-900")
	setField(t, ctx, "#nj-start", "2026-12-07T09:00")
	setField(t, ctx, "#nj-end", "2026-12-07T08:00")
	setField(t, ctx, "#nj-tech", strconv.FormatInt(ana, 10))
	if got := text(t, ctx, "#nj-zone"); got != "Times in America/Chicago, the company's time zone." {
		t.Fatalf("zone note = %q", got)
	}
	click(t, ctx, "#nj-dispatch")
	fieldError(t, ctx, "nj-end", "Must not be before the window's start")
	screenshot(t, ctx, "board-new-job-error")
	if n := len(st.ok("GET", "/api/v1/jobs?number=J-900", nil).items()); n != 0 {
		t.Fatalf("%d jobs made of a refused window", n)
	}
	setField(t, ctx, "#nj-end", "2026-12-07T11:00")
	if !eval[bool](t, ctx, `document.querySelector("#nj-end-error").hidden`) {
		t.Fatal("the error stayed once the field was changed")
	}
	click(t, ctx, "#nj-dispatch")
	doneSays(t, ctx, "J-900 created for Maria Costa at Rua de Santa Catarina 1, Porto.", "Ana Silva is on the way to J-900.", "Text to the customer")
	until(t, ctx, "Ana on the way on the board", rowOf(ana)+`.includes("On the way") && `+rowOf(ana)+`.includes("J-900")`, rowOf(ana))
	screenshot(t, ctx, "board-new-job-dispatched")

	jobs := st.ok("GET", "/api/v1/jobs?number=J-900", nil).items()
	if len(jobs) != 1 {
		t.Fatalf("jobs J-900: %v", jobs)
	}
	j := jobs[0]
	if j["customer_id"].(float64) != float64(s.customer) || j["location_id"].(float64) != float64(s.location) ||
		j["window_start"] != "2026-12-07T15:00:00Z" || j["window_end"] != "2026-12-07T17:00:00Z" { // 9:00-11:00 in Chicago
		t.Fatalf("job = %v", j)
	}
	as := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/assignments", int64(j["id"].(float64))), nil).items()
	if len(as) != 1 || as[0]["technician_id"].(float64) != float64(ana) || as[0]["status"] != "dispatched" {
		t.Fatalf("assignments = %v", as)
	}
	if n := len(st.ok("GET", "/api/v1/customers", nil).items()); n != 2 {
		t.Fatalf("%d customers, want the 2 there were", n)
	}
	if n := len(st.ok("GET", fmt.Sprintf("/api/v1/locations?customer_id=%d", s.customer), nil).items()); n != 1 {
		t.Fatalf("Maria has %d sites, want 1", n)
	}
	st.waitLog(int64(j["id"].(float64)), func(ms []map[string]any) bool { return len(ms) == 1 && ms[0]["status"] == "sent" })
}

// TestBoardNewJobNewCustomer: on a phone, a dispatcher searches, finds
// nobody and creates the customer (the search becomes the name); a phone
// the API refuses is said next to the field, and nothing is made; a
// missing job number is refused after the customer and site were made,
// and the retry reuses them; the new address is verified by the
// geocoder, which the panel shows; the job is left scheduled and waits in
// To dispatch. The name, which looks like HTML, stays text.
func TestBoardNewJobNewCustomer(t *testing.T) {
	st, geo := newGeocodeStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
	geo.Script(houseAddr, houseAnswer())
	ctx := browser(t)
	bruno := st.technician("Bruno Reis")
	viewport(t, ctx, 390, 844)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	newJobPanel(t, ctx)
	fitsWidth(t, ctx, 390)

	typeInto(t, ctx, "#nj-q", "Jordan")
	until(t, ctx, "nobody found", `!document.querySelector("#nj-results-none").hidden`, `document.querySelector("#nj-find").innerText`)
	click(t, ctx, "#nj-new-customer")
	until(t, ctx, "the new customer's fields", `!document.querySelector("#nj-create").hidden && document.querySelector("#nj-name").value === "Jordan"`, `document.querySelector("#nj-create").innerText`)
	typeInto(t, ctx, "#nj-name", "Jordan <b>Smith</b>")
	typeInto(t, ctx, "#nj-phone", "555-01")
	typeInto(t, ctx, "#nj-email", "jordan@example.com")
	typeInto(t, ctx, "#nj-address", houseAddr)
	setField(t, ctx, "#nj-tech", strconv.FormatInt(bruno, 10))
	click(t, ctx, "#nj-schedule") // no job number either: the customer is refused first
	fieldError(t, ctx, "nj-phone", "Must be a phone number")
	if got := eval[string](t, ctx, `document.activeElement.id`); got != "nj-phone" {
		t.Errorf("focus on %q after the refusal, want the phone", got)
	}
	fitsWidth(t, ctx, 390)
	screenshot(t, ctx, "board-new-job-phone-error")
	if n := len(st.ok("GET", "/api/v1/customers", nil).items()); n != 0 {
		t.Fatalf("%d customers made of a refused phone", n)
	}

	// The customer and the site are made, the job is refused: they are
	// kept, shown as made, and the retry reuses them.
	typeInto(t, ctx, "#nj-phone", "(312) 555-0123")
	click(t, ctx, "#nj-schedule")
	fieldError(t, ctx, "nj-number", "Is required")
	until(t, ctx, "the customer and the site shown as made", `!document.querySelector("#nj-picked").hidden && document.querySelector("#nj-change").hidden && document.querySelectorAll("#nj-sites input").length === 1 && document.querySelector("#nj-sites input").checked`,
		`document.querySelector("#new-job").innerText`)
	typeInto(t, ctx, "#nj-number", "J-901")
	click(t, ctx, "#nj-schedule")
	doneSays(t, ctx, "J-901 created for Jordan <b>Smith</b> at "+houseAddr+".", "Bruno Reis is scheduled")
	until(t, ctx, "the site verified by the geocoder", `document.querySelector("#nj-done-site").dataset.status === "verified" && document.querySelector("#nj-done-site").textContent.startsWith("Address verified") && document.querySelector("#nj-done-pin").hidden`,
		`document.querySelector("#nj-done").innerText`)
	until(t, ctx, "J-901 to dispatch", `document.querySelector("#jobs").innerText.includes("J-901 · Jordan <b>Smith</b>")`, `document.querySelector("#jobs").innerText`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#app b").length`); n != 0 {
		t.Errorf("%d elements made of the typed name", n)
	}
	fitsWidth(t, ctx, 390)
	screenshot(t, ctx, "board-new-job-phone-scheduled")

	if n := len(st.ok("GET", "/api/v1/customers", nil).items()); n != 1 {
		t.Fatalf("%d customers after the retry, want 1", n)
	}
	cs := st.ok("GET", "/api/v1/customers?q="+url.QueryEscape("555-0123"), nil).items()
	if len(cs) != 1 || cs[0]["name"] != "Jordan <b>Smith</b>" || cs[0]["phone"] != "+13125550123" || cs[0]["email"] != "jordan@example.com" {
		t.Fatalf("customers = %v", cs)
	}
	ls := st.ok("GET", fmt.Sprintf("/api/v1/locations?customer_id=%d", int64(cs[0]["id"].(float64))), nil).items()
	if len(ls) != 1 || ls[0]["address"] != houseAddr || ls[0]["verified"] != true || ls[0]["verification"].(map[string]any)["status"] != "verified" {
		t.Fatalf("locations = %v", ls)
	}
	jobs := st.ok("GET", "/api/v1/jobs?number=J-901", nil).items()
	if len(jobs) != 1 {
		t.Fatalf("jobs = %v", jobs)
	}
	as := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/assignments", int64(jobs[0]["id"].(float64))), nil).items()
	if len(as) != 1 || as[0]["technician_id"].(float64) != float64(bruno) || as[0]["status"] != "scheduled" {
		t.Fatalf("assignments = %v", as)
	}
}

// TestBoardNewJobPins: an address the geocoder cannot match is said to be
// unverified, and pinned from the summary (a click on the map); the next
// job's site, found by the customer's phone, is pinned before it is
// created. Both pins are the dispatcher's: verified, where the map was
// clicked.
func TestBoardNewJobPins(t *testing.T) {
	st, geo := newGeocodeStack(t, "ENROUTE_TILE_URL", "http://127.0.0.1:9/{z}/{x}/{y}.png")
	geo.Script(unknownAddr, nominatimtest.None())
	ctx := browser(t)
	// Two technicians apart: the map fits them, and its middle, where the
	// pins go, is between them (a click there hits no marker).
	ana, _, anaToken := st.device("Ana Silva")
	_, _, boToken := st.device("Bruno Reis")
	st.fixAt(anaToken, 41.8700, -87.6600)
	st.fixAt(boToken, 41.8800, -87.6400)
	maria := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Maria Costa", "phone": "+13125550100"}).id()
	viewport(t, ctx, 1280, 900)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	until(t, ctx, "Ana on the map", `document.querySelectorAll("#map path.tech").length === 2 && !!document.querySelector("#map").dataset.center`, `document.querySelector("#map").dataset.center`)
	newJobPanel(t, ctx)
	pick := func(q string) {
		t.Helper()
		typeInto(t, ctx, "#nj-q", q)
		until(t, ctx, "Maria found by "+q, fmt.Sprintf(`!!document.querySelector('#nj-results button[data-customer="%d"]')`, maria), `document.querySelector("#nj-results").innerText`)
		click(t, ctx, fmt.Sprintf(`#nj-results button[data-customer="%d"]`, maria))
		until(t, ctx, "Maria picked", `!document.querySelector("#nj-picked").hidden`, `document.querySelector("#new-job").innerText`)
	}
	// clickMap clicks the middle of the map and returns where that is.
	clickMap := func() (lat, lng float64) {
		t.Helper()
		until(t, ctx, "the map asking for the pin", `!document.querySelector("#map-note").hidden && document.querySelector("#map").classList.contains("placing")`, `document.querySelector("#map-note").outerHTML`)
		c := strings.Split(eval[string](t, ctx, `document.querySelector("#map").dataset.center`), ",")
		lat, _ = strconv.ParseFloat(c[0], 64)
		lng, _ = strconv.ParseFloat(c[1], 64)
		xy := eval[[]float64](t, ctx, `(function () { var r = document.querySelector("#map").getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; })()`)
		if err := chromedp.Do(ctx, chromedp.MouseClickXY(xy[0], xy[1])); err != nil {
			t.Fatal(err)
		}
		return lat, lng
	}
	pinnedAt := func(loc map[string]any, lat, lng float64) {
		t.Helper()
		v := loc["verification"].(map[string]any)
		dlat, dlng := loc["lat"].(float64)-lat, loc["lng"].(float64)-lng
		if loc["verified"] != true || v["status"] != "manual" || v["source"] != "dispatcher" || dlat*dlat+dlng*dlng > 1e-6 { // ~100 m at most: the middle of the map, to a pixel
			t.Fatalf("location = %v, want pinned at %f,%f", loc, lat, lng)
		}
	}

	// An address the geocoder does not know: said so, then pinned.
	pick("Costa")
	until(t, ctx, "a new address, Maria having no site", `document.querySelector("#nj-sites").children.length === 0 && !document.querySelector("#nj-new-site").hidden`, `document.querySelector("#nj-site").innerText`)
	typeInto(t, ctx, "#nj-address", unknownAddr)
	typeInto(t, ctx, "#nj-number", "J-902")
	setField(t, ctx, "#nj-tech", strconv.FormatInt(ana, 10))
	click(t, ctx, "#nj-dispatch")
	doneSays(t, ctx, "J-902 created for Maria Costa at "+unknownAddr+".", "Ana Silva is on the way to J-902.")
	until(t, ctx, "the site unverified, with a pin to place", `document.querySelector("#nj-done-site").dataset.status === "unverified" && document.querySelector("#nj-done-site").textContent.includes("Address not verified: no match") && !document.querySelector("#nj-done-pin").hidden`,
		`document.querySelector("#nj-done").innerText`)
	screenshot(t, ctx, "board-new-job-unverified")
	click(t, ctx, "#nj-done-pin")
	lat, lng := clickMap()
	until(t, ctx, "the pin placed", `document.querySelector("#nj-done-site").dataset.status === "manual" && document.querySelector("#nj-done-pin").hidden && document.querySelector("#map-note").hidden`,
		`document.querySelector("#nj-done").innerText`)
	screenshot(t, ctx, "board-new-job-pinned")
	job := st.ok("GET", "/api/v1/jobs?number=J-902", nil).items()[0]
	if as := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/assignments", int64(job["id"].(float64))), nil).items(); len(as) != 1 || as[0]["status"] != "dispatched" {
		t.Fatalf("J-902's assignments = %v", as)
	}
	pinnedAt(st.ok("GET", fmt.Sprintf("/api/v1/locations/%d", int64(job["location_id"].(float64))), nil).body, lat, lng)
	// The board reads the site again: Ana is on her way to it, on the map.
	until(t, ctx, "the pinned site on the map", `document.querySelectorAll("#map path.dest").length === 1`, `document.querySelector("#techs").innerText`)

	// The next job: Maria found by her phone, a new site pinned first.
	click(t, ctx, "#nj-another")
	pick("312 555 0100")
	until(t, ctx, "her site listed", `document.querySelectorAll("#nj-sites input").length === 2`, `document.querySelector("#nj-site").innerText`)
	click(t, ctx, `#nj-sites input[value="new"]`)
	typeInto(t, ctx, "#nj-address", "Back of the warehouse, gate 3")
	click(t, ctx, "#nj-pin")
	lat, lng = clickMap()
	until(t, ctx, "the pin noted", `document.querySelector("#nj-pin-state").textContent.startsWith("Pin at ") && document.querySelector("#nj-pin").textContent === "Move the pin" && document.querySelectorAll("#map path.site-pin").length === 1`,
		`document.querySelector("#nj-site").innerText`)
	typeInto(t, ctx, "#nj-number", "J-903")
	setField(t, ctx, "#nj-tech", strconv.FormatInt(ana, 10))
	click(t, ctx, "#nj-schedule")
	doneSays(t, ctx, "J-903 created for Maria Costa at Back of the warehouse, gate 3.", "Ana Silva is scheduled")
	until(t, ctx, "pinned by the dispatcher", `document.querySelector("#nj-done-site").dataset.status === "manual"`, `document.querySelector("#nj-done").innerText`)
	job = st.ok("GET", "/api/v1/jobs?number=J-903", nil).items()[0]
	pinnedAt(st.ok("GET", fmt.Sprintf("/api/v1/locations/%d", int64(job["location_id"].(float64))), nil).body, lat, lng)
	if n := len(geo.Requests("Back of the warehouse, gate 3")); n != 0 {
		t.Errorf("a pinned site was geocoded %d times", n)
	}
	screenshot(t, ctx, "board-new-job-pinned-first")
}
