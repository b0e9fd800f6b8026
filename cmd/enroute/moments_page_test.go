package main

// The Visit Updates tab of the settings screen, in Chromium.

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Each moment after the dispatch has its section: enable, templates with
// a live preview, Save; on a phone, the screen does not scroll sideways.
func TestSettingsVisitUpdates(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tab="moments"]`))); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `[...document.querySelectorAll("#moments section h2")].map(h => h.textContent).join(",")`); got != "Nearby,Arrived,Completed,Cancelled,Rescheduled" {
		t.Fatalf("sections = %q", got)
	}
	// The defaults are in place and previewed with sample data.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#completed-text-preview").textContent.includes("How did we do? http")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("completed preview = %q: %v", eval[string](t, ctx, `document.querySelector("#completed-text-preview").textContent`), err)
	}
	// Typing in the nearby text previews it, with the sample ETA.
	eval[bool](t, ctx, `(document.querySelector("#nearby-text").value = "", true)`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#nearby-text"), "{TechnicianFirstName} is {ETA} away")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^Alex is \d{1,2}:\d\d [AP]M away$/.test(document.querySelector("#nearby-text-preview").textContent)`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("nearby preview = %q: %v", eval[string](t, ctx, `document.querySelector("#nearby-text-preview").textContent`), err)
	}
	// Saved, turned on at 15 minutes: the API says so after a reload.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#nearby-enabled")),
		chromedp.SetValue(chromedp.CSS("#nearby-minutes"), "15"),
		chromedp.Click(chromedp.CSS(`button[data-save="nearby"]`)),
		chromedp.WaitVisible(chromedp.CSS("#saved")),
	); err != nil {
		t.Fatal(err)
	}
	tab := st.ok("GET", "/api/v1/settings/dispatch-notifications/nearby", nil)
	if tab.body["enabled"] != true || tab.body["minutes"] != 15.0 || tab.str("text_template") != "{TechnicianFirstName} is {ETA} away" {
		t.Fatalf("nearby tab = %s", tab.raw)
	}
	// A bad template is refused with the server's words.
	eval[bool](t, ctx, `(document.querySelector("#arrived-subject").value = "Here {Nope}", true)`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-save="arrived"]`)), chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#error"); !strings.Contains(got, "Unknown token {Nope}") {
		t.Fatalf("error = %q", got)
	}
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("the page is %v px wide on a 390 px phone", w)
	}
	screenshot(t, ctx, "settings-visit-updates-phone")
}

// Quiet hours on the Settings tab: set, saved, read back by the API; a
// bad window is refused by name.
func TestSettingsQuietHours(t *testing.T) {
	st := newPageStack(t)
	if r := st.do("PUT", "/api/v1/settings/dispatch-notifications/general", map[string]any{"quiet_hours": map[string]any{"enabled": true, "start": "21:00", "end": "25:00"}}); r.status != 400 || !strings.Contains(r.raw, "quiet_hours.end") {
		t.Fatalf("bad quiet hours = %d %s", r.status, r.raw)
	}
	ctx := browser(t)
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	if got := eval[string](t, ctx, `document.querySelector("#quiet-start").value + "-" + document.querySelector("#quiet-end").value`); got != "21:00-08:00" {
		t.Fatalf("default window = %q; %s", got, st.ok("GET", "/api/v1/settings/dispatch-notifications/general", nil).raw)
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`[data-tab="general"]`)),
		chromedp.Click(chromedp.CSS("#quiet-enabled")),
		chromedp.SetValue(chromedp.CSS("#quiet-start"), "20:30"),
		chromedp.Click(chromedp.CSS(`button[data-save="general"]`)),
		chromedp.WaitVisible(chromedp.CSS("#saved")),
	); err != nil {
		t.Fatal(err)
	}
	g := st.ok("GET", "/api/v1/settings/dispatch-notifications/general", nil)
	if q := g.body["quiet_hours"].(map[string]any); q["enabled"] != true || q["start"] != "20:30" || q["end"] != "08:00" {
		t.Fatalf("general tab = %s", g.raw)
	}
	screenshot(t, ctx, "settings-quiet-hours")
}

// The Languages tab: Spanish ships, previewed in Spanish; edited and
// saved; a language added starts from the company's texts.
func TestSettingsLanguages(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)); err != nil {
		t.Fatal(err)
	}
	logIn(t, ctx, "http://"+st.m.Addr()+"/settings/dispatch-notifications", testAdminToken)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`[data-tab="languages"]`))); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.querySelector("#lang-pick").value + " " + document.querySelector("#lang-enabled").checked`); got != "es true" {
		t.Fatalf("picked = %q", got)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelector("#lang-dispatch-text-preview").textContent.startsWith("Hola Jordan, Alex de")`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Spanish preview = %q: %v", eval[string](t, ctx, `document.querySelector("#lang-dispatch-text-preview").textContent`), err)
	}
	// The sample window is the next hours': one day's, or two days' when
	// it crosses midnight.
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`/^Hola Jordan:[\s\S]* con llegada (de \d{1,2}:\d\d a \d{1,2}:\d\d el [a-zé]{3} \d{1,2} [a-z]{3,4}|del [a-zé]{3} \d{1,2} [a-z]{3,4} \d{1,2}:\d\d al [a-zé]{3} \d{1,2} [a-z]{3,4} \d{1,2}:\d\d)\./.test(document.querySelector("#lang-dispatch-email-preview").textContent)`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("Spanish e-mail preview = %q: %v", eval[string](t, ctx, `document.querySelector("#lang-dispatch-email-preview").textContent`), err)
	}
	eval[bool](t, ctx, `(document.querySelector("#lang-arrived-text").value = "¡{TechnicianFirstName} ya está aquí!", true)`)
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[data-save="language"]`)), chromedp.WaitVisible(chromedp.CSS("#saved"))); err != nil {
		t.Fatal(err)
	}
	langs := st.ok("GET", "/api/v1/settings/dispatch-notifications/languages", nil)
	es := langs.body["languages"].(map[string]any)["es"].(map[string]any)["templates"].(map[string]any)
	if es["arrived"].(map[string]any)["text_template"] != "¡{TechnicianFirstName} ya está aquí!" || !strings.HasPrefix(es["dispatch"].(map[string]any)["text_template"].(string), "Hola") {
		t.Fatalf("es = %v", es)
	}
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#lang-new"), "pt"), chromedp.Click(chromedp.CSS("#lang-add")), chromedp.WaitVisible(chromedp.CSS("#saved"))); err != nil {
		t.Fatal(err)
	}
	if got := eval[string](t, ctx, `document.querySelector("#lang-pick").value + " " + document.querySelector("#lang-enabled").checked + " " + document.querySelector("#lang-dispatch-text").value`); !strings.HasPrefix(got, "pt false Hi {CustomerFirstName}") {
		t.Fatalf("added = %q", got)
	}
	if w := eval[float64](t, ctx, `document.documentElement.scrollWidth`); w > 390 {
		t.Fatalf("the page is %v px wide on a 390 px phone", w)
	}
	screenshot(t, ctx, "settings-languages-phone")
}
