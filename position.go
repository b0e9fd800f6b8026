package enroute

import (
	"context"
	"time"
)

// Position is one GPS fix of a technician's device. Unknown optional values
// are negative: AccuracyM, SpeedMPS, HeadingDeg and Battery (a percentage).
type Position struct {
	TechnicianID int64     `json:"technician_id"`
	DeviceID     int64     `json:"device_id"`
	Time         time.Time `json:"ts"` // when the device took the fix
	Lat          float64   `json:"lat"`
	Lng          float64   `json:"lng"`
	AccuracyM    float64   `json:"accuracy_m"`
	SpeedMPS     float64   `json:"speed_mps"`
	HeadingDeg   float64   `json:"heading_deg"`
	AltitudeM    float64   `json:"altitude_m"`
	Battery      float64   `json:"battery"`
	ReceivedAt   time.Time `json:"received_at"`
	// Cell is the H3 cell of the live index holding the position, set when
	// it became live; 0 for history.
	Cell uint64 `json:"-"`
}

// PositionFilter selects stored positions.
type PositionFilter struct {
	TechnicianID *int64
	Since, Until time.Time // Since inclusive, Until exclusive; zero: unbounded
	Page         Page      // in time order; Limit at most MaxLimit unless Unlimited
	Unlimited    bool      // every match (the ETA model, tests), never for the API
}

// PositionStore keeps the history of every accepted fix.
type PositionStore interface {
	// InsertPositions stores a batch atomically. A fix already stored (same
	// device and time) is skipped, so a retried batch is stored once. It
	// keeps nothing of ps once it returns: callers reuse its memory.
	//
	// Both stores keep values to a phone GPS's precision and no finer
	// (internal/fixunits): coordinates to 1e-7 degrees (1.1 cm), accuracy
	// and altitude to 0.1 m, speed to 1 cm/s, heading to 0.1 degree (359.95
	// and up is 0), battery to 0.1 percent, rounded half away from zero.
	// They read back the nearest float64 of that many decimals (a lat of
	// 41.1579123456 as 41.1579123, 12.3 as 12.3), and unknown values
	// (negative) as -1.
	InsertPositions(ctx context.Context, ps []Position) error
	// FindPositions returns matching positions ordered by time.
	FindPositions(ctx context.Context, f PositionFilter) ([]Position, error)
	// EachPosition calls fn with every position matching f's technician
	// and times, ordered by time then device (f.Page is not used), for
	// exports: a page at a time, so neither the period nor a connection is
	// held while fn runs. p is the store's until fn returns. It stops at
	// fn's first error, which it returns as is, and when ctx ends.
	EachPosition(ctx context.Context, f PositionFilter, fn func(p *Position) error) error
	// LatestPositions returns each technician's newest position taken at or
	// after since: the live state to rebuild at start-up.
	LatestPositions(ctx context.Context, since time.Time) ([]Position, error)
	// DeletePositionsBefore forgets positions taken before t (retention)
	// and returns how many it forgot. A store may forget in whole periods
	// of at most a day (PostgreSQL drops a day's partition once the day
	// has ended before t), so positions taken up to a day before t may
	// remain; none taken at or after t is ever forgotten.
	DeletePositionsBefore(ctx context.Context, t time.Time) (int64, error)
	// CountPositions returns how many positions are stored.
	CountPositions(ctx context.Context) (int64, error)
}

// ModelSnapshot is what the ETA model has learned from the position
// history, saved so that a restart relearns only the history since.
type ModelSnapshot struct {
	Data         []byte    // the model's own encoding (eta.Model.MarshalBinary)
	LearnedUntil time.Time // the end of the newest driving it holds
	SavedAt      time.Time // set by the store
}

// ModelStore keeps the ETA model's latest snapshot. With several nodes
// each saves its own model over the last one saved.
type ModelStore interface {
	// SaveModel replaces the saved snapshot with s and sets s.SavedAt.
	SaveModel(ctx context.Context, s *ModelSnapshot) error
	// FindModel returns the saved snapshot; ENOTFOUND when none was saved.
	FindModel(ctx context.Context) (*ModelSnapshot, error)
}

