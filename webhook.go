package enroute

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"time"
)

// WebhookEventType names what happened, for outbound webhooks.
type WebhookEventType string

// Webhook event types. The assignment ones are written in the transaction
// of the status change; the message ones with the outbox's recorded outcome.
const (
	EventAssignmentDispatched WebhookEventType = "assignment.dispatched"
	EventAssignmentArrived    WebhookEventType = "assignment.arrived" // became working
	EventAssignmentDone       WebhookEventType = "assignment.done"
	EventAssignmentCancelled  WebhookEventType = "assignment.cancelled"
	EventMessageSent          WebhookEventType = "message.sent"
	EventMessageFailed        WebhookEventType = "message.failed"
	EventMessageSuppressed    WebhookEventType = "message.suppressed"
	EventMessageDelivered     WebhookEventType = "message.delivered" // the carrier's receipt
	// EventLocationVerified: a change left a job site verified (the
	// geocoder matched its house number, or a dispatcher verified its pin).
	EventLocationVerified WebhookEventType = "location.verified"
	// EventTrackingOpened: the customer first opened the tracking page.
	EventTrackingOpened WebhookEventType = "tracking.opened"
	// EventCustomerReplied: the customer texted something that is not a
	// keyword (STOP, START, HELP) to the company's number.
	EventCustomerReplied WebhookEventType = "customer.replied"
	// EventWebhookTest is sent by POST /api/v1/webhooks/{id}/test, to that
	// endpoint only; endpoints cannot subscribe to it.
	EventWebhookTest WebhookEventType = "webhook.test"
)

// WebhookEventTypes lists the events an endpoint may subscribe to.
var WebhookEventTypes = []WebhookEventType{
	EventAssignmentDispatched, EventAssignmentArrived, EventAssignmentDone, EventAssignmentCancelled,
	EventMessageSent, EventMessageDelivered, EventMessageFailed, EventMessageSuppressed,
	EventLocationVerified, EventTrackingOpened, EventCustomerReplied,
}

// Valid reports whether t is an event endpoints may subscribe to.
func (t WebhookEventType) Valid() bool { return slices.Contains(WebhookEventTypes, t) }

