package httpapi

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// The messages viewers get, and their encodings.

// positionMsg is a live position on the wire.
type positionMsg struct {
	Type         string    `json:"type"`
	TechnicianID int64     `json:"technician_id"`
	TS           time.Time `json:"ts"`
	Lat          float64   `json:"lat"`
	Lng          float64   `json:"lng"`
	AccuracyM    float64   `json:"accuracy_m"`
	SpeedMPS     float64   `json:"speed_mps"`
	HeadingDeg   float64   `json:"heading_deg"`
}

// EncodePosition renders a live position message, as positionMsg would
// encode, without reflection: the hub encodes each fix once for all its
// watchers (tracker.HubConfig.Encode).
func EncodePosition(p *enroute.Position) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"type":"position","technician_id":`...)
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, `,"ts":"`...)
	b = p.Time.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lat":`...)
	b = strconv.AppendFloat(b, p.Lat, 'f', -1, 64)
	b = append(b, `,"lng":`...)
	b = strconv.AppendFloat(b, p.Lng, 'f', -1, 64)
	b = append(b, `,"accuracy_m":`...)
	b = strconv.AppendFloat(b, p.AccuracyM, 'f', -1, 64)
	b = append(b, `,"speed_mps":`...)
	b = strconv.AppendFloat(b, p.SpeedMPS, 'f', -1, 64)
	b = append(b, `,"heading_deg":`...)
	b = strconv.AppendFloat(b, p.HeadingDeg, 'f', -1, 64)
	return append(b, '}')
}

func positionOf(p *enroute.Position) positionMsg {
	return positionMsg{Type: "position", TechnicianID: p.TechnicianID, TS: p.Time, Lat: p.Lat, Lng: p.Lng,
		AccuracyM: p.AccuracyM, SpeedMPS: p.SpeedMPS, HeadingDeg: p.HeadingDeg}
}

// progressMsg tells a customer the distance and ETA, and the ETA's range
// (eta_early, eta_late) once the model has one.
type progressMsg struct {
	Type string `json:"type"`
	*enroute.Progress
	ETAS float64 `json:"eta_s"`
}

