package httpapi_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestCustomerSearch: q finds customers as a dispatcher types, by name or
// e-mail (any case) or by phone as people write it; LIKE's wildcards in q
// are plain characters; a blank q lists everyone; a long one is refused.
func TestCustomerSearch(t *testing.T) {
	e := newEnv(t)
	for _, c := range []map[string]any{
		{"name": "Maria Costa", "phone": "(312) 555-0100", "email": "maria@example.com"},
		{"name": "Jordan Smith", "phone": "(312) 555-0123", "email": "jordan@work.test"},
		{"name": "100% Pure_Air", "phone": "(773) 555-0199"},
	} {
		e.must(201, e.dispatcher, "POST", "/api/v1/customers", c)
	}
	names := func(q string, extra string) []string {
		t.Helper()
		r := e.must(200, e.dispatcher, "GET", "/api/v1/customers?q="+url.QueryEscape(q)+extra, nil)
		var out []string
		for _, it := range r.body["items"].([]any) {
			out = append(out, it.(map[string]any)["name"].(string))
		}
		return out
	}
	for _, tc := range []struct {
		name, q string
		want    []string
	}{
		{"Name", "maria", []string{"Maria Costa"}},
		{"NameAnyCase", "COSTA", []string{"Maria Costa"}},
		{"NameInside", "an Sm", []string{"Jordan Smith"}},
		{"Email", "work.test", []string{"Jordan Smith"}},
		{"PhoneAsWritten", "(312) 555-01", []string{"Maria Costa", "Jordan Smith"}},
		{"PhoneEnd", "0123", []string{"Jordan Smith"}},
		{"PhoneE164", "+17735550199", []string{"100% Pure_Air"}},
		{"Percent", "%", []string{"100% Pure_Air"}},
		{"Underscore", "e_a", []string{"100% Pure_Air"}},
		{"TwoDigitsAreNoPhone", "55", nil},
		{"Nobody", "zebra", nil},
		{"Blank", "  ", []string{"Maria Costa", "Jordan Smith", "100% Pure_Air"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := names(tc.q, ""); !slices.Equal(got, tc.want) {
				t.Fatalf("q=%q found %q, want %q", tc.q, got, tc.want)
			}
		})
	}
	t.Run("Paged", func(t *testing.T) {
		if got := names("555", "&limit=1&offset=1"); !slices.Equal(got, []string{"Jordan Smith"}) {
			t.Fatalf("second page of one = %q", got)
		}
	})
	t.Run("ErrTooLong", func(t *testing.T) {
		r := e.must(400, e.dispatcher, "GET", "/api/v1/customers?q="+strings.Repeat("a", 101), nil)
		if msg, _ := r.errFields()["q"].(string); !strings.Contains(msg, "at most 100") {
			t.Fatalf("a 101-character q = %s", r.raw)
		}
		e.must(200, e.dispatcher, "GET", "/api/v1/customers?q="+url.QueryEscape(strings.Repeat("é", 100)), nil) // characters, not bytes
	})
}
