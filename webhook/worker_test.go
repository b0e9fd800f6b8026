package webhook_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/sqlite"
	"github.com/enroutehq/enroute/webhook"
)

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newSealer(t *testing.T) *webhook.Sealer {
	t.Helper()
	s, err := webhook.NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// receiver is a real HTTP receiver that records what it is sent and
// answers with what status says.
type receiver struct {
	mu     sync.Mutex
	got    []received
	status func(n int) int // the answer to the n-th request (from 1)
}

type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.got = append(rc.got, received{r.Header.Clone(), body, time.Now()})
	n := len(rc.got)
	rc.mu.Unlock()
	code := http.StatusNoContent
	if rc.status != nil {
		code = rc.status(n)
	}
	w.WriteHeader(code)
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// TestWorkerReceiverDownThenUp: while the receiver is down, deliveries are
// retried with backoff; once it is up every event arrives, each under one
// stable webhook-id, signed so that the specification's verification
// passes, with the secret current and with the one being rotated out.
func TestWorkerReceiverDownThenUp(t *testing.T) {
	ctx := context.Background()
	s, sealer := openStore(t), newSealer(t)

	// Down: nothing listens at the address.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	old, secret := webhook.NewSecret(), webhook.NewSecret()
	e := &enroute.WebhookEndpoint{URL: "http://" + addr + "/hooks", Events: []enroute.WebhookEventType{enroute.EventAssignmentDone}}
	if err := s.CreateWebhookEndpoint(ctx, e, sealer.Seal(old)); err != nil {
		t.Fatal(err)
	}
	if err := s.RotateWebhookSecret(ctx, e.ID, sealer.Seal(secret), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	want := map[string]enroute.WebhookEvent{}
	for i := range 5 {
		ev := &enroute.WebhookEvent{Type: enroute.EventAssignmentDone, Data: json.RawMessage(`{"assignment":{"id":` + string(rune('1'+i)) + `}}`)}
		if _, err := s.CreateWebhookEvent(ctx, ev, 0); err != nil {
			t.Fatal(err)
		}
		want[ev.ID] = *ev
	}

	w := webhook.NewWorker(s, sealer, webhook.Config{PollInterval: 10 * time.Millisecond, BaseBackoff: 20 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, Timeout: 2 * time.Second, AllowPrivate: true}, quiet())
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	// Every delivery fails at least twice, with the error recorded.
	waitFor(t, 10*time.Second, "retries while the receiver is down", func() bool {
		ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{WithAttempts: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if len(d.AttemptLog) < 2 {
				return false
			}
		}
		return true
	})
	ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{WithAttempts: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Status != enroute.WebhookQueued || !strings.Contains(d.LastError, "refused") || d.AttemptLog[0].StatusCode != 0 {
			t.Fatalf("delivery while down = %+v", d)
		}
		// Consecutive attempts, not the next one planned: the worker runs
		// on, and may have tried again between reading the delivery and
		// reading its attempts.
		for k := 1; k < len(d.AttemptLog); k++ {
			if gap := d.AttemptLog[k].At.Sub(d.AttemptLog[k-1].At); gap < 20*time.Millisecond*8/10 {
				t.Fatalf("attempt %d came %v after the one before: no backoff", k+1, gap)
			}
		}
	}
	e, err = s.FindWebhookEndpointByID(ctx, e.ID)
	if err != nil || e.FailingSince == nil || !e.Enabled {
		t.Fatalf("endpoint while down = %+v, %v", e, err)
	}

	// Up, on the same address; the first answer is a 500, retried too.
	rc := &receiver{status: func(n int) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	}}
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: rc}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	w.Wake()

	waitFor(t, 10*time.Second, "every delivery delivered", func() bool {
		st := enroute.WebhookDelivered
		ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{Status: &st})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds) == len(want)
	})
	seen := map[string]int{}
	for _, r := range rc.requests() {
		id := r.header.Get("webhook-id")
		seen[id]++
		ev, ok := want[id]
		if !ok {
			t.Fatalf("unknown webhook-id %q", id)
		}
		for _, sec := range []string{secret, old} {
			if err := verify(sec, r.header, r.body, r.at, 5*time.Minute); err != nil {
				t.Fatalf("signature of %s: %v", id, err)
			}
		}
		if r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("Content-Type = %q", r.header.Get("Content-Type"))
		}
		var got enroute.WebhookEvent
		if err := json.Unmarshal(r.body, &got); err != nil || got.ID != id || got.Type != ev.Type || string(got.Data) != string(ev.Data) {
			t.Fatalf("body of %s = %s (%v)", id, r.body, err)
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("received %d events, want %d", len(seen), len(want))
	}
	e, err = s.FindWebhookEndpointByID(ctx, e.ID)
	if err != nil || e.FailingSince != nil {
		t.Fatalf("endpoint after success = %+v, %v", e, err)
	}
}

