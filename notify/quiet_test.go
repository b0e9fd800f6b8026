package notify_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/sqlite"
)

// Quiet hours hold messages until they end; then what is no longer true
// (on the way, after the technician arrived) is dropped with the reason,
// and what still is goes.
func TestQuietHours(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "enroute.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.UpdateSettings(ctx, func(st *enroute.Settings) error {
		st.Dispatch.Text.FromNumber, st.Dispatch.Text.Enabled = "+13125550100", true
		st.Dispatch.Arrived.Enabled = true
		st.Dispatch.Cancelled.Enabled = true
		st.Dispatch.General.QuietHours = enroute.QuietHours{Enabled: true, Start: "21:00", End: "08:00"}
		return nil
	})
	must(err)
	cust := &enroute.Customer{Name: "Maria", Phone: "+351912345678", Language: "en"}
	must(s.CreateCustomer(ctx, cust))
	loc := &enroute.Location{CustomerID: cust.ID, Address: "Rua A 1", Lat: 41.15, Lng: -8.61, Verified: true}
	must(s.CreateLocation(ctx, loc))
	// The company's clock says 23:30 on a January night (UTC, the default
	// zone): the quiet hours end at 08:00 the next morning, long past, so
	// the held messages are due at once.
	night := time.Date(2026, 1, 1, 23, 30, 0, 0, time.UTC)
	morning := time.Date(2026, 1, 2, 8, 0, 0, 0, time.UTC)
	woken := 0
	rules := &notify.Rules{Store: s, PublicURL: "https://enroute.test", Now: func() time.Time { return night }, Wake: func() { woken++ }}
	assign := func(name string) *enroute.Assignment {
		job := &enroute.Job{Number: name, CustomerID: cust.ID, LocationID: loc.ID, WindowStart: night, WindowEnd: night.Add(2 * time.Hour)}
		must(s.CreateJob(ctx, job))
		tech := &enroute.Technician{Name: name, Active: true}
		must(s.CreateTechnician(ctx, tech))
		a := &enroute.Assignment{JobID: job.ID, TechnicianID: tech.ID}
		must(s.CreateAssignment(ctx, a))
		_, err := enroute.TransitionAssignment(ctx, s, a.ID, enroute.StatusDispatched, rules)
		must(err)
		return a
	}
	arrived, onTheWay, cancelled := assign("Ana"), assign("Rui"), assign("Eva")
	_, err = enroute.TransitionAssignment(ctx, s, arrived.ID, enroute.StatusWorking, rules)
	must(err)
	// Cancelled in the night: the customer never got the dispatch text,
	// so they are not told of a cancellation either.
	_, err = enroute.TransitionAssignment(ctx, s, cancelled.ID, enroute.StatusCancelled, rules)
	must(err)
	queued := enroute.MessageQueued
	ms, err := s.FindMessages(ctx, enroute.MessageFilter{Status: &queued})
	must(err)
	if len(ms) != 5 || woken != 0 {
		t.Fatalf("queued %d messages (woken %d), want 5 held", len(ms), woken)
	}
	for _, m := range ms {
		if m.QuietUntil == nil || !m.QuietUntil.Equal(morning) || !m.NextAttemptAt.Equal(morning) {
			t.Fatalf("message %d held until %v, next attempt %v; want %v", m.ID, m.QuietUntil, m.NextAttemptAt, morning)
		}
	}

	w := notify.NewWorker(s, notify.LogSMS{Logger: slog.New(slog.DiscardHandler)}, nil, notify.WorkerConfig{}, slog.New(slog.DiscardHandler))
	w.Still = rules.Still
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); w.Run(runCtx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, err = s.FindMessages(ctx, enroute.MessageFilter{Status: &queued})
		must(err)
		if len(ms) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still queued: %+v", ms)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	all, err := s.FindMessages(ctx, enroute.MessageFilter{})
	must(err)
	got := map[string]*enroute.Message{}
	for _, m := range all {
		got[map[int64]string{arrived.ID: "ana", onTheWay.ID: "rui", cancelled.ID: "eva"}[m.AssignmentID]+" "+string(m.Kind)] = m
	}
	if m := got["ana dispatch"]; m.Status != enroute.MessageSkipped || !strings.Contains(m.Reason, "Dropped after quiet hours: by their end the assignment was working") {
		t.Fatalf("ana's dispatch text = %s %q", m.Status, m.Reason)
	}
	if m := got["ana arrived"]; m.Status != enroute.MessageLogged {
		t.Fatalf("ana's arrived text = %s %q", m.Status, m.Reason)
	}
	if m := got["rui dispatch"]; m.Status != enroute.MessageLogged {
		t.Fatalf("rui's dispatch text = %s %q", m.Status, m.Reason)
	}
	if m := got["eva dispatch"]; m.Status != enroute.MessageSkipped || !strings.Contains(m.Reason, "the assignment was cancelled") {
		t.Fatalf("eva's dispatch text = %s %q", m.Status, m.Reason)
	}
	if m := got["eva cancelled"]; m.Status != enroute.MessageSkipped || !strings.Contains(m.Reason, "never got the dispatch message") {
		t.Fatalf("eva's cancelled text = %s %q", m.Status, m.Reason)
	}

	// In the day, nothing waits.
	rules.Now = func() time.Time { return night.Add(-12 * time.Hour) }
	day := assign("Iva")
	ms, err = s.FindMessages(ctx, enroute.MessageFilter{AssignmentID: &day.ID})
	must(err)
	if len(ms) != 1 || ms[0].QuietUntil != nil || woken != 1 {
		t.Fatalf("a day's message = %+v (woken %d)", ms, woken)
	}
}
