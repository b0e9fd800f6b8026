package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute/webhook"
)

// verify checks a delivery as the Standard Webhooks specification tells a
// receiver to, written from the specification and not from Sign: the
// signed content is "${webhook-id}.${webhook-timestamp}.${body}", the key
// is the base64-decoded part of the secret after "whsec_", the header is a
// space-separated list of "v1,<base64 HMAC-SHA256>" of which one must
// match, and the timestamp (seconds) must be within tolerance of now.
func verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("missing headers")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("bad timestamp %q", tsText)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("timestamp %d too far from now", ts)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return err
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + tsText + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return fmt.Errorf("no signature matches")
}

// TestSignSpecVector: the vector of the Standard Webhooks reference
// libraries' tests.
func TestSignSpecVector(t *testing.T) {
	got, err := webhook.Sign("msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`),
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; err != nil || got != want {
		t.Fatalf("Sign = %q, %v, want %q", got, err, want)
	}
}

func TestSignVerifies(t *testing.T) {
	now := time.Now()
	cur, prev := webhook.NewSecret(), webhook.NewSecret()
	body := []byte(`{"id":"evt_1","type":"assignment.done","data":{}}`)
	sig, err := webhook.Sign("evt_1", now, body, cur, prev)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("webhook-signature", sig)
	for _, tc := range []struct {
		name    string
		secret  string
		body    []byte
		header  func(http.Header)
		now     time.Time
		wantErr bool
	}{
		{name: "current secret", secret: cur, body: body},
		{name: "previous secret, rotating", secret: prev, body: body},
		{name: "another secret", secret: webhook.NewSecret(), body: body, wantErr: true},
		{name: "body changed", secret: cur, body: []byte(`{"id":"evt_1","type":"assignment.done","data":{"x":1}}`), wantErr: true},
		{name: "id changed", secret: cur, body: body, header: func(h http.Header) { h.Set("webhook-id", "evt_2") }, wantErr: true},
		{name: "timestamp changed", secret: cur, body: body, header: func(h http.Header) {
			h.Set("webhook-timestamp", strconv.FormatInt(now.Unix()+1, 10))
		}, wantErr: true},
		{name: "replayed late", secret: cur, body: body, now: now.Add(6 * time.Minute), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.Clone()
			if tc.header != nil {
				tc.header(h)
			}
			at := tc.now
			if at.IsZero() {
				at = now
			}
			err := verify(tc.secret, h, tc.body, at, 5*time.Minute)
			if (err != nil) != tc.wantErr {
				t.Fatalf("verify = %v, want error %v", err, tc.wantErr)
			}
		})
	}
	if _, err := webhook.Sign("evt_1", now, body, "whsec_short"); err == nil {
		t.Fatal("Sign accepted a malformed secret")
	}
}
