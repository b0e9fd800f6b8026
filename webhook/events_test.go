package webhook_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/webhook"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// queuedTypes returns the types of the queued deliveries, oldest first,
// and their payloads.
func queued(t *testing.T, s enroute.Store) ([]enroute.WebhookEventType, []enroute.WebhookEvent) {
	t.Helper()
	ds, err := s.FindWebhookDeliveries(context.Background(), enroute.WebhookDeliveryFilter{})
	must(t, err)
	var types []enroute.WebhookEventType
	var evs []enroute.WebhookEvent
	for i := len(ds) - 1; i >= 0; i-- {
		var ev enroute.WebhookEvent
		must(t, json.Unmarshal(ds[i].Payload, &ev))
		types, evs = append(types, ds[i].EventType), append(evs, ev)
	}
	return types, evs
}

func TestEventsOfAssignmentsAndMessages(t *testing.T) {
	ctx := context.Background()
	s, sealer := openStore(t), newSealer(t)
	all := append([]enroute.WebhookEventType(nil), enroute.WebhookEventTypes...)
	must(t, s.CreateWebhookEndpoint(ctx, &enroute.WebhookEndpoint{URL: "https://hooks.example.com/", Events: all}, sealer.Seal(webhook.NewSecret())))
	woken := 0
	events := &webhook.Events{Store: s, Wake: func() { woken++ }}

	cust := &enroute.Customer{Name: "Maria", Phone: "+351912345678", Language: "en"}
	must(t, s.CreateCustomer(ctx, cust))
	loc := &enroute.Location{CustomerID: cust.ID, Address: "Rua A 1", Lat: 41.15, Lng: -8.61, Verified: true}
	must(t, s.CreateLocation(ctx, loc))
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	job := &enroute.Job{Number: "J-1", CustomerID: cust.ID, LocationID: loc.ID, WindowStart: start, WindowEnd: start.Add(2 * time.Hour)}
	must(t, s.CreateJob(ctx, job))
	var techs []*enroute.Technician
	for _, name := range []string{"Ana", "Rui"} {
		tech := &enroute.Technician{Name: name, Active: true}
		must(t, s.CreateTechnician(ctx, tech))
		techs = append(techs, tech)
	}
	_, err := s.UpdateSettings(ctx, func(st *enroute.Settings) error {
		st.Dispatch.Text.FromNumber, st.Dispatch.Text.Enabled = "+13125550100", true
		st.Dispatch.General.LimitWhenMultipleTechs = true
		return nil
	})
	must(t, err)
	rules := &notify.Rules{Store: s, PublicURL: "https://enroute.test", MessageHooks: []enroute.MessageHook{events}}
	hooks := []enroute.AssignmentHook{rules, events}

	a := &enroute.Assignment{JobID: job.ID, TechnicianID: techs[0].ID}
	must(t, s.CreateAssignment(ctx, a))
	b := &enroute.Assignment{JobID: job.ID, TechnicianID: techs[1].ID}
	must(t, s.CreateAssignment(ctx, b))

	// A change rolled back leaves no event.
	boom := errors.New("boom")
	fail := hookFunc(func(context.Context, *enroute.Assignment, enroute.AssignmentStatus) error { return boom })
	if _, err := enroute.TransitionAssignment(ctx, s, a.ID, enroute.StatusDispatched, append(hooks, fail)...); !errors.Is(err, boom) {
		t.Fatalf("transition = %v", err)
	}
	if types, _ := queued(t, s); len(types) != 0 || woken != 0 {
		t.Fatalf("events of a rolled-back change: %v (woken %d)", types, woken)
	}

	for _, step := range []struct {
		id   int64
		next enroute.AssignmentStatus
	}{{a.ID, enroute.StatusDispatched}, {b.ID, enroute.StatusDispatched}, {a.ID, enroute.StatusWorking}, {a.ID, enroute.StatusDone}, {b.ID, enroute.StatusCancelled}} {
		_, err := enroute.TransitionAssignment(ctx, s, step.id, step.next, hooks...)
		must(t, err)
	}
	// The outbox sends a's text with the log provider ("sent", status
	// logged): the message event is written with the outcome.
	w := notify.NewWorker(s, notify.LogSMS{Logger: quiet()}, nil, notify.WorkerConfig{}, quiet())
	w.Hooks = []enroute.MessageHook{events}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	waitFor(t, 10*time.Second, "the text recorded", func() bool {
		st := enroute.MessageQueued
		ms, err := s.FindMessages(ctx, enroute.MessageFilter{Status: &st})
		must(t, err)
		return len(ms) == 0
	})
	stop()
	<-done

	types, evs := queued(t, s)
	want := []enroute.WebhookEventType{enroute.EventAssignmentDispatched, enroute.EventMessageSuppressed, enroute.EventAssignmentDispatched,
		enroute.EventAssignmentArrived, enroute.EventAssignmentDone, enroute.EventAssignmentCancelled, enroute.EventMessageSent}
	if len(types) != len(want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events = %v, want %v", types, want)
		}
	}
	var ad webhook.AssignmentData
	must(t, json.Unmarshal(evs[3].Data, &ad))
	if ad.Assignment.ID != a.ID || ad.Assignment.Status != enroute.StatusWorking || ad.PreviousStatus != enroute.StatusDispatched || ad.Assignment.WorkingAt == nil {
		t.Fatalf("arrived data = %s", evs[3].Data)
	}
	var md webhook.MessageData
	must(t, json.Unmarshal(evs[6].Data, &md))
	if md.AssignmentID != a.ID || md.Channel != enroute.ChannelSMS || md.Status != enroute.MessageLogged || md.To != cust.Phone {
		t.Fatalf("message data = %s", evs[6].Data)
	}
	must(t, json.Unmarshal(evs[1].Data, &md))
	if md.AssignmentID != b.ID || md.Status != enroute.MessageSuppressed || md.Reason == "" {
		t.Fatalf("suppressed data = %s", evs[1].Data)
	}
	if woken == 0 {
		t.Fatal("the worker was never woken")
	}
}

