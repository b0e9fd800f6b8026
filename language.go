package enroute

import (
	"regexp"
	"strings"
)

// MessageTemplates are one message's texts in one language: the text, and
// the e-mail's subject and body.
type MessageTemplates struct {
	Text         string `json:"text_template"`
	EmailSubject string `json:"email_subject"`
	EmailBody    string `json:"email_body"`
}

// TemplateKinds lists the kinds Enroute sends from templates, in the
// settings screen's order.
var TemplateKinds = []MessageKind{KindDispatch, KindLate, KindNearby, KindArrived, KindCompleted, KindCancelled, KindRescheduled}

// LanguageSettings are a language's own templates: customers whose
// language it is get them while Enabled. A kind without its own falls
// back to the shipped default of the language, then to the company's.
type LanguageSettings struct {
	Enabled   bool                             `json:"enabled"`
	Templates map[MessageKind]MessageTemplates `json:"templates"`
}

// PrimaryLanguage is a language tag's language: "es" of "es-MX", in lower
// case; "" for "".
func PrimaryLanguage(tag string) string {
	p, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(p)
}

var languageRE = regexp.MustCompile(`^[a-z]{2,3}$`)

// ValidLanguage reports whether s is a primary language subtag: "es".
func ValidLanguage(s string) bool { return languageRE.MatchString(s) }

// Base returns the company's own templates of kind: those its customers
// get in the company's language, and any language without its own.
func (d *DispatchSettings) Base(kind MessageKind) (MessageTemplates, bool) {
	switch kind {
	case KindDispatch:
		return MessageTemplates{d.Text.Template, d.Email.Subject, d.Email.Body}, true
	case KindLate:
		return MessageTemplates{d.Late.TextTemplate, d.Late.EmailSubject, d.Late.EmailBody}, true
	}
	if m := d.Moment(kind); m != nil {
		return MessageTemplates{m.TextTemplate, m.EmailSubject, m.EmailBody}, true
	}
	return MessageTemplates{}, false
}

// Templates returns kind's templates for a customer whose language tag is
// tag, and the language they are in ("" for the company's own): the
// language's when the company has it on, else its own.
func (d *DispatchSettings) Templates(kind MessageKind, tag string) (MessageTemplates, string) {
	lang := PrimaryLanguage(tag)
	if d.Languages[lang].Enabled {
		if t, ok := d.LanguageTemplates(kind, lang); ok {
			return t, lang
		}
	}
	t, _ := d.Base(kind)
	return t, ""
}

// LanguageTemplates returns a language's own templates of kind, on or
// off: the company's, else the shipped ones.
func (d *DispatchSettings) LanguageTemplates(kind MessageKind, lang string) (MessageTemplates, bool) {
	if t, ok := d.Languages[lang].Templates[kind]; ok {
		return t, true
	}
	t, ok := DefaultLanguages[lang].Templates[kind]
	return t, ok
}