// Publisher carries live updates from where they happen to whoever
// watches: the in-process hub, or a bus between nodes. Implementations never
// block the caller.
type Publisher interface {
	// PublishPosition announces a technician's new live position.
	PublishPosition(p *Position)
	// PublishAssignment announces an assignment's status change.
	PublishAssignment(a *Assignment)
	// PublishProgress announces an en-route assignment's distance and ETA.
	PublishProgress(p *Progress)
}

// Activity is news of a job for dispatchers' boards: its customer
// replied, or one of its messages moved (sent, failed, delivered...). It
// says what changed, not the change: a board that shows the job reads it.
type Activity struct {
	Type  ActivityType `json:"kind"`
	JobID int64        `json:"job_id"`
	ID    int64        `json:"id"` // the reply's or the message's
}

// ActivityType is what an Activity is about.
type ActivityType string

// Activity types.
const (
	ActivityReply   ActivityType = "reply"
	ActivityMessage ActivityType = "message"
)

// ActivityPublisher carries jobs' activity to boards, on this node and
// the others. Implementations never block the caller.
type ActivityPublisher interface {
	PublishActivity(a *Activity)
}

// Progress is how far an en-route technician is from a verified address,
// and when they should arrive.
type Progress struct {
	AssignmentID int64     `json:"assignment_id"`
	TechnicianID int64     `json:"technician_id"`
	DistanceM    float64   `json:"distance_m"`
	ETA          time.Time `json:"eta"`
	// ETAEarly and ETALate are the arrival's range: the ETA model's own
	// errors at this distance and hour of the day held 80% of the true
	// arrivals in one as wide. Zero while the model has too few.
	ETAEarly time.Time `json:"eta_early,omitzero"`
	ETALate  time.Time `json:"eta_late,omitzero"`
	At       time.Time `json:"at"` // the fix it was computed from
	// Where the technician was, to route the progress to dispatchers'
	// viewports.
	Lat  float64 `json:"-"`
	Lng  float64 `json:"-"`
	Cell uint64  `json:"-"`
}

// ProgressQueuer is a Publisher that can hold progress for the position it
// is told of next, on the same goroutine, and send the two together: the
// ETA watcher queues the progress it computed from a position, and the hub
// sends that position and its progress in one message. The tracker makes
// the order a contract: its estimators hear of each position before its
// publishers (tracker.Tracker.SubscribeEstimator).
type ProgressQueuer interface {
	// QueueProgress holds p for the position published next.
	QueueProgress(p *Progress)
}

// Box is an area of the map, from (MinLat, MinLng) in the south-west to
// (MaxLat, MaxLng) in the north-east. A box whose MinLng is greater than
// its MaxLng crosses the antimeridian.
type Box struct {
	MinLat, MinLng, MaxLat, MaxLng float64
}

// LiveService is the live state: each technician's latest position, as
// this node knows it (its own devices' fixes, and other nodes' through
// the bus). Implementations answer from memory, are safe for concurrent
// use, and bound the work of any question (a box or a radius too large to
// index is answered by one pass over the live technicians).
type LiveService interface {
	// LivePosition returns a technician's latest position; false when it
	// has none.
	LivePosition(technicianID int64) (Position, bool)
	// LiveInBox returns the latest positions inside b, by technician ID.
	LiveInBox(b Box) []Position
	// LiveNear returns the latest positions within radiusM of a point,
	// nearest first: the limit nearest when limit > 0.
	LiveNear(lat, lng, radiusM float64, limit int) []Position
	// LivePositions returns every latest position, by technician ID.
	LivePositions() []Position
}

// ProgressSource tells the latest progress of assignments en route.
type ProgressSource interface {
	// Progress returns an assignment's latest progress, if any.
	Progress(assignmentID int64) (*Progress, bool)
	// AllProgress returns the latest progress of every assignment en route.
	AllProgress() []*Progress
}
