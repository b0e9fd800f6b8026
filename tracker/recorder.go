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

// ErrUnavailable means the history cannot be written now (the database is
// unreachable, the disk is full): the last write failed and is being
// retried. Nothing of the request was taken; the client should send again
// later (HTTP 503 with Retry-After).
var ErrUnavailable = errors.New("tracker: history unavailable")

// RecorderConfig tunes the recorder. Zero values mean the defaults.
//
// A commit costs system calls and the writer's time whatever it holds, so
// the recorder waits for more fixes before committing while its commits
// would be small: it commits once Enough fixes or EnoughRequests requests
// wait, once Worth fixes wait and Quiet has passed since the last commit
// started (a batch that size pays for its commit; holding its senders
// longer would only idle them), once nothing new has come for Quiet
// (whoever sends is waiting for this commit: a lone phone, or a few
// connections each waiting on its answer), or once Gap has passed since
// the last commit started, whichever comes first. A fix arriving after a
// quiet spell longer than Gap is committed at once. The live push waits
// for none of this.
type RecorderConfig struct {
	MaxPending int // fixes accepted but not yet committed; default 200,000
	MaxBatch   int // fixes written in one transaction; default 20,000
	// Gap is the longest from one commit's start to the next's while
	// fixes keep coming (default 20 ms). At 10,000 one-fix requests a
	// second, EnoughRequests ends each wait first: ~150 commits a second
	// of ~65 fixes, where a commit every 2 ms made up to 500
	// (BENCHMARKS.md). 0 means the default; negative means none: commit
	// at once.
	Gap time.Duration
	// Quiet ends the wait when no fix has come for this long, or when
	// Worth fixes wait and this long has passed since the last commit
	// started. Default 2 ms; negative means none (wait for Gap).
	Quiet time.Duration
	// Worth is a batch that pays for its commit (see Quiet). Default 100:
	// device streams and batch uploads of 100 fixes commit as they did
	// every 2 ms (waiting for more cost the stream benchmark a sixth of its
	// throughput: its 16 senders each wait for their answer).
	Worth int
	// Enough ends the wait at once: that many fixes waiting make a batch
	// worth its commit (batch uploads, a busy server). Default 1,000.
	Enough int
	// EnoughRequests ends the wait at once when that many requests wait:
	// many connections each sending one fix and waiting for its answer
	// (OsmAnd's clients) would otherwise each wait up to Gap and send at
	// most once per Gap. Default 64.
	EnoughRequests int
}

// Recorder writes accepted fixes to the history with group commit: while
// one batch is being written, the next accumulates, so a busy server writes
// few large transactions and an idle one writes at once. Submit is given a
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
	failing atomic.Bool  // the last write failed: Reserve refuses
	commits atomic.Int64 // transactions written
	written atomic.Int64 // fixes in them
	mu      sync.Mutex
	queue   []batch       // by value: a pointer each was an allocation a request
	spare   []batch       // the last queue written whole, emptied, for the next (take)
	queued  int           // fixes in queue
	lastIn  time.Time     // when the last request was queued
	wake    chan struct{} // something was queued
	enough  chan struct{} // Enough fixes or EnoughRequests requests are queued
	closed  bool
	done    chan struct{}
	abort   chan struct{} // closed when Close gives up waiting
	once    sync.Once
	all     []enroute.Position // write's buffer for several batches, reused
}

type batch struct {
	ps   []enroute.Position
	done chan<- error
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
		cfg.Gap = 20 * time.Millisecond
	}
	if cfg.Quiet == 0 {
		cfg.Quiet = 2 * time.Millisecond
	}
	if cfg.Enough <= 0 {
		cfg.Enough = 1000
	}
	if cfg.EnoughRequests <= 0 {
		cfg.EnoughRequests = 64
	}
	if cfg.Worth <= 0 {
		cfg.Worth = 100
	}
	return &Recorder{store: store, cfg: cfg, logger: logger.With("component", "recorder"), wake: make(chan struct{}, 1), enough: make(chan struct{}, 1), done: make(chan struct{}), abort: make(chan struct{})}
}

// Reserve claims room for n fixes, or returns ErrBusy. Release what is not
// submitted.
func (r *Recorder) Reserve(n int) error {
	// While writes fail, fixes are refused at once rather than queued to
	// wait out their commit timeout: a queued fix counts as seen, so it
	// must be written, and the queue would only grow while the store is
	// down.
	if r.failing.Load() {
		return ErrUnavailable
	}
	if r.pending.Add(int64(n)) > int64(r.cfg.MaxPending) {
		r.pending.Add(-int64(n))
		return ErrBusy
	}
	return nil
}

// Release returns reserved room that was not used.
func (r *Recorder) Release(n int) { r.pending.Add(-int64(n)) }

