package enroute_test

import (
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
)

func TestWebhookEndpointValidate(t *testing.T) {
	all := enroute.WebhookEventTypes
	for _, tc := range []struct {
		name      string
		e         enroute.WebhookEndpoint
		allowHTTP bool
		field     string // "" when valid
		mention   string
	}{
		{"ok", enroute.WebhookEndpoint{URL: "https://hooks.example.com/enroute", Events: all}, false, "", ""},
		{"http refused", enroute.WebhookEndpoint{URL: "http://hooks.example.com/", Events: all}, false, "url", "https"},
		{"http allowed", enroute.WebhookEndpoint{URL: "http://127.0.0.1:8080/", Events: all}, true, "", ""},
		{"no url", enroute.WebhookEndpoint{Events: all}, false, "url", "required"},
		{"relative", enroute.WebhookEndpoint{URL: "/hooks", Events: all}, false, "url", ""},
		{"ftp", enroute.WebhookEndpoint{URL: "ftp://x.example.com/", Events: all}, true, "url", ""},
		{"credentials", enroute.WebhookEndpoint{URL: "https://u:p@x.example.com/", Events: all}, false, "url", "credentials"},
		{"no events", enroute.WebhookEndpoint{URL: "https://x.example.com/"}, false, "events", ""},
		{"unknown event", enroute.WebhookEndpoint{URL: "https://x.example.com/", Events: []enroute.WebhookEventType{enroute.EventAssignmentDone, "assignment.teleported"}}, false, "events", "assignment.teleported"},
		{"test event", enroute.WebhookEndpoint{URL: "https://x.example.com/", Events: []enroute.WebhookEventType{enroute.EventWebhookTest}}, false, "events", "webhook.test"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.e.Validate(tc.allowHTTP)
			if tc.field == "" {
				if err != nil {
					t.Fatalf("Validate = %v", err)
				}
				return
			}
			msg, ok := enroute.ErrorFields(err)[tc.field]
			if enroute.ErrorCode(err) != enroute.EINVALID || !ok || !strings.Contains(msg, tc.mention) {
				t.Fatalf("Validate = %v (fields %v), want %s mentioning %q", err, enroute.ErrorFields(err), tc.field, tc.mention)
			}
		})
	}
}

func TestWebhookEndpointWants(t *testing.T) {
	e := enroute.WebhookEndpoint{Enabled: true, Events: []enroute.WebhookEventType{enroute.EventAssignmentDone}}
	if !e.Wants(enroute.EventAssignmentDone) || e.Wants(enroute.EventMessageSent) {
		t.Fatal("Wants ignores the subscriptions")
	}
	e.Enabled = false
	if e.Wants(enroute.EventAssignmentDone) {
		t.Fatal("a disabled endpoint wants events")
	}
}
