package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/phone"
)

// subject is everything a message about one assignment talks of.
type subject struct {
	company  *enroute.Company
	customer *enroute.Customer
	tech     *enroute.Technician
	job      *enroute.Job
	location *enroute.Location
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
		TokenArrivalWindow:       ArrivalWindow(s.job.WindowStart, s.job.WindowEnd, s.company.TimeZone),
		TokenTechTrackingURL:     link,
	}
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// ArrivalWindow formats a window in the company's time zone:
// "9:00 AM – 11:00 AM on Fri, Nov 27" (or across days,
// "Fri, Nov 27 9:00 PM – Sat, Nov 28 1:00 AM").
func ArrivalWindow(start, end time.Time, tz string) string {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	start, end = start.In(loc), end.In(loc)
	if start.YearDay() == end.YearDay() && start.Year() == end.Year() {
		return fmt.Sprintf("%s – %s on %s", start.Format("3:04 PM"), end.Format("3:04 PM"), start.Format("Mon, Jan 2"))
	}
	return fmt.Sprintf("%s – %s", start.Format("Mon, Jan 2 3:04 PM"), end.Format("Mon, Jan 2 3:04 PM"))
}

// TrackingURL is the public link for a tracking token.
func TrackingURL(publicURL, token string) string {
	return strings.TrimRight(publicURL, "/") + "/t/" + token
}
