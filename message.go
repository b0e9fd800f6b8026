package enroute

import (
	"context"
	"strings"
	"time"
)

// Channel is how a message reaches a customer.
type Channel string

// Channels.
const (
	ChannelSMS   Channel = "sms"
	ChannelEmail Channel = "email"
)

// MessageKind is why a message is sent.
type MessageKind string

// Message kinds.
const (
	KindDispatch MessageKind = "dispatch"
	KindLate     MessageKind = "late" // the ETA passed the arrival window
)

// MessageStatus is where a message stands in the outbox.
type MessageStatus string

// Message statuses. Queued messages are sent by the outbox worker; the
// others are final.
const (
	MessageQueued MessageStatus = "queued"
	MessageSent   MessageStatus = "sent" // a provider (Twilio, an SMTP server) accepted it
	// MessageLogged: a development provider took it and only logged it:
	// it left the server for nowhere.
	MessageLogged     MessageStatus = "logged"
	MessageFailed     MessageStatus = "failed"
	MessageSuppressed MessageStatus = "suppressed" // the limit rule held it back
	MessageSkipped    MessageStatus = "skipped"    // the customer cannot or does not want to receive it
)

// Message is one customer notification on one channel: a row of the outbox
// and of the delivery log. It is written in the transaction of the change
// that caused it, so it exists exactly when that change committed.
type Message struct {
	ID           int64         `json:"id"`
	AssignmentID int64         `json:"assignment_id"`
	JobID        int64         `json:"job_id"`
	CustomerID   int64         `json:"customer_id"`
	Kind         MessageKind   `json:"kind"`
	Channel      Channel       `json:"channel"`
	Status       MessageStatus `json:"status"`
	// Reason says why a message was suppressed, skipped or failed.
	Reason   string `json:"reason"`
	To       string `json:"to"`
	From     string `json:"from"`
	FromName string `json:"from_name,omitempty"`
	Subject  string `json:"subject,omitempty"`
	Body     string `json:"body"`
	HTML     string `json:"-"`
	// LinkToken is the tracking token in the body, kept only until the
	// message is final; then the body is redacted and it is cleared.
	LinkToken     string     `json:"-"`
	ProviderID    string     `json:"provider_id"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	FinishedAt    *time.Time `json:"finished_at"`
}

// Redact replaces the tracking token in m's texts, for showing m to staff:
// a link is for its customer only.
func (m *Message) Redact() {
	if m.LinkToken == "" {
		return
	}
	r := strings.NewReplacer(m.LinkToken, RedactedLink)
	m.Subject, m.Body, m.HTML, m.LinkToken = r.Replace(m.Subject), r.Replace(m.Body), r.Replace(m.HTML), ""
}

// MessageFilter selects messages; nil fields do not filter.
type MessageFilter struct {
	JobID        *int64
	AssignmentID *int64
	Status       *MessageStatus
	Page
}

// MessageResult is the outcome of one delivery attempt.
type MessageResult struct {
	// Status is MessageSent, MessageLogged, MessageFailed, or MessageQueued to retry at
	// NextAttemptAt.
	Status        MessageStatus
	ProviderID    string
	Reason        string
	NextAttemptAt time.Time
}

// MessageStore is the outbox.
type MessageStore interface {
	// CreateMessage queues or records m. Returns ECONFLICT when the
	// assignment already has a message of that kind on that channel.
	CreateMessage(ctx context.Context, m *Message) error
	// FindMessages returns the matching messages ordered by id.
	FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// ClaimMessages leases up to n queued messages that are due, so no other
	// worker (on any node) takes them until lease has passed, and counts the
	// attempt.
	ClaimMessages(ctx context.Context, n int, lease time.Duration) ([]*Message, error)
	// CompleteMessage records an attempt's outcome and releases the lease.
	// A final outcome redacts the tracking token from the stored body.
	CompleteMessage(ctx context.Context, id int64, r MessageResult) error
}

// RedactedLink replaces a tracking token in a stored message once the
// message is final, so the delivery log keeps no live link.
const RedactedLink = "••••"

// TrackingLink lets a customer follow one assignment. Only the token's hash
// is stored.
type TrackingLink struct {
	AssignmentID int64     `json:"assignment_id"`
	CreatedAt    time.Time `json:"created_at"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// TrackingLinkTTL is how long a tracking link works.
const TrackingLinkTTL = 24 * time.Hour

// TrackingStore persists tracking links.
type TrackingStore interface {
	// CreateTrackingLink stores a link to an assignment by its token's hash.
	CreateTrackingLink(ctx context.Context, l *TrackingLink, tokenHash []byte) error
	// FindTrackingLink returns ENOTFOUND for an unknown or expired token.
	FindTrackingLink(ctx context.Context, tokenHash []byte) (*TrackingLink, error)
}

// NewTrackingToken returns a tracking token: 128 bits, short enough for a
// text message.
func NewTrackingToken() string { return NewSecret("", 16) }

// MessageHook is told of every message that reaches sent, logged, failed
// or suppressed, inside the transaction that records it: what it writes
// commits or rolls back with the outcome.
type MessageHook interface {
	// MessageFinished is called with m as recorded, its texts redacted.
	MessageFinished(ctx context.Context, m *Message) error
}
