package phone

import "testing"

// TestDisplay, twice: the second time from what Display remembers.
func TestDisplay(t *testing.T) {
	for range 2 {
		testDisplay(t)
	}
}

func testDisplay(t *testing.T) {
	for _, tc := range []struct{ e164, locale, want string }{
		{"+13125550100", "en-US", "(312) 555-0100"},
		{"+13125550100", "pt-PT", "+1 312-555-0100"},
		{"+13125550100", "en", "+1 312-555-0100"},
		{"+351912345678", "pt-PT", "912 345 678"},
		{"+351912345678", "en-US", "+351 912 345 678"},
		{"+442079460958", "en-GB", "020 7946 0958"},
		{"", "en-US", ""},
		{"not a number", "en-US", "not a number"},
	} {
		if got := Display(tc.e164, tc.locale); got != tc.want {
			t.Errorf("Display(%q, %q) = %q, want %q", tc.e164, tc.locale, got, tc.want)
		}
	}
}

func TestNormalize(t *testing.T) {
	for _, tc := range []struct{ in, locale, want string }{
		{"(312) 555-0100", "en-US", "+13125550100"},
		{"312.555.0100", "en-US", "+13125550100"},
		{"+1 312 555 0100", "pt-PT", "+13125550100"},
		{"912 345 678", "pt-PT", "+351912345678"},
		{"020 7946 0958", "en-GB", "+442079460958"},
		{"+13125550100", "en-US", "+13125550100"},
		{"(312) 555-0100", "en", "(312) 555-0100"}, // no region to read it in
		{"555-0100", "en-US", "555-0100"},          // too short to be a number
		{"call me", "en-US", "call me"},
		{"", "en-US", ""},
	} {
		if got := Normalize(tc.in, tc.locale); got != tc.want {
			t.Errorf("Normalize(%q, %q) = %q, want %q", tc.in, tc.locale, got, tc.want)
		}
	}
}

// FuzzNormalize: any text in any locale comes back unchanged or in E.164
// form, and what Normalize returns it returns unchanged; Display shows any
// E.164 number without failing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"(312) 555-0100", "+1 312 555 0100", "+14155550123", "912 345 678", "555-0100", "", "+", "++1", "tel:+1-312", "０３-１２３４-５６７８"} {
		for _, loc := range []string{"en-US", "pt-PT", "", "xx", "en-"} {
			f.Add(s, loc)
		}
	}
	f.Fuzz(func(t *testing.T, s, locale string) {
		got := Normalize(s, locale)
		if got != s && !isE164(got) {
			t.Fatalf("Normalize(%q, %q) = %q: neither unchanged nor E.164", s, locale, got)
		}
		if again := Normalize(got, locale); again != got {
			t.Fatalf("Normalize(%q) = %q, then %q", s, got, again)
		}
		if isE164(got) {
			_ = Display(got, locale)
		}
	})
}
