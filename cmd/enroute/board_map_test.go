package main

// The dispatcher board on a phone and a desktop, its map (names on the
// markers, fit all, following a technician) and the customer's tracking
// receipt, in Chromium. The New job panel: board_newjob_test.go.

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// viewport makes the browser's window w x h CSS pixels; under 600 wide a
// phone's, touch and all (mobile emulation lays a page out wider than
// the screen when its content is, as phones do, so that shows as
// scrolling).
func viewport(t *testing.T, ctx context.Context, w, h int64) {
	t.Helper()
	navigate(t, ctx, "about:blank") // a target to set it on
	var opts []chromedp.EmulateViewportOption
	if w < 600 {
		opts = append(opts, chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h, opts...)); err != nil {
		t.Fatal(err)
	}
}

// until polls cond (JavaScript) for up to 10 s, failing with what and
// the value of debug.
func until(t *testing.T, ctx context.Context, what, cond, debug string) {
	t.Helper()
	untilWithin(t, ctx, 10*time.Second, what, cond, debug)
}

func untilWithin(t *testing.T, ctx context.Context, within time.Duration, what, cond, debug string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(within))); err != nil {
		t.Fatalf("%s: %v; %s", what, err, eval[string](t, ctx, `String(`+debug+`)`))
	}
}

