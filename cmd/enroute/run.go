package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/eta"
	"github.com/enroutehq/enroute/geocode"
	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/mqttsub"
	"github.com/enroutehq/enroute/natsbus"
	"github.com/enroutehq/enroute/nominatim"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/postgres"
	"github.com/enroutehq/enroute/sqlite"
	"github.com/enroutehq/enroute/tracker"
	"github.com/enroutehq/enroute/webhook"
)

// etaHistory is how much history the ETA model relearns at start-up when
// no snapshot of it was saved.
const etaHistory = 48 * time.Hour

// Main is the running program. End-to-end tests build one, set its fields
// and call Run and Close, as main does.
type Main struct {
	Config Config

	// Getenv, Stdout and Stderr default to the process's.
	Getenv func(string) string
	Stdout io.Writer
	Stderr io.Writer

	Logger *slog.Logger
	Store  enroute.Store
	HTTP   *httpapi.Server

	ln        net.Listener
	osmandLn  net.Listener
	hooks     []enroute.AssignmentHook
	bus       *natsbus.Bus
	mqtt      atomic.Pointer[mqttsub.Subscriber] // set once connected; /metrics reads it
	Tracker   *tracker.Tracker
	watcher   *eta.Watcher
	geocoding *geocode.Worker
	model     *eta.Model
	savedAt   atomic.Int64 // when the model was last saved, Unix seconds
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewMain returns a Main reading the process's environment.
func NewMain() *Main {
	return &Main{Getenv: os.Getenv, Stdout: os.Stdout, Stderr: os.Stderr}
}

// Addr returns the address the HTTP server listens on (useful with :0).
func (m *Main) Addr() string { return m.ln.Addr().String() }

// osmandURL is where phones reach the OsmAnd listener: the configured URL,
// or the public URL's host on the listener's port; "" when it is off.
func (m *Main) osmandURL() string {
	if m.osmandLn == nil {
		return ""
	}
	if m.Config.OsmAndPublicURL != "" {
		return m.Config.OsmAndPublicURL
	}
	u, _ := url.Parse(m.Config.PublicURL) // checked by ParseFlags
	_, port, _ := net.SplitHostPort(m.osmandLn.Addr().String())
	return "http://" + net.JoinHostPort(u.Hostname(), port)
}

// OsmAndAddr returns the address of the OsmAnd listener, or "".
func (m *Main) OsmAndAddr() string {
	if m.osmandLn == nil {
		return ""
	}
	return m.osmandLn.Addr().String()
}

// Run binds the listeners, opens the store, ensures an admin key and starts
// serving in the background. It returns once the server accepts requests.
func (m *Main) Run(ctx context.Context) (err error) {
	m.Logger = m.Config.newLogger(m.Stderr)
	slog.SetDefault(m.Logger)

	// Listen first: a port in use fails at once, and the addresses are
	// known for the URLs people are given (a --addr on port 0, the OsmAnd
	// listener's). Nothing is served until Serve, once the store is open
	// and the device cache warm: connections wait in the backlog.
	if m.ln, err = net.Listen("tcp", m.Config.Addr); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	if m.Config.OsmAndAddr != "" {
		if m.osmandLn, err = net.Listen("tcp", m.Config.OsmAndAddr); err != nil {
			return fmt.Errorf("listen for OsmAnd: %w", err)
		}
	}
	if m.Config.publicURLDefault {
		m.Config.PublicURL = "http://" + m.ln.Addr().String()
	}

	if m.Store, err = m.openStore(ctx); err != nil {
		return err
	}
	if err := m.ensureAdminKey(ctx); err != nil {
		return err
	}
	m.ensurePartitions(ctx)
	svc, worker, verify, err := m.notifications()
	if err != nil {
		return err
	}
	rules := &notify.Rules{Store: m.Store, PublicURL: m.Config.PublicURL, Wake: worker.Wake}
	sealer, err := m.sealer()
	if err != nil {
		return err
	}
	var (
		webhooks      enroute.WebhookService
		webhookWorker *webhook.Worker
		webhookEvents []enroute.AssignmentHook
		whEvents      *webhook.Events
	)
	if sealer != nil {
		webhookWorker = webhook.NewWorker(m.Store, sealer, m.Config.Webhooks, m.Logger)
		whEvents = &webhook.Events{Store: m.Store, Wake: webhookWorker.Wake}
		worker.Hooks = []enroute.MessageHook{whEvents}
		rules.MessageHooks = []enroute.MessageHook{whEvents}
		webhookEvents = []enroute.AssignmentHook{whEvents}
		webhooks = &webhook.Service{Store: m.Store, Sealer: sealer, AllowPrivate: m.Config.Webhooks.AllowPrivate, Wake: webhookWorker.Wake}
	}
	tc := m.Config.Tracker
	tc.Recorder.Gap = noneIfZero(m.Config.CommitGap)
	m.Tracker = tracker.New(tc, m.Store, m.Logger)
	if n, err := m.Tracker.Restore(ctx); err != nil {
		return err
	} else if n > 0 {
		m.Logger.Info("live positions restored", "technicians", n)
	}
	hub := tracker.NewHub(tracker.HubConfig{Encode: httpapi.EncodePosition, EncodeProgress: httpapi.EncodeProgress}, m.Tracker.Config().Resolution, m.Tracker.Config().MaxViewCells)
	// Updates reach this node's hub directly and, when several nodes share
	// the work, the other nodes through NATS.
	var out enroute.Publisher = hub
	if m.Config.NATSURL != "" {
		if m.bus, err = natsbus.Connect(m.Config.NATSURL, m.Config.NATSPrefix, "enroute "+m.Config.Addr, m.Logger); err != nil {
			return err
		}
		out = tracker.Fanout{hub, m.bus}
	}
	model, learnedUntil, err := m.loadModel(ctx)
	if err != nil {
		return err
	}
	m.model = model
	// The watcher follows the fixes this node ingests (it keeps state per
	// technician) and every node's status changes.
	watcher := eta.NewWatcher(eta.WatcherConfig{History: etaHistory, Since: learnedUntil}, m.Store, model, out, m.arrive,
		func(ctx context.Context) eta.ArrivalRule {
			st, err := m.Store.FindSettings(ctx)
			if err != nil {
				m.Logger.Warn("read the arrival settings", "err", err)
				return eta.ArrivalRule{} // not automatic until they can be read
			}
			tr := st.Dispatch.Tracking
			return eta.ArrivalRule{Auto: tr.AutoArrival, RadiusM: tr.ArrivalRadiusM, Dwell: time.Duration(tr.ArrivalDwellS) * time.Second}
		}, m.Logger)
	watcher.Late = rules.RunningLate
	watcher.Nearby = rules.Nearby
	worker.Still = rules.Still
	m.watcher = watcher
	// The watcher is the tracker's estimator: it hears of each position
	// before out does, and queues a due estimate in out's hub
	// (QueueProgress), which then sends the position and it at once.
	m.Tracker.SubscribeEstimator(watcher)
	m.Tracker.Subscribe(out)
	m.Tracker.SubscribeLearner(watcher)
	// Status changes go to this node's hub and watcher, and to the others'.
	var events enroute.Publisher = tracker.Fanout{hub, watcher}
	if m.bus != nil {
		// Another node's progress goes to this node's customers and boards
		// (the hub) and to its watcher, which keeps the latest for the API.
		if err := m.bus.Subscribe(natsbus.Receivers{Positions: tracker.Mirror{Live: m.Tracker.Live, Next: hub}, Assignments: events,
			Progress: tracker.Fanout{hub, watcher}, Activity: hub}); err != nil {
			return err
		}
		events = tracker.Fanout{events, m.bus}
	}
	assignmentEvents := tracker.AssignmentEvents{Store: m.Store, Pub: events}
	m.hooks = append([]enroute.AssignmentHook{rules, assignmentEvents}, webhookEvents...)
	// A job site whose pin or verification changes republishes its
	// assignments: the watcher follows them to the new pin, customers'
	// pages and boards read the site again.
	locHooks := []enroute.LocationHook{assignmentEvents}
	// A job's activity (a reply, a message's outcome or receipt) goes to
	// this node's boards and the others'.
	var activity enroute.ActivityPublisher = hub
	if m.bus != nil {
		activity = tracker.Fanout{hub, m.bus}
	}
	activityEvents := tracker.ActivityEvents{Store: m.Store, Pub: activity}
	var (
		msgHooks   = []enroute.MessageHook{activityEvents}
		trackHooks []enroute.TrackingHook
	)
	svc.ReplyHooks = []enroute.ReplyHook{activityEvents}
	svc.Wake = worker.Wake
	worker.Hooks = append(worker.Hooks, activityEvents)
	rules.MessageHooks = append(rules.MessageHooks, activityEvents)
	if whEvents != nil { // webhooks on: location.verified, message.delivered, tracking.opened, customer.replied
		locHooks = append(locHooks, whEvents)
		msgHooks = append(msgHooks, whEvents)
		trackHooks = []enroute.TrackingHook{whEvents}
		svc.ReplyHooks = append(svc.ReplyHooks, whEvents)
	}
	geocoder, err := m.geocoder()
	if err != nil {
		return err
	}
	m.geocoding = geocode.NewWorker(m.Store, geocoder, locHooks, m.Config.Geocode, m.Logger)
	m.HTTP = httpapi.NewServer(httpapi.Config{Version: Version, Registry: m.registry(), PublicURL: m.Config.PublicURL, OsmAndURL: m.osmandURL(), VerifySMSWebhook: verify, WSWriteTimeout: m.Config.WSWriteTimeout, RateLimits: m.Config.RateLimits, BoardFlush: noneIfZero(m.Config.BoardFlush),
		TileURL: m.Config.TileURL, TileAttribution: m.Config.TileAttribution, GeocodeWait: noneIfZero(m.Config.GeocodeWait)},
		m.Store, httpapi.Features{Notify: svc, Ingest: m.Tracker, Live: m.Tracker, Hub: hub, Progress: watcher, Hooks: m.hooks,
			LocationHooks: locHooks, Geocoding: m.geocoding, Webhooks: webhooks, MessageHooks: msgHooks, TrackingHooks: trackHooks,
			JobHooks: []enroute.JobHook{rules}}, m.Logger)
	if n, err := m.HTTP.WarmDevices(ctx); err != nil {
		return fmt.Errorf("read devices: %w", err)
	} else if n > 0 {
		m.Logger.Info("devices read", "devices", n)
	}

	ctx, m.cancel = context.WithCancel(context.WithoutCancel(ctx))
	m.wg.Go(func() {
		if err := m.HTTP.Serve(m.ln); err != nil {
			m.Logger.Error("http server stopped", "err", err)
		}
	})
	if m.osmandLn != nil {
		m.wg.Go(func() {
			if err := m.HTTP.ServeOsmAnd(m.osmandLn); err != nil {
				m.Logger.Error("osmand server stopped", "err", err)
			}
		})
	}
	if m.Config.PprofAddr != "" {
		if err := m.servePprof(ctx); err != nil {
			return err
		}
	}
	m.wg.Go(func() { every(ctx, time.Hour, func() { m.housekeeping(ctx) }) })
	m.wg.Go(func() { worker.Run(ctx) })
	m.wg.Go(func() { m.geocoding.Run(ctx) })
	if webhookWorker != nil {
		m.wg.Go(func() { webhookWorker.Run(ctx) })
	}
	m.wg.Go(func() { m.Tracker.Run(ctx) })
	m.wg.Go(func() { watcher.Run(ctx) })
	if m.Config.MQTTURL != "" {
		// With the tracker running: a resumed session delivers at once
		// what phones published while this node was away.
		sub, err := mqttsub.Connect(ctx, m.Config.mqttConfig(), m.HTTP, m.Tracker, m.Logger)
		if err != nil {
			return err
		}
		m.mqtt.Store(sub)
	}
	m.wg.Go(func() { every(ctx, m.Config.ETASaveEvery, func() { m.saveModel(ctx) }) })
	if m.Config.Demo {
		if err := m.demo(ctx); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	m.Logger.Info("enroute started", "version", Version, "addr", m.Addr(), "osmand_addr", m.OsmAndAddr(), "store", m.Config.storeName(), "public_url", m.Config.PublicURL)
	return nil
}

// loadModel returns the ETA model as it was last saved, taught the stored
// history since (within the position retention), or, with none saved,
// taught the last etaHistory of it; and the time its snapshot ends (zero
// with none).
func (m *Main) loadModel(ctx context.Context) (*eta.Model, time.Time, error) {
	model := eta.New(eta.Config{})
	until, err := model.Load(ctx, m.Store)
	if err != nil {
		// A snapshot this release cannot read (another H3 resolution, a
		// damaged row) costs the history before etaHistory, not the start.
		m.Logger.Warn("saved travel times not read; relearning the history", "err", err)
		model, until = eta.New(eta.Config{}), time.Time{}
	}
	since := time.Now().Add(-etaHistory)
	if !until.IsZero() {
		since = until
		if kept := time.Now().Add(-m.Config.PositionRetention); since.Before(kept) {
			since = kept // older positions are gone
		}
		km, cells := model.Stats()
		m.Logger.Info("travel times loaded", "km", int(km), "cell_hours", cells, "learned_until", until)
	}
	if n, err := model.LearnHistory(ctx, m.Store, since); err != nil {
		return nil, time.Time{}, fmt.Errorf("learn travel times: %w", err)
	} else if n > 0 {
		m.Logger.Info("travel times learned from history", "positions", n)
	}
	return model, until, nil
}

// arrive marks a technician arrived at their assignment's address (the
// ETA watcher's automatic arrival): the usual transition, hooks included.
// One no longer en route needs nothing: another node, receiving the same
// phone's fixes, or a dispatcher may have moved it first.
func (m *Main) arrive(ctx context.Context, id int64) error {
	_, err := enroute.TransitionAssignment(ctx, m.Store, id, enroute.StatusWorking, m.hooks...)
	if err != nil {
		if a, ferr := m.Store.FindAssignmentByID(ctx, id); ferr == nil && a.Status != enroute.StatusDispatched {
			return nil
		}
	}
	return err
}

// geocoder returns the Nominatim client that verifies addresses, or nil
// when it is off. It names the installation in its User-Agent, as the
// public service's usage policy asks.
func (m *Main) geocoder() (enroute.Geocoder, error) {
	c := m.Config
	if c.GeocoderURL == "off" {
		m.Logger.Info("geocoder off: locations need their pin from a dispatcher")
		return nil, nil
	}
	g, err := nominatim.New(nominatim.Config{URL: c.GeocoderURL, UserAgent: fmt.Sprintf("Enroute/%s (%s)", Version, c.PublicURL),
		Email: c.GeocoderEmail, CountryCodes: c.GeocoderCountries, RatePerSecond: c.GeocoderRate})
	if err != nil {
		return nil, err
	}
	return g, nil
}

// every runs fn every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn()
		}
	}
}

