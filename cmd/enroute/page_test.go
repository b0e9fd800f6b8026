package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/enroutehq/enroute"
)

// browser starts headless Chromium (Debian's package) with a fresh profile,
// closed when the test ends. Without Chromium the test skips, or under
// CI=true fails: .ci/run installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed; .ci/run installs it (apt-get install -y chromium)")
		}
		t.Skip("page tests skipped: install chromium (apt-get install -y chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(420, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	ctx, cancelT := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancelT)
	return ctx
}

// screenshot saves the page into testdata/artifacts.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("testdata", "artifacts")
	_ = os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func newPageStack(t *testing.T) *stack {
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken,
		"ENROUTE_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png"}} // no tile server: the page must work without
	st.m, _ = start(t, st.env)
	return st
}

// logIn opens a staff page (the settings screen, the board) and logs in
// with key.
func logIn(t *testing.T, ctx context.Context, pageURL, key string) {
	t.Helper()
	navigate(t, ctx, pageURL)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS("#login")),
		chromedp.SendKeys(chromedp.CSS("#key"), key),
		chromedp.Click(chromedp.CSS("#login button")),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	); err != nil {
		t.Fatalf("log in: %v", err)
	}
}

// text waits for an element to show and returns its text.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(sel))); err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	// The page fills its fields from /state after loading: give it the
	// time to, rather than read a field before it is filled.
	q, _ := json.Marshal(sel)
	_, _ = chromedp.Run(ctx, chromedp.Poll[bool](fmt.Sprintf(`document.querySelector(%s).textContent.trim() !== ""`, q), chromedp.WithPollingTimeout(5*time.Second)))
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("%s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// hidden reports whether the element is not shown: not laid out at all
// (display: none, its own or an ancestor's). Not the hidden attribute
// alone: a stylesheet's display rule overrides it, and the element shows.
func hidden(t *testing.T, ctx context.Context, sel string) bool {
	t.Helper()
	return eval[bool](t, ctx, fmt.Sprintf(`document.querySelector(%q).getClientRects().length === 0`, sel))
}

// inZone makes the browser's zone name (as a phone's settings would), on
// a blank page: zone-dependent pages must not follow it.
func inZone(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	navigate(t, ctx, "about:blank") // a target to set it on
	if _, err := chromedp.Call(ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: name}); err != nil {
		t.Fatal(err)
	}
}

// soonIn fails unless clock (as the page shows it, "3:04 PM") is a time
// in loc within the next two hours: an ETA minutes away, read in loc's
// zone and not another (the tests' other zone is hours apart).
func soonIn(t *testing.T, what, clock string, loc *time.Location) {
	t.Helper()
	c, err := time.Parse("3:04 PM", clockText(clock))
	if err != nil {
		t.Fatalf("%s clock: %v", what, err)
	}
	now := time.Now().In(loc)
	ahead := (c.Hour()*60 + c.Minute() - now.Hour()*60 - now.Minute() + 24*60) % (24 * 60)
	if ahead > 120 && ahead < 24*60-5 { // more than 2 h ahead, or over 5 min behind
		t.Fatalf("%s clock %q with %s's now %s: not in that zone", what, clock, loc, now.Format("3:04 PM"))
	}
}

// clockText is a time as the page shows it with the spaces browsers put
// around "AM" (a narrow no-break space, U+202F) made plain.
func clockText(s string) string { return strings.ReplaceAll(s, "\u202f", " ") }

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatal(err)
	}
}

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

