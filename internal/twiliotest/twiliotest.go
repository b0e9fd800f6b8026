// Package twiliotest is a stand-in for Twilio's Programmable Messaging API,
// the one paid third-party API Enroute talks to. It speaks Twilio's real
// wire format and refuses requests that Twilio would refuse: a wrong path,
// missing or wrong basic auth, a body that is not form-encoded, missing To,
// From or Body, a StatusCallback that is not a URL. Tests queue failures to
// see how Enroute retries, and script what the carrier reports of each
// text: the stand-in then posts those delivery receipts to the text's
// StatusCallback, form-encoded and signed (X-Twilio-Signature) as Twilio
// does.
//
// Concurrency: a Server is safe for concurrent use. Receipts are posted
// by a goroutine per text, one after the other, after the text was
// answered; the test's end waits for them.
package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is a text the stand-in accepted.
type Message struct {
	SID, From, To, Body string
	StatusCallback      string // "" when none was given
}

// Receipt is one status callback: a MessageStatus (sent, delivered,
// undelivered, failed...) and, for an undelivered or failed text, Twilio's
// ErrorCode.
type Receipt struct {
	Status    string
	ErrorCode int
}

// Outcomes the carrier reports, in the order the receipts are posted.
var (
	// Delivered: sent, then delivered.
	Delivered = []Receipt{{Status: "sent"}, {Status: "delivered"}}
	// DeliveredOutOfOrder: the same pair, the delivered receipt first, as
	// Twilio does not promise their order.
	DeliveredOutOfOrder = []Receipt{{Status: "delivered"}, {Status: "sent"}}
)

// Undelivered: sent, then undelivered with a carrier error (30003
// unreachable, 30005 unknown number, 30006 landline, 30007 filtered,
// 30034 unregistered 10DLC number...).
func Undelivered(code int) []Receipt {
	return []Receipt{{Status: "sent"}, {Status: "undelivered", ErrorCode: code}}
}

// Callback is a receipt the stand-in posted, and what became of it.
type Callback struct {
	SID string
	Receipt
	Status int    // Enroute's answer
	Err    string // or why there was none
}

// Server is the stand-in.
type Server struct {
	URL        string
	AccountSID string
	AuthToken  string

	mu        sync.Mutex
	messages  []Message
	failures  []int // statuses to answer the next requests with
	errors    []string
	outcomes  [][]Receipt    // the next accepted texts' receipts, in order
	forward   [][2]string    // public URL prefix -> where to post instead
	callbacks []Callback     // posted so far
	posting   sync.WaitGroup // receipts being posted
	client    *http.Client
}

// Start runs a stand-in for the given account, closed when the test ends.
func Start(t testing.TB) *Server {
	s := &Server{AccountSID: "AC" + strings.Repeat("0123456789abcdef", 2), AuthToken: "test-auth-token-0123456789abcdef",
		client: &http.Client{Timeout: 10 * time.Second}}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	t.Cleanup(s.posting.Wait) // before the close: the last cleanup registered runs first
	s.URL = ts.URL
	return s
}

// Script makes the carrier report these outcomes of the next texts the
// stand-in accepts, one outcome a text, in order. A text with none
// scripted gets no receipts, as from a carrier that sends none.
func (s *Server) Script(outcomes ...[]Receipt) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outcomes = append(s.outcomes, outcomes...)
}

// Forward posts the receipts whose StatusCallback starts with public to
// base instead (base + the rest of the URL), as a reverse proxy in front
// of the server would take them there; they are signed over the
// StatusCallback as given, as Twilio signs them.
func (s *Server) Forward(public, base string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.forward = append(s.forward, [2]string{strings.TrimRight(public, "/"), strings.TrimRight(base, "/")})
}

// Callbacks returns the receipts posted so far.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