// WebhookEndpoint is a receiver of outbound webhooks registered by an
// admin. Its signing secret is never part of it: the store keeps it sealed
// (encrypted under the server's key) and it is shown once, at creation and
// on rotation.
type WebhookEndpoint struct {
	ID          int64              `json:"id"`
	URL         string             `json:"url"`
	Description string             `json:"description"`
	Events      []WebhookEventType `json:"events"`
	Enabled     bool               `json:"enabled"`
	// DisabledReason says why Enroute disabled the endpoint ("" when an
	// admin did, or when it is enabled).
	DisabledReason string `json:"disabled_reason"`
	// FailingSince is when the endpoint's deliveries began to fail without
	// a success since; nil while it works.
	FailingSince *time.Time `json:"failing_since"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    time.Time  `json:"updated_at"`
}

// Wants reports whether e is enabled and subscribed to t.
func (e *WebhookEndpoint) Wants(t WebhookEventType) bool {
	return e.Enabled && slices.Contains(e.Events, t)
}

// Validate returns an EINVALID error naming every invalid field. Only
// https URLs are accepted unless allowHTTP (development, tests).
func (e *WebhookEndpoint) Validate(allowHTTP bool) error {
	v := validator{}
	u, err := url.Parse(e.URL)
	switch {
	case e.URL == "":
		v.add("url", "is required")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.add("url", "must be an absolute https URL")
	case u.Scheme == "http" && !allowHTTP:
		v.add("url", "must use https")
	case u.User != nil:
		v.add("url", "must not carry credentials")
	case len(e.URL) > 2000:
		v.add("url", "must be at most 2000 characters")
	}
	v.text("description", e.Description, false, 500)
	if len(e.Events) == 0 {
		v.add("events", "must name at least one event")
	}
	for _, t := range e.Events {
		if !t.Valid() {
			v.add("events", "unknown event "+string(t))
			break
		}
	}
	return v.err()
}

// WebhookEndpointUpdate changes an endpoint; nil fields are left unchanged.
// Enabling an endpoint clears its DisabledReason and FailingSince.
type WebhookEndpointUpdate struct {
	URL         *string             `json:"url"`
	Description *string             `json:"description"`
	Events      *[]WebhookEventType `json:"events"`
	Enabled     *bool               `json:"enabled"`
}

// WebhookSecrets are an endpoint's signing secrets as the store keeps
// them: sealed (see webhook.Sealer). During a rotation the previous secret
// still signs, until PreviousUntil, so receivers can switch over.
type WebhookSecrets struct {
	Current       []byte
	Previous      []byte
	PreviousUntil *time.Time
}

// WebhookDeliveryStatus is where a delivery stands.
type WebhookDeliveryStatus string

// Webhook delivery statuses. Queued deliveries are sent by the webhook
// worker; the others are final.
const (
	WebhookQueued    WebhookDeliveryStatus = "queued"
	WebhookDelivered WebhookDeliveryStatus = "delivered" // the receiver answered 2xx
	WebhookFailed    WebhookDeliveryStatus = "failed"
)

// WebhookEvent is something that happened, to be delivered to every
// endpoint that wants it. ID ("evt_" + 128 random bits) is the
// webhook-id header: the same on every attempt, so receivers de-duplicate.
type WebhookEvent struct {
	ID        string           `json:"id"`
	Type      WebhookEventType `json:"type"`
	CreatedAt time.Time        `json:"timestamp"`
	Data      json.RawMessage  `json:"data"`
}

// MarshalPayload returns the body delivered to endpoints, as the Standard
// Webhooks specification suggests: {"id","type","timestamp","data"}.
func (ev *WebhookEvent) MarshalPayload() ([]byte, error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return nil, Errorf(EINVALID, "The event's data is not JSON: %v", err)
	}
	return b, nil
}

// NewWebhookEventID returns a new event id.
func NewWebhookEventID() string { return NewSecret("evt_", 16) }

// WebhookDelivery is one event on its way to one endpoint: a row of the
// webhook outbox.
type WebhookDelivery struct {
	ID         int64            `json:"id"`
	EndpointID int64            `json:"endpoint_id"`
	EventID    string           `json:"event_id"`
	EventType  WebhookEventType `json:"event_type"`
	// Payload is the exact body sent: the event as JSON.
	Payload        json.RawMessage       `json:"payload"`
	Status         WebhookDeliveryStatus `json:"status"`
	Attempts       int                   `json:"attempts"`
	NextAttemptAt  time.Time             `json:"next_attempt_at"`
	LastError      string                `json:"last_error"`
	LastStatusCode int                   `json:"last_status_code"`
	CreatedAt      time.Time             `json:"created_at"`
	FinishedAt     *time.Time            `json:"finished_at"`
	// AttemptLog is every attempt, oldest first, when asked for.
	AttemptLog []*WebhookAttempt `json:"attempt_log,omitempty"`
}

// WebhookAttempt is one try at a delivery.
type WebhookAttempt struct {
	At         time.Time `json:"at"`
	StatusCode int       `json:"status_code"` // 0 when no response came
	Error      string    `json:"error"`
	DurationMS int64     `json:"duration_ms"`
}

// WebhookResult is the outcome of one delivery attempt.
type WebhookResult struct {
	// Status is WebhookDelivered, WebhookFailed, or WebhookQueued to
	// retry at NextAttemptAt.
	Status        WebhookDeliveryStatus
	NextAttemptAt time.Time
	Attempt       WebhookAttempt
}

// WebhookDeliveryFilter selects deliveries; nil fields do not filter.
type WebhookDeliveryFilter struct {
	EndpointID *int64
	EventID    *string
	Status     *WebhookDeliveryStatus
	// WithAttempts fills each delivery's AttemptLog.
	WithAttempts bool
	Page
}

// WebhookStore persists endpoints and the webhook outbox.
type WebhookStore interface {
	// FindWebhookEndpoints returns every endpoint ordered by id.
	FindWebhookEndpoints(ctx context.Context, p Page) ([]*WebhookEndpoint, error)
	// FindWebhookEndpointByID returns ENOTFOUND.
	FindWebhookEndpointByID(ctx context.Context, id int64) (*WebhookEndpoint, error)
	// CreateWebhookEndpoint stores e with its sealed secret. Returns
	// EINVALID (the caller validates the URL scheme).
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint, sealedSecret []byte) error
	// UpdateWebhookEndpoint returns ENOTFOUND or EINVALID.
	UpdateWebhookEndpoint(ctx context.Context, id int64, u WebhookEndpointUpdate) (*WebhookEndpoint, error)
	// DeleteWebhookEndpoint deletes an endpoint and its deliveries. Returns
	// ENOTFOUND.
	DeleteWebhookEndpoint(ctx context.Context, id int64) error
	// DisableWebhookEndpoint disables an endpoint, saying why. Returns
	// ENOTFOUND.
	DisableWebhookEndpoint(ctx context.Context, id int64, reason string) error
	// FindWebhookSecrets returns an endpoint's sealed secrets. Returns
	// ENOTFOUND.
	FindWebhookSecrets(ctx context.Context, id int64) (*WebhookSecrets, error)
	// RotateWebhookSecret makes sealed the current secret; the current one
	// becomes the previous one, which still signs until previousUntil.
	// Returns ENOTFOUND.
	RotateWebhookSecret(ctx context.Context, id int64, sealed []byte, previousUntil time.Time) error

	// CreateWebhookEvent queues ev for every endpoint that wants it (or
	// only for endpointID when it is not 0, whatever its subscriptions), in
	// the transaction of ctx. It sets ev.ID and ev.CreatedAt when unset and
	// returns the number of deliveries queued.
	CreateWebhookEvent(ctx context.Context, ev *WebhookEvent, endpointID int64) (int, error)
	// FindWebhookDeliveries returns the matching deliveries, newest first.
	FindWebhookDeliveries(ctx context.Context, f WebhookDeliveryFilter) ([]*WebhookDelivery, error)
	// ClaimWebhookDeliveries leases up to n queued, due deliveries of
	// enabled endpoints, so no other worker (on any node) takes them until
	// lease has passed, and counts the attempt.
	ClaimWebhookDeliveries(ctx context.Context, n int, lease time.Duration) ([]*WebhookDelivery, error)
	// CompleteWebhookDelivery records an attempt's outcome, releases the
	// lease and keeps the endpoint's FailingSince: cleared by a success,
	// set by the first failure after one. It returns the endpoint as it
	// now is. Returns ENOTFOUND when the delivery is not queued.
	CompleteWebhookDelivery(ctx context.Context, id int64, r WebhookResult) (*WebhookEndpoint, error)
	// DeleteWebhookDeliveriesBefore forgets the deliveries that finished
	// (delivered or failed) before t, with their attempts (retention).
	DeleteWebhookDeliveriesBefore(ctx context.Context, t time.Time) (int64, error)
}

// WebhookDeliveryRetention is how long finished deliveries stay listed.
const WebhookDeliveryRetention = 30 * 24 * time.Hour

// WebhookSecretOverlap is how long a rotated-out secret still signs
// deliveries, beside the new one, so receivers can switch without losing
// any.
const WebhookSecretOverlap = 24 * time.Hour

// WebhookService is what the HTTP API asks of outbound webhooks beyond the
// store: what needs the signing secrets or the server's URL policy.
// webhook.Service implements it.
type WebhookService interface {
	// CreateWebhookEndpoint validates and stores e with a new signing
	// secret, returned here only. Returns EINVALID naming the field.
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) (secret string, err error)
	// UpdateWebhookEndpoint validates and applies u. Returns ENOTFOUND or
	// EINVALID.
	UpdateWebhookEndpoint(ctx context.Context, id int64, u WebhookEndpointUpdate) (*WebhookEndpoint, error)
	// RotateWebhookSecret gives an endpoint a new secret, returned here
	// only; the previous one still signs for WebhookSecretOverlap.
	// Returns ENOTFOUND.
	RotateWebhookSecret(ctx context.Context, id int64) (secret string, err error)
	// SendTestWebhook queues a webhook.test event for endpoint id, enabled
	// or not subscribed as it may be (a disabled endpoint gets it once
	// enabled). Returns ENOTFOUND.
	SendTestWebhook(ctx context.Context, id int64) (*WebhookEvent, error)
}
