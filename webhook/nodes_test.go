package webhook_test

import (
	"context"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/postgres"
	"github.com/enroutehq/enroute/postgres/pgtest"
	"github.com/enroutehq/enroute/webhook"
)

// TestWorkersOnSeveralNodes: workers of three nodes, each with its own
// pool, share one PostgreSQL outbox: every event is sent exactly once
// while none dies, whichever node sends it.
func TestWorkersOnSeveralNodes(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.Schema(t)
	sealer := newSealer(t)
	var stores []enroute.Store
	for range 3 {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	rc := &receiver{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	e := &enroute.WebhookEndpoint{URL: "http://" + ln.Addr().String() + "/", Events: []enroute.WebhookEventType{enroute.EventAssignmentDone}}
	must(t, stores[0].CreateWebhookEndpoint(ctx, e, sealer.Seal(webhook.NewSecret())))

	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, s := range stores {
		w := webhook.NewWorker(s, sealer, webhook.Config{AllowPrivate: true, PollInterval: 5 * time.Millisecond, Timeout: 2 * time.Second}, quiet())
		wg.Go(func() { w.Run(runCtx) })
	}
	t.Cleanup(func() { stop(); wg.Wait() })
	const events = 60
	for i := range events {
		_, err := stores[i%len(stores)].CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventAssignmentDone}, 0)
		must(t, err)
	}
	waitFor(t, 30*time.Second, "every event delivered", func() bool {
		st := enroute.WebhookDelivered
		ds, err := stores[0].FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{Status: &st, Page: enroute.Page{Limit: enroute.MaxLimit}})
		must(t, err)
		return len(ds) == events
	})
	seen := map[string]int{}
	for _, r := range rc.requests() {
		seen[r.header.Get("webhook-id")]++
	}
	if len(seen) != events {
		t.Fatalf("received %d distinct events, want %d", len(seen), events)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s received %d times", id, n)
		}
	}
}
