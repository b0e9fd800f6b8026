package webhook

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/enroutehq/enroute"
)

// Events writes webhook events to the outbox in the transaction of what
// they tell: an assignment's status change (enroute.AssignmentHook), a
// message's final outcome and its carrier's receipt (enroute.MessageHook),
// a job site left verified (enroute.LocationHook), the tracking page first
// opened (enroute.TrackingHook) and a customer's reply (enroute.ReplyHook). So an event exists
// exactly when its change committed: nothing is lost, nothing is sent of
// a change rolled back.
type Events struct {
	Store enroute.Store
	// Wake, when set, runs after a transaction that queued deliveries
	// commits (Worker.Wake).
	Wake func()
}

var (
	_ enroute.AssignmentHook = (*Events)(nil)
	_ enroute.MessageHook    = (*Events)(nil)
	_ enroute.LocationHook   = (*Events)(nil)
	_ enroute.TrackingHook   = (*Events)(nil)
	_ enroute.ReplyHook      = (*Events)(nil)
)

var assignmentEvents = map[enroute.AssignmentStatus]enroute.WebhookEventType{
	enroute.StatusDispatched: enroute.EventAssignmentDispatched,
	enroute.StatusWorking:    enroute.EventAssignmentArrived,
	enroute.StatusDone:       enroute.EventAssignmentDone,
	enroute.StatusCancelled:  enroute.EventAssignmentCancelled,
}

// AssignmentData is the data of the assignment events.
type AssignmentData struct {
	Assignment     *enroute.Assignment      `json:"assignment"`
	PreviousStatus enroute.AssignmentStatus `json:"previous_status"`
}

// AssignmentChanged implements enroute.AssignmentHook.
func (e *Events) AssignmentChanged(ctx context.Context, a *enroute.Assignment, prev enroute.AssignmentStatus) error {
	t, ok := assignmentEvents[a.Status]
	if !ok {
		return nil
	}
	return e.emit(ctx, t, a.UpdatedAt, AssignmentData{Assignment: a, PreviousStatus: prev})
}

var messageEvents = map[enroute.MessageStatus]enroute.WebhookEventType{
	enroute.MessageSent:       enroute.EventMessageSent,
	enroute.MessageLogged:     enroute.EventMessageSent, // status "logged" tells a development provider took it
	enroute.MessageFailed:     enroute.EventMessageFailed,
	enroute.MessageSuppressed: enroute.EventMessageSuppressed,
}

// MessageData is the data of the message events: the message without its
// texts (which may have carried a customer's tracking link).
type MessageData struct {
	ID           int64                 `json:"id"`
	AssignmentID int64                 `json:"assignment_id"`
	JobID        int64                 `json:"job_id"`
	CustomerID   int64                 `json:"customer_id"`
	Kind         enroute.MessageKind   `json:"kind"`
	Channel      enroute.Channel       `json:"channel"`
	Status       enroute.MessageStatus `json:"status"`
	Reason       string                `json:"reason"`
	To           string                `json:"to"`
	ProviderID   string                `json:"provider_id"`
	Attempts     int                   `json:"attempts"`
	// Author names the staff key that wrote or resent it; ResendOf is the
	// message it sends again.
	Author   string `json:"author,omitempty"`
	ResendOf *int64 `json:"resend_of,omitempty"`
	// Delivery is the carrier's report, in the receipt events.
	Delivery *enroute.Delivery `json:"delivery,omitempty"`
}

func messageData(m *enroute.Message) MessageData {
	return MessageData{ID: m.ID, AssignmentID: m.AssignmentID, JobID: m.JobID, CustomerID: m.CustomerID,
		Kind: m.Kind, Channel: m.Channel, Status: m.Status, Reason: m.Reason, To: m.To, ProviderID: m.ProviderID, Attempts: m.Attempts,
		Author: m.Author, ResendOf: m.ResendOf}
}

// MessageFinished implements enroute.MessageHook.
func (e *Events) MessageFinished(ctx context.Context, m *enroute.Message) error {
	t, ok := messageEvents[m.Status]
	if !ok {
		return nil
	}
	return e.emit(ctx, t, time.Time{}, messageData(m))
}

// MessageDelivery implements enroute.MessageHook: message.delivered for a
// text the carrier delivered, message.failed for one it could not.
func (e *Events) MessageDelivery(ctx context.Context, m *enroute.Message) error {
	if m.Delivery == nil {
		return nil
	}
	var t enroute.WebhookEventType
	switch m.Delivery.Status {
	case enroute.DeliveryDelivered:
		t = enroute.EventMessageDelivered
	case enroute.DeliveryUndelivered, enroute.DeliveryFailed:
		t = enroute.EventMessageFailed
	default:
		return nil
	}
	data := messageData(m)
	data.Delivery = m.Delivery
	return e.emit(ctx, t, m.Delivery.UpdatedAt, data)
}

// TrackingOpened implements enroute.TrackingHook: tracking.opened.
func (e *Events) TrackingOpened(ctx context.Context, a *enroute.Assignment) error {
	return e.emit(ctx, enroute.EventTrackingOpened, *a.TrackingOpenedAt, AssignmentData{Assignment: a, PreviousStatus: a.Status})
}

// ReplyData is the data of customer.replied.
type ReplyData struct {
	Reply *enroute.Reply `json:"reply"`
}

// ReplyReceived implements enroute.ReplyHook: customer.replied.
func (e *Events) ReplyReceived(ctx context.Context, r *enroute.Reply) error {
	return e.emit(ctx, enroute.EventCustomerReplied, r.ReceivedAt, ReplyData{Reply: r})
}

// LocationData is the data of location.verified.
type LocationData struct {
	Location *enroute.Location `json:"location"`
}

// LocationChanged implements enroute.LocationHook: location.verified for
// each change that leaves a site verified.
func (e *Events) LocationChanged(ctx context.Context, l *enroute.Location) error {
	if !l.Verified {
		return nil
	}
	return e.emit(ctx, enroute.EventLocationVerified, l.UpdatedAt, LocationData{Location: l})
}

func (e *Events) emit(ctx context.Context, t enroute.WebhookEventType, at time.Time, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("webhook event %s: %w", t, err)
	}
	n, err := e.Store.CreateWebhookEvent(ctx, &enroute.WebhookEvent{Type: t, CreatedAt: at, Data: b}, 0)
	if err != nil {
		return fmt.Errorf("webhook event %s: %w", t, err)
	}
	if n > 0 && e.Wake != nil {
		e.Store.AfterCommit(ctx, e.Wake)
	}
	return nil
}