// saveModel saves what the ETA model has learned: every ETASaveEvery, and
// at Close.
func (m *Main) saveModel(ctx context.Context) {
	if err := m.model.Save(ctx, m.Store); err != nil {
		m.Logger.Warn("save travel times", "err", err)
		return
	}
	m.savedAt.Store(time.Now().Unix())
}

// registry is /metrics' registry: the runtime's and the HTTP server's
// metrics, and how much the ETA model has learned and when it was saved.
func (m *Main) registry() *prometheus.Registry {
	r := httpapi.NewRegistry()
	r.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enroute_eta_learned_km", Help: "Driving the ETA model has learned, in kilometres."},
			func() float64 { km, _ := m.model.Stats(); return km }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enroute_eta_cell_hours", Help: "H3 cells and hours of the week the ETA model has a pace for."},
			func() float64 { _, n := m.model.Stats(); return float64(n) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enroute_eta_saved_timestamp_seconds", Help: "When the ETA model was last saved to the store (Unix time; 0: not yet by this process)."},
			func() float64 { return float64(m.savedAt.Load()) }))
	if m.Config.MQTTURL != "" {
		count := func(f func(*mqttsub.Subscriber) int64) func() float64 {
			return func() float64 {
				if sub := m.mqtt.Load(); sub != nil {
					return float64(f(sub))
				}
				return 0
			}
		}
		for _, o := range mqttsub.Outcomes() {
			r.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "enroute_mqtt_messages_total",
				Help:        "OwnTracks messages received over MQTT, by outcome: accepted, duplicate, rejected (invalid fix), ignored (not a location), unknown_device, invalid, dropped (QoS 0 while busy).",
				ConstLabels: prometheus.Labels{"outcome": o.String()}},
				count(func(s *mqttsub.Subscriber) int64 { return s.Count(o) })))
		}
		r.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "enroute_mqtt_retries_total", Help: "Times an MQTT message's fix was held unacknowledged to be tried again (the history busy or unavailable)."},
				count((*mqttsub.Subscriber).Retries)),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "enroute_mqtt_connected", Help: "1 while the connection to the MQTT broker is up."},
				func() float64 {
					if sub := m.mqtt.Load(); sub != nil && sub.Connected() {
						return 1
					}
					return 0
				}))
	}
	return r
}