func TestSettingsScreen(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	if got := text(t, ctx, "#sms-status"); got != "No default SMS number" || eval[string](t, ctx, `document.querySelector("#sms-status").className`) != "status-missing" {
		t.Fatalf("SMS number status = %q", got)
	}
	// This server only logs texts and cannot send e-mail: the tabs say so.
	if got := text(t, ctx, "#sms-provider-note"); !strings.Contains(got, "only writes texts to its log") {
		t.Fatalf("Text tab's provider note = %q", got)
	}
	if got := eval[string](t, ctx, `document.querySelector("#email-provider-note").textContent`); !strings.Contains(got, "cannot send e-mail") ||
		!eval[bool](t, ctx, `document.querySelector("#email-enabled").disabled`) {
		t.Fatalf("Email tab's provider note = %q (its toggle disabled: %v)", got, eval[bool](t, ctx, `document.querySelector("#email-enabled").disabled`))
	}

	// Enabling text without a default SMS number is refused, and says so.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#text-enabled")), chromedp.Click(chromedp.CSS(`button[data-save="text"]`))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#error"); !strings.Contains(got, "default SMS number must be set up") {
		t.Fatalf("error = %q", got)
	}
	screenshot(t, ctx, "settings-text-no-number")

	// The preview follows typing, with the SMS's segments.
	eval[bool](t, ctx, `(document.querySelector("#text-template").value = "", true)`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#text-template"), "Hello {CustomerFirstName}, see you soon")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#text-preview").textContent === "Hello Jordan, see you soon"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("preview = %q: %v", eval[string](t, ctx, `document.querySelector("#text-preview").textContent`), err)
	}
	if got := text(t, ctx, "#text-info"); !strings.Contains(got, "GSM-7 · 1 segment") {
		t.Fatalf("SMS info = %q", got)
	}

	// With a number (typed as it is written in the US, the company's
	// locale), Save holds, and persists across a reload.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#edit-phone")),
		chromedp.SendKeys(chromedp.CSS("#from-number"), "(312) 555-0100"),
		chromedp.Click(chromedp.CSS(`button[data-save="text"]`)),
		chromedp.WaitVisible(chromedp.CSS("#saved")),
		chromedp.Reload(),
		chromedp.WaitVisible(chromedp.CSS("#app")),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#sms-status"); got != "(312) 555-0100" || !eval[bool](t, ctx, `document.querySelector("#text-enabled").checked`) ||
		eval[string](t, ctx, `document.querySelector("#text-template").value`) != "Hello {CustomerFirstName}, see you soon" {
		t.Fatalf("after reload: number %q, enabled %v", got, eval[bool](t, ctx, `document.querySelector("#text-enabled").checked`))
	}
	screenshot(t, ctx, "settings-text-saved")

	// Arrival tracking without GPS: the error links to the GPS settings.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-tab="tracking"]`)),
		chromedp.Click(chromedp.CSS("#tracking-enabled")),
		chromedp.Click(chromedp.CSS(`button[data-save="tracking"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#error"); !strings.Contains(got, "Native GPS must be set up") || !strings.Contains(got, "View GPS settings") {
		t.Fatalf("tracking error = %q", got)
	}
	// When a technician counts as arrived: the defaults shown, a radius
	// closer than GPS can tell refused naming the field, a wider one and
	// a shorter dwell saved.
	if r, d := eval[string](t, ctx, `document.querySelector("#arrival-radius").value`), eval[string](t, ctx, `document.querySelector("#arrival-dwell").value`); r != "125" || d != "60" {
		t.Fatalf("arrival rule shown: %s m, %s s; want 125 m, 60 s", r, d)
	}
	setField := func(sel, v string) {
		t.Helper()
		q, _ := json.Marshal(sel)
		eval[bool](t, ctx, fmt.Sprintf(`(document.querySelector(%s).value = "", true)`, q))
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v)); err != nil {
			t.Fatal(err)
		}
	}
	setField("#arrival-radius", "10")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#tracking-enabled")), chromedp.Click(chromedp.CSS(`button[data-save="tracking"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#error").textContent.includes("arrival_radius_m: must be between 25 and 1000 metres")`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Fatalf("radius 10 m: error = %q", eval[string](t, ctx, `document.querySelector("#error").textContent`))
	}
	setField("#arrival-radius", "300")
	setField("#arrival-dwell", "45")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-save="tracking"]`)), chromedp.WaitVisible(chromedp.CSS("#saved"))); err != nil {
		t.Fatal(err)
	}
	if tr := st.ok("GET", "/api/v1/settings/dispatch-notifications/tracking", nil); !strings.Contains(tr.raw, `"arrival_radius_m":300`) || !strings.Contains(tr.raw, `"arrival_dwell_s":45`) {
		t.Fatalf("arrival rule not saved: %s", tr.raw)
	}
	// The limit rule's checkbox on the Settings tab saves.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-tab="general"]`)),
		chromedp.Click(chromedp.CSS("#limit")),
		chromedp.Click(chromedp.CSS(`button[data-save="general"]`)),
		chromedp.WaitVisible(chromedp.CSS("#saved")),
	); err != nil {
		t.Fatal(err)
	}
	if all := st.ok("GET", "/api/v1/settings/dispatch-notifications", nil); !strings.Contains(all.raw, `"limit_when_multiple_techs":true`) {
		t.Fatalf("limit not saved: %s", all.raw)
	}
	screenshot(t, ctx, "settings-limit")

	// The Company tab: the time zone the messages and pages use, checked
	// by the server (an unknown one is refused, naming the field).
	setZone := func(zone string) {
		t.Helper()
		eval[bool](t, ctx, `(document.querySelector("#company-tz").value = "", true)`)
		if err := chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`[data-tab="company"]`)),
			chromedp.SendKeys(chromedp.CSS("#company-tz"), zone),
			chromedp.Click(chromedp.CSS(`button[data-save="company"]`)),
		); err != nil {
			t.Fatal(err)
		}
	}
	setZone("Mars/Olympus")
	if got := text(t, ctx, "#error"); !strings.Contains(got, "time_zone: must be an IANA time zone") {
		t.Fatalf("unknown zone: error = %q", got)
	}
	setZone("America/Denver")
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#saved"))); err != nil {
		t.Fatal(err)
	}
	if co := st.ok("GET", "/api/v1/company", nil); co.str("time_zone") != "America/Denver" {
		t.Fatalf("company after saving = %s", co.raw)
	}
	screenshot(t, ctx, "settings-company")

	// Running Late: its templates have their own previews, {NewETA} a
	// sample time, following typing.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tab="late"]`))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#late-text-preview"); !regexp.MustCompile(`is running late and now expects to arrive around \d{1,2}:\d{2} [AP]M`).MatchString(got) {
		t.Fatalf("late text preview = %q", got)
	}
	if got := text(t, ctx, "#late-email-preview-subject"); got != "Alex is running late" {
		t.Fatalf("late e-mail subject preview = %q", got)
	}
	eval[bool](t, ctx, `(document.querySelector("#late-text").value = "", true)`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#late-text"), "New time: {NewETA}")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^New time: \d{1,2}:\d{2} [AP]M$/.test(document.querySelector("#late-text-preview").textContent)`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("late preview after typing = %q", eval[string](t, ctx, `document.querySelector("#late-text-preview").textContent`))
	}
	screenshot(t, ctx, "settings-late")

	// The board is a link away; Sign out goes back to the log-in form.
	if got := eval[string](t, ctx, `document.querySelector("nav.top a").getAttribute("href")`); got != "/dispatch" {
		t.Fatalf("the settings link to %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#logout")), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		t.Fatal(err)
	}
}

