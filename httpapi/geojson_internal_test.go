package httpapi

import (
	"strings"
	"testing"
)

// FuzzGeoJSONAccepted: whatever Accept header a client sends, reading it
// does not panic, and GeoJSON is chosen only when the header names it.
func FuzzGeoJSONAccepted(f *testing.F) {
	for _, s := range []string{"", "*/*", "application/geo+json", "application/json, application/geo+json",
		"application/geo+json;q=0.9, application/json", "application/json;q=0.5, application/geo+json", "application/geo+json;q=0",
		"application/geo+json;q=NaN", "application/geo+json;q=2", "application/geo+json;q", "APPLICATION/GEO+JSON; Q=0.5",
		"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", ";;,,=", "application/geo+json;q=1;q=0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		if geoJSONAccepted(accept) && !strings.Contains(strings.ToLower(accept), "geo+json") {
			t.Fatalf("%q chose GeoJSON without naming it", accept)
		}
	})
}
