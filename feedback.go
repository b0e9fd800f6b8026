package enroute

import (
	"context"
	"crypto/rand"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Feedback is what a customer said of a finished visit, from the tracking
// page: 1 to 5 stars and an optional comment. An assignment has at most
// one; it is never changed. The comment is plain text and is shown only as
// text (never as HTML) anywhere.
type Feedback struct {
	AssignmentID int64     `json:"assignment_id"`
	JobID        int64     `json:"job_id"`
	TechnicianID int64     `json:"technician_id"`
	Rating       int       `json:"rating"`
	Comment      string    `json:"comment"`
	CreatedAt    time.Time `json:"created_at"`
}

// MaxFeedbackCommentLen is the longest comment, in characters: a few
// paragraphs, enough to say what went well or wrong.
const MaxFeedbackCommentLen = 1000

// FeedbackLinkTTL is how long after completion an assignment's tracking
// links work (TransitionAssignment extends those still live when the
// assignment becomes done): the feedback form is on the page, and a
// customer may open the link the evening after the visit, or days later.
// What the page shows then is the finished visit, never a position.
const FeedbackLinkTTL = 7 * 24 * time.Hour

// Normalize trims the comment and makes its line breaks \n.
func (f *Feedback) Normalize() {
	f.Comment = strings.TrimSpace(strings.ReplaceAll(f.Comment, "\r\n", "\n"))
}

// Validate returns an EINVALID error naming every invalid field: a rating
// of 1 to 5, a comment of valid UTF-8, at most MaxFeedbackCommentLen
// characters, without control characters other than line breaks and tabs.
func (f *Feedback) Validate() error {
	v := validator{}
	if f.Rating < 1 || f.Rating > 5 {
		v.add("rating", "must be a whole number of stars from 1 to 5")
	}
	switch {
	case !utf8.ValidString(f.Comment):
		v.add("comment", "must be valid UTF-8")
	case utf8.RuneCountInString(f.Comment) > MaxFeedbackCommentLen:
		v.add("comment", fmt.Sprintf("is too long: at most %d characters", MaxFeedbackCommentLen))
	case strings.ContainsFunc(f.Comment, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		v.add("comment", "must be plain text (no control characters)")
	}
	return v.err()
}

// FeedbackFilter selects feedback; nil fields do not filter. Results are
// ordered by assignment.
type FeedbackFilter struct {
	AssignmentID *int64
	JobID        *int64
	TechnicianID *int64
	Page
}

// FeedbackSummary is what a technician's customers said, in numbers.
type FeedbackSummary struct {
	Count int `json:"count"`
	Sum   int `json:"-"`
}

// Mean is the mean rating, or nil without feedback.
func (s FeedbackSummary) Mean() *float64 {
	if s.Count == 0 {
		return nil
	}
	m := roundRating(float64(s.Sum) / float64(s.Count))
	return &m
}

// FeedbackStore persists feedback.
type FeedbackStore interface {
	// CreateFeedback stores f for the assignment f.AssignmentID, at the
	// store's now, setting its JobID, TechnicianID and CreatedAt. Returns
	// EINVALID (a bad field, or an assignment that is not done),
	// ENOTFOUND (no such assignment) or ECONFLICT (it has feedback
	// already).
	CreateFeedback(ctx context.Context, f *Feedback) error
	// FindFeedback returns the matching feedback ordered by assignment.
	FindFeedback(ctx context.Context, f FeedbackFilter) ([]*Feedback, error)
	// FeedbackSummaries returns the summary of each technician of ids who
	// has received feedback; the others are absent.
	FeedbackSummaries(ctx context.Context, ids []int64) (map[int64]FeedbackSummary, error)
}

// RatingPriorWeight is how many customers' ratings the rating an
// administrator set counts for, when feedback feeds the rating.
const RatingPriorWeight = 5

// EffectiveRating is the technician's rating as customers are shown it
// (and only when it is MinShownRating or more). Without feed (the
// company's setting TrackingSettings.FeedbackUpdatesRating) or without
// feedback it is the rating an administrator set. With both, it is the
// mean of the customers' ratings with the set rating counted as
// RatingPriorWeight ratings of its own: a 4.8 technician's first 1-star
// visit makes 4.2, not 1.0, and many ratings outweigh it. A technician
// with no set rating (0) gets the plain mean. One decimal.
func EffectiveRating(set float64, s FeedbackSummary, feed bool) float64 {
	if !feed || s.Count == 0 {
		return set
	}
	if set <= 0 {
		return *s.Mean()
	}
	return roundRating((set*RatingPriorWeight + float64(s.Sum)) / float64(RatingPriorWeight+s.Count))
}

func roundRating(r float64) float64 { return math.Round(r*10) / 10 }

// NewVerificationCode returns a verification code: four decimal digits,
// uniformly from crypto/rand, "0000" to "9999".
func NewVerificationCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(10000))
	if err != nil { // crypto/rand does not fail (Go 1.24+)
		panic(err)
	}
	return fmt.Sprintf("%04d", n.Int64())
}
