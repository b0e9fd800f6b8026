package tracker

import (
	"context"

	"github.com/enroutehq/enroute"
)

// ActivityEvents tells boards of a job's activity once its transaction
// commits: a customer's reply (enroute.ReplyHook), a message's outcome or
// carrier's receipt (enroute.MessageHook). A board that shows the job then
// reads its log again.
type ActivityEvents struct {
	Store enroute.Store
	Pub   enroute.ActivityPublisher
}

var (
	_ enroute.ReplyHook   = ActivityEvents{}
	_ enroute.MessageHook = ActivityEvents{}
)

// ReplyReceived implements enroute.ReplyHook. A reply matched to no job
// is listed by the API only.
func (e ActivityEvents) ReplyReceived(ctx context.Context, r *enroute.Reply) error {
	if r.JobID != nil {
		e.publish(ctx, enroute.Activity{Type: enroute.ActivityReply, JobID: *r.JobID, ID: r.ID})
	}
	return nil
}

// MessageFinished implements enroute.MessageHook.
func (e ActivityEvents) MessageFinished(ctx context.Context, m *enroute.Message) error {
	e.publish(ctx, enroute.Activity{Type: enroute.ActivityMessage, JobID: m.JobID, ID: m.ID})
	return nil
}

// MessageDelivery implements enroute.MessageHook.
func (e ActivityEvents) MessageDelivery(ctx context.Context, m *enroute.Message) error {
	return e.MessageFinished(ctx, m)
}

func (e ActivityEvents) publish(ctx context.Context, a enroute.Activity) {
	e.Store.AfterCommit(ctx, func() { e.Pub.PublishActivity(&a) })
}
