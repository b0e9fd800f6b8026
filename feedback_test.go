package enroute_test

import (
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
)

func TestEffectiveRating(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  float64
		sum  enroute.FeedbackSummary
		feed bool
		want float64
	}{
		{"off", 4.8, enroute.FeedbackSummary{Count: 3, Sum: 3}, false, 4.8},
		{"no feedback", 4.8, enroute.FeedbackSummary{}, true, 4.8},
		{"one bad visit nudges", 4.8, enroute.FeedbackSummary{Count: 1, Sum: 1}, true, 4.2},   // (24+1)/6
		{"two bad visits hide it", 4.8, enroute.FeedbackSummary{Count: 2, Sum: 2}, true, 3.7}, // (24+2)/7
		{"one good visit", 3.5, enroute.FeedbackSummary{Count: 1, Sum: 5}, true, 3.8},         // (17.5+5)/6
		{"many outweigh the set rating", 3.0, enroute.FeedbackSummary{Count: 95, Sum: 475}, true, 4.9},
		{"no set rating: the mean", 0, enroute.FeedbackSummary{Count: 3, Sum: 13}, true, 4.3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := enroute.EffectiveRating(tc.set, tc.sum, tc.feed); got != tc.want {
				t.Fatalf("EffectiveRating(%v, %+v, %v) = %v, want %v", tc.set, tc.sum, tc.feed, got, tc.want)
			}
		})
	}
}

func TestFeedbackValidate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		f     enroute.Feedback
		field string // "" when valid
	}{
		{"OK", enroute.Feedback{Rating: 5, Comment: "Great\n\tthanks <3"}, ""},
		{"OK/longest", enroute.Feedback{Rating: 1, Comment: strings.Repeat("ü", enroute.MaxFeedbackCommentLen)}, ""},
		{"ErrNoRating", enroute.Feedback{}, "rating"},
		{"ErrRating6", enroute.Feedback{Rating: 6}, "rating"},
		{"ErrTooLong", enroute.Feedback{Rating: 4, Comment: strings.Repeat("a", enroute.MaxFeedbackCommentLen+1)}, "comment"},
		{"ErrControl", enroute.Feedback{Rating: 4, Comment: "a\x00b"}, "comment"},
		{"ErrUTF8", enroute.Feedback{Rating: 4, Comment: "\xff"}, "comment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if enroute.ErrorCode(err) != enroute.EINVALID || enroute.ErrorFields(err)[tc.field] == "" {
				t.Fatalf("err = %v, want EINVALID naming %s", err, tc.field)
			}
		})
	}
}

func TestNewVerificationCode(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		c := enroute.NewVerificationCode()
		if len(c) != 4 || strings.Trim(c, "0123456789") != "" {
			t.Fatalf("code %q, want four digits", c)
		}
		seen[c] = true
	}
	if len(seen) < 150 { // 200 draws from 10^4 repeat a few times at most
		t.Fatalf("%d distinct codes in 200", len(seen))
	}
}
