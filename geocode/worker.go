// Package geocode verifies the addresses of job sites in the background:
// its Worker takes the locations waiting for the geocoder (pending) from
// the store, asks an enroute.Geocoder (nominatim.Client) where each is,
// and records the outcome: verified at house-number precision, unverified
// with the reason otherwise, or still pending, retried later with
// back-off, when the geocoder did not answer.
//
// The pending state is in the store, so nothing is lost to a restart, and
// locations are claimed with a lease, so workers on several nodes never
// hold the same one. A dispatcher's pin always wins: an outcome is
// recorded only while the location is still pending with the address
// that was geocoded.
//
// Concurrency: Run owns the worker's goroutine; Wake and Wait may be
// called from any goroutine.
package geocode

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/wakeloop"
)

// Config tunes the worker. Zero values mean the defaults.
type Config struct {
	PollInterval time.Duration // how often due retries are looked for without a wake-up; default 5 s
	Timeout      time.Duration // one geocoding attempt; default 15 s
	BaseBackoff  time.Duration // first retry delay, doubled each attempt; default 30 s
	MaxBackoff   time.Duration // longest retry delay; default 1 h
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.PollInterval, 5*time.Second)
	def(&c.Timeout, 15*time.Second)
	def(&c.BaseBackoff, 30*time.Second)
	def(&c.MaxBackoff, time.Hour)
}

// lease is how long a claimed location is ours: longer than one attempt,
// its wait for the rate limit included. After a crash, the crashed
// worker's location waits this long.
func (c *Config) lease() time.Duration { return 2 * c.Timeout }

// Worker geocodes pending locations. A nil Geocoder (none configured)
// settles each as unverified, saying so, for a dispatcher to place the
// pin.
type Worker struct {
	store    enroute.Store
	geocoder enroute.Geocoder
	hooks    []enroute.LocationHook
	cfg      Config
	logger   *slog.Logger
	loop     *wakeloop.Loop
	now      func() time.Time

	mu      sync.Mutex
	waiters map[int64][]chan struct{}
}

// NewWorker returns a worker recording outcomes in store; hooks run in
// the transaction of every outcome that settles a location.
func NewWorker(store enroute.Store, g enroute.Geocoder, hooks []enroute.LocationHook, cfg Config, logger *slog.Logger) *Worker {
	cfg.defaults()
	return &Worker{store: store, geocoder: g, hooks: hooks, cfg: cfg, logger: logger.With("component", "geocode"),
		loop: wakeloop.New(), now: time.Now, waiters: map[int64][]chan struct{}{}}
}

// Wake makes the worker look for due locations now.
func (w *Worker) Wake() { w.loop.Wake() }

// Wait returns once location id is not pending, or once an attempt at it
// has been recorded, or when ctx ends, whichever comes first. A request
// that created the location waits this way, bounded by its ctx, and then
// answers with what the location is.
func (w *Worker) Wait(ctx context.Context, id int64) {
	ch := make(chan struct{})
	w.mu.Lock()
	w.waiters[id] = append(w.waiters[id], ch)
	w.mu.Unlock()
	defer w.forget(id, ch)
	// Registered first, then read: an attempt recorded in between still
	// closes ch.
	if l, err := w.store.FindLocationByID(ctx, id); err != nil || l.Verification.Status != enroute.VerificationPending {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// forget drops a waiter that left before it was told.
func (w *Worker) forget(id int64, ch chan struct{}) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := w.waiters[id]
	for i, c := range ws {
		if c == ch {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(w.waiters, id)
	} else {
		w.waiters[id] = ws
	}
}

// told tells location id's waiters an attempt was recorded.
func (w *Worker) told(id int64) {
	w.mu.Lock()
	ws := w.waiters[id]
	delete(w.waiters, id)
	w.mu.Unlock()
	for _, ch := range ws {
		close(ch)
	}
}

// Run geocodes until ctx ends: at once for what is due at start (pending
// locations left by a stop), on every Wake, and every PollInterval for
// due retries. An attempt under way when ctx ends is finished (within
// Timeout) and recorded.
func (w *Worker) Run(ctx context.Context) { w.loop.Run(ctx, w.cfg.PollInterval, w.drain) }

// drain geocodes every due location, one at a time (the public service
// allows one request a second; the geocoder's limiter paces them).
func (w *Worker) drain(ctx context.Context) {
	for ctx.Err() == nil {
		ls, err := w.store.ClaimGeocoding(ctx, 1, w.cfg.lease())
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Error("claim locations to geocode", "err", err)
			}
			return
		}
		if len(ls) == 0 {
			return
		}
		for _, l := range ls {
			actx := context.WithoutCancel(ctx)
			r := w.attempt(actx, l)
			_, err := enroute.RecordGeocode(actx, w.store, l.ID, l.Address, r, w.hooks...)
			switch {
			case enroute.ErrorCode(err) == enroute.ECONFLICT || enroute.ErrorCode(err) == enroute.ENOTFOUND:
				// A dispatcher placed the pin, changed the address or
				// deleted the site meanwhile: theirs stands.
				w.logger.Debug("geocoded location changed meanwhile", "location_id", l.ID)
			case err != nil:
				w.logger.Error("record geocoding", "location_id", l.ID, "err", err)
			}
			w.told(l.ID)
		}
	}
}

// attempt asks the geocoder once and says what came of it.
func (w *Worker) attempt(ctx context.Context, l *enroute.Location) enroute.GeocodeResult {
	if w.geocoder == nil {
		return enroute.GeocodeResult{Reason: enroute.ReasonNoGeocoder}
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	log := w.logger.With("location_id", l.ID, "attempt", l.Verification.Attempts)
	m, err := w.geocoder.Geocode(ctx, l.Address)
	if err != nil {
		delay := w.backoff(l.Verification.Attempts)
		var ge *enroute.GeocoderError
		if errors.As(err, &ge) && ge.RetryAfter > delay {
			delay = ge.RetryAfter
		}
		log.Warn("geocoder did not answer; will retry", "err", err, "in", delay)
		return enroute.GeocodeResult{RetryAt: w.now().Add(delay), Reason: enroute.ReasonGeocoderUnavailable}
	}
	switch {
	case m == nil:
		log.Info("address not found")
	case m.Precision == enroute.PrecisionHouse:
		log.Info("address verified")
	default:
		log.Info("address matched coarsely", "precision", m.Precision)
	}
	return enroute.GeocodeResult{Match: m}
}

// backoff is BaseBackoff doubled per attempt, capped, with ±20% jitter so
// that locations that failed together do not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BaseBackoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
