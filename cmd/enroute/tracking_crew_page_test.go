package main

// The tracking page of a crew, and in the customer's language, on a
// phone (390 x 844) in Chromium.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// crewRow is the JavaScript text of a crew member's row on the page.
func crewRow(assignment int64) string {
	return fmt.Sprintf(`((document.querySelector('#crew-list li[data-assignment="%d"]') || {}).innerText || "")`, assignment)
}

// plain makes the spaces browsers put in dates and times ("3:00 a.m."
// with a narrow no-break space, U+202F, or a no-break space) plain.
func plain(s string) string { return strings.NewReplacer("\u202f", " ", "\u00a0", " ").Replace(s) }

// textOf is an element's text as written (its textContent, spaces
// collapsed), not as styled (innerText is upper case under
// text-transform), once it shows.
func textOf(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	text(t, ctx, sel) // waits for it
	return strings.Join(strings.Fields(eval[string](t, ctx, fmt.Sprintf(`document.querySelector(%q).textContent`, sel))), " ")
}

// TestTrackingPageCrew: two technicians sent to one site, the customer
// holding the first one's link: the page shows both, each with a row
// (the second's: photo placeholder, name, rating, status, ETA), both on
// one map with their names, each with their ETA; the second arrives and
// the page says so at once, without a reload, and takes their marker
// off; a third dispatched later shows when the state is read again (here
// on the link's own technician's arrival); nothing scrolls sideways.
func TestTrackingPageCrew(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air HVAC", "time_zone": "America/Chicago"})
	ana, _, anaPhone := st.device("Ana Silva")
	bruno, _, brunoPhone := st.device("Bruno Reis")
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", bruno), map[string]any{"rating": 4.2})
	as, link := st.crewVisit(ana, bruno)
	st.watcherIdle(5 * time.Second)
	st.fixAt(anaPhone, 41.1420, -8.6080)
	st.fixAt(brunoPhone, 41.1530, -8.6010)

	viewport(t, ctx, 390, 844)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	if got := text(t, ctx, "#tech-name"); got != "Ana" {
		t.Fatalf("name = %q", got)
	}
	until(t, ctx, "Bruno's row", crewRow(as[1])+`.includes("Bruno") && `+crewRow(as[1])+`.includes("On the way")`, crewRow(as[1]))
	if got := textOf(t, ctx, "#crew-title"); got != "Also on this visit" {
		t.Fatalf("crew title = %q", got)
	}
	if row := eval[string](t, ctx, crewRow(as[1])); !strings.Contains(row, "4.2") {
		t.Fatalf("Bruno's row without his 4.2 rating: %q", row)
	}
	if got := text(t, ctx, `#crew-list li[data-assignment="`+fmt.Sprint(as[1])+`"] .avatar`); got != "B" {
		t.Fatalf("Bruno's placeholder = %q", got)
	}
	// Both on one map, each named, each with an ETA once an estimate comes.
	st.fixAt(anaPhone, 41.1425, -8.6078)
	st.fixAt(brunoPhone, 41.1525, -8.6015)
	until(t, ctx, "two named markers", `Array.from(document.querySelectorAll("#map .tech-label")).map(function (l) { return getComputedStyle(l).display === "block" ? l.textContent : ""; }).sort().join(",") === "Ana,Bruno"`,
		`document.querySelector("#map").innerText`)
	until(t, ctx, "Ana's ETA", `document.querySelector("#eta-clock").textContent !== ""`, `document.querySelector("#eta").innerText`)
	until(t, ctx, "Bruno's ETA", crewRow(as[1])+`.includes("Arriving ") && /in about \d+ min/.test(`+crewRow(as[1])+`)`, crewRow(as[1]))
	if got := text(t, ctx, "#legend"); !strings.Contains(got, "Technicians") || !strings.Contains(got, "Your address") {
		t.Fatalf("legend = %q", got)
	}
	// The map shows both technicians and the address.
	if !eval[bool](t, ctx, `(function () {
		var m = document.querySelector("#map").getBoundingClientRect();
		return Array.from(document.querySelectorAll("#map .tech-marker, #map .home-marker")).every(function (e) {
			var r = e.getBoundingClientRect(); return r.left >= m.left && r.right <= m.right && r.top >= m.top && r.bottom <= m.bottom; });
	})()`) {
		t.Fatal("a marker is outside the map")
	}
	fitsWidth(t, ctx, 390)
	screenshot(t, ctx, "tracking-crew-en-route")

	// Bruno arrives: his row says so live; his marker goes; Ana's stays.
	st.move(as[1], "start")
	until(t, ctx, "Bruno arrived", crewRow(as[1])+`.includes("Arrived at ")`, crewRow(as[1]))
	until(t, ctx, "Bruno's marker gone", `document.querySelectorAll("#map .tech-marker").length === 1`, `document.querySelectorAll("#map .tech-marker").length`)
	if got := text(t, ctx, "#status"); got != "On the way" {
		t.Fatalf("Ana's status = %q", got)
	}
	if row := eval[string](t, ctx, crewRow(as[1])); strings.Contains(row, "Arriving") {
		t.Fatalf("an ETA for Bruno after his arrival: %q", row)
	}
	soonIn(t, "Bruno's arrival", strings.SplitN(strings.SplitN(eval[string](t, ctx, crewRow(as[1])), "Arrived at ", 2)[1], "\n", 2)[0], mustZone(t, "America/Chicago"))
	fitsWidth(t, ctx, 390)
	screenshot(t, ctx, "tracking-crew-arrived")

	// Carla is sent to the site later; the page learns of her when it
	// reads the state again, on Ana's arrival.
	carla, _, _ := st.device("Carla Dias")
	job := int64(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", as[0]), nil).body["job_id"].(float64))
	loc := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil).body
	carlaJob := st.ok("POST", "/api/v1/jobs", map[string]any{"number": "J-CARLA", "customer_id": loc["customer_id"], "location_id": loc["location_id"],
		"window_start": "2026-11-27T09:00:00Z", "window_end": "2026-11-27T11:00:00Z"}).id()
	carlaA := st.assign(carlaJob, carla)
	st.move(carlaA, "dispatch")
	st.move(as[0], "start")
	until(t, ctx, "Ana arrived", `document.querySelector("#status").textContent.startsWith("Arrived at ")`, `document.querySelector("#status").textContent`)
	until(t, ctx, "Carla's row", crewRow(carlaA)+`.includes("Carla") && `+crewRow(carlaA)+`.includes("On the way")`, `document.querySelector("#crew-list").innerText`)
	// Carla has no position yet: the map waits for her, Ana's marker gone.
	until(t, ctx, "the map for Carla", `!document.querySelector("#map").hidden && document.querySelectorAll("#map .tech-marker").length === 0`, `document.querySelectorAll("#map .tech-marker").length`)
	if row := eval[string](t, ctx, crewRow(carlaA)); !strings.Contains(row, "Waiting for Carla's first location") {
		t.Fatalf("Carla's row = %q", row)
	}
	fitsWidth(t, ctx, 390)
	screenshot(t, ctx, "tracking-crew-later")

	// Bruno done: his row goes.
	st.move(as[1], "complete")
	until(t, ctx, "Bruno's row gone", crewRow(as[1])+` === ""`, `document.querySelector("#crew-list").innerText`)
}

