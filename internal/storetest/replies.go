package storetest

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// testReplies: a reply goes to the job of the latest text that reached its
// number; a provider id stores one reply however often it comes, even at
// once; a number never texted keeps its reply without a job.
func testReplies(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f, g := newFixture(t, s, "R-1"), newFixture(t, s, "R-2")
	g.cust.Phone = f.cust.Phone
	must(t, s.InTx(ctx, func(ctx context.Context) error {
		_, err := s.UpdateCustomer(ctx, g.cust.ID, enroute.CustomerUpdate{Phone: &f.cust.Phone})
		return err
	}))
	var as []*enroute.Assignment
	for _, x := range []fixture{f, g} {
		a := &enroute.Assignment{JobID: x.job.ID, TechnicianID: x.tech.ID}
		must(t, s.CreateAssignment(ctx, a))
		as = append(as, a)
	}
	// f's text was sent; g's is still queued: the reply answers f's.
	sent := newMessage(f, as[0], enroute.ChannelSMS, "")
	must(t, s.CreateMessage(ctx, sent))
	claimed, err := s.ClaimMessages(ctx, 1, time.Minute)
	must(t, err)
	must(t, s.CompleteMessage(ctx, claimed[0].ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SM1"}))
	must(t, s.CreateMessage(ctx, newMessage(g, as[1], enroute.ChannelSMS, "")))

	var wg sync.WaitGroup
	created := make([]bool, 4)
	replies := make([]*enroute.Reply, 4)
	for i := range created {
		wg.Go(func() {
			replies[i] = &enroute.Reply{From: f.cust.Phone, Body: "Gate code 4321", ProviderID: "SMin1"}
			var err error
			created[i], err = s.CreateReply(ctx, replies[i])
			must(t, err)
		})
	}
	wg.Wait()
	n := 0
	for i, c := range created {
		if c {
			n++
		}
		r := replies[i]
		if r.ID != replies[0].ID || r.JobID == nil || *r.JobID != f.job.ID || *r.AssignmentID != as[0].ID || *r.CustomerID != f.cust.ID {
			t.Fatalf("reply %d = %+v", i, r)
		}
	}
	if n != 1 {
		t.Fatalf("created %d times", n)
	}
	lone := &enroute.Reply{From: "+15550000001", Body: "who is this?", ProviderID: "SMin2"}
	if ok, err := s.CreateReply(ctx, lone); err != nil || !ok || lone.JobID != nil || lone.CustomerID != nil {
		t.Fatalf("lone = %+v %v %v", lone, ok, err)
	}
	got, err := s.FindReplies(ctx, enroute.ReplyFilter{JobID: &f.job.ID})
	must(t, err)
	if len(got) != 1 || got[0].Body != "Gate code 4321" || got[0].ReceivedAt.IsZero() {
		t.Fatalf("f's replies = %+v", got)
	}
	all, err := s.FindReplies(ctx, enroute.ReplyFilter{})
	must(t, err)
	if len(all) != 2 || all[1].ID != lone.ID {
		t.Fatalf("all replies = %+v", all)
	}
}

// testManualMessages: what a dispatcher writes or resends is not held to
// one per assignment, kind and channel; what Enroute sends on its own is.
func testManualMessages(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "M-1")
	a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	first := newMessage(f, a, enroute.ChannelSMS, "")
	must(t, s.CreateMessage(ctx, first))
	wantCode(t, s.CreateMessage(ctx, newMessage(f, a, enroute.ChannelSMS, "")), enroute.ECONFLICT)
	for range 2 {
		m := newMessage(f, a, enroute.ChannelSMS, "")
		m.ResendOf, m.Author = &first.ID, "Dispatch desk"
		must(t, s.CreateMessage(ctx, m))
		m = newMessage(f, a, enroute.ChannelSMS, "")
		m.Kind, m.Author = enroute.KindManual, "Dispatch desk"
		must(t, s.CreateMessage(ctx, m))
	}
	ms, err := s.FindMessages(ctx, enroute.MessageFilter{JobID: &f.job.ID})
	must(t, err)
	if len(ms) != 5 || ms[1].ResendOf == nil || *ms[1].ResendOf != first.ID || ms[1].Author != "Dispatch desk" || ms[2].Kind != enroute.KindManual {
		t.Fatalf("messages = %+v", ms)
	}
	one, err := s.FindMessages(ctx, enroute.MessageFilter{ID: &ms[2].ID})
	must(t, err)
	if len(one) != 1 || one[0].ID != ms[2].ID {
		t.Fatalf("by id = %+v", one)
	}
}

// testQuietMessages: a message held by quiet hours keeps when they end,
// and can be dropped unsent (skipped), its link redacted.
func testQuietMessages(t *testing.T, s enroute.Store) {
	ctx := context.Background()
	f := newFixture(t, s, "Q-1")
	a := &enroute.Assignment{JobID: f.job.ID, TechnicianID: f.tech.ID}
	must(t, s.CreateAssignment(ctx, a))
	until := time.Now().Add(-time.Minute).UTC().Truncate(time.Second)
	m := newMessage(f, a, enroute.ChannelSMS, "tok123")
	m.QuietUntil, m.NextAttemptAt = &until, until
	must(t, s.CreateMessage(ctx, m))
	claimed, err := s.ClaimMessages(ctx, 1, time.Minute)
	must(t, err)
	if len(claimed) != 1 || claimed[0].QuietUntil == nil || !claimed[0].QuietUntil.Equal(until) {
		t.Fatalf("claimed = %+v", claimed)
	}
	must(t, s.CompleteMessage(ctx, m.ID, enroute.MessageResult{Status: enroute.MessageSkipped, Reason: "Dropped after quiet hours"}))
	ms, err := s.FindMessages(ctx, enroute.MessageFilter{ID: &m.ID})
	must(t, err)
	if ms[0].Status != enroute.MessageSkipped || ms[0].Reason != "Dropped after quiet hours" || ms[0].FinishedAt == nil || strings.Contains(ms[0].Body, "tok123") {
		t.Fatalf("dropped = %+v", ms[0])
	}
}