type hookFunc func(context.Context, *enroute.Assignment, enroute.AssignmentStatus) error

func (f hookFunc) AssignmentChanged(ctx context.Context, a *enroute.Assignment, prev enroute.AssignmentStatus) error {
	return f(ctx, a, prev)
}

// A carrier's final report and a site left verified are events too; a
// report that is not final, and a site not verified, are not.
func TestEventsOfReceiptsAndSites(t *testing.T) {
	ctx := context.Background()
	s, sealer := openStore(t), newSealer(t)
	must(t, s.CreateWebhookEndpoint(ctx, &enroute.WebhookEndpoint{URL: "https://hooks.example.com/", Events: enroute.WebhookEventTypes}, sealer.Seal(webhook.NewSecret())))
	events := &webhook.Events{Store: s}
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	sent := &enroute.Message{ID: 7, Status: enroute.MessageSent, Channel: enroute.ChannelSMS, ProviderID: "SM123"}
	for _, d := range []*enroute.Delivery{
		nil,
		{Status: enroute.DeliverySent, UpdatedAt: at},
		{Status: enroute.DeliveryDelivered, UpdatedAt: at},
		{Status: enroute.DeliveryUndelivered, ErrorCode: 30003, Error: "unreachable", UpdatedAt: at},
	} {
		m := *sent
		m.Delivery = d
		must(t, events.MessageDelivery(ctx, &m))
	}
	site := &enroute.Location{ID: 3, Address: "Rua A 1", Lat: 41.15, Lng: -8.61}
	must(t, events.LocationChanged(ctx, site))
	site.Verified = true
	must(t, events.LocationChanged(ctx, site))
	types, evs := queued(t, s)
	want := []enroute.WebhookEventType{enroute.EventMessageDelivered, enroute.EventMessageFailed, enroute.EventLocationVerified}
	if len(types) != len(want) {
		t.Fatalf("events = %v, want %v", types, want)
	}
	for i := range want {
		if types[i] != want[i] {
			t.Fatalf("events = %v, want %v", types, want)
		}
	}
	var failed struct {
		Data webhook.MessageData `json:"data"`
	}
	raw, _ := json.Marshal(evs[1])
	must(t, json.Unmarshal(raw, &failed))
	if failed.Data.Delivery == nil || failed.Data.Delivery.ErrorCode != 30003 || failed.Data.ProviderID != "SM123" {
		t.Fatalf("message.failed from a receipt = %s", raw)
	}
}

// The first opening of a tracking page is tracking.opened, with the
// assignment.
func TestEventOfTrackingOpened(t *testing.T) {
	ctx := context.Background()
	s, sealer := openStore(t), newSealer(t)
	must(t, s.CreateWebhookEndpoint(ctx, &enroute.WebhookEndpoint{URL: "https://hooks.example.com/", Events: []enroute.WebhookEventType{enroute.EventTrackingOpened}}, sealer.Seal(webhook.NewSecret())))
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	must(t, (&webhook.Events{Store: s}).TrackingOpened(ctx, &enroute.Assignment{ID: 41, Status: enroute.StatusDispatched, TrackingOpenedAt: &at, TrackingOpens: 1}))
	types, evs := queued(t, s)
	if len(types) != 1 || types[0] != enroute.EventTrackingOpened {
		t.Fatalf("events = %v", types)
	}
	raw, _ := json.Marshal(evs[0])
	var got struct {
		Data webhook.AssignmentData `json:"data"`
	}
	must(t, json.Unmarshal(raw, &got))
	if got.Data.Assignment == nil || got.Data.Assignment.ID != 41 || got.Data.Assignment.TrackingOpens != 1 {
		t.Fatalf("tracking.opened = %s", raw)
	}
}
