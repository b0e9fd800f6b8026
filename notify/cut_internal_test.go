package notify

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A reply past the bound is cut at a character boundary and marked.
func TestCut(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"abcdefghijkl", 10, "abcdefg…"},
		{strings.Repeat("é", 6), 10, "ééé…"}, // 2-byte characters: not cut inside one
	} {
		got := cut(tc.in, tc.n)
		if got != tc.want || len(got) > tc.n || !utf8.ValidString(got) {
			t.Fatalf("cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
