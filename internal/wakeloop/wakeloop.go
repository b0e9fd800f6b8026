// Package wakeloop is the loop of Enroute's background workers (the
// notification outbox, the webhook outbox, the geocoder): drain what is
// due now, then again on every wake-up and every poll interval, until the
// context ends.
//
// Concurrency: Wake may be called from any goroutine and never blocks;
// Run is called once, by the worker's owner.
package wakeloop

import (
	"context"
	"time"
)

// Loop runs a drain function when woken or polled. The zero Loop is not
// usable: make one with New.
type Loop struct {
	wake chan struct{}
}

// New returns a loop.
func New() *Loop { return &Loop{wake: make(chan struct{}, 1)} }

// Wake makes Run drain again soon. Wake-ups while a drain runs fold into
// one more drain after it.
func (l *Loop) Wake() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run calls drain at once, then after every Wake and every interval,
// until ctx ends. drain returns when nothing more is due.
func (l *Loop) Run(ctx context.Context, interval time.Duration, drain func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-l.wake:
		}
	}
}
