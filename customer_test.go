package enroute_test

import (
	"testing"

	"github.com/enroutehq/enroute"
)

func TestSearchDigits(t *testing.T) {
	for _, tc := range []struct{ name, q, want string }{
		{"E164", "+13125550123", "13125550123"},
		{"AsWritten", "(312) 555-0123", "3125550123"},
		{"Dotted", "912.345", "912345"},
		{"Partial", "555", "555"},
		{"TooFewDigits", "55", ""},
		{"Name", "Maria", ""},
		{"NameWithDigits", "Unit 12 Maria", ""},
		{"Empty", "", ""},
		{"Spaces", "   ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := enroute.SearchDigits(tc.q); got != tc.want {
				t.Fatalf("SearchDigits(%q) = %q, want %q", tc.q, got, tc.want)
			}
		})
	}
}
