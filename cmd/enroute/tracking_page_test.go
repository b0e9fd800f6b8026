package main

// The customer's tracking page, in Chromium.

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/enroutehq/enroute"
)

func TestTrackingPageVerified(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	tech, _, token := st.device("Ana Silva")
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"rating": 4.8})
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air HVAC", "phone": "+13125550100", "time_zone": "America/Chicago"})
	a, link := st.trackingLink(tech) // a verified address at 41.1496, -8.606
	st.fixAt(token, 41.1420, -8.6080)

	// The customer's phone is set to another zone than the company's: the
	// page still gives times in the company's, as its messages do.
	inZone(t, ctx, "Asia/Tokyo")
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	if got := text(t, ctx, "#tech-name"); got != "Ana" {
		t.Fatalf("name = %q", got)
	}
	if got := text(t, ctx, "#status"); got != "On the way" {
		t.Fatalf("status = %q", got)
	}
	// The dispatcher's receipt: the page, run in a browser, said it was
	// opened.
	waitFor(t, 10*time.Second, "the opening counted", func() bool {
		return strings.Contains(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).raw, `"tracking_opens":1`)
	})
	if got := text(t, ctx, "#rating"); !strings.Contains(got, "4.8") {
		t.Fatalf("rating = %q", got)
	}
	// The company's number as people write it (the company's locale is
	// en-US), dialled in E.164.
	if got, href := text(t, ctx, "#phone"), eval[string](t, ctx, `document.querySelector("#phone").getAttribute("href")`); got != "(312) 555-0100" || href != "tel:+13125550100" {
		t.Fatalf("phone = %q, %q", got, href)
	}
	// Distance and ETA come with the next fix's progress.
	st.fixAt(token, 41.1430, -8.6075)
	if got := text(t, ctx, "#distance"); got == "" {
		t.Fatal("no distance")
	}
	// The job's window is 09:00-11:00 UTC on 2026-11-27: in Chicago 3-5 AM
	// (in Tokyo it would read 6-8 PM), its day named unless it is today.
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	want := "Arrival window 3:00 AM – 5:00 AM on Fri, Nov 27"
	if time.Now().In(chicago).Format(time.DateOnly) == "2026-11-27" {
		want = "Arrival window 3:00 AM – 5:00 AM"
	}
	if got := clockText(text(t, ctx, "#window")); got != want {
		t.Fatalf("window = %q, want %q", got, want)
	}
	soonIn(t, "ETA", text(t, ctx, "#eta-clock"), chicago)
	// The minutes to the ETA count on between estimates: with the page's
	// clock set 30 minutes back, the same ETA is soon 30 minutes further.
	var before int
	if _, err := fmt.Sscanf(text(t, ctx, "#eta-min"), "in about %d min", &before); err != nil {
		t.Fatalf("minutes to the ETA: %v", err)
	}
	eval[bool](t, ctx, `(function () { var now = Date.now; Date.now = function () { return now.call(Date) - 30 * 60000; }; return true; })()`)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`parseInt(document.querySelector("#eta-min").textContent.replace(/\D+/g, "")) >= %d`, before+29),
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("minutes to the ETA = %q, were %d: %v", text(t, ctx, "#eta-min"), before, err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#map.leaflet-container"))); err != nil {
		t.Fatalf("no map: %v", err)
	}
	if !eval[bool](t, ctx, `!!document.querySelector(".tech-marker")`) {
		t.Fatal("no technician marker")
	}
	// The marker moves when a fix arrives, without a reload.
	st.fixAt(token, 41.1432, -8.6074) // ~25 m on: a plausible step
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#map").dataset.lat === "41.1432"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("marker did not move (at %q): %v", eval[string](t, ctx, `document.querySelector("#map").dataset.lat`), err)
	}
	screenshot(t, ctx, "tracking-verified")

	// Arrival: the status says when, in the company's zone, live and after
	// a reload; the map and the ETA go.
	st.ok("POST", fmt.Sprintf("/api/v1/assignments/%d/start", a), nil)
	for _, reload := range []bool{false, true} {
		if reload {
			if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#status").textContent.startsWith("Arrived at ")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("status after arrival = %q (reload %v): %v", text(t, ctx, "#status"), reload, err)
		}
		soonIn(t, "arrival", strings.TrimPrefix(text(t, ctx, "#status"), "Arrived at "), chicago)
		if !hidden(t, ctx, "#map") || !hidden(t, ctx, "#eta") {
			t.Fatalf("the map or the ETA shows after arrival (reload %v)", reload)
		}
	}
}