// clock is a settable clock shared by the store and the worker.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestWorkerDisablesAfterADay: an endpoint whose deliveries failed without
// a break for DisableAfter is disabled with the reason; one that had a
// success in between is not; its queued deliveries wait for an admin.
func TestWorkerDisablesAfterADay(t *testing.T) {
	ctx := context.Background()
	s, sealer := openStore(t), newSealer(t)
	clk := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s.Now = clk.Now

	dead := &receiver{status: func(int) int { return http.StatusBadGateway }}
	flaky := &receiver{status: func(n int) int {
		if n == 2 {
			return http.StatusOK
		}
		return http.StatusServiceUnavailable
	}}
	var endpoints []*enroute.WebhookEndpoint
	for _, rc := range []*receiver{dead, flaky} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: rc}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Close() })
		e := &enroute.WebhookEndpoint{URL: "http://" + ln.Addr().String() + "/", Events: []enroute.WebhookEventType{enroute.EventAssignmentDone}}
		if err := s.CreateWebhookEndpoint(ctx, e, sealer.Seal(webhook.NewSecret())); err != nil {
			t.Fatal(err)
		}
		endpoints = append(endpoints, e)
	}
	w := webhook.NewWorker(s, sealer, webhook.Config{AllowPrivate: true, Timeout: 2 * time.Second}, quiet())
	w.Now = clk.Now
	event := func() {
		if _, err := s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventAssignmentDone}, 0); err != nil {
			t.Fatal(err)
		}
	}
	endpoint := func(i int) *enroute.WebhookEndpoint {
		e, err := s.FindWebhookEndpointByID(ctx, endpoints[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}

	event()
	w.Drain(ctx) // 09:00: both fail
	clk.Add(12 * time.Hour)
	event()
	w.Drain(ctx) // 21:00: dead fails again (twice), flaky succeeds once
	if f := endpoint(1).FailingSince; f == nil {
		// flaky: its second request succeeded; the third (the retry or the
		// new event, whichever went second) failed again.
		t.Fatalf("flaky endpoint = %+v", endpoint(1))
	}
	clk.Add(12*time.Hour - time.Minute)
	w.Drain(ctx) // 08:59 next day: 23 h 59 min of failures
	if !endpoint(0).Enabled {
		t.Fatal("disabled before a day of failures")
	}
	clk.Add(2 * time.Minute)
	w.Drain(ctx) // 09:01: a day and a minute
	e := endpoint(0)
	if e.Enabled || !strings.Contains(e.DisabledReason, "2026-03-02T09:00:00Z") || !strings.Contains(e.DisabledReason, "HTTP 502") {
		t.Fatalf("dead endpoint = %+v", e)
	}
	if f := endpoint(1); !f.Enabled {
		t.Fatalf("flaky endpoint, failing for 12 h only, disabled: %+v", f)
	}

	// Disabled: its deliveries wait, queued, and are not tried.
	before := len(dead.requests())
	clk.Add(time.Hour)
	w.Drain(ctx)
	if n := len(dead.requests()); n != before {
		t.Fatalf("a disabled endpoint got %d more requests", n-before)
	}
	st := enroute.WebhookQueued
	ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{EndpointID: &e.ID, Status: &st})
	if err != nil || len(ds) != 2 {
		t.Fatalf("queued deliveries of the disabled endpoint = %d, %v", len(ds), err)
	}
}

// TestWorkerRefuses: private targets without AllowPrivate, redirects, and
// answers that are not 2xx.
func TestWorkerRefuses(t *testing.T) {
	ctx := context.Background()
	s, sealer := openStore(t), newSealer(t)
	target := &receiver{}
	mux := http.NewServeMux()
	mux.Handle("/target", target)
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(strings.Repeat("z", 1<<20)))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	for _, tc := range []struct {
		name, path   string
		allowPrivate bool
		code         int
		errHas       string
	}{
		{"private", "/target", false, 0, "private or loopback"},
		{"redirect", "/redirect", true, http.StatusTemporaryRedirect, "HTTP 307"},
		{"big answer", "/big", true, http.StatusBadRequest, "HTTP 400: zzz"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := &enroute.WebhookEndpoint{URL: "http://" + ln.Addr().String() + tc.path, Events: []enroute.WebhookEventType{enroute.EventMessageSent}}
			if err := s.CreateWebhookEndpoint(ctx, e, sealer.Seal(webhook.NewSecret())); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: enroute.EventWebhookTest}, e.ID); err != nil {
				t.Fatal(err)
			}
			webhook.NewWorker(s, sealer, webhook.Config{AllowPrivate: tc.allowPrivate, Timeout: 2 * time.Second}, quiet()).Drain(ctx)
			ds, err := s.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{EndpointID: &e.ID})
			if err != nil || len(ds) != 1 {
				t.Fatalf("deliveries = %+v, %v", ds, err)
			}
			d := ds[0]
			if d.Status != enroute.WebhookQueued || d.LastStatusCode != tc.code || !strings.Contains(d.LastError, tc.errHas) || len(d.LastError) > 300 {
				t.Fatalf("delivery = status %s, code %d, error %q", d.Status, d.LastStatusCode, d.LastError)
			}
			if n := len(target.requests()); n != 0 {
				t.Fatalf("the target got %d requests", n)
			}
		})
	}
}
