package enroute

import (
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Text length limits shared by the validators.
const (
	maxNameLen = 200
	// maxExternalIDLen bounds an id from another system (an FSM's).
	maxExternalIDLen = 100
	maxAddressLen    = 500
	maxNotesLen      = 10000
	maxURLLen        = 2048
)

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// ValidPhone reports whether s is a phone number in E.164 form (+14155550123).
func ValidPhone(s string) bool { return e164.MatchString(s) }

// ValidEmail reports whether s is a bare e-mail address (no display name).
func ValidEmail(s string) bool {
	if len(s) > 254 {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == ""
}

// validator collects per-field problems.
type validator map[string]string

func (v validator) add(field, msg string) {
	if _, ok := v[field]; !ok {
		v[field] = msg
	}
}

func (v validator) text(field, s string, required bool, max int) {
	switch {
	case required && strings.TrimSpace(s) == "":
		v.add(field, "is required")
	case !utf8.ValidString(s):
		v.add(field, "must be valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		v.add(field, "is too long")
	}
}

func (v validator) url(field, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || len(s) > maxURLLen || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		v.add(field, "must be an http or https URL")
	}
}

func (v validator) phone(field, s string) {
	if s != "" && !ValidPhone(s) {
		v.add(field, "must be a phone number: +14155550123, or as it is written in the company's country")
	}
}

func (v validator) email(field, s string) {
	if s != "" && !ValidEmail(s) {
		v.add(field, "must be an e-mail address, like name@example.com")
	}
}

func (v validator) latLng(lat, lng float64) {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		v.add("lat", "must be between -90 and 90")
	}
	if math.IsNaN(lng) || lng < -180 || lng > 180 {
		v.add("lng", "must be between -180 and 180")
	}
}

func (v validator) id(field string, id int64) {
	if id <= 0 {
		v.add(field, "is required")
	}
}

func (v validator) timeZone(field, s string) {
	if _, err := time.LoadLocation(s); err != nil || s == "" {
		v.add(field, "must be an IANA time zone, like America/Chicago")
	}
}

var localeRE = regexp.MustCompile(`^[a-z]{2,3}(-[A-Z]{2})?$`)

func (v validator) locale(field, s string, required bool) {
	if s == "" && !required {
		return
	}
	if !localeRE.MatchString(s) {
		v.add(field, "must be a language tag, like en or en-US")
	}
}

func (v validator) err() error { return FieldErrors(v) }
