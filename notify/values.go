package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// subject is everything a message about one assignment talks of, and the
// language it is told in ("": the company's own).
type subject struct {
	company  *enroute.Company
	customer *enroute.Customer
	tech     *enroute.Technician
	job      *enroute.Job
	location *enroute.Location
	lang     string
}

// templates returns the templates of kind in the customer's language, or
// the company's own, and makes their language the subject's.
func (s *subject) templates(ds enroute.DispatchSettings, kind enroute.MessageKind) templates {
	t, lang := ds.Templates(kind, s.customer.Language)
	if lang == "" { // the company's own, in its language
		lang = enroute.PrimaryLanguage(s.company.Locale)
	}
	s.lang = lang
	return templates{t.Text, t.EmailSubject, t.EmailBody}
}

// values returns the token values for s, with link as the tracking URL
// (empty: none).
func (s subject) values(link string) Values {
	return Values{
		TokenCustomerName:        s.customer.Name,
		TokenCustomerFirstName:   firstName(s.customer.Name),
		TokenTechnicianName:      s.tech.Name,
		TokenTechnicianFirstName: firstName(s.tech.Name),
		TokenCompanyName:         s.company.Name,
		TokenCompanyPhone:        phone.Display(s.company.Phone, s.company.Locale),
		TokenJobNumber:           s.job.Number,
		TokenServiceAddress:      s.location.Address,
		TokenArrivalWindow:       ArrivalWindow(s.job.WindowStart, s.job.WindowEnd, s.company.TimeZone, s.lang),
		TokenTechTrackingURL:     link,
	}
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// ArrivalWindow formats a window in the company's time zone, as people
// write it in lang: "9:00 AM – 11:00 AM on Fri, Nov 27" (across days,
// "Fri, Nov 27 9:00 PM – Sat, Nov 28 1:00 AM"); in Spanish "de 9:00 a
// 11:00 el vie 27 nov" ("del vie 27 nov 21:00 al sáb 28 nov 1:00").
func ArrivalWindow(start, end time.Time, tz, lang string) string {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	w := dateWords(lang)
	start, end = start.In(loc), end.In(loc)
	if start.YearDay() == end.YearDay() && start.Year() == end.Year() {
		return fmt.Sprintf(w.sameDay, w.clock(start), w.clock(end), w.day(start))
	}
	return fmt.Sprintf(w.twoDays, w.day(start)+" "+w.clock(start), w.day(end)+" "+w.clock(end))
}

// words are how a language writes times and days; Go's time formats only
// in English, and two languages' names are a small table.
type words struct {
	clock            func(time.Time) string // a time of day
	sameDay, twoDays string                 // the window's forms
	days, months     []string
	dayFirst         bool // "vie 27 nov", not "Fri, Nov 27"
}

func (w words) day(t time.Time) string {
	if w.dayFirst {
		return fmt.Sprintf("%s %d %s", w.days[t.Weekday()], t.Day(), w.months[t.Month()-1])
	}
	return fmt.Sprintf("%s, %s %d", w.days[t.Weekday()], w.months[t.Month()-1], t.Day())
}

var languageWords = map[string]words{
	"en": {clock: func(t time.Time) string { return t.Format("3:04 PM") }, sameDay: "%s – %s on %s", twoDays: "%s – %s",
		days:   []string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"},
		months: []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}},
	"es": {clock: func(t time.Time) string { return fmt.Sprintf("%d:%02d", t.Hour(), t.Minute()) }, sameDay: "de %s a %s el %s", twoDays: "del %s al %s", dayFirst: true,
		days:   []string{"dom", "lun", "mar", "mié", "jue", "vie", "sáb"},
		months: []string{"ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"}},
}

// dateWords are lang's words, English for the company's own ("") and any
// language without its own.
func dateWords(lang string) words {
	if w, ok := languageWords[lang]; ok {
		return w
	}
	return languageWords["en"]
}

// TrackingURL is the public link for a tracking token.
func TrackingURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/t/" + token
}
