// Package mailpit runs a real SMTP server, mailpit, for tests, and reads
// what it received through its HTTP API. Tests skip when the mailpit binary
// is missing (CI installs it and sets CI=true, which turns the skip into a
// failure).
package mailpit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Server is a running mailpit. Stop and Start it to simulate an outage;
// it keeps its ports and its mailbox across restarts.
type Server struct {
	t        testing.TB
	bin      string
	dir      string
	SMTPAddr string
	HTTPAddr string
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
}

// Binary finds mailpit on PATH or in $GOPATH/bin.
func Binary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("mailpit"); err == nil {
		return p
	}
	gopath, _ := exec.Command("go", "env", "GOPATH").Output()
	if p := filepath.Join(strings.TrimSpace(string(gopath)), "bin", "mailpit"); fileExists(p) {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("mailpit is not installed; .ci/run installs it: go install github.com/axllent/mailpit@v1.33.1")
	}
	t.Skip("SMTP tests skipped: install mailpit (go install github.com/axllent/mailpit@v1.33.1)")
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// Start runs mailpit on free loopback ports, stopped when the test ends.
// A port found free can be taken by another test before mailpit binds it:
// then mailpit exits, and it starts again on other ports.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, dir := Binary(t), t.TempDir()
	for attempt := 1; ; attempt++ {
		s := &Server{t: t, bin: bin, dir: dir, SMTPAddr: freeAddr(t), HTTPAddr: freeAddr(t)}
		if s.start() {
			t.Cleanup(s.Stop)
			return s
		}
		if attempt == 3 {
			t.Fatal("mailpit did not start")
		}
	}
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// URL returns the SMTP URL Enroute uses to reach it.
func (s *Server) URL() string { return "smtp://" + s.SMTPAddr + "?tls=none" }

// Start restarts the server on its ports and waits until its API answers.
func (s *Server) Start() {
	s.t.Helper()
	if !s.start() {
		s.t.Fatal("mailpit did not start")
	}
}

// start runs the server and reports whether it answers within 15 s; false
// when it exited (a port taken) or never answered (then it is stopped).
func (s *Server) start() bool {
	s.cmd = exec.Command(s.bin, "--smtp", s.SMTPAddr, "--listen", s.HTTPAddr, "--database", filepath.Join(s.dir, "mailpit.db"),
		"--smtp-auth-accept-any", "--smtp-auth-allow-insecure", "--smtp-disable-rdns", "--disable-version-check", "--quiet")
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start mailpit: %v", err)
	}
	exited := make(chan struct{})
	cmd := s.cmd
	go func() { _ = cmd.Wait(); close(exited) }()
	s.exited = exited
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := s.list(); err == nil {
			if c, err := net.Dial("tcp", s.SMTPAddr); err == nil {
				c.Close()
				return true
			}
		}
		select {
		case <-exited:
			s.cmd = nil
			return false
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return false
		}
	}
}

// Stop kills the server; its SMTP port then refuses connections.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.cmd = nil
	}
}

// Message is a received e-mail, as mailpit's API shows it.
type Message struct {
	ID        string `json:"ID"`
	MessageID string `json:"MessageID"`
	From      struct {
		Name    string `json:"Name"`
		Address string `json:"Address"`
	} `json:"From"`
	To []struct {
		Address string `json:"Address"`
	} `json:"To"`
	Subject string `json:"Subject"`
	Text    string `json:"Text"`
	HTML    string `json:"HTML"`
}

// Messages returns every message received, oldest first, with its bodies.
func (s *Server) Messages() []Message {
	s.t.Helper()
	ms, err := s.list()
	if err != nil {
		s.t.Fatal(err)
	}
	for i := range ms {
		if err := s.get("/api/v1/message/"+ms[i].ID, &ms[i]); err != nil {
			s.t.Fatal(err)
		}
	}
	return ms
}

func (s *Server) list() ([]Message, error) {
	var page struct {
		Messages []Message `json:"messages"`
	}
	if err := s.get("/api/v1/messages?limit=1000", &page); err != nil {
		return nil, err
	}
	for i, j := 0, len(page.Messages)-1; i < j; i, j = i+1, j-1 {
		page.Messages[i], page.Messages[j] = page.Messages[j], page.Messages[i]
	}
	return page.Messages, nil
}

func (s *Server) get(path string, v any) error {
	res, err := http.Get("http://" + s.HTTPAddr + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("mailpit %s: %s", path, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}

// WaitFor polls until mailpit holds n messages, failing after timeout.
func (s *Server) WaitFor(n int, timeout time.Duration) []Message {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms, err := s.list()
		if err == nil && len(ms) >= n {
			return s.Messages()
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("mailpit holds %d messages after %v, want %d (%v)", len(ms), timeout, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
