package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/wakeloop"
)

// Config tunes the Worker. Zero values mean the defaults.
type Config struct {
	// Batch is how many deliveries are claimed at once, then sent one by
	// one; default 1, so that a stop waits for one attempt at most and a
	// crash holds back one delivery for a lease.
	Batch        int
	PollInterval time.Duration // how often the outbox is checked without a wake-up; default 2 s
	Timeout      time.Duration // one attempt, connecting to reading the answer; default 10 s
	BaseBackoff  time.Duration // first retry delay, doubled each attempt; default 5 s
	MaxBackoff   time.Duration // longest retry delay; default 1 h
	// MaxAttempts: then the delivery fails for good; default 40 (about 30
	// hours at the defaults, longer than DisableAfter).
	MaxAttempts int
	// DisableAfter: an endpoint whose deliveries failed continuously this
	// long is disabled, with the reason; default 24 h.
	DisableAfter time.Duration
	// AllowPrivate lets deliveries reach private, loopback and link-local
	// addresses (and plain http URLs be registered). Off by default, so
	// webhooks cannot be pointed into the server's own network; tests and
	// development turn it on.
	AllowPrivate bool
}

func (c *Config) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Batch <= 0 {
		c.Batch = 1
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 40
	}
	def(&c.PollInterval, 2*time.Second)
	def(&c.Timeout, 10*time.Second)
	def(&c.BaseBackoff, 5*time.Second)
	def(&c.MaxBackoff, time.Hour)
	def(&c.DisableAfter, 24*time.Hour)
}

// lease is how long claimed deliveries are ours: longer than sending the
// whole batch can take, so no other worker claims one still being sent.
// After a crash, the crashed worker's deliveries wait this long.
func (c *Config) lease() time.Duration { return time.Duration(c.Batch)*c.Timeout*3/2 + time.Second }

// maxResponse is how much of a receiver's answer is read: enough for an
// error message in the delivery log, not enough to hurt.
const maxResponse = 4 << 10

// Worker delivers the webhook outbox. Deliveries are claimed with a lease,
// so workers on several nodes never send one at once, and each outcome is
// recorded before the next claim. Delivery is at least once: a delivery is
// sent again if Enroute dies between the receiver answering and the
// outcome being recorded, with the same webhook-id, so receivers
// de-duplicate.
//
// Concurrency: Run owns the worker's goroutine; Wake may be called from any
// goroutine.
type Worker struct {
	store  enroute.Store
	sealer *Sealer
	cfg    Config
	client *http.Client
	logger *slog.Logger
	loop   *wakeloop.Loop

	// Now returns the current time; tests replace it before Run.
	Now func() time.Time
}

// NewWorker returns a worker that opens secrets with sealer.
func NewWorker(store enroute.Store, sealer *Sealer, cfg Config, logger *slog.Logger) *Worker {
	cfg.defaults()
	return &Worker{store: store, sealer: sealer, cfg: cfg, client: newClient(cfg.Timeout, cfg.AllowPrivate),
		logger: logger.With("component", "webhooks"), loop: wakeloop.New(), Now: time.Now}
}

// Wake makes the worker look at the outbox now.
func (w *Worker) Wake() { w.loop.Wake() }

// Run delivers until ctx ends. An attempt under way when ctx ends is
// finished (within Timeout) and recorded.
func (w *Worker) Run(ctx context.Context) { w.loop.Run(ctx, w.cfg.PollInterval, w.Drain) }

// Drain makes one attempt at every due delivery, then returns.
func (w *Worker) Drain(ctx context.Context) {
	for ctx.Err() == nil {
		ds, err := w.store.ClaimWebhookDeliveries(ctx, w.cfg.Batch, w.cfg.lease())
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Error("claim webhook deliveries", "err", err)
			}
			return
		}
		if len(ds) == 0 {
			return
		}
		for _, d := range ds {
			dctx := context.WithoutCancel(ctx) // a claimed delivery is always tried and recorded
			r := w.attempt(dctx, d)
			e, err := w.store.CompleteWebhookDelivery(dctx, d.ID, r)
			if err != nil {
				w.logger.Error("record webhook delivery", "delivery_id", d.ID, "err", err)
				continue
			}
			w.maybeDisable(dctx, e, r)
		}
	}
}