func (m *Main) openStore(ctx context.Context) (enroute.Store, error) {
	if m.Config.DatabaseURL != "" {
		s, err := postgres.Open(ctx, m.Config.DatabaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err)
		}
		return s, nil
	}
	s, err := sqlite.Open(ctx, filepath.Join(m.Config.DataDir, "enroute.db"))
	if err != nil {
		return nil, fmt.Errorf("open sqlite store in %s: %w", m.Config.DataDir, err)
	}
	return s, nil
}

// notifications builds the notification service, the outbox worker with its
// providers, and the inbound SMS signature check (nil without Twilio).
func (m *Main) notifications() (*notify.Service, *notify.Worker, func(string, url.Values, string) bool, error) {
	c := m.Config
	var (
		sms    notify.SMSSender = notify.LogSMS{Logger: m.Logger}
		email  notify.EmailSender
		verify func(string, url.Values, string) bool
	)
	receipts := false
	if c.SMSProvider == "twilio" {
		tw := &notify.Twilio{BaseURL: c.TwilioBaseURL, AccountSID: c.TwilioAccountSID, AuthToken: c.TwilioAuthToken}
		if receipts = reachableFromInternet(c.PublicURL); receipts {
			tw.StatusCallback = c.PublicURL + "/api/v1/sms/status"
		} else {
			m.Logger.Warn("twilio delivery receipts off: twilio cannot reach the public URL; set ENROUTE_PUBLIC_URL to the address it reaches this server at", "public_url", c.PublicURL)
		}
		sms = tw
		verify = func(u string, form url.Values, sig string) bool {
			return notify.ValidTwilioSignature(c.TwilioAuthToken, u, form, sig)
		}
	}
	switch c.EmailProvider {
	case "smtp":
		s, err := notify.ParseSMTPURL(c.SMTPURL)
		if err != nil {
			return nil, nil, nil, err
		}
		email = s
	case "log":
		email = notify.LogEmail{Logger: m.Logger}
	}
	svc := notify.NewService(m.Store, notify.Config{PublicURL: c.PublicURL, SMSProvider: c.SMSProvider, EmailProvider: c.EmailProvider, DeliveryReceipts: receipts})
	return svc, notify.NewWorker(m.Store, sms, email, c.Outbox, m.Logger), verify, nil
}