// TestSettingsTechnicians: the Technicians tab adds a technician, refuses
// a nameless one naming the field, and edits one (rating, inactive).
func TestSettingsTechnicians(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	fill := func(sel, v string) { // what is typed replaces what was there
		t.Helper()
		eval[bool](t, ctx, fmt.Sprintf(`(document.querySelector(%q).value = "", true)`, sel))
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(sel), v)); err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tab="technicians"]`))); err != nil {
		t.Fatal(err)
	}
	fill("#tech-name", "Ana Silva")
	fill("#tech-photo", "https://example.com/ana.jpg")
	fill("#tech-rating", "4.8")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#tech-save")), chromedp.WaitVisible(chromedp.CSS("#saved"))); err != nil {
		t.Fatal(err)
	}
	techs := st.ok("GET", "/api/v1/technicians", nil).items()
	if len(techs) != 1 || techs[0]["name"] != "Ana Silva" || techs[0]["rating"] != 4.8 || techs[0]["photo_url"] != "https://example.com/ana.jpg" || techs[0]["active"] != true {
		t.Fatalf("technicians after adding = %v", techs)
	}
	ana := int64(techs[0]["id"].(float64))
	row := fmt.Sprintf(`((document.querySelector('#tech-list tr[data-technician="%d"]') || {}).innerText || "")`, ana)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.includes("4.8 ★ shown") && `+row+`.includes("Yes")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row = %q: %v", eval[string](t, ctx, row), err)
	}
	// No name: refused, naming the field; nothing added.
	fill("#tech-name", " ")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#tech-save"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#error"); !strings.Contains(got, "name") {
		t.Fatalf("nameless technician: error = %q", got)
	}
	if n := len(st.ok("GET", "/api/v1/technicians", nil).items()); n != 1 {
		t.Fatalf("%d technicians after a refused one", n)
	}
	// Edit: below 4 stars the rating is no longer shown; inactive.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[aria-label="Edit Ana Silva"]`))); err != nil {
		t.Fatal(err)
	}
	fill("#tech-rating", "3.5")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#tech-active")), chromedp.Click(chromedp.CSS("#tech-save"))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.includes("3.5 (not shown)") && `+row+`.includes("No")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row after editing = %q: %v", eval[string](t, ctx, row), err)
	}
	if a := st.ok("GET", fmt.Sprintf("/api/v1/technicians/%d", ana), nil); !strings.Contains(a.raw, `"rating":3.5`) || !strings.Contains(a.raw, `"active":false`) || a.str("name") != "Ana Silva" {
		t.Fatalf("Ana after editing = %s", a.raw)
	}
	screenshot(t, ctx, "settings-technicians")
}

