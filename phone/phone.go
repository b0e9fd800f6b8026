// Package phone reads phone numbers as people write them and shows them
// that way. It is the only importer of nyaruka/phonenumbers (Google's
// libphonenumber metadata); numbers are stored and sent in E.164 form.
package phone

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"
)

// shown remembers what Display gave (a company's own number is shown on
// every tracking page and in every message, and formatting it takes tens
// of microseconds), up to maxShown numbers.
var (
	shown  sync.Map // [2]string{e164, locale} -> string
	nShown atomic.Int32
)

const maxShown = 256

// Display formats an E.164 number the way someone in locale's region
// writes it: nationally when the number is from that region ("(312)
// 555-0100" for en-US), otherwise internationally ("+351 912 345 678"). A
// locale without a region ("en") gives the international form; a number
// it cannot parse comes back as it was.
func Display(e164, locale string) string {
	key := [2]string{e164, locale}
	if s, ok := shown.Load(key); ok {
		return s.(string)
	}
	s := format(e164, locale)
	if nShown.Add(1) <= maxShown {
		shown.Store(key, s)
	}
	return s
}

func format(e164, locale string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	if region := regionOf(locale); region != "" && phonenumbers.GetRegionCodeForNumber(n) == region {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}

// Normalize returns s in E.164 form when it is a phone number written
// either with its country code ("+1 312 555 0100") or as it is written
// in locale's region ("(312) 555-0100" for en-US); anything else, and a
// number already in E.164 form, comes back unchanged, for validation to
// refuse or keep.
func Normalize(s, locale string) string {
	if s == "" || isE164(s) {
		return s
	}
	n, err := phonenumbers.Parse(s, regionOf(locale))
	if err != nil || phonenumbers.IsPossibleNumberWithReason(n) != phonenumbers.IS_POSSIBLE {
		return s
	}
	return phonenumbers.Format(n, phonenumbers.E164)
}

// regionOf is a locale's region ("US" of "en-US"), or "" when it has none.
func regionOf(locale string) string {
	_, region, _ := strings.Cut(locale, "-")
	return strings.ToUpper(region)
}

func isE164(s string) bool {
	if len(s) < 2 || s[0] != '+' {
		return false
	}
	for _, c := range s[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