// reachableFromInternet says whether a public URL may be one Twilio
// reaches: not a loopback, private or link-local address, nor a name
// without a dot (localhost, a machine's own name) or under .localhost,
// .local or .internal. Twilio may refuse a text whose StatusCallback it
// cannot reach (error 21609), so receipts are asked for only then.
func reachableFromInternet(publicURL string) bool {
	u, err := url.Parse(publicURL)
	if err != nil {
		return false
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if ip, err := netip.ParseAddr(host); err == nil {
		return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified())
	}
	for _, suffix := range []string{".localhost", ".local", ".internal"} {
		if strings.HasSuffix(host, suffix) {
			return false
		}
	}
	return strings.Contains(host, ".")
}

// sealer returns what seals webhook signing secrets, under
// ENROUTE_SECRET_KEY or, for the embedded store, the key in the data
// directory's secret.key (made on first start, readable by the owner only).
// With PostgreSQL and no key, it returns nil: several nodes must share one
// key, which only the operator can give them, so webhooks are off.
func (m *Main) sealer() (*webhook.Sealer, error) {
	key := m.Config.SecretKey
	if key == nil {
		if m.Config.DatabaseURL != "" {
			m.Logger.Warn("outbound webhooks are off: set ENROUTE_SECRET_KEY (32 random bytes, base64; the same on every node) to turn them on")
			return nil, nil
		}
		var err error
		if key, err = webhook.LoadOrCreateKeyFile(filepath.Join(m.Config.DataDir, "secret.key")); err != nil {
			return nil, err
		}
	}
	return webhook.NewSealer(key)
}

