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

// testDeliveryReports: delivery receipts find their text by the
// provider's id, or, before the send is recorded, by the message id they
// carry; a status never goes back; a later attempt's copy starts afresh.
func testDeliveryReports(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "D-1")
	text := func() *enroute.Message {
		tech := newTechnician(t, s, "T")
		a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: tech.ID}
		must(t, s.CreateAssignment(ctx, a))
		m := newMessage(f, a, enroute.ChannelSMS, "")
		must(t, s.CreateMessage(ctx, m))
		return m
	}
	report := func(r enroute.DeliveryReport, wantChanged bool, want enroute.DeliveryStatus, wantCode int) *enroute.Message {
		t.Helper()
		m, changed, err := s.UpdateMessageDelivery(ctx, r)
		must(t, err)
		if changed != wantChanged || m.Delivery == nil || m.Delivery.Status != want || m.Delivery.ErrorCode != wantCode || m.Delivery.UpdatedAt.IsZero() {
			t.Fatalf("after %+v: changed %v, delivery %+v; want changed %v, %s %d", r, changed, m.Delivery, wantChanged, want, wantCode)
		}
		return m
	}

	// Sent, then reported: sent, delivered; repeated and late ones change
	// nothing.
	a := text()
	_, err := s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	must(t, s.CompleteMessage(ctx, a.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SMa"}))
	report(enroute.DeliveryReport{ProviderID: "SMa", Status: enroute.DeliverySent}, true, enroute.DeliverySent, 0)
	got := report(enroute.DeliveryReport{ProviderID: "SMa", Status: enroute.DeliveryDelivered}, true, enroute.DeliveryDelivered, 0)
	if got.ID != a.ID || got.Status != enroute.MessageSent {
		t.Fatalf("reported message = %+v", got)
	}
	report(enroute.DeliveryReport{ProviderID: "SMa", Status: enroute.DeliveryDelivered}, false, enroute.DeliveryDelivered, 0)
	report(enroute.DeliveryReport{ProviderID: "SMa", Status: enroute.DeliverySent}, false, enroute.DeliveryDelivered, 0)
	report(enroute.DeliveryReport{ProviderID: "SMa", Status: enroute.DeliveryUndelivered, ErrorCode: 30003}, false, enroute.DeliveryDelivered, 0)

	// Undelivered, with the carrier's error and what it means.
	b := text()
	_, err = s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	must(t, s.CompleteMessage(ctx, b.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SMb"}))
	m := report(enroute.DeliveryReport{ProviderID: "SMb", Status: enroute.DeliveryUndelivered, ErrorCode: 30006}, true, enroute.DeliveryUndelivered, 30006)
	if m.Delivery.Error != enroute.CarrierError(30006) || !strings.Contains(m.Delivery.Error, "landline") {
		t.Fatalf("error = %q", m.Delivery.Error)
	}
	report(enroute.DeliveryReport{ProviderID: "SMb", Status: enroute.DeliveryDelivered}, false, enroute.DeliveryUndelivered, 30006)

	// A receipt before the send is recorded: found by the message id, it
	// records the provider's id; the send's outcome then keeps the report.
	c := text()
	claimed, err := s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	if len(claimed) != 1 || claimed[0].ID != c.ID {
		t.Fatalf("claimed %+v", claimed)
	}
	_, _, err = s.UpdateMessageDelivery(ctx, enroute.DeliveryReport{ProviderID: "SMc", Status: enroute.DeliverySent})
	wantCode(t, err, enroute.ENOTFOUND) // no message id: nothing to find it by
	report(enroute.DeliveryReport{MessageID: c.ID, ProviderID: "SMc", Status: enroute.DeliveryDelivered}, true, enroute.DeliveryDelivered, 0)
	must(t, s.CompleteMessage(ctx, c.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SMc"}))
	log, err := s.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &c.AssignmentID})
	must(t, err)
	if log[0].Status != enroute.MessageSent || log[0].ProviderID != "SMc" || log[0].Delivery == nil || log[0].Delivery.Status != enroute.DeliveryDelivered {
		t.Fatalf("after the send = %+v, %+v", log[0], log[0].Delivery)
	}
	// A message id cannot take over a text that has its provider id.
	_, _, err = s.UpdateMessageDelivery(ctx, enroute.DeliveryReport{MessageID: a.ID, ProviderID: "SMother", Status: enroute.DeliveryFailed})
	wantCode(t, err, enroute.ENOTFOUND)

	// An earlier attempt's copy was reported, then a retry sent another:
	// the report of the other copy is cleared. An attempt that failed
	// without a provider id keeps the reported one.
	d := text()
	_, err = s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	report(enroute.DeliveryReport{MessageID: d.ID, ProviderID: "SMd1", Status: enroute.DeliverySent}, true, enroute.DeliverySent, 0)
	must(t, s.CompleteMessage(ctx, d.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SMd2"}))
	log, err = s.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &d.AssignmentID})
	must(t, err)
	if log[0].ProviderID != "SMd2" || log[0].Delivery != nil {
		t.Fatalf("after another copy = %+v, %+v", log[0], log[0].Delivery)
	}
	e := text()
	_, err = s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	report(enroute.DeliveryReport{MessageID: e.ID, ProviderID: "SMe", Status: enroute.DeliveryDelivered}, true, enroute.DeliveryDelivered, 0)
	must(t, s.CompleteMessage(ctx, e.ID, enroute.MessageResult{Status: enroute.MessageFailed, Reason: "gave up"}))
	log, err = s.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &e.AssignmentID})
	must(t, err)
	if log[0].Status != enroute.MessageFailed || log[0].ProviderID != "SMe" || log[0].Delivery == nil || log[0].Delivery.Status != enroute.DeliveryDelivered {
		t.Fatalf("failed after a delivered copy = %+v, %+v", log[0], log[0].Delivery)
	}

	// Unknown texts and statuses.
	_, _, err = s.UpdateMessageDelivery(ctx, enroute.DeliveryReport{ProviderID: "SMnone", Status: enroute.DeliveryDelivered})
	wantCode(t, err, enroute.ENOTFOUND)
	_, _, err = s.UpdateMessageDelivery(ctx, enroute.DeliveryReport{ProviderID: "SMa", Status: "read"})
	wantCode(t, err, enroute.EINVALID)
	// E-mail is not reported on.
	g := newMessage(f, &enroute.Assignment{ID: a.AssignmentID}, enroute.ChannelEmail, "")
	must(t, s.CreateMessage(ctx, g))
	_, err = s.ClaimMessages(ctx, 10, time.Minute)
	must(t, err)
	must(t, s.CompleteMessage(ctx, g.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "<m@x>"}))
	_, _, err = s.UpdateMessageDelivery(ctx, enroute.DeliveryReport{ProviderID: "<m@x>", Status: enroute.DeliveryDelivered})
	wantCode(t, err, enroute.ENOTFOUND)
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
