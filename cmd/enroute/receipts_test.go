package main

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/postgres/pgtest"
)

// TestDeliveryReceipts: a dispatch texts the customer through the Twilio
// stand-in, which then posts the carrier's receipts, signed, to the
// StatusCallback the text named; the delivery log shows what became of
// each text: delivered, or undelivered with what the carrier's error
// means. Receipts out of order or repeated never move a text back.
func TestDeliveryReceipts(t *testing.T) { testDeliveryReceipts(t, nil) }

// TestDeliveryReceiptsPostgres: the same on PostgreSQL.
func TestDeliveryReceiptsPostgres(t *testing.T) {
	testDeliveryReceipts(t, map[string]string{"ENROUTE_DATABASE_URL": pgtest.Schema(t)})
}

func testDeliveryReceipts(t *testing.T, storeEnv map[string]string) {
	st := newStackWith(t, func(st *stack) { maps.Copy(st.env, storeEnv) })
	st.settings(true, false, false, false)
	for i, tc := range []struct {
		name     string
		receipts []twiliotest.Receipt
		status   string // the log's delivery.status
		code     float64
		error    string // what delivery.error says
	}{
		{"delivered", twiliotest.Delivered, "delivered", 0, ""},
		{"delivered, then repeated", slices.Concat(twiliotest.Delivered, []twiliotest.Receipt{{Status: "delivered"}, {Status: "sent"}}), "delivered", 0, ""},
		{"delivered before sent", twiliotest.DeliveredOutOfOrder, "delivered", 0, ""},
		{"unreachable", twiliotest.Undelivered(30003), "undelivered", 30003, "the phone is unreachable, switched off or out of coverage (carrier error 30003)"},
		{"unknown number", twiliotest.Undelivered(30005), "undelivered", 30005, "an unknown number, or one no longer in service (carrier error 30005)"},
		{"landline", twiliotest.Undelivered(30006), "undelivered", 30006, "a landline, or a carrier that cannot take texts (carrier error 30006)"},
		{"filtered", twiliotest.Undelivered(30007), "undelivered", 30007, "filtered by the carrier as spam (carrier error 30007)"},
		{"unregistered 10DLC number", twiliotest.Undelivered(30034), "undelivered", 30034, "not registered for US A2P 10DLC"},
		{"undelivered, then a late sent", slices.Concat(twiliotest.Undelivered(30003), []twiliotest.Receipt{{Status: "sent"}}), "undelivered", 30003, "(carrier error 30003)"},
		{"failed, a code of no meaning here", []twiliotest.Receipt{{Status: "failed", ErrorCode: 30410}}, "failed", 30410, "carrier error 30410"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st.t = t
			sent := len(st.sms.Messages())
			posted := len(st.sms.Callbacks())
			st.sms.Script(tc.receipts)
			phone := fmt.Sprintf("+35191234%04d", i)
			job := st.job(st.site(phone, ""))
			st.move(st.assign(job, st.technician(fmt.Sprintf("Tech %d", i))), "dispatch")
			text := st.sms.WaitFor(t, sent+1, 10*time.Second)[sent]
			if text.To != phone || text.StatusCallback == "" {
				t.Fatalf("text = %+v", text)
			}
			cbs := st.sms.WaitCallbacks(t, posted+len(tc.receipts), 10*time.Second)[posted:]
			for _, cb := range cbs {
				if cb.SID != text.SID || cb.Status != 200 {
					t.Fatalf("receipt %+v of %s: Enroute answered %d %s", cb.Receipt, text.SID, cb.Status, cb.Err)
				}
			}
			log := st.waitLog(job, func(log []map[string]any) bool {
				d, _ := log[0]["delivery"].(map[string]any)
				return len(log) == 1 && log[0]["status"] == "sent" && d != nil && d["status"] == tc.status
			})
			m, d := log[0], log[0]["delivery"].(map[string]any)
			if m["provider_id"] != text.SID {
				t.Fatalf("provider_id = %v, want %s", m["provider_id"], text.SID)
			}
			code, _ := d["error_code"].(float64)
			msg, _ := d["error"].(string)
			if code != tc.code || !strings.Contains(msg, tc.error) || (tc.error == "") != (msg == "") {
				t.Fatalf("delivery = %v, want code %v, error %q", d, tc.code, tc.error)
			}
			if _, err := time.Parse(time.RFC3339, fmt.Sprint(d["updated_at"])); err != nil {
				t.Fatalf("updated_at = %v", d["updated_at"])
			}
		})
	}
	st.t = t

	// Receipts Enroute cannot use are answered 200 (Twilio would retry
	// them otherwise); an unsigned or wrongly signed one is refused.
	receipt := func(query string, form url.Values, sign bool) res {
		sig := "wrong"
		if sign {
			sig = notify.TwilioSignature(st.sms.AuthToken, testPublicURL+"/api/v1/sms/status"+query, form)
		}
		return st.rawPost("/api/v1/sms/status"+query, form.Encode(), "X-Twilio-Signature", sig)
	}
	unknown := url.Values{"MessageSid": {"SM" + strings.Repeat("f", 32)}, "MessageStatus": {"delivered"}, "AccountSid": {st.sms.AccountSID}}
	if r := receipt("?message=1", unknown, true); r.status != 200 {
		t.Fatalf("receipt for an unknown text = %d %s", r.status, r.raw)
	}
	if r := receipt("", url.Values{"MessageSid": {st.sms.Messages()[0].SID}, "MessageStatus": {"read"}}, true); r.status != 200 {
		t.Fatalf("receipt with a status of no use = %d %s", r.status, r.raw)
	}
	if r := receipt("", unknown, false); r.status != 403 {
		t.Fatalf("unsigned receipt = %d %s", r.status, r.raw)
	}
	// The signature covers the query: a receipt moved to another message
	// is refused.
	form := url.Values{"MessageSid": {st.sms.Messages()[0].SID}, "MessageStatus": {"undelivered"}, "ErrorCode": {"30003"}}
	sig := notify.TwilioSignature(st.sms.AuthToken, testPublicURL+"/api/v1/sms/status?message=1", form)
	if r := st.rawPost("/api/v1/sms/status?message=2", form.Encode(), "X-Twilio-Signature", sig); r.status != 403 {
		t.Fatalf("receipt with a changed query = %d %s", r.status, r.raw)
	}
	if errs := st.sms.Errors(); len(errs) > 0 {
		t.Fatalf("requests Twilio would refuse: %v", errs)
	}
}