// ensureAdminKey makes sure an administrator can log in: ENROUTE_ADMIN_TOKEN
// becomes an admin key when set; otherwise, on first start, a new admin key
// is created and printed once.
func (m *Main) ensureAdminKey(ctx context.Context) error {
	if tok := m.Config.AdminToken; tok != "" {
		hash := enroute.HashSecret(tok)
		keys, err := m.Store.FindAPIKeys(ctx, enroute.APIKeyFilter{KeyHash: hash, IncludeRevoked: true})
		if err != nil {
			return fmt.Errorf("find admin key: %w", err)
		} else if len(keys) > 0 {
			if keys[0].Role != enroute.RoleAdmin || keys[0].RevokedAt != nil {
				return errors.New("ENROUTE_ADMIN_TOKEN names a revoked or non-admin key; choose another value")
			}
			return nil
		}
		k := &enroute.APIKey{Name: "admin (ENROUTE_ADMIN_TOKEN)", Role: enroute.RoleAdmin, Prefix: tok[:8]}
		if err := m.Store.CreateAPIKey(ctx, k, hash); err != nil {
			return fmt.Errorf("create admin key: %w", err)
		}
		return nil
	}
	admin := enroute.RoleAdmin
	keys, err := m.Store.FindAPIKeys(ctx, enroute.APIKeyFilter{Role: &admin, Page: enroute.Page{Limit: 1}})
	if err != nil {
		return fmt.Errorf("find admin key: %w", err)
	} else if len(keys) > 0 {
		return nil
	}
	secret, k := httpapi.NewAPIKey("first admin", enroute.RoleAdmin)
	if err := m.Store.CreateAPIKey(ctx, k, enroute.HashSecret(secret)); err != nil {
		return fmt.Errorf("create admin key: %w", err)
	}
	fmt.Fprintf(m.Stdout, "\nAdmin API key (shown once; keep it safe):\n\n    %s\n\n", secret)
	return nil
}