// TestTrackingPageRange: once the ETA model has learned enough arrivals
// to know its own errors, the page gives the arrival as a range ("3:42 –
// 3:50 AM"), in the company's zone, holding the ETA the API gives.
func TestTrackingPageRange(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	tech, _, token := st.device("Ana Silva")
	st.ok("PATCH", "/api/v1/company", map[string]any{"time_zone": "America/Chicago"})
	teachArrivals(st.m.model, 41.1496, -8.606)
	a, link := st.trackingLink(tech) // a verified address at 41.1496, -8.606
	st.fixAt(token, 41.1300, -8.6080)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	st.fixAt(token, 41.1310, -8.6079)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#eta-clock").dataset.late > ""`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no range on the page (%q): %v", text(t, ctx, "#eta-clock"), err)
	}
	early, err1 := time.Parse(time.RFC3339, eval[string](t, ctx, `document.querySelector("#eta-clock").dataset.early`))
	late, err2 := time.Parse(time.RFC3339, eval[string](t, ctx, `document.querySelector("#eta-clock").dataset.late`))
	if err1 != nil || err2 != nil || !early.Before(late) {
		t.Fatalf("range %v - %v (%v, %v)", early, late, err1, err2)
	}
	// The API's ETA lies in the range the page shows (to the minute).
	pr, ok := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["progress"].(map[string]any)
	if !ok || pr["eta_early"] == nil || pr["eta_late"] == nil {
		t.Fatalf("progress without a range: %v", pr)
	}
	eta, _ := time.Parse(time.RFC3339Nano, pr["eta"].(string))
	if eta.Before(early.Add(-time.Minute)) || eta.After(late.Add(2*time.Minute)) {
		t.Fatalf("the ETA %v is outside the page's range %v - %v", eta, early, late)
	}
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	clock := clockText(text(t, ctx, "#eta-clock"))
	ends := strings.Split(clock, " – ")
	if len(ends) != 2 {
		t.Fatalf("the arrival reads %q, want a range", clock)
	}
	if !strings.HasSuffix(ends[0], "M") { // "3:42 – 3:50 AM": the half of the day once
		ends[0] += ends[1][strings.LastIndex(ends[1], " "):]
	}
	soonIn(t, "range's start", ends[0], chicago)
	soonIn(t, "range's end", ends[1], chicago)
	if want := early.In(chicago).Format("3:04"); !strings.HasPrefix(ends[0], want) {
		t.Fatalf("the range reads %q, its start %s", clock, want)
	}
	screenshot(t, ctx, "tracking-range")
}

func TestTrackingPageUnverifiedAndRatings(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	tech, _, token := st.device("Bruno Reis")
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"rating": 3.9})
	a, link := st.trackingLink(tech)
	job := int64(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["job_id"].(float64))
	loc := int64(st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil).body["location_id"].(float64))
	st.ok("PATCH", fmt.Sprintf("/api/v1/locations/%d", loc), map[string]any{"verified": false})
	st.fixAt(token, 41.1430, -8.6075)

	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	if got := text(t, ctx, "#tech-name"); got != "Bruno" {
		t.Fatalf("name = %q", got)
	}
	if got := text(t, ctx, "#address"); got != "Rua de Santa Catarina 1, Porto" {
		t.Fatalf("address = %q", got)
	}
	if !hidden(t, ctx, "#map") || !hidden(t, ctx, "#eta") || !hidden(t, ctx, "#rating") {
		t.Fatal("an unverified address shows a map or ETA, or a 3.9 rating shows")
	}
	screenshot(t, ctx, "tracking-unverified-rating-3.9")

	// 4.0 is shown.
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"rating": 4.0})
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#rating"); !strings.Contains(got, "4.0") {
		t.Fatalf("rating 4.0 = %q", got)
	}
}

