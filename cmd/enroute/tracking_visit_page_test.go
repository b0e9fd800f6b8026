package main

// The tracking page on a phone (390 x 844), in Chromium: the company's
// colour and logo, the placeholder avatar, the markers and their legend,
// the wait for the first location, the verification code, and the
// feedback form after the visit.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// trackingPhoneViewport makes the page a phone's: 390 x 844 CSS pixels,
// mobile (the meta viewport applies), three device pixels to one.
func trackingPhoneViewport(t *testing.T, ctx context.Context) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(3), chromedp.EmulateMobile)); err != nil {
		t.Fatal(err)
	}
}

// noSideScroll fails when the page is wider than the phone.
func noSideScroll(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	if w := eval[int](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("%s: the page is %d px wide on a 390 px phone: it scrolls sideways", when, w)
	}
}

// pollJS waits until expr holds in the page.
func pollJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestTrackingPageOnPhone: on the way to a verified address with no
// position yet the page says it waits for the first one; the technician
// without a photo, or with one that does not load, has the initial on the
// company's colour, on the page and as the map marker, which differs from
// the address's pin, and a legend names both; the company's logo, name
// (as text) and colour head the page; the verification code is shown;
// nothing scrolls sideways.
func TestTrackingPageOnPhone(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	logo := "http://" + st.m.Addr() + "/static/demo-technician.svg" // served here: the test makes no outside request
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air <b>HVAC</b>", "brand_color": "#0a7e8c", "logo_url": logo, "time_zone": "America/Chicago"})
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"verification_code": true})
	tech, _, token := st.device("Ana Silva") // no photo
	a, link := st.trackingLink(tech)
	code := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).str("verification_code")
	if len(code) != 4 {
		t.Fatalf("verification code %q", code)
	}

	trackingPhoneViewport(t, ctx)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	if got := text(t, ctx, "#waiting"); got != "Waiting for Ana's first location…" {
		t.Fatalf("waiting = %q", got)
	}
	if got := text(t, ctx, "#code"); got != "Your technician's code: "+code+" — ask for it at the door" {
		t.Fatalf("code = %q", got)
	}
	if got := text(t, ctx, "#avatar"); got != "A" || !hidden(t, ctx, "#photo") {
		t.Fatalf("placeholder avatar %q (photo hidden: %v)", got, hidden(t, ctx, "#photo"))
	}
	if got := text(t, ctx, "#company-name"); got != "Cool Air <b>HVAC</b>" {
		t.Fatalf("company name = %q, want the text as typed", got)
	}
	pollJS(t, ctx, "the logo", `document.querySelector("#logo").complete && document.querySelector("#logo").naturalWidth > 0`)
	// The company's colour on the header (white on it: dark enough) and
	// on the placeholder.
	for sel, want := range map[string]string{".company": "rgb(10, 126, 140)", "#avatar": "rgb(10, 126, 140)"} {
		if got := eval[string](t, ctx, fmt.Sprintf(`getComputedStyle(document.querySelector(%q)).backgroundColor`, sel)); got != want {
			t.Fatalf("%s background = %s, want the brand's %s", sel, got, want)
		}
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector(".company")).color`); got != "rgb(255, 255, 255)" {
		t.Fatalf("header text = %s", got)
	}
	if got := text(t, ctx, "#legend"); !strings.Contains(got, "Technician") || !strings.Contains(got, "Your address") {
		t.Fatalf("legend = %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#map .home-marker"))); err != nil {
		t.Fatalf("no address pin: %v", err)
	}
	noSideScroll(t, ctx, "waiting")
	screenshot(t, ctx, "tracking-phone-waiting")

	// The first fix: the wait ends, the technician's round marker shows
	// the initial, apart from the address's pin.
	st.fixAt(token, 41.1420, -8.6080)
	pollJS(t, ctx, "the first position", `document.querySelector("#waiting").hidden && document.querySelector("#map").dataset.lat === "41.142"`)
	if got := text(t, ctx, "#map .tech-marker"); got != "A" {
		t.Fatalf("technician marker = %q, want the initial", got)
	}
	if eval[bool](t, ctx, `document.querySelector("#map .tech-marker").closest(".leaflet-marker-icon") === document.querySelector("#map .home-marker").closest(".leaflet-marker-icon")`) {
		t.Fatal("one marker for both")
	}
	noSideScroll(t, ctx, "en route")
	screenshot(t, ctx, "tracking-phone-en-route")

	// A photo that does not load: the placeholder again, on the page and
	// in the marker.
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"photo_url": "http://127.0.0.1:9/ana.jpg"})
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	pollJS(t, ctx, "the placeholder for a broken photo", `!document.querySelector("#avatar").hidden && document.querySelector("#avatar").textContent === "A" && document.querySelector("#photo").hidden`)
	pollJS(t, ctx, "the marker's initial for a broken photo", `(document.querySelector("#map .tech-marker") || {}).textContent === "A"`)
	noSideScroll(t, ctx, "broken photo")
	screenshot(t, ctx, "tracking-phone-broken-photo")
}

// TestTrackingPageFeedback: the technician's photo shows; once the visit
// is done (live, without a reload) the code goes and the page asks for
// stars and a comment, with radio buttons a keyboard and a screen reader
// can use; sending without stars says so; sent, it thanks, and so does
// the page opened again; the staff read what was said, as it was typed.
func TestTrackingPageFeedback(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air HVAC", "brand_color": "#f4d03f"}) // light: dark text on it
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"verification_code": true})
	tech, _, _ := st.device("Bruno Reis")
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"photo_url": "http://" + st.m.Addr() + "/static/demo-technician.svg"})
	a, link := st.trackingLink(tech)
	st.move(a, "start")

	trackingPhoneViewport(t, ctx)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	pollJS(t, ctx, "the photo", `document.querySelector("#photo").complete && document.querySelector("#photo").naturalWidth > 0 && document.querySelector("#avatar").hidden`)
	if got := text(t, ctx, "#code"); !strings.HasPrefix(got, "Your technician's code: ") {
		t.Fatalf("code while working = %q", got)
	}
	if !hidden(t, ctx, "#feedback") {
		t.Fatal("the feedback form shows before the visit is done")
	}
	if got := eval[string](t, ctx, `getComputedStyle(document.querySelector(".company")).color`); got != "rgb(23, 32, 42)" {
		t.Fatalf("header text on a light colour = %s, want dark", got)
	}

	st.move(a, "complete")
	pollJS(t, ctx, "the finished visit", `document.querySelector("#status").textContent.startsWith("Completed at ") && !document.querySelector("#feedback").hidden`)
	if !hidden(t, ctx, "#code") || !hidden(t, ctx, "#map") {
		t.Fatal("the code or the map shows after the visit")
	}
	labels := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#feedback-form input[type=radio][name=rating]")).map(function (r) { return r.labels[0].textContent.replace("★", ""); })`)
	if strings.Join(labels, ",") != "1 star,2 stars,3 stars,4 stars,5 stars" {
		t.Fatalf("the stars' radio buttons are labelled %q", labels)
	}
	if got := text(t, ctx, "#feedback legend"); got != "Your rating" {
		t.Fatalf("legend = %q", got)
	}
	noSideScroll(t, ctx, "the feedback form")

	// Sending without stars says so, and sends nothing.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#feedback-send"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#feedback-error"); got != "Choose from 1 to 5 stars." {
		t.Fatalf("error = %q", got)
	}
	// Four stars by keyboard (focus the first, arrow right three times:
	// radio buttons, not just pictures), and a comment.
	if err := chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS("#star-1")),
		chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight),
	); err != nil {
		t.Fatal(err)
	}
	pollJS(t, ctx, "four stars chosen", `document.querySelector("#star-4").checked && document.querySelectorAll("#feedback-form label.on").length === 4`)
	comment := "Quick & tidy <b>work</b>"
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#comment"), comment)); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#comment-count"); got != fmt.Sprintf("%d / 1000", len(comment)) {
		t.Fatalf("count = %q", got)
	}
	screenshot(t, ctx, "tracking-phone-feedback-form")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#feedback-send"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#thanks"); got != "Thank you for your feedback!" || !hidden(t, ctx, "#feedback-form") {
		t.Fatalf("after sending: %q (form hidden: %v)", got, hidden(t, ctx, "#feedback-form"))
	}
	noSideScroll(t, ctx, "the thanks")
	screenshot(t, ctx, "tracking-phone-feedback-thanks")

	job := int64(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["job_id"].(float64))
	items := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/feedback", job), nil).items()
	if len(items) != 1 || items[0]["rating"] != 4.0 || items[0]["comment"] != comment {
		t.Fatalf("feedback stored: %v", items)
	}
	// Opened again: thanks, no form.
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#thanks"); got != "Thank you for your feedback!" || !hidden(t, ctx, "#feedback-form") {
		t.Fatalf("opened again: %q (form hidden: %v)", got, hidden(t, ctx, "#feedback-form"))
	}
}

