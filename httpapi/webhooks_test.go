package httpapi_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/webhook"
)

func testSealer(t testing.TB) *webhook.Sealer {
	t.Helper()
	s, err := webhook.NewSealer(bytes.Repeat([]byte{42}, webhook.KeySize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	body := map[string]any{"url": "https://hooks.example.com/enroute", "description": "CRM", "events": []string{"assignment.done", "message.failed"}}
	e.must(403, e.dispatcher, "POST", "/api/v1/webhooks", body)
	r := e.must(201, e.admin, "POST", "/api/v1/webhooks", body)
	id := itoa(r.id())
	secret, _ := r.body["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || r.body["enabled"] != true || r.body["url"] != body["url"] {
		t.Fatalf("created = %s", r.raw)
	}
	// The secret is shown once, and is not stored in the clear.
	for _, path := range []string{"/api/v1/webhooks", "/api/v1/webhooks/" + id} {
		if got := e.must(200, e.admin, "GET", path, nil); bytes.Contains(got.raw, []byte(secret)) || bytes.Contains(got.raw, []byte("secret")) {
			t.Fatalf("GET %s shows the secret: %s", path, got.raw)
		}
	}
	sec, err := e.store.FindWebhookSecrets(ctx, r.id())
	if err != nil || bytes.Contains(sec.Current, []byte(strings.TrimPrefix(secret, "whsec_"))) {
		t.Fatalf("stored secret = %x, %v", sec, err)
	}
	if opened, err := testSealer(t).Open(sec.Current); err != nil || opened != secret {
		t.Fatalf("the sealed secret opens to %q, %v", opened, err)
	}

	// Validation names the bad field.
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
		has   string
	}{
		{"bad event", map[string]any{"url": "https://x.example.com/", "events": []string{"assignment.done", "assignment.teleported"}}, "events", "assignment.teleported"},
		{"http", map[string]any{"url": "http://x.example.com/", "events": []string{"assignment.done"}}, "url", "https"},
		{"no url", map[string]any{"events": []string{"assignment.done"}}, "url", "required"},
		{"loopback", map[string]any{"url": "https://127.0.0.1:8443/", "events": []string{"assignment.done"}}, "url", "private"},
		{"metadata service", map[string]any{"url": "https://169.254.169.254/latest", "events": []string{"assignment.done"}}, "url", "private"},
		{"localhost", map[string]any{"url": "https://localhost/", "events": []string{"assignment.done"}}, "url", "private"},
		{"no events", map[string]any{"url": "https://x.example.com/", "events": []string{}}, "events", ""},
		{"enabled", map[string]any{"url": "https://x.example.com/", "events": []string{"assignment.done"}, "enabled": false}, "enabled", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := e.do(e.admin, "POST", "/api/v1/webhooks", tc.body)
			msg, _ := got.errFields()[tc.field].(string)
			if got.status != 400 || !strings.Contains(msg, tc.has) {
				t.Fatalf("= %d %s, want 400 naming %s", got.status, got.raw, tc.field)
			}
		})
	}
	if n := e.count("/api/v1/webhooks"); n != 1 {
		t.Fatalf("%d endpoints after refused creations", n)
	}

	p := e.must(200, e.admin, "PATCH", "/api/v1/webhooks/"+id, map[string]any{"events": []string{"assignment.dispatched"}, "enabled": false})
	if p.body["enabled"] != false || len(p.body["events"].([]any)) != 1 {
		t.Fatalf("patched = %s", p.raw)
	}
	if got := e.do(e.admin, "PATCH", "/api/v1/webhooks/"+id, map[string]any{"events": []string{"nope"}}); got.status != 400 || got.errFields()["events"] == nil {
		t.Fatalf("bad patch = %d %s", got.status, got.raw)
	}
	if got := e.do(e.admin, "PATCH", "/api/v1/webhooks/"+id, map[string]any{"url": "https://10.1.2.3/hook"}); got.status != 400 || got.errFields()["url"] == nil {
		t.Fatalf("patch to a private address = %d %s", got.status, got.raw)
	}
	e.must(404, e.admin, "PATCH", "/api/v1/webhooks/999", map[string]any{"enabled": true})

	// Rotation: a new secret, shown once; the old one still signs a while.
	rot := e.must(200, e.admin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil)
	if s2, _ := rot.body["secret"].(string); !strings.HasPrefix(s2, "whsec_") || s2 == secret {
		t.Fatalf("rotated = %s", rot.raw)
	}
	if sec, err := e.store.FindWebhookSecrets(ctx, r.id()); err != nil || sec.Previous == nil {
		t.Fatalf("after rotation = %+v, %v", sec, err)
	}
	replay := e.do(e.admin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil, "Idempotency-Key", "rot-1")
	again := e.do(e.admin, "POST", "/api/v1/webhooks/"+id+"/rotate-secret", nil, "Idempotency-Key", "rot-1")
	if replay.body["secret"] == nil || again.body["secret"] != nil || again.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("idempotent rotation = %s then %s", replay.raw, again.raw)
	}

	// A test event is queued for this endpoint, and listed with its
	// (so far no) attempts.
	ev := e.must(202, e.admin, "POST", "/api/v1/webhooks/"+id+"/test", nil)
	if ev.body["type"] != "webhook.test" || !strings.HasPrefix(ev.body["id"].(string), "evt_") {
		t.Fatalf("test event = %s", ev.raw)
	}
	ds := e.must(200, e.admin, "GET", "/api/v1/webhooks/"+id+"/deliveries", nil)
	items := ds.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["event_id"] != ev.body["id"] || items[0].(map[string]any)["status"] != "queued" {
		t.Fatalf("deliveries = %s", ds.raw)
	}
	if got := e.must(200, e.admin, "GET", "/api/v1/webhooks/"+id+"/deliveries?status=delivered", nil); len(got.body["items"].([]any)) != 0 {
		t.Fatalf("delivered = %s", got.raw)
	}
	e.must(400, e.admin, "GET", "/api/v1/webhooks/"+id+"/deliveries?status=lost", nil)
	e.must(404, e.admin, "GET", "/api/v1/webhooks/999/deliveries", nil)
	e.must(404, e.admin, "POST", "/api/v1/webhooks/999/test", nil)
	e.must(404, e.admin, "POST", "/api/v1/webhooks/999/rotate-secret", nil)

	e.must(204, e.admin, "DELETE", "/api/v1/webhooks/"+id, nil)
	e.must(404, e.admin, "GET", "/api/v1/webhooks/"+id, nil)
	if ds, err := e.store.FindWebhookDeliveries(ctx, enroute.WebhookDeliveryFilter{}); err != nil || len(ds) != 0 {
		t.Fatalf("deliveries after delete = %d, %v", len(ds), err)
	}
}
