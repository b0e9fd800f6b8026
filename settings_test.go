package enroute_test

import (
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// Quiet hours are read in the company's zone, across midnight and across
// a change of clocks.
func TestQuietHoursUntil(t *testing.T) {
	night := enroute.QuietHours{Enabled: true, Start: "21:00", End: "08:00"}
	lunch := enroute.QuietHours{Enabled: true, Start: "12:00", End: "13:30"}
	chicago, _ := time.LoadLocation("America/Chicago")
	for _, tc := range []struct {
		name   string
		q      enroute.QuietHours
		now    time.Time
		tz     string
		until  time.Time
		inside bool
	}{
		{"evening", night, time.Date(2026, 12, 6, 22, 15, 0, 0, chicago), "America/Chicago", time.Date(2026, 12, 7, 8, 0, 0, 0, chicago), true},
		{"small hours", night, time.Date(2026, 12, 7, 3, 0, 0, 0, chicago), "America/Chicago", time.Date(2026, 12, 7, 8, 0, 0, 0, chicago), true},
		{"at the end", night, time.Date(2026, 12, 7, 8, 0, 0, 0, chicago), "America/Chicago", time.Time{}, false},
		{"at the start", night, time.Date(2026, 12, 7, 21, 0, 0, 0, chicago), "America/Chicago", time.Date(2026, 12, 8, 8, 0, 0, 0, chicago), true},
		{"day", night, time.Date(2026, 12, 7, 14, 0, 0, 0, chicago), "America/Chicago", time.Time{}, false},
		// 23:00 UTC is 17:00 in Chicago: the company's zone decides.
		{"zone", night, time.Date(2026, 12, 7, 23, 0, 0, 0, time.UTC), "America/Chicago", time.Time{}, false},
		// Clocks go back on Nov 1 2026 in Chicago: 08:00 is still 08:00.
		{"clocks change", night, time.Date(2026, 10, 31, 23, 0, 0, 0, chicago), "America/Chicago", time.Date(2026, 11, 1, 8, 0, 0, 0, chicago), true},
		{"lunch", lunch, time.Date(2026, 12, 7, 12, 45, 0, 0, time.UTC), "", time.Date(2026, 12, 7, 13, 30, 0, 0, time.UTC), true},
		{"off", enroute.QuietHours{Start: "21:00", End: "08:00"}, time.Date(2026, 12, 6, 22, 15, 0, 0, chicago), "America/Chicago", time.Time{}, false},
	} {
		until, inside := tc.q.Until(tc.now, tc.tz)
		if inside != tc.inside || !until.Equal(tc.until) {
			t.Errorf("%s: Until(%v) = %v, %v; want %v, %v", tc.name, tc.now, until, inside, tc.until, tc.inside)
		}
	}
	for _, bad := range []enroute.QuietHours{{Enabled: true, Start: "9:00", End: "08:00"}, {Enabled: true, Start: "21:00", End: "24:00"},
		{Enabled: true, Start: "08:00", End: "08:00"}, {Enabled: true, Start: "", End: "08:00"}} {
		if err := bad.Validate(); enroute.ErrorCode(err) != enroute.EINVALID {
			t.Errorf("%+v: Validate = %v", bad, err)
		}
	}
	if err := night.Validate(); err != nil {
		t.Errorf("night: %v", err)
	}
	if err := (enroute.QuietHours{}).Validate(); err != nil { // off: no times needed
		t.Errorf("off: %v", err)
	}
}
