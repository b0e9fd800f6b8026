package tracker

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/enroutehq/enroute"
)

// ErrBusy means the history buffer is full: the client should retry after
// a moment (HTTP 429 with Retry-After). Nothing of the request was taken.
var ErrBusy = errors.New("tracker: history buffer full")

// ErrClosed means the recorder has shut down.
var ErrClosed = errors.New("tracker: closed")

// RecorderConfig tunes the recorder. Zero values mean the defaults.
type RecorderConfig struct {
	MaxPending int // fixes accepted but not yet committed; default 200,000
	MaxBatch   int // fixes written in one transaction; default 20,000
	// Gap is the shortest time from one commit's start to the next's:
	// fixes arriving meanwhile wait and share the next transaction. A
	// commit costs system calls and locks whatever it holds, so at a few
	// thousand one-fix requests a second this saves most commits; the
	// acknowledgement waits at most Gap longer, the live push not at all.
	// 0 means the default, 2 ms; negative means none.
	Gap time.Duration
	// Enough ends the wait at once: that many fixes waiting make a batch
	// worth its commit (batch uploads, a busy server). Default 1,000.
	Enough int
}

// Recorder writes accepted fixes to the history with group commit: while
// one batch is being written, the next accumulates, so a busy server writes
// few large transactions and an idle one writes at once. Submit returns a
// channel that is told when the fixes are committed: only then may they be
// acknowledged, so an acknowledged fix survives a crash of Enroute. A batch
// that fails is retried until it is written (Close flushes and gives up
// only when its ctx ends).
//
// Concurrency: Reserve and Submit may be called from any goroutine; Run
// owns the writing goroutine.
type Recorder struct {
	store   enroute.PositionStore
	cfg     RecorderConfig
	logger  *slog.Logger
	pending atomic.Int64
	mu      sync.Mutex
	queue   []*batch
	queued  int           // fixes in queue
	wake    chan struct{} // something was queued
	enough  chan struct{} // Enough fixes are queued
	closed  bool
	done    chan struct{}
	abort   chan struct{} // closed when Close gives up waiting
	once    sync.Once
	all     []enroute.Position // write's buffer for several batches, reused
}

type batch struct {
	ps   []enroute.Position
	done chan error
}

// NewRecorder returns a recorder writing to store.
func NewRecorder(store enroute.PositionStore, cfg RecorderConfig, logger *slog.Logger) *Recorder {
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 200_000
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 20_000
	}
	if cfg.Gap == 0 {
		cfg.Gap = 2 * time.Millisecond
	}
	if cfg.Enough <= 0 {
		cfg.Enough = 1000
	}
	return &Recorder{store: store, cfg: cfg, logger: logger.With("component", "recorder"), wake: make(chan struct{}, 1), enough: make(chan struct{}, 1), done: make(chan struct{}), abort: make(chan struct{})}
}

// Reserve claims room for n fixes, or returns ErrBusy. Release what is not
// submitted.
func (r *Recorder) Reserve(n int) error {
	if r.pending.Add(int64(n)) > int64(r.cfg.MaxPending) {
		r.pending.Add(-int64(n))
		return ErrBusy
	}
	return nil
}

// Release returns reserved room that was not used.
func (r *Recorder) Release(n int) { r.pending.Add(-int64(n)) }

// Pending returns how many fixes await their commit.
func (r *Recorder) Pending() int { return int(r.pending.Load()) }

// Submit queues reserved fixes. The channel receives nil once they are
// committed.
func (r *Recorder) Submit(ps []enroute.Position) <-chan error {
	done := make(chan error, 1)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.Release(len(ps))
		done <- ErrClosed
		return done
	}
	r.queue = append(r.queue, &batch{ps: ps, done: done})
	before := r.queued
	r.queued += len(ps)
	full := before < r.cfg.Enough && r.queued >= r.cfg.Enough
	r.mu.Unlock()
	signal(r.wake)
	if full {
		signal(r.enough)
	}
	return done
}

// Run writes until Close, then flushes what is queued.
func (r *Recorder) Run(ctx context.Context) {
	defer close(r.done)
	var last time.Time // when the last commit started
	for {
		if d := r.cfg.Gap - time.Since(last); d > 0 {
			r.mu.Lock()
			few := r.queued < r.cfg.Enough
			r.mu.Unlock()
			if few {
				select {
				case <-r.enough: // stale: from before the last take
				default:
				}
				r.sleep(d)
			}
		}
		r.mu.Lock()
		q, closed := r.take(), r.closed
		r.mu.Unlock()
		if len(q) > 0 {
			last = time.Now()
			r.write(ctx, q)
			continue
		}
		if closed {
			return
		}
		select {
		case <-r.wake:
		case <-ctx.Done():
			r.mu.Lock()
			r.closed = true
			r.mu.Unlock()
		}
	}
}

// sleep waits d, or less if Enough fixes come or Close gives up.
func (r *Recorder) sleep(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.enough:
	case <-r.abort:
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// take removes up to MaxBatch fixes' worth of batches from the queue.
func (r *Recorder) take() []*batch {
	n, i := 0, 0
	for ; i < len(r.queue) && (i == 0 || n+len(r.queue[i].ps) <= r.cfg.MaxBatch); i++ {
		n += len(r.queue[i].ps)
	}
	q := r.queue[:i:i]
	r.queue = r.queue[i:]
	r.queued -= n
	return q
}

// write stores batches in one transaction, retrying until it works, and
// tells each batch's waiter.
func (r *Recorder) write(ctx context.Context, q []*batch) {
	all := q[0].ps
	if len(q) > 1 {
		// Stores keep nothing of what they are given (PositionStore),
		// so one buffer serves every write (a new one grown per commit
		// was 6% of the bytes the server allocated at 10,000 fixes/s).
		all = r.all[:0]
		for _, b := range q {
			all = append(all, b.ps...)
		}
		r.all = all
	}
	// Writes outlive ctx: fixes already accepted are flushed on shutdown.
	wctx := context.WithoutCancel(ctx)
	for delay := 50 * time.Millisecond; ; delay = min(delay*2, 5*time.Second) {
		err := r.store.InsertPositions(wctx, all)
		if err == nil {
			break
		}
		r.logger.Error("write positions; will retry", "err", err, "fixes", len(all), "in", delay)
		select {
		case <-time.After(delay):
		case <-r.abort:
			for _, b := range q {
				b.done <- ErrClosed
			}
			return
		}
	}
	r.pending.Add(-int64(len(all)))
	for _, b := range q {
		b.done <- nil
	}
}

// Close stops accepting fixes and waits until everything queued is written
// (or ctx ends).
func (r *Recorder) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	signal(r.wake)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		r.once.Do(func() { close(r.abort) })
		return ctx.Err()
	}
}