// TestSettingsTrackingPageOptions: the Arrival Tracking tab turns the
// verification code and the feedback's say in ratings on; the Company
// tab sets the page's colour, checked by the server.
func TestSettingsTrackingPageOptions(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-tab="tracking"]`)),
		chromedp.Click(chromedp.CSS("#verification-code")),
		chromedp.Click(chromedp.CSS("#feedback-rating")),
		chromedp.Click(chromedp.CSS(`button[data-save="tracking"]`)),
		chromedp.WaitVisible(chromedp.CSS("#saved")),
	); err != nil {
		t.Fatal(err)
	}
	if tab := st.ok("GET", "/api/v1/settings/dispatch-notifications/tracking", nil); tab.body["verification_code"] != true || tab.body["feedback_updates_rating"] != true {
		t.Fatalf("tracking tab after saving: %s", tab.raw)
	}
	screenshot(t, ctx, "settings-tracking-page-options")

	setColor := func(c string) {
		t.Helper()
		eval[bool](t, ctx, `(document.querySelector("#company-color").value = "", true)`)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`[data-tab="company"]`)),
			chromedp.SendKeys(chromedp.CSS("#company-color"), c),
			chromedp.Click(chromedp.CSS(`button[data-save="company"]`)),
		); err != nil {
			t.Fatal(err)
		}
	}
	setColor("teal")
	if got := text(t, ctx, "#error"); !strings.Contains(got, "brand_color: must be a colour as #rrggbb") {
		t.Fatalf("a colour by name: error = %q", got)
	}
	setColor("#0a7e8c")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#saved"))); err != nil {
		t.Fatal(err)
	}
	if co := st.ok("GET", "/api/v1/company", nil); co.str("brand_color") != "#0a7e8c" {
		t.Fatalf("company after saving: %s", co.raw)
	}
	screenshot(t, ctx, "settings-company-colour")
}
