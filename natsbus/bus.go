// Package natsbus carries live updates between Enroute nodes over NATS. It
// is the only importer of nats.go. Bus implements enroute.Publisher: what a
// node publishes goes to NATS, and every other node hands what it receives
// to its local publishers (a node tells its own directly: NATS does not
// echo its messages back), so a fix ingested on one node reaches watchers
// connected to any node.
//
// Subjects (after a prefix, "enroute" by default):
// <prefix>.pos.<H3 cell>.<technician id> for positions (a node
// could subscribe to the cells it needs), <prefix>.asg.<assignment id> for
// status changes, <prefix>.prog.<technician id> for distance and ETA.
//
// Concurrency: safe for concurrent use; NATS delivers on its own goroutine.
package natsbus

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/enroutehq/enroute"
)

// Bus is a NATS connection used as a Publisher.
type Bus struct {
	prefix string // of every subject: deployments sharing a NATS stay apart
	nc     *nats.Conn
	logger *slog.Logger
	subs   []*nats.Subscription
}

var _ enroute.Publisher = (*Bus)(nil)

// Connect connects to NATS; prefix ("enroute" by default) starts every
// subject. Errors never quote the URL, which may hold a password.
func Connect(url, prefix, name string, logger *slog.Logger) (*Bus, error) {
	if prefix == "" {
		prefix = "enroute"
	}
	logger = logger.With("component", "natsbus")
	// NoEcho: a node tells its own hub directly, so it must not hear its
	// own messages back.
	nc, err := nats.Connect(url, nats.Name(name), nats.NoEcho(), nats.MaxReconnects(-1), nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { logger.Warn("nats disconnected", "err", err) }),
		nats.ReconnectHandler(func(*nats.Conn) { logger.Info("nats reconnected") }))
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	return &Bus{prefix: prefix, nc: nc, logger: logger}, nil
}

// wirePosition is a position on the bus, cell included.
type wirePosition struct {
	enroute.Position
	Cell uint64 `json:"cell"`
}

// wireProgress is progress on the bus, with where the technician was.
type wireProgress struct {
	enroute.Progress
	Lat  float64 `json:"lat"`
	Lng  float64 `json:"lng"`
	Cell uint64  `json:"cell"`
}

func (b *Bus) publish(subject string, v any) {
	data, err := json.Marshal(v)
	if err == nil {
		err = b.nc.Publish(subject, data)
	}
	if err != nil {
		b.logger.Warn("publish", "err", err)
	}
}

// PublishPosition implements enroute.Publisher.
func (b *Bus) PublishPosition(p *enroute.Position) {
	b.publish(b.prefix+".pos."+strconv.FormatUint(p.Cell, 16)+"."+strconv.FormatInt(p.TechnicianID, 10), wirePosition{Position: *p, Cell: p.Cell})
}

// PublishAssignment implements enroute.Publisher.
func (b *Bus) PublishAssignment(a *enroute.Assignment) {
	b.publish(b.prefix+".asg."+strconv.FormatInt(a.ID, 10), a)
}

// PublishProgress implements enroute.Publisher.
func (b *Bus) PublishProgress(p *enroute.Progress) {
	b.publish(b.prefix+".prog."+strconv.FormatInt(p.TechnicianID, 10), wireProgress{Progress: *p, Lat: p.Lat, Lng: p.Lng, Cell: p.Cell})
}

// PublishActivity implements enroute.ActivityPublisher.
func (b *Bus) PublishActivity(a *enroute.Activity) {
	b.publish(b.prefix+".act."+strconv.FormatInt(a.JobID, 10), a)
}

// Receivers are told what arrives from the bus, by kind; nil ignores it.
type Receivers struct {
	Positions, Assignments, Progress enroute.Publisher
	Activity                         enroute.ActivityPublisher
}

// Subscribe hands what arrives from the bus to r, until Close.
func (b *Bus) Subscribe(r Receivers) error {
	sub := func(subject string, fn func(data []byte) error) error {
		s, err := b.nc.Subscribe(subject, func(m *nats.Msg) {
			if err := fn(m.Data); err != nil {
				b.logger.Warn("undecodable bus message", "err", err)
			}
		})
		if err != nil {
			return fmt.Errorf("subscribe %s: %w", subject, err)
		}
		// Positions are state: a node that falls behind may drop, never block.
		_ = s.SetPendingLimits(1<<20, 256<<20)
		b.subs = append(b.subs, s)
		return nil
	}
	if r.Positions != nil {
		if err := sub(b.prefix+".pos.>", func(d []byte) error {
			var w wirePosition
			if err := json.Unmarshal(d, &w); err != nil {
				return err
			}
			w.Position.Cell = w.Cell
			r.Positions.PublishPosition(&w.Position)
			return nil
		}); err != nil {
			return err
		}
	}
	if r.Assignments != nil {
		if err := sub(b.prefix+".asg.*", func(d []byte) error {
			var a enroute.Assignment
			if err := json.Unmarshal(d, &a); err != nil {
				return err
			}
			r.Assignments.PublishAssignment(&a)
			return nil
		}); err != nil {
			return err
		}
	}
	if r.Progress != nil {
		if err := sub(b.prefix+".prog.*", func(d []byte) error {
			var w wireProgress
			if err := json.Unmarshal(d, &w); err != nil {
				return err
			}
			w.Progress.Lat, w.Progress.Lng, w.Progress.Cell = w.Lat, w.Lng, w.Cell
			r.Progress.PublishProgress(&w.Progress)
			return nil
		}); err != nil {
			return err
		}
	}
	if r.Activity != nil {
		if err := sub(b.prefix+".act.*", func(d []byte) error {
			var a enroute.Activity
			if err := json.Unmarshal(d, &a); err != nil {
				return err
			}
			r.Activity.PublishActivity(&a)
			return nil
		}); err != nil {
			return err
		}
	}
	return b.nc.Flush()
}

// Close drains the subscriptions and closes the connection.
func (b *Bus) Close() error {
	for _, s := range b.subs {
		_ = s.Unsubscribe()
	}
	b.nc.Close()
	return nil
}