// noEnglish fails if a string of the page's English table (one without
// slots, as written) shows on the page.
func noEnglish(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	shown := eval[[]string](t, ctx, `(function () {
		var en = TrackingI18n.strings.en, es = TrackingI18n.strings.es, text = document.querySelector("main").innerText + " " +
			Array.from(document.querySelectorAll("[aria-label]")).map(function (e) { return e.getAttribute("aria-label"); }).join(" ");
		return Object.keys(en).filter(function (k) {
			var s = en[k];
			return typeof s === "string" && s.indexOf("{") < 0 && s !== es[k] && text.toLowerCase().indexOf(s.toLowerCase()) >= 0;
		}).map(function (k) { return en[k]; });
	})()`)
	if len(shown) > 0 {
		t.Errorf("%s: English on the Spanish page: %q", when, shown)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestTrackingPageSpanish: a customer whose language is es-MX (the
// company's en-US) gets the page in Spanish: its lang, the status, the
// code, the waiting line, the legend, the ETA, the crew, the window's
// day and times as Mexican Spanish writes them (in the company's zone),
// and after the visit the feedback form, its error and its thanks;
// nothing scrolls sideways.
func TestTrackingPageSpanish(t *testing.T) {
	st := newPageStack(t)
	ctx := browser(t)
	st.ok("PATCH", "/api/v1/company", map[string]any{"name": "Cool Air HVAC", "time_zone": "America/Chicago", "locale": "en-US", "phone": "+13125550100"})
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"verification_code": true})
	ana, _, anaPhone := st.device("Ana Silva")
	bruno, _, _ := st.device("Bruno Reis")
	as, link := st.crewVisit(ana, bruno)
	job := int64(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", as[0]), nil).body["job_id"].(float64))
	cust := int64(st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil).body["customer_id"].(float64))
	st.ok("PATCH", fmt.Sprintf("/api/v1/customers/%d", cust), map[string]any{"language": "es-MX"})
	code := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", as[0]), nil).str("verification_code")
	st.watcherIdle(5 * time.Second)

	viewport(t, ctx, 390, 844)
	navigate(t, ctx, "http://"+st.m.Addr()+"/t/"+link)
	until(t, ctx, "the page in Spanish", `document.documentElement.lang === "es" && document.querySelector("#status").textContent === "En camino"`, `document.documentElement.lang + " " + document.querySelector("#status").textContent`)
	for sel, want := range map[string]string{
		"#waiting":     "Esperando la primera ubicación de Ana…",
		"#code":        "Código de su técnico: " + code + " — pídaselo en la puerta",
		"#legend":      "Técnicos Su dirección",
		"#crew-title":  "También en esta visita",
		".dest .label": "Dirección del servicio",
		"#phone-line":  "¿Preguntas? Llame al (312) 555-0100",
	} {
		if got := textOf(t, ctx, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	if row := eval[string](t, ctx, crewRow(as[1])); !strings.Contains(row, "Bruno") || !strings.Contains(row, "En camino") || !strings.Contains(row, "Esperando la primera ubicación de Bruno…") {
		t.Errorf("Bruno's row = %q", row)
	}
	// The window, 09:00-11:00 UTC on 2026-11-27: in Chicago 3-5 AM, as
	// Mexican Spanish writes it, its day named unless it is today.
	want := "Horario de llegada: 3:00 a.m. – 5:00 a.m., el vie 27 de nov"
	if time.Now().In(mustZone(t, "America/Chicago")).Format(time.DateOnly) == "2026-11-27" {
		want = "Horario de llegada: 3:00 a.m. – 5:00 a.m."
	}
	if got := plain(text(t, ctx, "#window")); got != want {
		t.Errorf("window = %q, want %q", got, want)
	}
	// The first fix, then an estimate: the ETA in Spanish.
	st.fixAt(anaPhone, 41.1420, -8.6080)
	st.fixAt(anaPhone, 41.1425, -8.6078)
	until(t, ctx, "the ETA in Spanish", `/^ en unos \d+ min$/.test(document.querySelector("#eta-min").textContent) && document.querySelector("#eta .label").textContent === "Llegada"`,
		`document.querySelector("#eta").innerText`)
	if got := plain(text(t, ctx, "#eta-clock")); !strings.HasSuffix(got, " a.m.") && !strings.HasSuffix(got, " p.m.") {
		t.Errorf("ETA clock = %q, want Mexican Spanish's a.m./p.m.", got)
	}
	// Spanish has every string English has, and no English one shows.
	if missing := eval[[]string](t, ctx, `Object.keys(TrackingI18n.strings.en).filter(function (k) { return !(k in TrackingI18n.strings.es); })`); len(missing) > 0 {
		t.Errorf("strings without Spanish: %v", missing)
	}
	noEnglish(t, ctx, "en route")
	noSideScroll(t, ctx, "Spanish, en route")
	screenshot(t, ctx, "tracking-es-en-route")

	// Arrived, then done: the status says when, in Spanish; the feedback
	// form asks in Spanish.
	st.move(as[0], "start")
	until(t, ctx, "arrived in Spanish", `/^Llegó a las? \d/.test(document.querySelector("#status").textContent)`, `document.querySelector("#status").textContent`)
	st.move(as[0], "complete")
	until(t, ctx, "completed in Spanish", `/^Completada a las? \d/.test(document.querySelector("#status").textContent) && !document.querySelector("#feedback").hidden`,
		`document.querySelector("#status").textContent`)
	for sel, want := range map[string]string{
		"#feedback-title":  "¿Qué tal fue su visita?",
		"#feedback legend": "Su calificación",
		".comment-label":   "¿Algo que quiera contarnos? (opcional)",
		"#feedback-send":   "Enviar opinión",
	} {
		if got := text(t, ctx, sel); got != want {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	labels := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#feedback-form input[type=radio][name=rating]")).map(function (r) { return r.labels[0].textContent.replace("★", ""); })`)
	if strings.Join(labels, ",") != "1 estrella,2 estrellas,3 estrellas,4 estrellas,5 estrellas" {
		t.Errorf("the stars' radio buttons are labelled %q", labels)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#feedback-send"))); err != nil {
		t.Fatal(err)
	}
	if got := text(t, ctx, "#feedback-error"); got != "Elija de 1 a 5 estrellas." {
		t.Errorf("error = %q", got)
	}
	noEnglish(t, ctx, "the feedback form")
	noSideScroll(t, ctx, "Spanish feedback form")
	screenshot(t, ctx, "tracking-es-feedback-form")
	if err := chromedp.Do(ctx,
		chromedp.Focus(chromedp.CSS("#star-1")),
		chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight), chromedp.KeyEvent(kb.ArrowRight),
		chromedp.SendKeys(chromedp.CSS("#comment"), "¡Muy bien!"),
		chromedp.Click(chromedp.CSS("#feedback-send")),
	); err != nil {
		t.Fatal(err)
	}
	until(t, ctx, "thanks in Spanish", `document.querySelector("#thanks").textContent === "¡Gracias por su opinión!" && document.querySelector("#feedback-title").textContent === "Su opinión"`,
		`document.querySelector("#feedback").innerText`)
	noSideScroll(t, ctx, "Spanish thanks")
	screenshot(t, ctx, "tracking-es-feedback-thanks")
	if items := st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d/feedback", job), nil).items(); len(items) != 1 || items[0]["rating"] != 5.0 {
		t.Fatalf("feedback stored: %v", items)
	}
}
