package enroute

import (
	"context"
	"fmt"
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
	// The moments after the dispatch (DispatchSettings.Moment).
	KindNearby      MessageKind = "nearby"      // the ETA dropped under the company's minutes
	KindArrived     MessageKind = "arrived"     // the assignment became working
	KindCompleted   MessageKind = "completed"   // the assignment is done
	KindCancelled   MessageKind = "cancelled"   // cancelled after its dispatch reached the customer
	KindRescheduled MessageKind = "rescheduled" // its job's window moved after the dispatch reached the customer
	// KindManual is a text a dispatcher wrote (an answer to a reply).
	KindManual MessageKind = "manual"
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
	// Delivery is what the carrier reported of a sent text (Twilio's
	// delivery receipts); nil until a report came.
	Delivery *Delivery `json:"delivery"`
	// Author is the name of the staff key that wrote (KindManual) or
	// resent the message; "" for what Enroute sent on its own.
	Author string `json:"author,omitempty"`
	// ResendOf is the message this one sends again, on a dispatcher's
	// request.
	ResendOf *int64 `json:"resend_of,omitempty"`
	// QuietUntil is when the company's quiet hours that held the message
	// back end: it waits until then, and is dropped (skipped) if it is no
	// longer true by then. Nil for a message sent at once.
	QuietUntil *time.Time `json:"quiet_until,omitempty"`
}

// Automatic reports whether Enroute sent m on its own: at most one of its
// kind per assignment and channel.
func (m *Message) Automatic() bool { return m.Kind != KindManual && m.ResendOf == nil }

// DeliveryStatus is where a sent text stands with the carrier, as the
// provider reports it: queued, sending, sent (the carrier took it), then
// delivered, undelivered or failed.
type DeliveryStatus string

// Delivery statuses, Twilio's MessageStatus values for an outbound text.
const (
	DeliveryQueued      DeliveryStatus = "queued"
	DeliverySending     DeliveryStatus = "sending"
	DeliverySent        DeliveryStatus = "sent"
	DeliveryDelivered   DeliveryStatus = "delivered"
	DeliveryUndelivered DeliveryStatus = "undelivered" // the carrier could not deliver it
	DeliveryFailed      DeliveryStatus = "failed"      // the provider could not send it
)

// DeliveryStatuses lists the delivery statuses in the order a text passes
// through them; the last three are final.
var DeliveryStatuses = []DeliveryStatus{DeliveryQueued, DeliverySending, DeliverySent, DeliveryDelivered, DeliveryUndelivered, DeliveryFailed}

// Rank orders delivery statuses: a report never moves a text to a lower or
// equal rank, so receipts that arrive late, out of order or twice change
// nothing. The final statuses share the highest rank; an unknown status
// is 0.
func (s DeliveryStatus) Rank() int {
	switch s {
	case DeliveryQueued:
		return 1
	case DeliverySending:
		return 2
	case DeliverySent:
		return 3
	case DeliveryDelivered, DeliveryUndelivered, DeliveryFailed:
		return 4
	}
	return 0
}

