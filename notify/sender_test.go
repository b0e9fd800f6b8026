package notify_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute/internal/twiliotest"
	"github.com/enroutehq/enroute/notify"
)

func TestTwilioSendSMS(t *testing.T) {
	ts := twiliotest.Start(t)
	tw := &notify.Twilio{BaseURL: ts.URL, AccountSID: ts.AccountSID, AuthToken: ts.AuthToken}
	ctx := context.Background()

	id, err := tw.SendSMS(ctx, notify.SMS{MessageID: 7, From: "+13125550100", To: "+351912345678", Body: "Ana is on the way: https://x.test/t/abc?x=1&y=2"})
	if err != nil || !strings.HasPrefix(id, "SM") {
		t.Fatalf("SendSMS = %q, %v", id, err)
	}
	if got := ts.Messages()[0]; got.Body != "Ana is on the way: https://x.test/t/abc?x=1&y=2" || got.To != "+351912345678" || got.StatusCallback != "" {
		t.Fatalf("stand-in got %+v", got)
	}
	// With a StatusCallback, each text asks for its receipts there, with
	// its message id.
	receipts := &notify.Twilio{BaseURL: ts.URL, AccountSID: ts.AccountSID, AuthToken: ts.AuthToken, StatusCallback: "https://enroute.test/api/v1/sms/status"}
	if _, err := receipts.SendSMS(ctx, notify.SMS{MessageID: 42, From: "+13125550100", To: "+351912345678", Body: "x"}); err != nil {
		t.Fatal(err)
	}
	if got := ts.Messages()[1].StatusCallback; got != "https://enroute.test/api/v1/sms/status?message=42" {
		t.Fatalf("StatusCallback = %q", got)
	}

	for _, tc := range []struct {
		status     int
		permanent  bool
		retryAfter bool
	}{
		{http.StatusInternalServerError, false, false},
		{http.StatusServiceUnavailable, false, false},
		{http.StatusTooManyRequests, false, true},
		{http.StatusBadRequest, true, false},
		{http.StatusNotFound, true, false},
	} {
		ts.FailNext(tc.status)
		_, err := tw.SendSMS(ctx, notify.SMS{From: "+13125550100", To: "+351912345678", Body: "x"})
		var ra *notify.RetryAfterError
		if err == nil || notify.IsPermanent(err) != tc.permanent || errors.As(err, &ra) != tc.retryAfter {
			t.Errorf("status %d: err = %v, permanent %v", tc.status, err, notify.IsPermanent(err))
		}
		if tc.retryAfter && ra.After != time.Second {
			t.Errorf("Retry-After = %v", ra.After)
		}
	}
	bad := &notify.Twilio{BaseURL: ts.URL, AccountSID: ts.AccountSID, AuthToken: "wrong"}
	if _, err := bad.SendSMS(ctx, notify.SMS{From: "+13125550100", To: "+351912345678", Body: "x"}); !notify.IsPermanent(err) || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad credentials = %v", err)
	}
	down := &notify.Twilio{BaseURL: "http://127.0.0.1:1", AccountSID: ts.AccountSID, AuthToken: ts.AuthToken}
	if _, err := down.SendSMS(ctx, notify.SMS{From: "+1", To: "+1", Body: "x"}); err == nil || notify.IsPermanent(err) || strings.Contains(err.Error(), ts.AccountSID) {
		t.Fatalf("unreachable = %v", err)
	}
}

// Twilio's documented example: https://www.twilio.com/docs/usage/security
func TestTwilioSignature(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	const u = "https://mycompany.com/myapp.php?foo=1&bar=2"
	sig := notify.TwilioSignature("12345", u, params)
	if sig != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Fatalf("signature = %s", sig)
	}
	if !notify.ValidTwilioSignature("12345", u, params, sig) || notify.ValidTwilioSignature("12346", u, params, sig) {
		t.Fatal("ValidTwilioSignature")
	}
	params.Set("Digits", "9999")
	if notify.ValidTwilioSignature("12345", u, params, sig) {
		t.Fatal("a changed parameter still validates")
	}
}

func TestParseSMTPURL(t *testing.T) {
	for _, tc := range []struct {
		in, addr, err string
	}{
		{"smtp://user:pass@mail.example.com", "mail.example.com:587", ""},
		{"smtps://user:pass@mail.example.com", "mail.example.com:465", ""},
		{"smtp://127.0.0.1:1025?tls=none", "127.0.0.1:1025", ""},
		{"http://mail.example.com", "", "smtp://"},
		{"smtp://", "", "no host"},
		{"smtp://h:99999", "", "port"},
		{"smtps://h?tls=none", "", "always TLS"},
		{"smtp://h?tls=maybe", "", "tls must be"},
		{"smtp://u:s3cret@h:x", "", ""},
	} {
		c, err := notify.ParseSMTPURL(tc.in)
		switch {
		case tc.in == "smtp://u:s3cret@h:x":
			if err == nil || strings.Contains(err.Error(), "s3cret") {
				t.Errorf("%q: %v (must fail without the password)", tc.in, err)
			}
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseSMTPURL(%q) = %v, want error with %q", tc.in, err, tc.err)
			}
		case err != nil || c.Addr() != tc.addr:
			t.Errorf("ParseSMTPURL(%q) = %v, %v", tc.in, c, err)
		}
	}
}

func TestArrivalWindow(t *testing.T) {
	start := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		tz, lang string
		end      time.Time
		want     string
	}{
		{"America/Chicago", "", start.Add(2 * time.Hour), "9:00 AM – 11:00 AM on Fri, Nov 27"},
		{"Europe/Lisbon", "en", start.Add(2 * time.Hour), "3:00 PM – 5:00 PM on Fri, Nov 27"},
		{"Europe/Lisbon", "", start.Add(10 * time.Hour), "Fri, Nov 27 3:00 PM – Sat, Nov 28 1:00 AM"},
		{"Not/AZone", "", start.Add(time.Hour), "3:00 PM – 4:00 PM on Fri, Nov 27"},
		{"America/Mexico_City", "es", start.Add(2 * time.Hour), "de 9:00 a 11:00 el vie 27 nov"},
		{"Europe/Madrid", "es", start.Add(10 * time.Hour), "del vie 27 nov 16:00 al sáb 28 nov 2:00"},
		{"Europe/Lisbon", "pt", start.Add(2 * time.Hour), "3:00 PM – 5:00 PM on Fri, Nov 27"}, // no words of its own: English
	} {
		if got := notify.ArrivalWindow(start, tc.end, tc.tz, tc.lang); got != tc.want {
			t.Errorf("ArrivalWindow(%s, %q) = %q, want %q", tc.tz, tc.lang, got, tc.want)
		}
	}
}