// fitsWidth fails if the page scrolls sideways in a window w wide.
func fitsWidth(t *testing.T, ctx context.Context, w int) {
	t.Helper()
	if got := eval[[]int](t, ctx, `[document.documentElement.scrollWidth, window.innerWidth]`); got[0] > w || got[1] != w {
		wide := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#app *")).filter(function (e) {
			return e.getBoundingClientRect().right > `+strconv.Itoa(w)+` && !e.closest(".leaflet-pane, .leaflet-control-container"); }).slice(0, 8).map(function (e) { return e.tagName + "#" + e.id + "." + e.className; })`)
		t.Fatalf("the page is %d px wide in a %d px window (layout %d): %v", got[0], w, got[1], wide)
	}
}

// rowOf is the JavaScript text of a technician's row.
func rowOf(id int64) string {
	return fmt.Sprintf(`((document.querySelector('tr[data-tech="%d"]') || {}).innerText || "")`, id)
}

// TestBoardFitsPhoneAndDesktop: on a 390 x 844 phone and a desktop the
// board never scrolls sideways, with long names and addresses and with
// the New job panel open; the header reads "Technicians" and the stream's
// state as two things (it read "Technicianslive"); every technician's
// marker carries their name.
func TestBoardFitsPhoneAndDesktop(t *testing.T) {
	for _, tc := range []struct {
		name string
		w, h int64
	}{{"Phone", 390, 844}, {"Desktop", 1280, 900}} {
		t.Run(tc.name, func(t *testing.T) {
			st := newPageStack(t)
			ctx := browser(t)
			ana, _, anaToken := st.device("Ana Silva")
			bruno, _, boToken := st.device("Bartholomew Fitzgerald-Montgomery")
			st.trackingLink(ana)
			c := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Maria Costa", "phone": "+351912345678"}).id()
			l := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": c, "address": "Avenida dos Aliados 123-125, Edifício Nascente, 4000-064 Porto, Portugal", "lat": 41.149, "lng": -8.611, "verified": true}).id()
			st.assign(st.ok("POST", "/api/v1/jobs", map[string]any{"number": "J-2026-000123456", "customer_id": c, "location_id": l,
				"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}).id(), bruno)
			st.fixAt(anaToken, 41.1420, -8.6080)
			st.fixAt(boToken, 41.1600, -8.6000)
			viewport(t, ctx, tc.w, tc.h)
			logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
			until(t, ctx, "both rows and the scheduled job", rowOf(ana)+`.includes("On the way") && `+rowOf(bruno)+`.includes("Not assigned") && document.querySelectorAll("#jobs li").length === 1 && document.querySelector("#conn").textContent === "live"`,
				`document.querySelector("#app").innerText`)

			head := eval[string](t, ctx, `document.querySelector("header").innerText`)
			flat := eval[string](t, ctx, `document.querySelector("header").textContent.replace(/\s+/g, " ").trim()`)
			if strings.Contains(head, "Technicianslive") || strings.Contains(flat, "Technicianslive") || !strings.Contains(flat, "Technicians live") {
				t.Fatalf("the header reads %q (as text: %q)", head, flat)
			}
			if lines := strings.Split(head, "\n"); lines[0] != "Technicians" || lines[1] != "live" {
				t.Fatalf("the header's lines: %q", lines)
			}
			// Each marker's label is its technician's name.
			until(t, ctx, "both markers labelled", `(function () { var n = Array.from(document.querySelectorAll("#map .leaflet-tooltip.tech-label")).map(function (e) { return e.textContent; });
				return n.includes("Ana Silva") && n.includes("Bartholomew Fitzgerald-Montgomery"); })()`,
				`Array.from(document.querySelectorAll("#map .leaflet-tooltip")).map(function (e) { return e.textContent; }).join(" | ")`)
			fitsWidth(t, ctx, int(tc.w))
			screenshot(t, ctx, "board-"+strings.ToLower(tc.name))

			if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#new-job-open"))); err != nil {
				t.Fatal(err)
			}
			until(t, ctx, "the New job panel", `!document.querySelector("#new-job").hidden && document.activeElement.id === "nj-q"`, `document.activeElement.id`)
			fitsWidth(t, ctx, int(tc.w))
			screenshot(t, ctx, "board-"+strings.ToLower(tc.name)+"-new-job")
		})
	}
}

// labelsOverlap is the JavaScript that lists the pairs of shown name
// labels that cover each other.
const labelsOverlap = `(function () {
	var r = Array.from(document.querySelectorAll("#map .leaflet-tooltip.tech-label:not(.tucked)")).map(function (e) { return [e.textContent, e.getBoundingClientRect()]; }), out = [];
	for (var i = 0; i < r.length; i++) { for (var j = i + 1; j < r.length; j++) {
		var a = r[i][1], b = r[j][1];
		if (a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom) { out.push(r[i][0] + " / " + r[j][0]); }
	} }
	return out;
})()`

// TestBoardFollowsAndFitsAll: technicians side by side keep their names
// readable; selecting one centres the map on them and keeps it there as
// their positions arrive; a drag of the map stops that (a later position
// leaves the map where the dispatcher put it) and offers to follow again;
// Fit all shows everyone.
func TestBoardFollowsAndFitsAll(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	ana, _, anaToken := st.device("Ana Silva")
	_, _, boToken := st.device("Bruno Reis")
	_, _, caToken := st.device("Carla Dias")
	// Ana and Bruno a few metres apart: their labels would cover each other.
	st.fixAt(anaToken, 41.14200, -8.60800)
	st.fixAt(boToken, 41.14202, -8.60798)
	st.fixAt(caToken, 41.17000, -8.57000)
	viewport(t, ctx, 1280, 900)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	until(t, ctx, "three labelled markers", `document.querySelectorAll("#map .leaflet-tooltip.tech-label").length === 3 && document.querySelectorAll("#map path.leaflet-interactive").length === 3`,
		`document.querySelector("#map").innerText`)
	until(t, ctx, "labels apart", labelsOverlap+`.length === 0`, labelsOverlap+`.join("; ")`)
	allInView := `(function () { var m = document.querySelector("#map").getBoundingClientRect(), ps = document.querySelectorAll("#map path.leaflet-interactive:not(.track)");
		return ps.length === 3 && Array.from(ps).every(function (p) { var r = p.getBoundingClientRect(); return r.left >= m.left && r.right <= m.right && r.top >= m.top && r.bottom <= m.bottom; }); })()`
	until(t, ctx, "every technician in view", allInView, `document.querySelector("#map").dataset.center`)
	screenshot(t, ctx, "board-labels")

	centre := func() (lat, lng float64) {
		t.Helper()
		c := strings.Split(eval[string](t, ctx, `document.querySelector("#map").dataset.center || ""`), ",")
		if len(c) != 2 {
			t.Fatalf("no map centre: %q", c)
		}
		lat, _ = strconv.ParseFloat(c[0], 64)
		lng, _ = strconv.ParseFloat(c[1], 64)
		return lat, lng
	}
	// centred: Ana's marker is in the middle of the map, to 2 px (Leaflet
	// places the centre on whole pixels).
	centred := fmt.Sprintf(`(function () { var m = document.querySelector("#map").getBoundingClientRect(), p = document.querySelector("#map path.tech-%d");
		if (!p) { return false; } var r = p.getBoundingClientRect();
		return Math.abs((r.left + r.right) / 2 - (m.left + m.right) / 2) <= 2 && Math.abs((r.top + r.bottom) / 2 - (m.top + m.bottom) / 2) <= 2; })()`, ana)
	mapData := `JSON.stringify(document.querySelector("#map").dataset)`

	// Selecting Ana follows her.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-tech="%d"]`, ana)))); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "following Ana", fmt.Sprintf(`document.querySelector("#map").dataset.follow === "%d" && document.querySelector("#follow-state").textContent === "Following Ana Silva" && `, ana)+centred, mapData)
	until(t, ctx, "her label marked", `(document.querySelector("#map .tech-label.selected") || {}).textContent === "Ana Silva"`, `document.querySelector("#map .tech-label.selected")`)
	points := func() int {
		tr := strings.Split(eval[string](t, ctx, `document.querySelector("#map").dataset.track || ":"`), ":")
		n, _ := strconv.Atoi(tr[1])
		return n
	}
	until(t, ctx, "her track drawn", `/:\d+$/.test(document.querySelector("#map").dataset.track || "")`, mapData)
	for _, p := range [][2]float64{{41.1432, -8.6080}, {41.1444, -8.6080}} { // 133 m apart: under the tracker's 70 m/s

		before := eval[string](t, ctx, `document.querySelector("#map").dataset.center`)
		st.fixAt(anaToken, p[0], p[1])
		until(t, ctx, fmt.Sprintf("the map centred on Ana at %v", p), fmt.Sprintf(`document.querySelector("#map").dataset.center !== %q && `, before)+centred, mapData)
	}
	screenshot(t, ctx, "board-following")

	// A drag of the map stops following: her next position leaves it be.
	drag(t, ctx, "#map", 200, 120)
	until(t, ctx, "following stopped by the drag", `document.querySelector("#map").dataset.follow === undefined && !document.querySelector("#follow-again").hidden && document.querySelector("#follow-again").textContent === "Follow Ana Silva"`, mapData)
	until(t, ctx, "the map moved by the drag", `!`+centred, mapData)
	lat, lng := centre()
	before := points()
	st.fixAt(anaToken, 41.1456, -8.6080)
	// A followed position pans the map (without animation) in the same
	// task that grows her track: once it has grown, a pan would show.
	until(t, ctx, "her track grown", fmt.Sprintf(`document.querySelector("#map").dataset.track === "%d:%d"`, ana, before+1), mapData)
	if la, ln := centre(); math.Abs(la-lat) > 1e-6 || math.Abs(ln-lng) > 1e-6 {
		t.Fatalf("after the drag, her position moved the map from %f,%f to %f,%f", lat, lng, la, ln)
	}
	screenshot(t, ctx, "board-panned")

	// Follow again, then Fit all: everyone in view, following stopped.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#follow-again"))); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "following Ana again", centred, mapData)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#fit-all"))); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "every technician in view after Fit all", `document.querySelector("#map").dataset.follow === undefined && `+allInView, mapData)
	if eval[bool](t, ctx, centred) {
		t.Fatal("Fit all left the map on Ana")
	}
	until(t, ctx, "labels apart after Fit all", labelsOverlap+`.length === 0`, labelsOverlap+`.join("; ")`)
	screenshot(t, ctx, "board-fit-all")
}

