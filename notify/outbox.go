package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/wakeloop"
)

// WorkerConfig tunes the outbox worker. Zero values mean the defaults.
type WorkerConfig struct {
	Batch        int           // messages claimed at once, then sent one by one; default 1
	PollInterval time.Duration // how often the outbox is checked without a wake-up; default 2 s
	SendTimeout  time.Duration // one delivery attempt; default 30 s
	MaxAttempts  int           // then the message fails; default 10
	BaseBackoff  time.Duration // first retry delay, doubled each attempt; default 2 s
	MaxBackoff   time.Duration // longest retry delay; default 5 min
}

func (c *WorkerConfig) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Batch <= 0 {
		c.Batch = 1
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 10
	}
	def(&c.PollInterval, 2*time.Second)
	def(&c.SendTimeout, 30*time.Second)
	def(&c.BaseBackoff, 2*time.Second)
	def(&c.MaxBackoff, 5*time.Minute)
}

// lease is how long claimed messages are ours: longer than sending the
// whole batch can take, so no other worker claims a message still being
// sent. After a crash, the crashed worker's messages wait this long.
func (c *WorkerConfig) lease() time.Duration {
	return time.Duration(c.Batch) * c.SendTimeout * 3 / 2
}

// Worker delivers the outbox. Messages are claimed with a lease, so
// workers on several nodes never hold the same message, and each outcome is
// recorded before the next claim. A message is sent again only if Enroute
// dies between the provider accepting it and the outcome being recorded (a
// window of one database round trip); e-mail keeps one Message-ID across
// such a retry so mail clients can fold the copies.
//
// Concurrency: Run owns the worker's goroutine; Wake may be called from any
// goroutine.
type Worker struct {
	store  enroute.Store
	sms    SMSSender
	email  EmailSender
	cfg    WorkerConfig
	logger *slog.Logger
	loop   *wakeloop.Loop
	now    func() time.Time

	// Hooks, set before Run, are told of each final outcome in the
	// transaction that records it.
	Hooks []enroute.MessageHook
	// Still, set before Run, is asked of each message before it goes
	// whether it is still true (quiet hours may have held it back; a
	// cancellation needs its dispatch message sent); a reason drops it
	// (skipped).
	Still func(ctx context.Context, m *enroute.Message) (reason string, err error)
}

// NewWorker returns a worker; sms or email may be nil when that channel has
// no provider, and its messages then fail with that reason.
func NewWorker(store enroute.Store, sms SMSSender, email EmailSender, cfg WorkerConfig, logger *slog.Logger) *Worker {
	cfg.defaults()
	return &Worker{store: store, sms: sms, email: email, cfg: cfg, logger: logger.With("component", "outbox"),
		loop: wakeloop.New(), now: time.Now}
}

// Wake makes the worker look at the outbox now.
func (w *Worker) Wake() { w.loop.Wake() }

// Run delivers until ctx ends. A delivery under way when ctx ends is
// finished (within SendTimeout) and recorded, so nothing is left half-sent.
func (w *Worker) Run(ctx context.Context) { w.loop.Run(ctx, w.cfg.PollInterval, w.drain) }

// drain delivers every due message.
func (w *Worker) drain(ctx context.Context) {
	for ctx.Err() == nil {
		ms, err := w.store.ClaimMessages(ctx, w.cfg.Batch, w.cfg.lease())
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Error("claim messages", "err", err)
			}
			return
		}
		if len(ms) == 0 {
			return
		}
		for _, m := range ms {
			// Deliveries outlive ctx: a claimed message is always sent and
			// recorded, or released for retry, never abandoned mid-way.
			dctx := context.WithoutCancel(ctx)
			r := w.attempt(dctx, m)
			if err := w.record(dctx, m, r); err != nil {
				w.logger.Error("record delivery", "message_id", m.ID, "err", err)
			}
		}
	}
}

// record stores an attempt's outcome and, when it is final, tells the
// hooks, in one transaction.
func (w *Worker) record(ctx context.Context, m *enroute.Message, r enroute.MessageResult) error {
	if r.Status == enroute.MessageQueued || len(w.Hooks) == 0 {
		return w.store.CompleteMessage(ctx, m.ID, r)
	}
	return w.store.InTx(ctx, func(ctx context.Context) error {
		if err := w.store.CompleteMessage(ctx, m.ID, r); err != nil {
			return err
		}
		done := *m
		done.Status, done.Reason, done.ProviderID = r.Status, r.Reason, r.ProviderID
		done.Redact()
		for _, h := range w.Hooks {
			if err := h.MessageFinished(ctx, &done); err != nil {
				return err
			}
		}
		return nil
	})
}

