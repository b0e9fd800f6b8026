package main

import (
	"regexp"
	"strings"
	"testing"
)

// siteFor is a customer speaking lang at a verified location.
func (st *stack) siteFor(phone, lang string) site {
	st.t.Helper()
	c := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Lucía Pérez", "phone": phone, "language": lang}).id()
	l := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": c, "address": "Av. Reforma 222, CDMX", "lat": 19.4326, "lng": -99.1332, "verified": true}).id()
	return site{c, l}
}

// The customer's language picks the templates: Spanish ships and is on;
// a language the company has none of gets its own; a language added by
// the company is its to translate; one turned off falls back.
func TestCustomerLanguage(t *testing.T) {
	st := newStack(t)
	st.settings(true, false, false, false)
	langs := st.ok("GET", "/api/v1/settings/dispatch-notifications/languages", nil)
	es := langs.body["languages"].(map[string]any)["es"].(map[string]any)
	if langs.str("company_language") != "en" || es["enabled"] != true ||
		!strings.HasPrefix(es["templates"].(map[string]any)["dispatch"].(map[string]any)["text_template"].(string), "Hola {CustomerFirstName}") {
		t.Fatalf("languages = %s", langs.raw)
	}
	dispatch := func(s site) string {
		t.Helper()
		job := st.job(s)
		st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
		return st.messages(job)[0]["body"].(string)
	}
	if got := dispatch(st.siteFor("+525512345678", "es-MX")); got != "Hola Lucía, Ana de My Company va en camino a Av. Reforma 222, CDMX." {
		t.Fatalf("Spanish text = %q", got)
	}
	if got := dispatch(st.siteFor("+33612345678", "fr")); !strings.HasPrefix(got, "Hi Lucía, Ana from My Company is on the way") {
		t.Fatalf("French customer's text = %q", got)
	}

	// The e-mail's window, in Spanish words.
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"enabled": true})
	c := st.ok("POST", "/api/v1/customers", map[string]any{"name": "Lucía Pérez", "email": "lucia@example.com", "language": "es"}).id()
	l := st.ok("POST", "/api/v1/locations", map[string]any{"customer_id": c, "address": "Calle Mayor 1, Madrid", "lat": 40.4168, "lng": -3.7038, "verified": true}).id()
	job := st.job(site{c, l})
	st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
	var mail map[string]any
	for _, m := range st.messages(job) {
		if m["channel"] == "email" {
			mail = m
		}
	}
	if mail == nil || mail["subject"] != "Ana de My Company va en camino" || !strings.Contains(mail["body"].(string), "con llegada de 9:00 a 11:00 el vie 27 nov") {
		t.Fatalf("Spanish e-mail = %v", mail)
	}
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/email", map[string]any{"enabled": false})

	// Off: Spanish customers get the company's own.
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/languages/es", map[string]any{"enabled": false})
	if got := dispatch(st.siteFor("+525512345679", "es")); !strings.HasPrefix(got, "Hi Lucía") {
		t.Fatalf("Spanish off = %q", got)
	}

	// A language the company adds starts from its own texts, to translate.
	pt := st.ok("PUT", "/api/v1/settings/dispatch-notifications/languages/pt", map[string]any{"enabled": true,
		"templates": map[string]any{"dispatch": map[string]any{"text_template": "Olá {CustomerFirstName}, {TechnicianFirstName} está a caminho.", "email_subject": "A caminho", "email_body": "Olá"}}})
	ptl := pt.body["languages"].(map[string]any)["pt"].(map[string]any)["templates"].(map[string]any)
	if ptl["arrived"].(map[string]any)["text_template"] != "Hi {CustomerFirstName}, {TechnicianFirstName} from {CompanyName} has arrived at {ServiceAddress}." {
		t.Fatalf("pt's arrived = %v", ptl["arrived"])
	}
	if got := dispatch(st.siteFor("+351912345600", "pt-BR")); got != "Olá Lucía, Ana está a caminho." {
		t.Fatalf("Portuguese text = %q", got)
	}
	for _, tc := range []struct {
		method, lang string
		body         any
		status       int
		want         string
	}{
		{"PUT", "pt", map[string]any{"templates": map[string]any{"dispatch": map[string]any{"text_template": "{Nope}", "email_subject": "x", "email_body": "x"}}}, 400, "templates.dispatch.text_template"},
		{"PUT", "pt", map[string]any{"templates": map[string]any{"reminder": map[string]any{"text_template": "x", "email_subject": "x", "email_body": "x"}}}, 400, "templates.reminder"},
		{"PUT", "PT-br", map[string]any{"enabled": true}, 400, "language"},
		{"DELETE", "es", nil, 409, "ship with Enroute"},
		{"DELETE", "xx", nil, 404, "No xx templates"},
	} {
		if r := st.do(tc.method, "/api/v1/settings/dispatch-notifications/languages/"+tc.lang, tc.body); r.status != tc.status || !strings.Contains(r.raw, tc.want) {
			t.Fatalf("%s %s = %d %s", tc.method, tc.lang, r.status, r.raw)
		}
	}
	st.ok("DELETE", "/api/v1/settings/dispatch-notifications/languages/pt", nil)
	if got := dispatch(st.siteFor("+351912345601", "pt")); !strings.HasPrefix(got, "Hi Lucía") {
		t.Fatalf("after pt deleted = %q", got)
	}

	// The preview speaks the language asked for, off or on.
	p := st.ok("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "kind": "late", "language": "es"})
	if !regexp.MustCompile(`^Hola Jordan, Alex de My Company viene con retraso y ahora llegará hacia las \d{1,2}:\d\d\. `).MatchString(p.str("body")) {
		t.Fatalf("Spanish late preview = %s", p.raw)
	}
	if r := st.do("POST", "/api/v1/settings/dispatch-notifications/preview", map[string]any{"channel": "sms", "language": "Spanish"}); r.status != 400 || !strings.Contains(r.raw, "language") {
		t.Fatalf("bad language preview = %d %s", r.status, r.raw)
	}
}
