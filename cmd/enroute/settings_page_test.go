package main

// The settings screen, in Chromium.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

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