// DefaultLanguages are the languages shipped with their templates, on:
// a customer whose language is Spanish gets Spanish messages from the
// start. Each is editable, and can be turned off.
var DefaultLanguages = map[string]LanguageSettings{
	"es": {Enabled: true, Templates: map[MessageKind]MessageTemplates{
		KindDispatch: {
			Text:         "Hola {CustomerFirstName}, {TechnicianFirstName} de {CompanyName} va en camino a {ServiceAddress}. {TechTrackingURL}",
			EmailSubject: "{TechnicianFirstName} de {CompanyName} va en camino",
			EmailBody:    "Hola {CustomerFirstName}:\n\n{TechnicianName} de {CompanyName} va en camino a {ServiceAddress} para el trabajo {JobNumber}, con llegada {ArrivalWindow}.\n\n{TechTrackingURL}\n\n¿Preguntas? Llámenos al {CompanyPhone}.",
		},
		KindLate: {
			Text:         "Hola {CustomerFirstName}, {TechnicianFirstName} de {CompanyName} viene con retraso y ahora llegará hacia las {NewETA}. Disculpe la espera. {TechTrackingURL}",
			EmailSubject: "{TechnicianFirstName} viene con retraso",
			EmailBody:    "Hola {CustomerFirstName}:\n\n{TechnicianName} de {CompanyName} viene con retraso y ahora llegará hacia las {NewETA}, después de su horario de llegada ({ArrivalWindow}). Disculpe la espera.\n\n{TechTrackingURL}\n\n¿Preguntas? Llámenos al {CompanyPhone}.",
		},
		KindNearby: {
			Text:         "Hola {CustomerFirstName}, {TechnicianFirstName} de {CompanyName} ya casi llega: hacia las {ETA}. {TechTrackingURL}",
			EmailSubject: "{TechnicianFirstName} ya casi llega",
			EmailBody:    "Hola {CustomerFirstName}:\n\n{TechnicianName} de {CompanyName} ya casi llega a {ServiceAddress}, hacia las {ETA}.\n\n{TechTrackingURL}\n\n¿Preguntas? Llámenos al {CompanyPhone}.",
		},
		KindArrived: {
			Text:         "Hola {CustomerFirstName}, {TechnicianFirstName} de {CompanyName} ha llegado a {ServiceAddress}.",
			EmailSubject: "{TechnicianFirstName} ha llegado",
			EmailBody:    "Hola {CustomerFirstName}:\n\n{TechnicianName} de {CompanyName} ha llegado a {ServiceAddress} para el trabajo {JobNumber}.\n\n¿Preguntas? Llámenos al {CompanyPhone}.",
		},
		KindCompleted: {
			Text:         "¡Gracias por elegir {CompanyName}, {CustomerFirstName}! {TechnicianFirstName} ha terminado. ¿Qué tal lo hicimos? {FeedbackURL}",
			EmailSubject: "Su visita de {CompanyName} ha terminado",
			EmailBody:    "Hola {CustomerFirstName}:\n\n{TechnicianName} ha terminado el trabajo {JobNumber} en {ServiceAddress}. Gracias por elegir {CompanyName}.\n\n¿Qué tal lo hicimos? Díganoslo en un minuto: {FeedbackURL}\n\n¿Preguntas? Llámenos al {CompanyPhone}.",
		},
		KindCancelled: {
			Text:         "Hola {CustomerFirstName}, {TechnicianFirstName} de {CompanyName} ya no irá a su visita ({ArrivalWindow}). Llámenos al {CompanyPhone} para volver a programarla.",
			EmailSubject: "Su visita de {CompanyName} se ha cancelado",
			EmailBody:    "Hola {CustomerFirstName}:\n\n{TechnicianName} de {CompanyName} ya no irá a {ServiceAddress} para el trabajo {JobNumber} ({ArrivalWindow}).\n\nLlámenos al {CompanyPhone} para volver a programarla.",
		},
		KindRescheduled: {
			Text:         "Hola {CustomerFirstName}, su visita de {CompanyName} ha cambiado: {TechnicianFirstName} llegará {ArrivalWindow}. ¿Preguntas? Llame al {CompanyPhone}.",
			EmailSubject: "Su visita de {CompanyName} ha cambiado",
			EmailBody:    "Hola {CustomerFirstName}:\n\nSu visita de {CompanyName} a {ServiceAddress} (trabajo {JobNumber}) ha cambiado: {TechnicianName} llegará {ArrivalWindow}.\n\n¿Preguntas? Llámenos al {CompanyPhone}.",
		},
	}},
}

// defaultLanguages returns a copy of DefaultLanguages for new settings.
func defaultLanguages() map[string]LanguageSettings {
	out := make(map[string]LanguageSettings, len(DefaultLanguages))
	for lang, l := range DefaultLanguages {
		ts := make(map[MessageKind]MessageTemplates, len(l.Templates))
		for k, t := range l.Templates {
			ts[k] = t
		}
		out[lang] = LanguageSettings{Enabled: l.Enabled, Templates: ts}
	}
	return out
}