// servePprof serves net/http/pprof on its own listener (never on the
// public one), until ctx ends.
func (m *Main) servePprof(ctx context.Context) error {
	ln, err := net.Listen("tcp", m.Config.PprofAddr)
	if err != nil {
		return fmt.Errorf("listen for pprof: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	m.wg.Go(func() { _ = srv.Serve(ln) })
	m.wg.Go(func() { <-ctx.Done(); _ = srv.Close() })
	return nil
}

// partitioner is a store that keeps the history in periods made ahead of
// time (PostgreSQL's day partitions).
type partitioner interface {
	EnsurePartitions(ctx context.Context, now time.Time) (int, error)
}

// ensurePartitions makes the store's next periods of history, if it keeps
// them so: at start-up and hourly. A failure is only logged: until the
// next hour's try, fixes of a day with no period go to the default one.
func (m *Main) ensurePartitions(ctx context.Context) {
	p, ok := m.Store.(partitioner)
	if !ok {
		return
	}
	if n, err := p.EnsurePartitions(ctx, time.Now()); err != nil {
		m.Logger.Warn("make position partitions", "err", err)
	} else if n > 0 {
		m.Logger.Info("made position partitions", "count", n)
	}
}

// housekeeping makes the history's next periods, forgets Idempotency-Keys
// past their TTL and positions past their retention (hourly).
func (m *Main) housekeeping(ctx context.Context) {
	m.ensurePartitions(ctx)
	if n, err := m.Store.DeleteIdempotencyKeysBefore(ctx, time.Now().Add(-enroute.IdempotencyTTL)); err != nil {
		m.Logger.Warn("forget idempotency keys", "err", err)
	} else if n > 0 {
		m.Logger.Debug("forgot idempotency keys", "count", n)
	}
	if n, err := m.Store.DeletePositionsBefore(ctx, time.Now().Add(-m.Config.PositionRetention)); err != nil {
		m.Logger.Warn("forget old positions", "err", err)
	} else if n > 0 {
		m.Logger.Info("forgot old positions", "count", n)
	}
	if n, err := m.Store.DeleteWebhookDeliveriesBefore(ctx, time.Now().Add(-enroute.WebhookDeliveryRetention)); err != nil {
		m.Logger.Warn("forget old webhook deliveries", "err", err)
	} else if n > 0 {
		m.Logger.Info("forgot old webhook deliveries", "count", n)
	}
}

// Close shuts down in order: readiness 503, HTTP drained, the MQTT
// subscriber closed, background work stopped (the history flushed), store
// closed. It is idempotent.
func (m *Main) Close() error {
	m.closeOnce.Do(func() {
		var errs []error
		if m.HTTP != nil {
			ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
			errs = append(errs, m.HTTP.Close(ctx))
			cancel()
		} else if m.ln != nil {
			errs = append(errs, m.ln.Close())
		}
		if m.HTTP == nil && m.osmandLn != nil {
			errs = append(errs, m.osmandLn.Close())
		}
		if sub := m.mqtt.Load(); sub != nil {
			// Before the tracker flushes: fixes at work are committed
			// (acknowledged) or left to the broker for the next start.
			errs = append(errs, sub.Close())
		}
		if m.cancel != nil {
			m.cancel()
		}
		m.wg.Wait()
		if m.model != nil {
			// Once everything that learns has stopped: the next start
			// relearns only what comes after.
			ctx, cancel := context.WithTimeout(context.Background(), m.Config.ShutdownTimeout)
			m.saveModel(ctx)
			cancel()
		}
		if m.bus != nil {
			errs = append(errs, m.bus.Close())
		}
		if m.Store != nil {
			errs = append(errs, m.Store.Close())
		}
		m.closeErr = errors.Join(errs...)
		if m.Logger != nil {
			m.Logger.Info("enroute stopped")
		}
	})
	return m.closeErr
}

// noneIfZero maps a flag's 0 (none: --board-flush, --commit-gap) to the
// packages' negative (0 is their default).
func noneIfZero(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