// Failing reports whether the last write of the history failed (and is
// being retried): the history cannot be written now.
func (r *Recorder) Failing() bool { return r.failing.Load() }

// Pending returns how many fixes await their commit.
func (r *Recorder) Pending() int { return int(r.pending.Load()) }

// Commits returns how many transactions have been written, and how many
// fixes they held.
func (r *Recorder) Commits() (commits, fixes int64) { return r.commits.Load(), r.written.Load() }

// Submit queues reserved fixes. done, which must have room for the
// answer, receives nil once they are committed (the caller's channel: a
// request may reuse one it was answered on).
func (r *Recorder) Submit(ps []enroute.Position, done chan<- error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.Release(len(ps))
		done <- ErrClosed
		return
	}
	r.queue = append(r.queue, batch{ps: ps, done: done})
	r.lastIn = time.Now()
	before := r.queued
	r.queued += len(ps)
	full := before < r.cfg.Enough && r.queued >= r.cfg.Enough || len(r.queue) == r.cfg.EnoughRequests
	r.mu.Unlock()
	signal(r.wake)
	if full {
		signal(r.enough)
	}
}

// Run writes until Close, then flushes what is queued.
func (r *Recorder) Run(ctx context.Context) {
	defer close(r.done)
	var last time.Time // when the last commit started
	for {
		r.wait(last)
		r.mu.Lock()
		q, whole := r.take()
		closed := r.closed
		r.mu.Unlock()
		if len(q) > 0 {
			last = time.Now()
			r.write(ctx, q)
			if whole {
				r.recycle(q)
			} else {
				clear(q) // its fixes and channels may go before the array does
			}
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

// wait lets fixes gather for the next commit (see RecorderConfig): it
// returns at once when nothing waits, and otherwise once enough wait,
// Quiet passes with nothing new or with Worth waiting, Gap has passed
// since last, or Close.
func (r *Recorder) wait(last time.Time) {
	for {
		select {
		case <-r.enough: // stale: from before the last take
		default:
		}
		r.mu.Lock()
		n, reqs, lastIn, closed := r.queued, len(r.queue), r.lastIn, r.closed
		r.mu.Unlock()
		now := time.Now()
		since := now.Sub(last)
		left := r.cfg.Gap - since
		if n == 0 || closed || n >= r.cfg.Enough || reqs >= r.cfg.EnoughRequests || left <= 0 {
			return
		}
		if r.cfg.Quiet > 0 {
			quiet := r.cfg.Quiet - now.Sub(lastIn)
			if quiet <= 0 || (since >= r.cfg.Quiet && n >= r.cfg.Worth) {
				return
			}
			// Also look again when Quiet has passed since last, for Worth.
			if q := r.cfg.Quiet - since; q > 0 {
				quiet = min(quiet, q)
			}
			left = min(left, quiet)
		}
		r.sleep(left)
	}
}

// sleep waits d, or less if enough come or Close gives up.
func (r *Recorder) sleep(d time.Duration) {
	t := timers.Get().(*time.Timer)
	t.Reset(d)
	defer func() {
		t.Stop() // since Go 1.23 nothing stale is left in C
		timers.Put(t)
	}()
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

// take removes up to MaxBatch fixes' worth of batches from the queue;
// whole when it took all of it.
func (r *Recorder) take() (q []batch, whole bool) {
	n, i := 0, 0
	for ; i < len(r.queue) && (i == 0 || n+len(r.queue[i].ps) <= r.cfg.MaxBatch); i++ {
		n += len(r.queue[i].ps)
	}
	if i == 0 {
		return nil, false // nothing queued: the queue keeps its array
	}
	r.queued -= n
	if i == len(r.queue) {
		// All of it (the usual case): the next requests queue in the
		// spare, not in a new array each time the old one's tail fills.
		q = r.queue
		r.queue, r.spare = r.spare[:0], nil
		return q, true
	}
	q = r.queue[:i:i]
	r.queue = r.queue[i:]
	return q, false
}

// recycle keeps q, a whole queue written, as the spare: the requests
// queue there next.
func (r *Recorder) recycle(q []batch) {
	clear(q) // its fixes and channels may go
	r.mu.Lock()
	r.spare = q[:0]
	r.mu.Unlock()
}

// write stores batches in one transaction, retrying until it works, and
// tells each batch's waiter.
func (r *Recorder) write(ctx context.Context, q []batch) {
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
			if r.failing.Swap(false) {
				r.logger.Info("positions written again", "fixes", len(all))
			}
			break
		}
		r.failing.Store(true)
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
	r.commits.Add(1)
	r.written.Add(int64(len(all)))
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
	signal(r.enough) // a wait for more fixes ends
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		r.once.Do(func() { close(r.abort) })
		return ctx.Err()
	}
}