// TestDeliveryReceiptsNeedAPublicURL: with a public URL Twilio cannot
// reach (the default, this machine's own address), texts ask for no
// receipts, which Twilio may refuse to send to, and the Text tab says
// that whether texts arrive is not reported.
func TestDeliveryReceiptsNeedAPublicURL(t *testing.T) {
	st := newStackWith(t, func(st *stack) { delete(st.env, "ENROUTE_PUBLIC_URL") })
	st.settings(true, false, false, false)
	job := st.job(st.site("+351912345678", ""))
	st.move(st.assign(job, st.technician("Ana Silva")), "dispatch")
	if text := st.sms.WaitFor(t, 1, 10*time.Second)[0]; text.StatusCallback != "" {
		t.Fatalf("StatusCallback %q to an address Twilio cannot reach", text.StatusCallback)
	}
	if note := st.ok("GET", "/api/v1/settings/dispatch-notifications/text", nil).str("provider_note"); !strings.Contains(note, "delivery receipts") || !strings.Contains(note, "ENROUTE_PUBLIC_URL") {
		t.Fatalf("provider_note = %q", note)
	}
}

func TestReachableFromInternet(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"https://track.example.com", true},
		{"https://enroute.test", true},
		{"http://203.0.113.7:8080", true},
		{"http://127.0.0.1:8080", false},
		{"http://[::1]:8080", false},
		{"http://10.0.0.11:8080", false},
		{"http://192.168.1.5", false},
		{"http://169.254.1.1", false},
		{"http://0.0.0.0:8080", false},
		{"http://localhost:8080", false},
		{"http://enroute.localhost", false},
		{"http://server.local", false},
		{"http://enroute", false},
	} {
		if got := reachableFromInternet(tc.url); got != tc.want {
			t.Errorf("reachableFromInternet(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
