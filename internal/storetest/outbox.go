package storetest

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func testSettings(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	st, err := s.FindSettings(ctx)
	must(t, err)
	diff(t, st, enroute.DefaultSettings())

	_, err = s.UpdateSettings(ctx, func(st *enroute.Settings) error {
		st.Dispatch.Text.FromNumber = "+13125550100"
		st.Dispatch.Text.Enabled = true
		return nil
	})
	must(t, err)
	boom := errors.New("refused")
	if _, err := s.UpdateSettings(ctx, func(st *enroute.Settings) error {
		st.Dispatch.Text.Enabled = false
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("UpdateSettings = %v", err)
	}
	// Concurrent updates of different tabs both hold.
	var wg sync.WaitGroup
	wg.Go(func() {
		_, err := s.UpdateSettings(ctx, func(st *enroute.Settings) error { st.GPS.Enabled = true; return nil })
		must(t, err)
	})
	wg.Go(func() {
		_, err := s.UpdateSettings(ctx, func(st *enroute.Settings) error {
			st.Dispatch.General.LimitWhenMultipleTechs = true
			return nil
		})
		must(t, err)
	})
	wg.Wait()
	st, err = s.FindSettings(ctx)
	must(t, err)
	if !st.Dispatch.Text.Enabled || st.Dispatch.Text.FromNumber != "+13125550100" || !st.GPS.Enabled ||
		!st.Dispatch.General.LimitWhenMultipleTechs || st.Dispatch.Email.Body != enroute.DefaultEmailBody {
		t.Fatalf("settings = %+v", st)
	}
}

func newMessage(f fixture, a *enroute.Assignment, ch enroute.Channel, token string) *enroute.Message {
	return &enroute.Message{AssignmentID: a.ID, JobID: f.job.ID, CustomerID: f.cust.ID, Kind: enroute.KindDispatch,
		Channel: ch, Status: enroute.MessageQueued, To: f.cust.Phone, From: "+13125550100",
		Body: "On the way: https://x.test/t/" + token, LinkToken: token}
}

func testOutbox(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "M-1")
	a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	token := enroute.NewTrackingToken()
	m := newMessage(f, a, enroute.ChannelSMS, token)
	must(t, s.CreateMessage(ctx, m))
	wantCode(t, s.CreateMessage(ctx, newMessage(f, a, enroute.ChannelSMS, token)), enroute.ECONFLICT)
	skipped := newMessage(f, a, enroute.ChannelEmail, "")
	skipped.Status, skipped.Reason = enroute.MessageSkipped, "The customer has no e-mail address."
	must(t, s.CreateMessage(ctx, skipped))

	claimed, err := s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != m.ID || claimed[0].Attempts != 1 || claimed[0].LinkToken != token {
		t.Fatalf("claimed = %+v", claimed)
	}
	// Leased: nobody else gets it.
	again, err := s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("claimed a leased message: %+v", again)
	}
	// A retry later releases it for then.
	must(t, s.CompleteMessage(ctx, m.ID, enroute.MessageResult{Status: enroute.MessageQueued, Reason: "smtp down", NextAttemptAt: time.Now().Add(-time.Second)}))
	claimed, err = s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	if len(claimed) != 1 || claimed[0].Attempts != 2 {
		t.Fatalf("reclaimed = %+v", claimed)
	}
	must(t, s.CompleteMessage(ctx, m.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SM123"}))
	wantCode(t, s.CompleteMessage(ctx, m.ID, enroute.MessageResult{Status: enroute.MessageSent}), enroute.ENOTFOUND)

	log, err := s.FindMessages(ctx, enroute.MessageFilter{JobID: &f.job.ID})
	must(t, err)
	if len(log) != 2 {
		t.Fatalf("log = %+v", log)
	}
	sent := log[0]
	if sent.Status != enroute.MessageSent || sent.ProviderID != "SM123" || sent.FinishedAt == nil {
		t.Fatalf("sent = %+v", sent)
	}
	if strings.Contains(sent.Body, token) || sent.LinkToken != "" {
		t.Fatalf("a sent message keeps its tracking token: %+v", sent)
	}
	if log[1].Status != enroute.MessageSkipped || log[1].Reason == "" || log[1].FinishedAt == nil {
		t.Fatalf("skipped = %+v", log[1])
	}
}

// testOutboxConcurrentClaims has workers race for a batch: each message is
// claimed once.
func testOutboxConcurrentClaims(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "C-1")
	var want []int64
	for i := range 12 {
		tech := newTechnician(t, s, "T")
		a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: tech.ID}
		must(t, s.CreateAssignment(ctx, a))
		ch := enroute.ChannelSMS
		if i%2 == 1 {
			ch = enroute.ChannelEmail
		}
		m := newMessage(f, a, ch, "")
		must(t, s.CreateMessage(ctx, m))
		want = append(want, m.ID)
	}
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				ms, err := s.ClaimMessages(ctx, 2, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ms) == 0 {
					return
				}
				mu.Lock()
				for _, m := range ms {
					got = append(got, m.ID)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(got)
	diff(t, got, want)
}

func testTrackingLinks(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "L-1")
	a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	token := enroute.NewTrackingToken()
	must(t, s.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: a.ID}, enroute.HashSecret(token)))
	l, err := s.FindTrackingLink(ctx, enroute.HashSecret(token))
	must(t, err)
	if l.AssignmentID != a.ID || l.ExpiresAt.Sub(l.CreatedAt) != enroute.TrackingLinkTTL {
		t.Fatalf("link = %+v", l)
	}
	_, err = s.FindTrackingLink(ctx, enroute.HashSecret("nope"))
	wantCode(t, err, enroute.ENOTFOUND)
	expired := enroute.NewTrackingToken()
	must(t, s.CreateTrackingLink(ctx, &enroute.TrackingLink{AssignmentID: a.ID, ExpiresAt: time.Now().Add(-time.Minute)}, enroute.HashSecret(expired)))
	_, err = s.FindTrackingLink(ctx, enroute.HashSecret(expired))
	wantCode(t, err, enroute.ENOTFOUND)
}

// testSiteAssignments finds the assignments of every job at a location.
func testSiteAssignments(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "S-1")
	second := &enroute.Job{Number: "S-2", CustomerID: f.cust.ID, LocationID: f.loc.ID, WindowStart: f.job.WindowStart, WindowEnd: f.job.WindowEnd}
	must(t, s.CreateJob(ctx, second))
	other := newFixture(t, s, "S-3")
	for _, a := range []*enroute.Assignment{{JobID: f.job.ID, TechnicianID: f.tech.ID}, {JobID: second.ID, TechnicianID: f.tech.ID}, {JobID: other.job.ID, TechnicianID: other.tech.ID}} {
		must(t, s.CreateAssignment(ctx, a))
	}
	at, err := s.FindAssignments(ctx, enroute.AssignmentFilter{LocationID: &f.loc.ID})
	must(t, err)
	if len(at) != 2 {
		t.Fatalf("assignments at the site = %+v", at)
	}
	must(t, s.InTx(ctx, func(ctx context.Context) error { return s.LockLocation(ctx, f.loc.ID) }))
	wantCode(t, s.InTx(ctx, func(ctx context.Context) error { return s.LockLocation(ctx, 999999) }), enroute.ENOTFOUND)
}
