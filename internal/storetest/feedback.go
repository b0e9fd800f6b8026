package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// visit is a job at a verified site with one technician's assignment.
func visit(t *testing.T, s enroute.Store, number string, tech *enroute.Technician) *enroute.Assignment {
	t.Helper()
	ctx := context.Background()
	cu := &enroute.Customer{Name: "Maria", Language: "en"}
	must(t, s.CreateCustomer(ctx, cu))
	l := &enroute.Location{CustomerID: cu.ID, Address: "1 Main St", Lat: 41.87, Lng: -87.65, Verified: true}
	must(t, s.CreateLocation(ctx, l))
	start := time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC)
	j := &enroute.Job{Number: number, CustomerID: cu.ID, LocationID: l.ID, WindowStart: start, WindowEnd: start.Add(time.Hour)}
	must(t, s.CreateJob(ctx, j))
	a := &enroute.Assignment{JobID: j.ID, TechnicianID: tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	return a
}

// finish moves a through to done.
func finish(t *testing.T, s enroute.Store, a *enroute.Assignment) {
	t.Helper()
	for _, st := range []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking, enroute.StatusDone} {
		_, err := s.TransitionAssignment(context.Background(), a.ID, st)
		must(t, err)
	}
}

// testVerificationCodes: every assignment is created with four digits,
// kept as they are through its moves and read back by every finder.
func testVerificationCodes(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	tech := newTechnician(t, s, "Ana")
	seen := map[string]bool{}
	for i := range 3 {
		a := visit(t, s, "V-"+string(rune('1'+i)), tech)
		if len(a.VerificationCode) != 4 || strings.Trim(a.VerificationCode, "0123456789") != "" {
			t.Fatalf("verification code %q, want four digits", a.VerificationCode)
		}
		seen[a.VerificationCode] = true
		moved, err := s.TransitionAssignment(ctx, a.ID, enroute.StatusDispatched)
		must(t, err)
		got, err := s.FindAssignmentByID(ctx, a.ID)
		must(t, err)
		if moved.VerificationCode != a.VerificationCode || got.VerificationCode != a.VerificationCode {
			t.Fatalf("code after a move %q, read %q, want %q", moved.VerificationCode, got.VerificationCode, a.VerificationCode)
		}
	}
	if len(seen) < 2 { // three equal codes in 10^4: once in 10^8 runs
		t.Fatalf("codes %v: not random", seen)
	}
}

// testFeedback: feedback for a done assignment only, once; read by job,
// assignment and technician; summarised per technician.
func testFeedback(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	ana, bruno := newTechnician(t, s, "Ana"), newTechnician(t, s, "Bruno")
	a1, a2, b1 := visit(t, s, "F-1", ana), visit(t, s, "F-2", ana), visit(t, s, "F-3", bruno)

	t.Run("ErrNotDone", func(t *testing.T) {
		wantCode(t, s.CreateFeedback(ctx, &enroute.Feedback{AssignmentID: a1.ID, Rating: 5}), enroute.EINVALID)
	})
	for _, a := range []*enroute.Assignment{a1, a2, b1} {
		finish(t, s, a)
	}
	t.Run("OK", func(t *testing.T) {
		f := &enroute.Feedback{AssignmentID: a1.ID, Rating: 5, Comment: "  On time <b>and</b> kind.\r\nThanks!  "}
		must(t, s.CreateFeedback(ctx, f))
		if f.JobID != a1.JobID || f.TechnicianID != ana.ID || f.CreatedAt.IsZero() || f.Comment != "On time <b>and</b> kind.\nThanks!" {
			t.Fatalf("created %+v", f)
		}
		got, err := s.FindFeedback(ctx, enroute.FeedbackFilter{JobID: &a1.JobID})
		must(t, err)
		diff(t, got, []*enroute.Feedback{f})
	})
	t.Run("ErrTwice", func(t *testing.T) {
		wantCode(t, s.CreateFeedback(ctx, &enroute.Feedback{AssignmentID: a1.ID, Rating: 1}), enroute.ECONFLICT)
		got, err := s.FindFeedback(ctx, enroute.FeedbackFilter{AssignmentID: &a1.ID})
		must(t, err)
		if len(got) != 1 || got[0].Rating != 5 {
			t.Fatalf("after a second submit: %+v", got)
		}
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		for _, f := range []enroute.Feedback{
			{AssignmentID: a2.ID, Rating: 0},
			{AssignmentID: a2.ID, Rating: 6},
			{AssignmentID: a2.ID, Rating: 3, Comment: strings.Repeat("é", enroute.MaxFeedbackCommentLen+1)},
			{AssignmentID: a2.ID, Rating: 3, Comment: "bell\a"},
		} {
			err := s.CreateFeedback(ctx, &f)
			wantCode(t, err, enroute.EINVALID)
			if fields := enroute.ErrorFields(err); len(fields) != 1 {
				t.Fatalf("%+v: fields %v, want the one field", f, fields)
			}
		}
		wantCode(t, s.CreateFeedback(ctx, &enroute.Feedback{AssignmentID: b1.ID + 1000, Rating: 3}), enroute.ENOTFOUND)
	})
	t.Run("Summaries", func(t *testing.T) {
		must(t, s.CreateFeedback(ctx, &enroute.Feedback{AssignmentID: a2.ID, Rating: 2, Comment: strings.Repeat("é", enroute.MaxFeedbackCommentLen)}))
		must(t, s.CreateFeedback(ctx, &enroute.Feedback{AssignmentID: b1.ID, Rating: 4}))
		got, err := s.FindFeedback(ctx, enroute.FeedbackFilter{TechnicianID: &ana.ID})
		must(t, err)
		if len(got) != 2 || got[0].AssignmentID != a1.ID || got[1].AssignmentID != a2.ID {
			t.Fatalf("Ana's feedback: %+v", got)
		}
		sums, err := s.FeedbackSummaries(ctx, []int64{ana.ID, bruno.ID, bruno.ID + 1000})
		must(t, err)
		diff(t, sums, map[int64]enroute.FeedbackSummary{ana.ID: {Count: 2, Sum: 7}, bruno.ID: {Count: 1, Sum: 4}})
	})
}

// testTrackingLinksAfterDone: a done assignment's live links work for
// FeedbackLinkTTL after it, expired ones stay expired.
func testTrackingLinksAfterDone(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	a := visit(t, s, "L-1", newTechnician(t, s, "Ana"))
	live, dead := enroute.NewTrackingToken(), enroute.NewTrackingToken()
	must(t, s.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: a.ID}, enroute.HashSecret(live)))
	must(t, s.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: a.ID, ExpiresAt: time.Now().Add(-time.Minute)}, enroute.HashSecret(dead)))
	for _, st := range []enroute.AssignmentStatus{enroute.StatusDispatched, enroute.StatusWorking, enroute.StatusDone} {
		_, err := enroute.TransitionAssignment(ctx, s, a.ID, st)
		must(t, err)
	}
	done, err := s.FindAssignmentByID(ctx, a.ID)
	must(t, err)
	l, err := s.FindTrackingLink(ctx, enroute.HashSecret(live))
	must(t, err)
	if want := done.DoneAt.Add(enroute.FeedbackLinkTTL); !l.ExpiresAt.Equal(want) {
		t.Fatalf("link expires %v, want %v (a week after the visit)", l.ExpiresAt, want)
	}
	_, err = s.FindTrackingLink(ctx, enroute.HashSecret(dead))
	wantCode(t, err, enroute.ENOTFOUND)
}
