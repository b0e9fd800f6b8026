package twiliotest

import (
	"net/url"
	"testing"
)

// The stand-in signs receipts as Twilio does: Twilio's documented example,
// https://www.twilio.com/docs/usage/security
func TestSignature(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
		"From": {"+12349013030"}, "To": {"+18005551212"},
	}
	if sig := Signature("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params); sig != "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" {
		t.Fatalf("signature = %s", sig)
	}
}
