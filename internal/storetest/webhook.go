package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

func newEndpoint(t *testing.T, s enroute.Store, url string, events ...enroute.WebhookEventType) *enroute.WebhookEndpoint {
	t.Helper()
	e := &enroute.WebhookEndpoint{URL: url, Description: "ops", Events: events}
	must(t, s.CreateWebhookEndpoint(context.Background(), e, []byte("sealed:"+url)))
	return e
}

func testWebhookEndpoints(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	wantCode(t, s.CreateWebhookEndpoint(ctx, &enroute.WebhookEndpoint{URL: "https://a.test/h", Events: []enroute.WebhookEventType{"nope"}}, []byte("x")), enroute.EINVALID)
	wantCode(t, s.CreateWebhookEndpoint(ctx, &enroute.WebhookEndpoint{URL: "https://a.test/h", Events: enroute.WebhookEventTypes}, nil), enroute.EINVALID)
	e := newEndpoint(t, s, "https://a.test/h", enroute.EventAssignmentDone)
	if e.ID == 0 || !e.Enabled || e.CreatedAt.IsZero() {
		t.Fatalf("created = %+v", e)
	}
	got, err := s.FindWebhookEndpointByID(ctx, e.ID)
	must(t, err)
	diff(t, got, e)
	_, err = s.FindWebhookEndpointByID(ctx, e.ID+100)
	wantCode(t, err, enroute.ENOTFOUND)

	events := []enroute.WebhookEventType{enroute.EventAssignmentDispatched, enroute.EventMessageSent}
	up, err := s.UpdateWebhookEndpoint(ctx, e.ID, enroute.WebhookEndpointUpdate{Events: &events, Description: ptr("")})
	must(t, err)
	if len(up.Events) != 2 || up.Description != "" || up.URL != e.URL {
		t.Fatalf("updated = %+v", up)
	}
	_, err = s.UpdateWebhookEndpoint(ctx, e.ID, enroute.WebhookEndpointUpdate{URL: ptr("ftp://x")})
	wantCode(t, err, enroute.EINVALID)
	_, err = s.UpdateWebhookEndpoint(ctx, e.ID+100, enroute.WebhookEndpointUpdate{})
	wantCode(t, err, enroute.ENOTFOUND)

	must(t, s.DisableWebhookEndpoint(ctx, e.ID, "failing for a day"))
	got, err = s.FindWebhookEndpointByID(ctx, e.ID)
	must(t, err)
	if got.Enabled || got.DisabledReason != "failing for a day" {
		t.Fatalf("disabled = %+v", got)
	}
	got, err = s.UpdateWebhookEndpoint(ctx, e.ID, enroute.WebhookEndpointUpdate{Enabled: ptr(true)})
	must(t, err)
	if !got.Enabled || got.DisabledReason != "" {
		t.Fatalf("re-enabled = %+v", got)
	}
	wantCode(t, s.DisableWebhookEndpoint(ctx, e.ID+100, "x"), enroute.ENOTFOUND)

	// Secrets: sealed bytes in, sealed bytes out; rotation keeps the
	// previous one while it is due.
	sec, err := s.FindWebhookSecrets(ctx, e.ID)
	must(t, err)
	if string(sec.Current) != "sealed:https://a.test/h" || sec.Previous != nil {
		t.Fatalf("secrets = %+v", sec)
	}
	must(t, s.RotateWebhookSecret(ctx, e.ID, []byte("sealed:2"), time.Now().Add(time.Hour)))
	sec, err = s.FindWebhookSecrets(ctx, e.ID)
	must(t, err)
	if string(sec.Current) != "sealed:2" || string(sec.Previous) != "sealed:https://a.test/h" || sec.PreviousUntil == nil {
		t.Fatalf("rotated secrets = %+v", sec)
	}
	must(t, s.RotateWebhookSecret(ctx, e.ID, []byte("sealed:3"), time.Now().Add(-time.Second)))
	sec, err = s.FindWebhookSecrets(ctx, e.ID)
	must(t, err)
	if string(sec.Current) != "sealed:3" || sec.Previous != nil {
		t.Fatalf("secrets after an expired rotation = %+v", sec)
	}
	wantCode(t, s.RotateWebhookSecret(ctx, e.ID+100, []byte("x"), time.Now()), enroute.ENOTFOUND)
	_, err = s.FindWebhookSecrets(ctx, e.ID+100)
	wantCode(t, err, enroute.ENOTFOUND)

	all, err := s.FindWebhookEndpoints(ctx, enroute.Page{})
	must(t, err)
	if len(all) != 1 {
		t.Fatalf("endpoints = %+v", all)
	}
	_, err = s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventMessageSent}, 0)
	must(t, err)
	must(t, s.DeleteWebhookEndpoint(ctx, e.ID))
	wantCode(t, s.DeleteWebhookEndpoint(ctx, e.ID), enroute.ENOTFOUND)
	ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{})
	must(t, err)
	if len(ds) != 0 {
		t.Fatalf("deliveries of a deleted endpoint = %+v", ds)
	}
}