// WaitCallbacks polls until n receipts were posted and answered.
func (s *Server) WaitCallbacks(t testing.TB, n int, timeout time.Duration) []Callback {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cs := s.Callbacks(); len(cs) >= n {
			return cs
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMS stand-in posted %d receipts after %v, want %d: %+v", len(s.Callbacks()), timeout, n, s.Callbacks())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Signature is X-Twilio-Signature as Twilio computes it
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security):
// base64(HMAC-SHA1(auth token, the full URL, then each POST parameter's
// name and value, sorted by name)). Written here apart from Enroute's, so
// each checks the other.
func Signature(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range vs {
			b.WriteString(k + v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// post posts a text's receipts to its StatusCallback, one after the other.
func (s *Server) post(m Message, receipts []Receipt) {
	defer s.posting.Done()
	target := m.StatusCallback
	s.mu.Lock()
	for _, f := range s.forward {
		if rest, ok := strings.CutPrefix(m.StatusCallback, f[0]); ok {
			target = f[1] + rest
		}
	}
	s.mu.Unlock()
	for _, r := range receipts {
		// The parameters of Twilio's status callback for an SMS.
		form := url.Values{
			"MessageSid": {m.SID}, "SmsSid": {m.SID}, "AccountSid": {s.AccountSID},
			"From": {m.From}, "To": {m.To}, "MessageStatus": {r.Status}, "SmsStatus": {r.Status},
			"ApiVersion": {"2010-04-01"},
		}
		if r.ErrorCode != 0 {
			form.Set("ErrorCode", strconv.Itoa(r.ErrorCode))
		}
		if r.Status == "delivered" || r.Status == "undelivered" {
			form.Set("RawDlrDoneDate", time.Now().UTC().Format("0601021504"))
		}
		c := Callback{SID: m.SID, Receipt: r}
		req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("User-Agent", "TwilioProxy/1.1")
			req.Header.Set("X-Twilio-Signature", Signature(s.AuthToken, m.StatusCallback, form))
			var res *http.Response
			if res, err = s.client.Do(req); err == nil {
				c.Status = res.StatusCode
				res.Body.Close()
			}
		}
		if err != nil {
			c.Err = err.Error()
		}
		s.mu.Lock()
		s.callbacks = append(s.callbacks, c)
		s.mu.Unlock()
	}
}

// FailNext makes the next requests answer with these statuses (500, 429,
// 400...), in order.
func (s *Server) FailNext(statuses ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, statuses...)
}

// Messages returns the texts accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Errors returns the wire-format problems seen; a test fails on any.
func (s *Server) Errors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.errors...)
}

// WaitFor polls until n texts were accepted.
func (s *Server) WaitFor(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ms := s.Messages(); len(ms) >= n {
			return ms
		}
		if time.Now().After(deadline) {
			t.Fatalf("the SMS stand-in has %d texts after %v, want %d (wire errors: %v)", len(s.Messages()), timeout, n, s.Errors())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *Server) refuse(w http.ResponseWriter, status, code int, msg string) {
	s.mu.Lock()
	s.errors = append(s.errors, msg)
	s.mu.Unlock()
	writeError(w, status, code, msg)
}

func writeError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"code": code, "message": msg, "more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code), "status": status})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	want := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages.json"
	if r.Method != http.MethodPost || r.URL.Path != want {
		s.refuse(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		s.refuse(w, http.StatusUnauthorized, 20003, "Authenticate")
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		s.refuse(w, http.StatusBadRequest, 21609, "Content-Type must be application/x-www-form-urlencoded, not "+ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		s.refuse(w, http.StatusBadRequest, 21609, "malformed form")
		return
	}
	to, from, body, callback := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body"), r.PostForm.Get("StatusCallback")
	if u, err := url.Parse(callback); callback != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(u.Hostname(), "_")) {
		s.refuse(w, http.StatusBadRequest, 21609, "Invalid 'StatusCallback'")
		return
	}
	switch {
	case to == "":
		s.refuse(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
		return
	case from == "":
		s.refuse(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
		return
	case body == "":
		s.refuse(w, http.StatusBadRequest, 21602, "Message body is required.")
		return
	}
	s.mu.Lock()
	if len(s.failures) > 0 {
		status := s.failures[0]
		s.failures = s.failures[1:]
		s.mu.Unlock()
		if status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "1")
		}
		writeError(w, status, 20500+status%100, fmt.Sprintf("stand-in failure %d", status))
		return
	}
	sid := fmt.Sprintf("SM%032x", len(s.messages)+1)
	m := Message{SID: sid, From: from, To: to, Body: body, StatusCallback: callback}
	s.messages = append(s.messages, m)
	var receipts []Receipt
	if len(s.outcomes) > 0 {
		receipts, s.outcomes = s.outcomes[0], s.outcomes[1:]
	}
	if callback != "" && len(receipts) > 0 {
		s.posting.Add(1)
		go s.post(m, receipts) // as Twilio does, not waiting for the answer below to be read
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": sid, "account_sid": s.AccountSID, "to": to, "from": from, "body": body,
		"status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
		"date_created": time.Now().UTC().Format(time.RFC1123Z), "uri": want[:len(want)-5] + "/" + sid + ".json",
	})
}