// attempt delivers m, unless it is no longer true (Still), when it is
// dropped unsent.
func (w *Worker) attempt(ctx context.Context, m *enroute.Message) enroute.MessageResult {
	if w.Still != nil {
		reason, err := w.Still(ctx, m)
		if err != nil { // cannot tell: try again soon rather than say what may be false
			return enroute.MessageResult{Status: enroute.MessageQueued, Reason: err.Error(), NextAttemptAt: w.now().Add(w.backoff(m.Attempts))}
		}
		if reason != "" {
			w.logger.Info("message dropped: no longer true", "message_id", m.ID, "assignment_id", m.AssignmentID, "kind", m.Kind)
			return enroute.MessageResult{Status: enroute.MessageSkipped, Reason: reason}
		}
	}
	return w.deliver(ctx, m)
}

// loggedReason says why a logged message was not sent, and what sends it.
var loggedReason = map[enroute.Channel]string{
	enroute.ChannelSMS:   "the log provider wrote it to the server's log; set ENROUTE_SMS_PROVIDER=twilio to send texts",
	enroute.ChannelEmail: "the log provider wrote it to the server's log; set ENROUTE_SMTP_URL to send e-mail",
}

// deliver makes one attempt and says what became of it.
func (w *Worker) deliver(ctx context.Context, m *enroute.Message) enroute.MessageResult {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.SendTimeout)
	defer cancel()
	var (
		id       string
		err      error
		provider any
	)
	switch {
	case m.Channel == enroute.ChannelSMS && w.sms != nil:
		provider = w.sms
		id, err = w.sms.SendSMS(ctx, SMS{MessageID: m.ID, From: m.From, To: m.To, Body: m.Body})
	case m.Channel == enroute.ChannelEmail && w.email != nil:
		provider = w.email
		id, err = w.email.SendEmail(ctx, Email{MessageID: messageID(m), FromName: m.FromName, From: m.From, To: m.To,
			Subject: m.Subject, Text: m.Body, HTML: m.HTML})
	default:
		err = permanent("no %s provider is configured on the server", m.Channel)
	}
	log := w.logger.With("message_id", m.ID, "assignment_id", m.AssignmentID, "channel", m.Channel, "attempt", m.Attempts)
	if err == nil {
		if _, only := provider.(logOnly); only {
			log.Info("message logged, not sent: a development provider", "provider_id", id)
			return enroute.MessageResult{Status: enroute.MessageLogged, ProviderID: id, Reason: loggedReason[m.Channel]}
		}
		log.Info("message sent", "provider_id", id)
		return enroute.MessageResult{Status: enroute.MessageSent, ProviderID: id}
	}
	if IsPermanent(err) || m.Attempts >= w.cfg.MaxAttempts {
		log.Warn("message failed", "err", err)
		reason := err.Error()
		if !IsPermanent(err) {
			reason = fmt.Sprintf("gave up after %d attempts: %s", m.Attempts, err)
		}
		return enroute.MessageResult{Status: enroute.MessageFailed, Reason: reason}
	}
	delay := w.backoff(m.Attempts)
	var ra *RetryAfterError
	if errors.As(err, &ra) && ra.After > delay {
		delay = ra.After
	}
	log.Info("message will be retried", "err", err, "in", delay)
	return enroute.MessageResult{Status: enroute.MessageQueued, Reason: err.Error(), NextAttemptAt: w.now().Add(delay)}
}

// backoff is BaseBackoff doubled per attempt, capped, with ±20% jitter so
// that messages failed together do not retry together.
func (w *Worker) backoff(attempt int) time.Duration {
	d := w.cfg.BaseBackoff
	for i := 1; i < attempt && d < w.cfg.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, w.cfg.MaxBackoff)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

func messageID(m *enroute.Message) string {
	d := domain(m.From)
	if d == "" {
		d = "enroute.invalid"
	}
	return fmt.Sprintf("<enroute.message.%d@%s>", m.ID, d)
}