// maybeDisable disables e when its deliveries have failed continuously for
// DisableAfter.
func (w *Worker) maybeDisable(ctx context.Context, e *enroute.WebhookEndpoint, r enroute.WebhookResult) {
	if r.Status == enroute.WebhookDelivered || !e.Enabled || e.FailingSince == nil {
		return
	}
	if w.Now().Sub(*e.FailingSince) < w.cfg.DisableAfter {
		return
	}
	reason := fmt.Sprintf("Disabled by Enroute: every delivery failed since %s (last: %s).",
		e.FailingSince.UTC().Format(time.RFC3339), r.Attempt.Error)
	if err := w.store.DisableWebhookEndpoint(ctx, e.ID, reason); err != nil {
		w.logger.Error("disable webhook endpoint", "endpoint_id", e.ID, "err", err)
		return
	}
	w.logger.Warn("webhook endpoint disabled", "endpoint_id", e.ID, "failing_since", e.FailingSince)
}

// attempt sends d once and says what became of it.
func (w *Worker) attempt(ctx context.Context, d *enroute.WebhookDelivery) enroute.WebhookResult {
	start := w.Now()
	code, err := w.send(ctx, d, start)
	r := enroute.WebhookResult{Attempt: enroute.WebhookAttempt{At: start, StatusCode: code, DurationMS: w.Now().Sub(start).Milliseconds()}}
	log := w.logger.With("delivery_id", d.ID, "endpoint_id", d.EndpointID, "event_id", d.EventID, "attempt", d.Attempts)
	var perm *permanentError
	switch {
	case err == nil:
		log.Info("webhook delivered", "status", code)
		r.Status = enroute.WebhookDelivered
	case errors.As(err, &perm) || d.Attempts >= w.cfg.MaxAttempts:
		log.Warn("webhook failed", "err", err)
		r.Status, r.Attempt.Error = enroute.WebhookFailed, err.Error()
		if !errors.As(err, &perm) {
			r.Attempt.Error = fmt.Sprintf("gave up after %d attempts: %s", d.Attempts, err)
		}
	default:
		delay := w.backoff(d.Attempts)
		log.Info("webhook will be retried", "err", err, "in", delay)
		r.Status, r.Attempt.Error, r.NextAttemptAt = enroute.WebhookQueued, err.Error(), w.Now().Add(delay)
	}
	return r
}

// permanentError is a failure no retry mends.
type permanentError struct{ msg string }

func (e *permanentError) Error() string { return e.msg }

// send posts d's payload, signed at ts, and returns the answer's status.
// A non-2xx answer is an error.
func (w *Worker) send(ctx context.Context, d *enroute.WebhookDelivery, ts time.Time) (int, error) {
	e, err := w.store.FindWebhookEndpointByID(ctx, d.EndpointID)
	if err != nil {
		return 0, err
	}
	sec, err := w.store.FindWebhookSecrets(ctx, d.EndpointID)
	if err != nil {
		return 0, err
	}
	secrets := []string{}
	for _, sealed := range [][]byte{sec.Current, sec.Previous} {
		if sealed == nil {
			continue
		}
		s, err := w.sealer.Open(sealed)
		if err != nil {
			return 0, err // The key may be fixed by a restart: retried.
		}
		secrets = append(secrets, s)
	}
	sig, err := Sign(d.EventID, ts, d.Payload, secrets...)
	if err != nil {
		return 0, &permanentError{err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(d.Payload))
	if err != nil {
		return 0, &permanentError{fmt.Sprintf("bad endpoint URL: %v", err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Enroute-Webhooks/1")
	req.Header.Set(HeaderID, d.EventID)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	if err != nil {
		return 0, errors.Unwrap(err) // *url.Error repeats the URL, which the log names already
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponse)) // let the connection be reused, within reason
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp.StatusCode, nil
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if t := strings.TrimSpace(string(body)); t != "" {
		msg += ": " + truncate(t, 200)
	}
	return resp.StatusCode, errors.New(msg)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// backoff is BaseBackoff doubled per attempt, capped at MaxBackoff, with
// ±20% jitter so that deliveries failed together do not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BaseBackoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}
