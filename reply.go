package enroute

import (
	"context"
	"time"
)

// Reply is a text a customer sent to the company's number that is not a
// keyword (STOP, START, HELP): a question, "running 5 min late, gate code
// 1234". It is stored on the job whose message the customer answered, shown
// on the dispatch board and answered from there (a KindManual message).
type Reply struct {
	ID int64 `json:"id"`
	// JobID and AssignmentID are those of the latest text sent to the
	// number; CustomerID that text's customer. All nil when Enroute never
	// texted the number: the reply is kept, listed without a job.
	JobID        *int64 `json:"job_id"`
	AssignmentID *int64 `json:"assignment_id"`
	CustomerID   *int64 `json:"customer_id"`
	From         string `json:"from"`
	Body         string `json:"body"`
	// ProviderID is the provider's id for the text (Twilio's MessageSid):
	// a webhook delivered twice stores one reply.
	ProviderID string    `json:"provider_id"`
	ReceivedAt time.Time `json:"received_at"`
}

// MaxReplyLen bounds a stored reply, in bytes: ten SMS segments' worth
// of the longest encoding. Longer (concatenated MMS text) is cut, marked.
const MaxReplyLen = 4096

// InboundText is a text sent to the company's number, as the provider's
// webhook gives it.
type InboundText struct {
	From       string
	Body       string
	ProviderID string
}

// ReplyFilter selects replies; nil fields do not filter.
type ReplyFilter struct {
	JobID *int64
	Page
}

// ReplyStore persists customers' replies.
type ReplyStore interface {
	// CreateReply stores r, matched to the job of the latest text sent to
	// r.From. A reply whose ProviderID is stored already is not stored
	// again: CreateReply then returns false and sets r as stored.
	CreateReply(ctx context.Context, r *Reply) (created bool, err error)
	// FindReplies returns the matching replies, oldest first.
	FindReplies(ctx context.Context, f ReplyFilter) ([]*Reply, error)
}

// ReplyHook is told of each new reply inside the transaction that stores
// it.
type ReplyHook interface {
	ReplyReceived(ctx context.Context, r *Reply) error
}