// TestSettingsPhones: the GPS settings register a technician's phone and
// show, once, what to enter into Traccar Client or OwnTracks; a phone set
// up from exactly that sends, and a removed one no longer can.
func TestSettingsPhones(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	ana := st.ok("POST", "/api/v1/technicians", map[string]any{"name": "Ana Silva"}).id()
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tab="tracking"]`))); err != nil {
		t.Fatal(err)
	}
	row := fmt.Sprintf(`((document.querySelector('#phones tr[data-technician="%d"]') || {}).innerText || "")`, ana)
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.includes("Ana Silva") && `+row+`.includes("None")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row = %q: %v", eval[string](t, ctx, row), err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[aria-label="Register a phone for Ana Silva"]`))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#new-phone-title"); got != "Phone registered for Ana Silva" {
		t.Fatalf("title = %q", got)
	}
	osmandURL, ident, token := text(t, ctx, "#setup-osmand"), text(t, ctx, "#setup-ident"), text(t, ctx, "#setup-token")
	if want := "http://" + st.m.OsmAndAddr(); osmandURL != want {
		t.Fatalf("Traccar Client's server URL = %q, want %q", osmandURL, want)
	}
	if got, want := text(t, ctx, "#setup-owntracks"), st.m.Config.PublicURL+"/api/v1/owntracks"; got != want {
		t.Fatalf("OwnTracks URL = %q, want %q", got, want)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.includes(`+strconv.Quote(ident)+`)`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row after registering = %q: %v", eval[string](t, ctx, row), err)
	}
	screenshot(t, ctx, "settings-phone-registered")
	// The phone, set up as shown: Traccar Client, then OwnTracks.
	if status, raw := send(t, "GET", osmandURL+"/?id="+ident+"&lat=41.1496&lon=-8.6109", "", ""); status != 200 {
		t.Fatalf("Traccar Client with the shown settings = %d %s", status, raw)
	}
	ot := fmt.Sprintf(`{"_type":"location","lat":41.1498,"lon":-8.6107,"tst":%d}`, time.Now().Unix())
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("ana:"+token))
	if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/owntracks", "application/json", ot, "Authorization", auth); status != 200 {
		t.Fatalf("OwnTracks with the shown token = %d %s", status, raw)
	}
	if n, err := st.m.Store.CountPositions(context.Background()); err != nil || n != 2 {
		t.Fatalf("stored %d fixes (%v), want 2", n, err)
	}
	// Removing it (after the browser's confirmation) stops it at once.
	eval[bool](t, ctx, `(window.confirm = function () { return true; }, true)`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#phones button[aria-label^="Remove"]`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](row+`.includes("None")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Ana's row after removing = %q: %v", eval[string](t, ctx, row), err)
	}
	if status, _ := send(t, "GET", osmandURL+"/?id="+ident+"&lat=41.1500&lon=-8.6105", "", ""); status != 400 {
		t.Fatalf("a removed phone's fix = %d, want 400", status)
	}
}

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
	click := func(label string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[aria-label=%q]`, label)))); err != nil {
			t.Fatalf("%s: %v", label, err)
		}
	}
	click("Dispatch Ana Silva to " + num1)
	result("Ana Silva is on the way to "+num1+".", "Text to the customer")
	status(a1, "dispatched")
	screenshot(t, ctx, "dispatch-board-dispatched")
	// Ana is on the way to the same site: the limit rule holds Bruno's text.
	click("Dispatch Bruno Reis to " + num2)
	result("Bruno Reis is on the way to "+num2+".", "Text to the customer not sent")
	status(a2, "dispatched")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll("#jobs li").length === 0 && !document.querySelector("#jobs-none").hidden`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil { // the list reloads after the answer
		t.Fatalf("%d jobs still listed to dispatch: %v", eval[int](t, ctx, `document.querySelectorAll("#jobs li").length`), err)
	}
	// Ana's row: Arrived, then Done.
	click("Arrived: Ana Silva")
	result("Ana Silva: working at the site.")
	status(a1, "working")
	click("Done: Ana Silva")
	result("Ana Silva: job done.")
	status(a1, "done")
	row := fmt.Sprintf(`((document.querySelector('tr[data-tech="%d"]') || {}).innerText || "")`, ana)
	if got := eval[string](t, ctx, row); !strings.Contains(got, "Not assigned") {
		t.Fatalf("Ana's row after Done = %q", got)
	}
}

// TestTrackingPageReconnects: the server restarts under an open page; the
// page reconnects and the marker moves again without a reload.
func TestTrackingPageReconnects(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	tech, _, token := st.device("Ana Silva")
	_, link := st.trackingLink(tech)
	st.fixAt(token, 41.1420, -8.6080)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS("#map.leaflet-container"))); err != nil {
		t.Fatal(err)
	}
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

// TestHomePage: / says what this server is, for whom, and links to the
// board, the settings, the API document and health; the log-in forms name
// the product and the company and say where keys come from. Before, /
// answered a JSON 404.
func TestHomePage(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air <HVAC>"})
	navigate(t, ctx, "http://"+st.m.Addr()+"/")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector(".company-name").textContent === "Cool Air <HVAC>"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("company on the home page = %q: %v", text(t, ctx, ".company-name"), err)
	}
	links := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("main a")).map(function (a) { return a.getAttribute("href"); })`)
	for _, want := range []string{"/dispatch", "/settings/dispatch-notifications", "/api/v1/openapi.yaml", "/healthz", "/readyz"} {
		if !slices.Contains(links, want) {
			t.Errorf("the home page does not link %s: %v", want, links)
		}
	}
	for _, href := range links {
		if status, _ := send(t, "GET", "http://"+st.m.Addr()+href, "", ""); status != 200 {
			t.Errorf("%s answers %d", href, status)
		}
	}
	screenshot(t, ctx, "home")
	for _, page := range []string{"/dispatch", "/settings/dispatch-notifications"} {
		navigate(t, ctx, "http://"+st.m.Addr()+page)
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.querySelector("#login").hidden && document.querySelector("#login .company-name").textContent === "Cool Air <HVAC>"`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Fatalf("%s log-in form: %q: %v", page, text(t, ctx, "#login"), err)
		}
		if got := text(t, ctx, "#login"); !strings.Contains(got, "Enroute") || !strings.Contains(got, "printed once when the server first starts") {
			t.Errorf("%s log-in form = %q", page, got)
		}
	}
}
