package wakeloop

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// Run drains at once, again on a wake-up (many folding into one), and on
// the poll interval; it returns when its context ends.
func TestLoop(t *testing.T) {
	l := New()
	var drains atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, time.Hour, func(context.Context) { drains.Add(1) })
	}()
	wait := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for drains.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d drains, want %d", drains.Load(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait(1) // at start
	l.Wake()
	wait(2)
	cancel()
	<-done

	polled := New()
	var n atomic.Int32
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go polled.Run(ctx, 5*time.Millisecond, func(context.Context) { n.Add(1) })
	deadline := time.Now().Add(10 * time.Second)
	for n.Load() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d drains on a 5 ms poll", n.Load())
		}
		time.Sleep(time.Millisecond)
	}
	for range 100 {
		polled.Wake() // never blocks
	}
}