// EncodeProgress renders a progress message once for all its watchers
// (tracker.HubConfig.EncodeProgress), as progressMsg would encode, without
// reflection (json.Marshal was 1.2% of the server at 5,000 estimates a
// second).
func EncodeProgress(p *enroute.Progress) []byte {
	b := make([]byte, 0, 192)
	b = append(b, `{"type":"progress","assignment_id":`...)
	b = strconv.AppendInt(b, p.AssignmentID, 10)
	b = append(b, `,"technician_id":`...)
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, `,"distance_m":`...)
	b = strconv.AppendFloat(b, p.DistanceM, 'f', -1, 64)
	b = append(b, `,"eta":"`...)
	b = p.ETA.AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	if !p.ETAEarly.IsZero() {
		b = append(b, `,"eta_early":"`...)
		b = p.ETAEarly.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if !p.ETALate.IsZero() {
		b = append(b, `,"eta_late":"`...)
		b = p.ETALate.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	b = append(b, `,"at":"`...)
	b = p.At.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","eta_s":`...)
	b = strconv.AppendFloat(b, etaSeconds(p), 'f', -1, 64)
	return append(b, '}')
}

// etaSeconds is the time left until the ETA, from now.
func etaSeconds(p *enroute.Progress) float64 {
	return max(0, time.Until(p.ETA).Seconds())
}

// statusMsg tells a watcher an assignment's new status.
type statusMsg struct {
	Type         string                   `json:"type"`
	AssignmentID int64                    `json:"assignment_id"`
	TechnicianID int64                    `json:"technician_id"`
	Status       enroute.AssignmentStatus `json:"status"`
	ArrivedAt    *time.Time               `json:"arrived_at,omitempty"` // once working
}

// activityMsg tells a board of a job's activity: {"type":"activity",
// "kind":"reply"|"message","job_id":...,"id":...}.
type activityMsg struct {
	Type string `json:"type"`
	enroute.Activity
}

// drainBufs are what one take from a subscription holds, pooled: a
// connection takes only while it writes, and holding them per connection
// would cost every idle watcher memory.
type drainBufs struct {
	ps []tracker.Update
	ev []tracker.Event
}

var drainPool = sync.Pool{New: func() any { return new(drainBufs) }}

func getDrainBufs() *drainBufs { return drainPool.Get().(*drainBufs) }

func putDrainBufs(bufs *drainBufs) {
	clear(bufs.ps) // they point to positions' encodings
	clear(bufs.ev)
	bufs.ps, bufs.ev = bufs.ps[:0], bufs.ev[:0]
	drainPool.Put(bufs)
}

// batchPrefix opens a message holding several: what one take held goes out
// as one WebSocket message, one system call (the position and the progress
// it gave, for a customer), clients handle each inside.
const batchPrefix = `{"type":"batch","messages":[`

// appendUpdates appends what a take held to b as one message: the
// positions (one, or several in a "positions" message) and the events;
// several such messages are wrapped in a "batch".
func appendUpdates(b []byte, ps []tracker.Update, ev []tracker.Event) []byte {
	n := len(ev)
	if len(ps) > 0 {
		n++
	}
	if n > 1 {
		b = append(b, batchPrefix...)
	}
	if len(ps) > 0 {
		b = appendPositions(b, ps)
	}
	for i, e := range ev {
		if i > 0 || len(ps) > 0 {
			b = append(b, ',')
		}
		switch {
		case e.Msg != nil:
			b = append(b, e.Msg...)
		case e.Progress != nil:
			b = append(b, EncodeProgress(e.Progress)...)
		case e.Activity != nil:
			m, _ := json.Marshal(activityMsg{Type: "activity", Activity: *e.Activity})
			b = append(b, m...)
		default:
			m, _ := json.Marshal(statusMsg{Type: "status", AssignmentID: e.Assignment.ID, TechnicianID: e.Assignment.TechnicianID, Status: e.Assignment.Status, ArrivedAt: e.Assignment.WorkingAt})
			b = append(b, m...)
		}
	}
	if n > 1 {
		b = append(b, "]}"...)
	}
	return b
}

// appendPositions appends one position message, or
// {"type":"positions","positions":[...]} holding several, to b.
func appendPositions(b []byte, ps []tracker.Update) []byte {
	msg := func(u *tracker.Update) []byte {
		if u.Msg != nil {
			return u.Msg
		}
		return EncodePosition(u.Pos)
	}
	if len(ps) == 1 {
		return append(b, msg(&ps[0])...)
	}
	b = append(b, `{"type":"positions","positions":[`...)
	for i := range ps {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, msg(&ps[i])...)
	}
	return append(b, "]}"...)
}

// customerSource and boardSource are a hub subscription as a
// connection's source of updates: one pointer each, so that an interface
// holds them without an allocation per connection.
type (
	customerSource struct{ sub *tracker.Sub }
	boardSource    struct{ sub *tracker.Sub }
)

// Next implements wsconn.Source; it times each message by its oldest fix.
func (s customerSource) Next(b []byte) ([]byte, time.Time) { return next(s.sub, b, true) }

// Pending implements wsconn.Source.
func (s customerSource) Pending() bool { return s.sub.Pending() }

// Next implements wsconn.Source, untimed: a board's messages hold
// thousands of positions, and wait out its gap by design.
func (s boardSource) Next(b []byte) ([]byte, time.Time) { return next(s.sub, b, false) }

// Pending implements wsconn.Source.
func (s boardSource) Pending() bool { return s.sub.Pending() }

// next appends what sub has pending to b as one message, and the oldest
// fix's acceptance if timed.
func next(sub *tracker.Sub, b []byte, timed bool) ([]byte, time.Time) {
	bufs := getDrainBufs()
	defer putDrainBufs(bufs)
	bufs.ps, bufs.ev = sub.TakeInto(bufs.ps, bufs.ev)
	if len(bufs.ps) == 0 && len(bufs.ev) == 0 {
		return b, time.Time{}
	}
	b = appendUpdates(b, bufs.ps, bufs.ev)
	var oldest time.Time
	if timed {
		for _, u := range bufs.ps {
			if u.Pos != nil && (oldest.IsZero() || u.Pos.ReceivedAt.Before(oldest)) {
				oldest = u.Pos.ReceivedAt
			}
		}
	}
	return b, oldest
}
