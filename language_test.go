package enroute_test

import (
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
)

// A customer's language picks its set while it is on; a kind the set
// lacks falls back to the shipped one, then to the company's own.
func TestTemplatesByLanguage(t *testing.T) {
	ds := enroute.DefaultSettings().Dispatch
	if got, lang := ds.Templates(enroute.KindDispatch, "es-MX"); lang != "es" || !strings.HasPrefix(got.Text, "Hola") {
		t.Fatalf("es-MX = %q, %q", got.Text, lang)
	}
	if got, lang := ds.Templates(enroute.KindDispatch, "fr"); lang != "" || got.Text != enroute.DefaultTextTemplate {
		t.Fatalf("fr = %q, %q", got.Text, lang)
	}
	// A set saved before a kind existed: that kind is the shipped one.
	es := ds.Languages["es"]
	delete(es.Templates, enroute.KindNearby)
	if got, lang := ds.Templates(enroute.KindNearby, "es"); lang != "es" || !strings.Contains(got.Text, "ya casi llega") {
		t.Fatalf("es nearby = %q, %q", got.Text, lang)
	}
	// A language of the company's with a kind missing: the company's own.
	ds.Languages["pt"] = enroute.LanguageSettings{Enabled: true, Templates: map[enroute.MessageKind]enroute.MessageTemplates{
		enroute.KindDispatch: {Text: "Olá"}}}
	if got, lang := ds.Templates(enroute.KindArrived, "pt-BR"); lang != "" || got.Text != enroute.DefaultMoments[enroute.KindArrived].TextTemplate {
		t.Fatalf("pt arrived = %q, %q", got.Text, lang)
	}
	if got, lang := ds.Templates(enroute.KindDispatch, "PT-br"); lang != "pt" || got.Text != "Olá" {
		t.Fatalf("PT-br = %q, %q", got.Text, lang)
	}
	es.Enabled = false
	ds.Languages["es"] = es
	if _, lang := ds.Templates(enroute.KindDispatch, "es"); lang != "" {
		t.Fatalf("es off = %q", lang)
	}
}