// Delivery is the carrier's latest report on a sent text.
type Delivery struct {
	Status DeliveryStatus `json:"status"`
	// ErrorCode is the provider's error code of an undelivered or failed
	// text (Twilio's ErrorCode, 30003...), 0 for none; Error says what it
	// means (CarrierError).
	ErrorCode int       `json:"error_code,omitempty"`
	Error     string    `json:"error,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// carrierErrors says in plain words what the common carrier errors mean:
// https://www.twilio.com/docs/api/errors
var carrierErrors = map[int]string{
	30003: "the phone is unreachable, switched off or out of coverage",
	30004: "blocked by the customer or by their carrier",
	30005: "an unknown number, or one no longer in service",
	30006: "a landline, or a carrier that cannot take texts",
	30007: "filtered by the carrier as spam",
	30008: "an unknown error at the carrier",
	30034: "the sending number is not registered for US A2P 10DLC, so US carriers refuse its texts; register it in Twilio's console",
}

// CarrierError says what a carrier error code means, for the delivery log:
// "the phone is unreachable, ... (carrier error 30003)", or only "carrier
// error NNNNN" for a code it does not know; "" for 0.
func CarrierError(code int) string {
	if code == 0 {
		return ""
	}
	if s, ok := carrierErrors[code]; ok {
		return fmt.Sprintf("%s (carrier error %d)", s, code)
	}
	return fmt.Sprintf("carrier error %d", code)
}

// DeliveryReport is a provider's report on a text it took: a delivery
// receipt.
type DeliveryReport struct {
	// MessageID is the message's id when the report names it (the
	// receipt's URL carries it), else 0. It lets a report that comes
	// before the send was recorded find its message.
	MessageID int64
	// ProviderID is the provider's id for the text (Twilio's MessageSid).
	ProviderID string
	Status     DeliveryStatus
	ErrorCode  int
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
	ID           *int64
	JobID        *int64
	AssignmentID *int64
	Kind         *MessageKind
	Automatic    bool // only what Enroute sent on its own (Message.Automatic)
	Status       *MessageStatus
	Page
}

// MessageResult is the outcome of one delivery attempt.
type MessageResult struct {
	// Status is MessageSent, MessageLogged, MessageFailed, MessageSkipped
	// (dropped unsent: no longer true), or MessageQueued to retry at
	// NextAttemptAt.
	Status        MessageStatus
	ProviderID    string
	Reason        string
	NextAttemptAt time.Time
}

// MessageStore is the outbox.
type MessageStore interface {
	// CreateMessage queues or records m. Returns ECONFLICT when m is
	// Automatic and the assignment already has an automatic message of
	// that kind on that channel.
	CreateMessage(ctx context.Context, m *Message) error
	// FindMessages returns the matching messages ordered by id.
	FindMessages(ctx context.Context, f MessageFilter) ([]*Message, error)
	// ClaimMessages leases up to n queued messages that are due, so no other
	// worker (on any node) takes them until lease has passed, and counts the
	// attempt.
	ClaimMessages(ctx context.Context, n int, lease time.Duration) ([]*Message, error)
	// CompleteMessage records an attempt's outcome and releases the lease.
	// A final outcome redacts the tracking token from the stored body.
	// A provider id other than the one a delivery report recorded (another
	// attempt's copy) clears that report.
	CompleteMessage(ctx context.Context, id int64, r MessageResult) error
	// UpdateMessageDelivery records a delivery report on the text with the
	// report's provider id, or, when none has it yet, on the text
	// r.MessageID whose send is not recorded yet (which then takes that
	// provider id). A report of a lower or equal rank than the text's
	// status changes nothing. It returns the text and whether it changed;
	// ENOTFOUND when no text matches, EINVALID for an unknown status.
	UpdateMessageDelivery(ctx context.Context, r DeliveryReport) (m *Message, changed bool, err error)
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

// TrackingLinkTTL is how long a tracking link works from its creation
// (longer once its assignment is done: FeedbackLinkTTL).
const TrackingLinkTTL = 24 * time.Hour

// TrackingStore persists tracking links.
type TrackingStore interface {
	// CreateTrackingLink stores a link to an assignment by its token's hash,
	// valid TrackingLinkTTL from now unless l says how long, and for a done
	// assignment at least FeedbackLinkTTL from its completion.
	CreateTrackingLink(ctx context.Context, l *TrackingLink, tokenHash []byte) error
	// FindTrackingLink returns ENOTFOUND for an unknown or expired token.
	FindTrackingLink(ctx context.Context, tokenHash []byte) (*TrackingLink, error)
	// RecordTrackingOpen counts an opening of assignment id's tracking
	// page, at the store's now, and returns the assignment as it then is
	// (TrackingOpens 1: the first). Returns ENOTFOUND.
	RecordTrackingOpen(ctx context.Context, id int64) (*Assignment, error)
	// ExtendTrackingLinks makes the links of assignment id that are still
	// live work until until, when they would expire sooner. A link that
	// has expired stays expired.
	ExtendTrackingLinks(ctx context.Context, id int64, until time.Time) error
}

// TrackingHook is told of the first time a customer opens an assignment's
// tracking page, inside the transaction that records it.
type TrackingHook interface {
	TrackingOpened(ctx context.Context, a *Assignment) error
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
	// MessageDelivery is called when a carrier's report moves a sent
	// text's Delivery to a final status (delivered, undelivered, failed),
	// inside the transaction that records it.
	MessageDelivery(ctx context.Context, m *Message) error
}