func testWebhookOutbox(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	a := newEndpoint(t, s, "https://a.test/h", enroute.EventAssignmentDone, enroute.EventMessageSent)
	b := newEndpoint(t, s, "https://b.test/h", enroute.EventAssignmentDone)

	ev := &enroute.WebhookEvent{Type: enroute.EventAssignmentDone, Data: json.RawMessage(`{"id":7}`)}
	n, err := s.CreateWebhookEvent(ctx, ev, 0)
	must(t, err)
	if n != 2 || len(ev.ID) < 20 || ev.ID[:4] != "evt_" || ev.CreatedAt.IsZero() {
		t.Fatalf("event = %+v, queued %d", ev, n)
	}
	// Only b: for a test event, whatever it subscribed to.
	test := &enroute.WebhookEvent{Type: enroute.EventWebhookTest}
	n, err = s.CreateWebhookEvent(ctx, test, b.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("test event queued %d", n)
	}
	_, err = s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventWebhookTest}, b.ID+100)
	wantCode(t, err, enroute.ENOTFOUND)
	_, err = s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{ID: ev.ID, Type: enroute.EventAssignmentDone}, 0)
	wantCode(t, err, enroute.ECONFLICT)
	// Nobody wants it: nothing queued.
	n, err = s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventMessageFailed}, 0)
	must(t, err)
	if n != 0 {
		t.Fatalf("unwanted event queued %d", n)
	}
	// A rolled-back change sends nothing.
	boom := errors.New("boom")
	err = s.InTx(ctx, func(ctx context.Context) error {
		if _, err := s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventMessageSent}, 0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v", err)
	}

	ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{EventID: &ev.ID})
	must(t, err)
	if len(ds) != 2 {
		t.Fatalf("deliveries of %s = %+v", ev.ID, ds)
	}
	var payload enroute.WebhookEvent
	must(t, json.Unmarshal(ds[0].Payload, &payload))
	if payload.ID != ev.ID || payload.Type != ev.Type || !payload.CreatedAt.Equal(ev.CreatedAt) || !bytes.Equal(payload.Data, ev.Data) {
		t.Fatalf("payload = %s", ds[0].Payload)
	}

	claimed, err := s.ClaimWebhookDeliveries(ctx, 10, time.Minute)
	must(t, err)
	if len(claimed) != 3 || claimed[0].Attempts != 1 || claimed[0].EventID != ev.ID || claimed[2].EventType != enroute.EventWebhookTest {
		t.Fatalf("claimed = %+v", claimed)
	}
	again, err := s.ClaimWebhookDeliveries(ctx, 10, time.Minute)
	must(t, err)
	if len(again) != 0 {
		t.Fatalf("claimed while leased = %+v", again)
	}

	// a: fails, retried later; the endpoint is failing since the attempt.
	failedAt := enroute.Timestamp(time.Now().Add(-time.Minute))
	e, err := s.CompleteWebhookDelivery(ctx, claimed[0].ID, enroute.WebhookResult{Status: enroute.WebhookQueued,
		NextAttemptAt: time.Now().Add(-time.Second), Attempt: enroute.WebhookAttempt{At: failedAt, StatusCode: 503, Error: "HTTP 503", DurationMS: 12}})
	must(t, err)
	if e.ID != claimed[0].EndpointID || e.FailingSince == nil || !e.FailingSince.Equal(failedAt) {
		t.Fatalf("endpoint after a failure = %+v", e)
	}
	// b: delivered, and the test event too.
	e, err = s.CompleteWebhookDelivery(ctx, claimed[1].ID, enroute.WebhookResult{Status: enroute.WebhookDelivered, Attempt: enroute.WebhookAttempt{StatusCode: 204}})
	must(t, err)
	if e.FailingSince != nil {
		t.Fatalf("endpoint after a success = %+v", e)
	}
	_, err = s.CompleteWebhookDelivery(ctx, claimed[2].ID, enroute.WebhookResult{Status: enroute.WebhookFailed, Attempt: enroute.WebhookAttempt{Error: "refused"}})
	must(t, err)
	_, err = s.CompleteWebhookDelivery(ctx, claimed[1].ID, enroute.WebhookResult{Status: enroute.WebhookDelivered})
	wantCode(t, err, enroute.ENOTFOUND)
	_, err = s.CompleteWebhookDelivery(ctx, claimed[0].ID, enroute.WebhookResult{Status: "bogus"})
	wantCode(t, err, enroute.EINVALID)

	// A disabled endpoint's deliveries wait; enabled again, they go.
	must(t, s.DisableWebhookEndpoint(ctx, a.ID, "test"))
	none, err := s.ClaimWebhookDeliveries(ctx, 10, time.Minute)
	must(t, err)
	if len(none) != 0 {
		t.Fatalf("claimed for a disabled endpoint = %+v", none)
	}
	_, err = s.UpdateWebhookEndpoint(ctx, a.ID, enroute.WebhookEndpointUpdate{Enabled: ptr(true)})
	must(t, err)
	retry, err := s.ClaimWebhookDeliveries(ctx, 10, time.Minute)
	must(t, err)
	if len(retry) != 1 || retry[0].ID != claimed[0].ID || retry[0].Attempts != 2 || retry[0].LastStatusCode != 503 || retry[0].LastError != "HTTP 503" {
		t.Fatalf("retry = %+v", retry)
	}
	_, err = s.CompleteWebhookDelivery(ctx, retry[0].ID, enroute.WebhookResult{Status: enroute.WebhookDelivered, Attempt: enroute.WebhookAttempt{StatusCode: 200}})
	must(t, err)

	ds, err = s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{EndpointID: &a.ID, WithAttempts: true})
	must(t, err)
	if len(ds) != 1 || ds[0].Status != enroute.WebhookDelivered || ds[0].FinishedAt == nil || len(ds[0].AttemptLog) != 2 ||
		ds[0].AttemptLog[0].StatusCode != 503 || ds[0].AttemptLog[0].DurationMS != 12 || ds[0].AttemptLog[1].StatusCode != 200 {
		t.Fatalf("deliveries with attempts = %+v", ds)
	}
	failed := enroute.WebhookFailed
	ds, err = s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{Status: &failed})
	must(t, err)
	if len(ds) != 1 || ds[0].EventType != enroute.EventWebhookTest || ds[0].LastError != "refused" {
		t.Fatalf("failed deliveries = %+v", ds)
	}

	// Retention forgets finished deliveries only, with their attempts.
	_, err = s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventMessageSent}, 0)
	must(t, err)
	gone, err := s.DeleteWebhookDeliveriesBefore(ctx, time.Now().Add(-time.Hour))
	must(t, err)
	if gone != 0 {
		t.Fatalf("deleted %d deliveries finished in the last hour", gone)
	}
	gone, err = s.DeleteWebhookDeliveriesBefore(ctx, time.Now().Add(time.Hour))
	must(t, err)
	ds, err = s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{WithAttempts: true})
	must(t, err)
	if gone != 3 || len(ds) != 1 || ds[0].Status != enroute.WebhookQueued || ds[0].EventType != enroute.EventMessageSent {
		t.Fatalf("after retention: deleted %d, left %+v", gone, ds)
	}
}

// testWebhookConcurrentClaims: workers claiming at once never get the same
// delivery.
func testWebhookConcurrentClaims(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	newEndpoint(t, s, "https://a.test/h", enroute.EventAssignmentDone)
	const events = 40
	for range events {
		_, err := s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventAssignmentDone}, 0)
		must(t, err)
	}
	var (
		mu   sync.Mutex
		seen = map[int64]int{}
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Go(func() {
			for {
				ds, err := s.ClaimWebhookDeliveries(ctx, 3, time.Minute)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != events {
		t.Fatalf("claimed %d deliveries, want %d", len(seen), events)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("delivery %d claimed %d times", id, n)
		}
	}
}
