package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// DefaultTwilioBaseURL is Twilio's REST API.
const DefaultTwilioBaseURL = "https://api.twilio.com"

// Twilio sends texts through Twilio's Programmable Messaging REST API:
// POST {BaseURL}/2010-04-01/Accounts/{AccountSID}/Messages.json with the
// form fields To, From and Body, authenticated with HTTP basic auth.
type Twilio struct {
	BaseURL    string // DefaultTwilioBaseURL, or a stand-in's in tests
	AccountSID string
	AuthToken  string
	// StatusCallback is where Twilio posts each text's delivery receipts
	// (the server's public URL and /api/v1/sms/status); each text's
	// carries its outbox message id (?message=ID), so a receipt that
	// comes before the send is recorded still finds its message. Empty:
	// no receipts are asked for.
	StatusCallback string
	Client         *http.Client // default: 15 s timeout
}

// statusCallback is the StatusCallback of message id.
func (t *Twilio) statusCallback(id int64) string {
	sep := "?"
	if strings.Contains(t.StatusCallback, "?") {
		sep = "&"
	}
	return t.StatusCallback + sep + "message=" + strconv.FormatInt(id, 10)
}

// twilioError is the body Twilio answers a refused request with.
type twilioError struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
}

// SendSMS implements SMSSender. 429 and 5xx are transient (429 honours
// Retry-After); any other 4xx is permanent (an invalid number, an
// unverified sender, bad credentials).
func (t *Twilio) SendSMS(ctx context.Context, m SMS) (string, error) {
	form := url.Values{"To": {m.To}, "From": {m.From}, "Body": {m.Body}}
	if t.StatusCallback != "" {
		form.Set("StatusCallback", t.statusCallback(m.MessageID))
	}
	endpoint := strings.TrimRight(t.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(t.AccountSID) + "/Messages.json"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return "", permanent("twilio request: %w", err)
	}
	req.SetBasicAuth(t.AccountSID, t.AuthToken)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 15 * time.Second}
	}
	res, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("twilio unreachable: %w", errors.Unwrap(err)) // the URL holds the account id
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	if res.StatusCode == http.StatusCreated || res.StatusCode == http.StatusOK {
		var ok struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(raw, &ok); err != nil || ok.SID == "" {
			return "", fmt.Errorf("twilio answered %d without a message sid", res.StatusCode)
		}
		return ok.SID, nil
	}
	var te twilioError
	_ = json.Unmarshal(raw, &te)
	err = fmt.Errorf("twilio %d: %s (error %d)", res.StatusCode, strings.TrimSpace(te.Message), te.Code)
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
		return "", &RetryAfterError{Err: err, After: retryAfter(res.Header.Get("Retry-After"))}
	case res.StatusCode >= 500:
		return "", err
	default:
		return "", &PermanentError{Err: err}
	}
}

func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return time.Until(t)
	}
	return 0
}

// TwilioSignature computes the X-Twilio-Signature of a webhook request:
// base64(HMAC-SHA1(authToken, url + each POST parameter's name and value,
// sorted by name)).
func TwilioSignature(authToken, fullURL string, params url.Values) string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vals := slices.Clone(params[k])
		slices.Sort(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidTwilioSignature reports whether signature is Twilio's for the request.
func ValidTwilioSignature(authToken, fullURL string, params url.Values, signature string) bool {
	want := TwilioSignature(authToken, fullURL, params)
	return hmac.Equal([]byte(want), []byte(signature))
}
