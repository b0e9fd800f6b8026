package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// SMS is one text.
type SMS struct {
	MessageID int64 // the outbox message's id, which delivery receipts carry back
	From      string
	To        string
	Body      string
}

// SMSSender sends a text. It returns the provider's id for it.
type SMSSender interface {
	SendSMS(ctx context.Context, m SMS) (id string, err error)
}

// Email is one e-mail with a plain-text and an HTML part.
type Email struct {
	MessageID string // the Message-ID header, stable across retries
	FromName  string
	From      string
	To        string
	Subject   string
	Text      string
	HTML      string
}

// EmailSender sends an e-mail. It returns an id for it.
type EmailSender interface {
	SendEmail(ctx context.Context, e Email) (id string, err error)
}

// PermanentError is a refusal that retrying cannot fix (an invalid number,
// a rejected address, bad credentials): the message fails at once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// RetryAfterError is a transient refusal that says when to try again.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

func permanent(format string, args ...any) error {
	return &PermanentError{Err: fmt.Errorf(format, args...)}
}

// IsPermanent reports whether err must not be retried.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// logOnly marks the development providers, which send nothing: what they
// take ends logged, not sent.
type logOnly interface{ logOnly() }

// LogSMS is the development SMS provider: it logs that a text would go out,
// never its body (which may hold a tracking link).
type LogSMS struct{ Logger *slog.Logger }

func (LogSMS) logOnly() {}

// SendSMS implements SMSSender.
func (l LogSMS) SendSMS(_ context.Context, m SMS) (string, error) {
	id := "log-" + strings.ReplaceAll(time.Now().UTC().Format("20060102T150405.000000"), ".", "")
	l.Logger.Info("sms not sent: log provider", "provider_id", id, "to_suffix", suffix(m.To), "chars", len([]rune(m.Body)))
	return id, nil
}

// LogEmail is the development e-mail provider.
type LogEmail struct{ Logger *slog.Logger }

func (LogEmail) logOnly() {}

// SendEmail implements EmailSender.
func (l LogEmail) SendEmail(_ context.Context, e Email) (string, error) {
	l.Logger.Info("email not sent: log provider", "message_id", e.MessageID, "to_domain", domain(e.To))
	return e.MessageID, nil
}

// suffix keeps the last digits of a phone number for logs.
func suffix(phone string) string {
	if len(phone) <= 4 {
		return phone
	}
	return "…" + phone[len(phone)-4:]
}

func domain(addr string) string {
	if _, d, ok := strings.Cut(addr, "@"); ok {
		return d
	}
	return ""
}
