// Package twiliotest is a stand-in for Twilio's Programmable Messaging API,
// the one paid third-party API Enroute talks to. It speaks Twilio's real
// wire format and refuses requests that Twilio would refuse: a wrong path,
// missing or wrong basic auth, a body that is not form-encoded, missing To,
// From or Body. Tests queue failures to see how Enroute retries.
package twiliotest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is a text the stand-in accepted.
type Message struct {
	SID, From, To, Body string
}

// Server is the stand-in.
type Server struct {
	URL        string
	AccountSID string
	AuthToken  string

	mu       sync.Mutex
	messages []Message
	failures []int // statuses to answer the next requests with
	errors   []string
}

// Start runs a stand-in for the given account, closed when the test ends.
func Start(t testing.TB) *Server {
	s := &Server{AccountSID: "AC" + strings.Repeat("0123456789abcdef", 2), AuthToken: "test-auth-token-0123456789abcdef"}
	ts := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
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
	to, from, body := r.PostForm.Get("To"), r.PostForm.Get("From"), r.PostForm.Get("Body")
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
	s.messages = append(s.messages, Message{SID: sid, From: from, To: to, Body: body})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"sid": sid, "account_sid": s.AccountSID, "to": to, "from": from, "body": body,
		"status": "queued", "num_segments": "1", "direction": "outbound-api", "api_version": "2010-04-01",
		"date_created": time.Now().UTC().Format(time.RFC1123Z), "uri": want[:len(want)-5] + "/" + sid + ".json",
	})
}
