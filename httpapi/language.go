package httpapi

import (
	"slices"
	"strings"
)

// pageLanguages are the languages the tracking page has strings for
// (static/files/tracking-i18n.js); the first is the last resort.
var pageLanguages = []string{"en", "es"}

// pageLanguage resolves the tracking page's language from the customer's
// language and the company's locale (BCP 47 tags, "es-MX", "en-US"): the
// customer's when the page speaks it, else the company's, else English.
// It also returns the locale the page formats dates and numbers with (a
// tag Intl takes): the tag that gave the language, or the company's
// when it is the same language with a region (a customer's bare "en"
// with a company's "en-GB" reads "Fri 27 Nov", 24-hour), or the bare
// language.
func pageLanguage(customer, company string) (lang, locale string) {
	for _, tag := range []string{customer, company} {
		lang = primaryLanguage(tag)
		if !slices.Contains(pageLanguages, lang) {
			continue
		}
		if tag == lang && primaryLanguage(company) == lang {
			return lang, company
		}
		return lang, tag
	}
	return pageLanguages[0], pageLanguages[0]
}

// primaryLanguage is a tag's language subtag, lower case: "es" of "es-MX".
func primaryLanguage(tag string) string {
	l, _, _ := strings.Cut(tag, "-")
	return strings.ToLower(l)
}
