package httpapi_test

import (
	"context"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
)

// TestTrackingOpened: each opening of the tracking page counts on its
// assignment; the first tells the tracking hooks (the webhooks), once; an
// unknown token is a 404 that counts nothing.
func TestTrackingOpened(t *testing.T) {
	hook := &trackingHook{}
	e := newEnvWith(t, httpapi.Config{}, func(f *httpapi.Features) { f.TrackingHooks = []enroute.TrackingHook{hook} })
	s := e.seed("O-1")
	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech}).id()
	token := enroute.NewTrackingToken()
	if err := e.store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: a}, enroute.HashSecret(token)); err != nil {
		t.Fatal(err)
	}
	got := e.must(200, e.dispatcher, "GET", "/api/v1/assignments/"+itoa(a), nil)
	if got.body["tracking_opens"] != 0.0 || got.body["tracking_opened_at"] != nil {
		t.Fatalf("before any opening: %s", got.raw)
	}
	for range 2 {
		if r := e.do("", "POST", "/t/"+token+"/opened", nil); r.status != 204 {
			t.Fatalf("opened = %d %s", r.status, r.raw)
		}
	}
	got = e.must(200, e.dispatcher, "GET", "/api/v1/assignments/"+itoa(a), nil)
	if got.body["tracking_opens"] != 2.0 || got.body["tracking_opened_at"] == nil {
		t.Fatalf("after two openings: %s", got.raw)
	}
	if len(hook.opened) != 1 || hook.opened[0] != a {
		t.Fatalf("hooks told of %v, want the first opening of %d only", hook.opened, a)
	}
	if r := e.do("", "POST", "/t/"+enroute.NewTrackingToken()+"/opened", nil); r.status != 404 {
		t.Fatalf("unknown token = %d", r.status)
	}
}