// drag drags the mouse across the element sel by dx, dy, in steps, as a
// hand does.
func drag(t *testing.T, ctx context.Context, sel string, dx, dy float64) {
	t.Helper()
	r := eval[[]float64](t, ctx, fmt.Sprintf(`(function () { var r = document.querySelector(%q).getBoundingClientRect(); return [r.left + r.width / 3, r.top + r.height / 3]; })()`, sel))
	x, y := r[0], r[1]
	held := func(p *input.DispatchMouseEventParams) { p.Button = input.MouseButtonLeft; p.Buttons = 1 }
	steps := []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(chromedp.MousePressed, x, y, held, chromedp.ClickCount(1))}
	for i := 1; i <= 10; i++ {
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x+dx*float64(i)/10, y+dy*float64(i)/10, held))
	}
	// A pause before letting go, as a hand that places the map does: a
	// release while still moving throws the map on (Leaflet's inertia).
	steps = append(steps, chromedp.Sleep(150*time.Millisecond), chromedp.MouseEvent(chromedp.MouseReleased, x+dx, y+dy, held, chromedp.ClickCount(1)))
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// TestBoardShowsTrackingReceipt: for a technician on the way, the board
// says whether the customer opened the tracking link, then, once the
// page said so (POST /t/{token}/opened), when first and how often. A
// tracking page opening publishes nothing live: the list's periodic
// reload (every 15 s) brings it.
func TestBoardShowsTrackingReceipt(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.ok("PATCH", "/api/v1/company", map[string]any{"time_zone": "America/Chicago"})
	ana, _, anaToken := st.device("Ana Silva")
	a, token := st.trackingLink(ana)
	st.fixAt(anaToken, 41.1420, -8.6080)
	viewport(t, ctx, 390, 844)
	logIn(t, ctx, "http://"+st.m.Addr()+"/dispatch", testAdminToken)
	until(t, ctx, "not opened yet", rowOf(ana)+`.includes("Link not opened yet")`, rowOf(ana))
	screenshot(t, ctx, "board-receipt-not-opened")

	for range 2 {
		if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/t/"+token+"/opened", "", ""); status != 204 {
			t.Fatalf("opened = %d %s", status, raw)
		}
	}
	first, err := time.Parse(time.RFC3339Nano, st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).str("tracking_opened_at"))
	if err != nil {
		t.Fatal(err)
	}
	chicago, _ := time.LoadLocation("America/Chicago")
	untilWithin(t, ctx, 20*time.Second, "the receipt after the reload", rowOf(ana)+`.includes("Customer opened the link") && `+rowOf(ana)+`.includes("2×")`, rowOf(ana))
	got := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('tr[data-tech="%d"] .receipt').textContent`, ana))
	if want := "Customer opened the link " + first.In(chicago).Format("3:04 PM") + " · 2×"; clockText(got) != want {
		t.Fatalf("receipt = %q, want %q", got, want)
	}
	fitsWidth(t, ctx, 390)
	screenshot(t, ctx, "board-receipt-opened")
}
