package httpapi_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/notify"
)

// TestSMSStatus: Twilio's delivery receipts, signed as the inbound
// webhook's are, reach the delivery log, whose answer matches
// openapi.yaml; a status never goes back.
func TestSMSStatus(t *testing.T) {
	const token, public = "test-auth-token", "https://enroute.test"
	hook := &deliveryHook{}
	e := newEnvWith(t, httpapi.Config{PublicURL: public, VerifySMSWebhook: func(u string, form url.Values, sig string) bool {
		return notify.ValidTwilioSignature(token, u, form, sig)
	}}, func(f *httpapi.Features) { f.MessageHooks = []enroute.MessageHook{hook} })
	ctx := context.Background()
	s := e.seed("R-1")
	a := e.must(201, e.dispatcher, "POST", "/api/v1/jobs/"+itoa(s.job)+"/assignments", map[string]any{"technician_id": s.tech}).id()
	m := &enroute.Message{AssignmentID: a, JobID: s.job, CustomerID: s.cust, Kind: enroute.KindDispatch, Channel: enroute.ChannelSMS,
		Status: enroute.MessageQueued, To: "+351912345678", From: "+13125550100", Body: "On the way"}
	if err := e.store.CreateMessage(ctx, m); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.ClaimMessages(ctx, 1, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := e.store.CompleteMessage(ctx, m.ID, enroute.MessageResult{Status: enroute.MessageSent, ProviderID: "SM1"}); err != nil {
		t.Fatal(err)
	}
	receipt := func(status, code string, sign bool) int {
		t.Helper()
		form := url.Values{"MessageSid": {"SM1"}, "SmsSid": {"SM1"}, "MessageStatus": {status}, "To": {"+351912345678"}, "From": {"+13125550100"}, "AccountSid": {"AC1"}}
		if code != "" {
			form.Set("ErrorCode", code)
		}
		sig := "wrong"
		if sign {
			sig = notify.TwilioSignature(token, public+"/api/v1/sms/status?message="+itoa(m.ID), form)
		}
		return e.do("", "POST", "/api/v1/sms/status?message="+itoa(m.ID), form.Encode(),
			"Content-Type", "application/x-www-form-urlencoded", "X-Twilio-Signature", sig).status
	}
	delivery := func() map[string]any {
		t.Helper()
		items := e.must(200, e.dispatcher, "GET", "/api/v1/jobs/"+itoa(s.job)+"/messages", nil).body["items"].([]any)
		d, _ := items[0].(map[string]any)["delivery"].(map[string]any)
		return d
	}
	if d := delivery(); d != nil {
		t.Fatalf("delivery before any receipt = %v", d)
	}
	if got := receipt("undelivered", "30005", false); got != 403 {
		t.Fatalf("unsigned receipt = %d", got)
	}
	for _, r := range []struct{ status, code string }{{"sent", ""}, {"undelivered", "30005"}, {"delivered", ""}, {"sent", ""}} {
		if got := receipt(r.status, r.code, true); got != 200 {
			t.Fatalf("receipt %s = %d", r.status, got)
		}
	}
	d := delivery()
	if d["status"] != "undelivered" || d["error_code"] != 30005.0 || d["error"] != enroute.CarrierError(30005) {
		t.Fatalf("delivery = %v", d)
	}
	// The message hooks (the webhooks) heard of the final report once.
	if len(hook.got) != 1 || hook.got[0] != enroute.DeliveryUndelivered {
		t.Fatalf("hooks heard %v, want the one final report", hook.got)
	}
	if got := receipt("accepted", "", true); got != 200 {
		t.Fatalf("receipt with a status of no use = %d", got)
	}
	form := url.Values{"MessageStatus": {"sent"}}
	if r := e.do("", "POST", "/api/v1/sms/status", form.Encode(), "Content-Type", "application/x-www-form-urlencoded",
		"X-Twilio-Signature", notify.TwilioSignature(token, public+"/api/v1/sms/status", form)); r.status != 400 {
		t.Fatalf("receipt without MessageSid = %d %s", r.status, r.raw)
	}
}

// deliveryHook records the delivery reports it is told of.
type deliveryHook struct{ got []enroute.DeliveryStatus }

func (h *deliveryHook) MessageFinished(context.Context, *enroute.Message) error { return nil }
func (h *deliveryHook) MessageDelivery(_ context.Context, m *enroute.Message) error {
	h.got = append(h.got, m.Delivery.Status)
	return nil
}

// trackingHook records the first openings it is told of.
type trackingHook struct{ opened []int64 }

func (h *trackingHook) TrackingOpened(_ context.Context, a *enroute.Assignment) error {
	h.opened = append(h.opened, a.ID)
	return nil
}