func TestTrackingPageInactiveLink(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/no-such-token-0123456789")
	if got := text(t, ctx, "h1"); got != "This link is no longer active" {
		t.Fatalf("inactive page = %q", got)
	}
	if body := eval[string](t, ctx, `document.body.innerText`); strings.Contains(body, "Ana") || strings.Contains(body, "Rua") {
		t.Fatal("the inactive page reveals something")
	}
	screenshot(t, ctx, "tracking-inactive")

	// A link past its expiry gets the same page.
	tech, _, _ := st.device("Ana Silva")
	a, _ := st.trackingLink(tech)
	expired := enroute.NewTrackingToken()
	if err := st.m.Store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: a, ExpiresAt: time.Now().Add(-time.Minute)}, enroute.HashSecret(expired)); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+expired)
	if got := text(t, ctx, "h1"); got != "This link is no longer active" {
		t.Fatalf("expired link page = %q", got)
	}
}

// TestTrackingPageReconnects: the server restarts under an open page; the
// page reconnects and the marker moves again without a reload.
func TestTrackingPageReconnects(t *testing.T) {
	st, ctx, token, _ := openOnMap(t)
	addr := st.m.Addr()
	if err := st.m.Close(); err != nil {
		t.Fatal(err)
	}
	m2, _ := start(t, st.env, "--addr", addr) // same data, same address
	st.m = m2
	deadline := time.Now().Add(20 * time.Second)
	for lat := 41.1422; ; lat += 0.0002 { // keep moving until the page shows it
		st.fixAt(token, lat, -8.6079)
		want := strconv.FormatFloat(lat, 'f', -1, 64)
		if eval[string](t, ctx, `document.querySelector("#map").dataset.lat`) == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the page did not reconnect after the server restarted")
		}
		time.Sleep(time.Second)
	}
}

// TestTrackingPageReadsInOrder: each status makes the page read the state
// again, and the answers can come back out of order. The read after the
// arrival is held back until after the visit is completed: its answer,
// older than the completion, leaves the page showing the completion.
func TestTrackingPageReadsInOrder(t *testing.T) {
	st, ctx, token, a := openOnMap(t)
	st.fixAt(token, 41.1424, -8.6079)
	pollJS(t, ctx, "the live stream", `document.querySelector("#map").dataset.lat === "41.1424"`)

	holdNextRead(t, ctx, "/state")
	st.move(a, "start")
	pollJS(t, ctx, "arrived, its read held", `document.querySelector("#status").textContent.startsWith("Arrived at ") && window.slowRead === "held"`)
	st.move(a, "complete")
	pollJS(t, ctx, "completed", `document.querySelector("#status").textContent.startsWith("Completed at ") && !document.querySelector("#feedback").hidden`)
	releaseRead(t, ctx)
	if got := text(t, ctx, "#status"); !strings.HasPrefix(got, "Completed at ") || hidden(t, ctx, "#feedback") {
		t.Fatalf("after the older answer: status %q, feedback hidden %v; want the completion", got, hidden(t, ctx, "#feedback"))
	}
}

// TestTrackingPageReadsAgainAfterAFailure: the read of the state after the
// visit is completed fails; the page reads it again, and shows when it was
// completed and the feedback form (a finished visit reads nothing more,
// so without that it would show neither, for good).
func TestTrackingPageReadsAgainAfterAFailure(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	tech, _, _ := st.device("Ana Silva")
	a, link := st.trackingLink(tech)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	st.move(a, "start")
	pollJS(t, ctx, "arrived, live", `document.querySelector("#status").textContent.startsWith("Arrived at ")`)
	failNextRead(t, ctx, "/state")
	st.move(a, "complete")
	pollJS(t, ctx, "completed, after a failed read", `document.querySelector("#status").textContent.startsWith("Completed at ") && !document.querySelector("#feedback").hidden`)
}

// openOnMap starts a stack and a browser, makes a technician with a
// phone (its token) and an assignment a with a tracking link, sends a
// first fix and opens the link's page, and waits for its map.
func openOnMap(t *testing.T) (st *stack, ctx context.Context, token string, a int64) {
	t.Helper()
	st, ctx = newPageStack(t), browser(t)
	tech, _, token := st.device("Ana Silva")
	a, link := st.trackingLink(tech)
	st.fixAt(token, 41.1420, -8.6080)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#map.leaflet-container"))); err != nil {
		t.Fatal(err)
	}
	return st, ctx, token, a
}
