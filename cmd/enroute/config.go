package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/enroutehq/enroute/geocode"
	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/mqttsub"
	"github.com/enroutehq/enroute/nominatim"
	"github.com/enroutehq/enroute/notify"
	"github.com/enroutehq/enroute/tracker"
	"github.com/enroutehq/enroute/webhook"
)

// Version is set at build time with -ldflags "-X main.Version=...".
var Version = "dev"

var errVersion = errors.New("version requested")

// Config is the server's configuration: flags, each with an ENROUTE_* env
// fallback; secrets come from the environment only.
type Config struct {
	Addr            string
	DataDir         string
	DatabaseURL     string // ENROUTE_DATABASE_URL only: it may hold a password.
	AdminToken      string // ENROUTE_ADMIN_TOKEN only.
	PublicURL       string
	LogFormat       string
	LogLevel        slog.Level
	ShutdownTimeout time.Duration

	SMSProvider      string // log or twilio
	TwilioAccountSID string
	TwilioAuthToken  string // env only
	TwilioBaseURL    string
	EmailProvider    string // smtp, log or none
	SMTPURL          string // env only: it may hold a password
	Outbox           notify.WorkerConfig

	OsmAndAddr        string
	OsmAndPublicURL   string
	publicURLDefault  bool // PublicURL is http://Addr: Run sets the port bound
	Tracker           tracker.Config
	PositionRetention time.Duration
	ETASaveEvery      time.Duration
	WSWriteTimeout    time.Duration
	BoardFlush        time.Duration
	CommitGap         time.Duration
	PprofAddr         string
	GCSpacing         time.Duration // 0: Go's GOGC alone (also when GOGC is set)
	GCCeilingMB       int           // 0: a quarter of the memory, at most 1,024
	TileURL           string
	TileAttribution   string
	Demo              bool
	NATSURL           string // ENROUTE_NATS_URL only: it may hold credentials
	NATSPrefix        string
	MQTTURL           string // ENROUTE_MQTT_URL only: it may hold credentials
	MQTTTopic         string
	MQTTClientID      string
	RateLimits        httpapi.RateLimits

	GeocoderURL       string // a Nominatim service, or "off"
	GeocoderRate      float64
	GeocoderEmail     string
	GeocoderCountries string
	GeocodeWait       time.Duration
	Geocode           geocode.Config
	Webhooks          webhook.Config
	// SecretKey seals webhook signing secrets (ENROUTE_SECRET_KEY only:
	// 32 bytes, base64). Unset: a key file in DataDir for the embedded
	// store; with PostgreSQL, webhooks are off.
	SecretKey []byte
}

// ParseFlags reads the configuration from args and the environment
// (m.Getenv) and validates it.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("enroute", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c := &m.Config
	env := func(name, def string) string {
		if v := m.Getenv("ENROUTE_" + name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.Addr, "addr", env("ADDR", "127.0.0.1:8080"), "HTTP listen address (ENROUTE_ADDR)")
	fs.StringVar(&c.DataDir, "data-dir", env("DATA_DIR", "./data"), "directory of the embedded store (ENROUTE_DATA_DIR)")
	fs.StringVar(&c.PublicURL, "public-url", env("PUBLIC_URL", ""), "URL customers reach this server at (ENROUTE_PUBLIC_URL); default http://ADDR")
	fs.StringVar(&c.LogFormat, "log-format", env("LOG_FORMAT", "text"), "log format: text or json (ENROUTE_LOG_FORMAT)")
	level := fs.String("log-level", env("LOG_LEVEL", "info"), "log level: debug, info, warn or error (ENROUTE_LOG_LEVEL)")
	shutdown := fs.String("shutdown-timeout", env("SHUTDOWN_TIMEOUT", "15s"), "how long shutdown waits for requests (ENROUTE_SHUTDOWN_TIMEOUT)")
	fs.StringVar(&c.SMSProvider, "sms-provider", env("SMS_PROVIDER", "log"), "SMS provider: log (development) or twilio (ENROUTE_SMS_PROVIDER)")
	fs.StringVar(&c.TwilioAccountSID, "twilio-account-sid", env("TWILIO_ACCOUNT_SID", ""), "Twilio account SID (ENROUTE_TWILIO_ACCOUNT_SID)")
	fs.StringVar(&c.TwilioBaseURL, "twilio-base-url", env("TWILIO_BASE_URL", notify.DefaultTwilioBaseURL), "Twilio API base URL (ENROUTE_TWILIO_BASE_URL)")
	fs.StringVar(&c.EmailProvider, "email-provider", env("EMAIL_PROVIDER", ""), "e-mail provider: smtp, log or none (ENROUTE_EMAIL_PROVIDER); default smtp when ENROUTE_SMTP_URL is set, else none")
	fs.DurationVar(&c.Outbox.BaseBackoff, "outbox-backoff", envDuration(env("OUTBOX_BACKOFF", "2s")), "first retry delay of a failed delivery, doubled each attempt (ENROUTE_OUTBOX_BACKOFF)")
	fs.DurationVar(&c.Outbox.MaxBackoff, "outbox-max-backoff", envDuration(env("OUTBOX_MAX_BACKOFF", "5m")), "longest retry delay (ENROUTE_OUTBOX_MAX_BACKOFF)")
	fs.DurationVar(&c.Outbox.SendTimeout, "outbox-send-timeout", envDuration(env("OUTBOX_SEND_TIMEOUT", "30s")), "one delivery attempt's timeout; a crashed node's message waits 1.5 times this before another takes it (ENROUTE_OUTBOX_SEND_TIMEOUT)")
	fs.IntVar(&c.Outbox.MaxAttempts, "outbox-max-attempts", envInt(env("OUTBOX_MAX_ATTEMPTS", "10")), "delivery attempts before a message fails (ENROUTE_OUTBOX_MAX_ATTEMPTS)")
	fs.DurationVar(&c.Outbox.PollInterval, "outbox-poll", envDuration(env("OUTBOX_POLL", "2s")), "how often the outbox is checked for due retries (ENROUTE_OUTBOX_POLL)")
	fs.StringVar(&c.OsmAndAddr, "osmand-addr", env("OSMAND_ADDR", "127.0.0.1:5055"), "OsmAnd/Traccar Client listen address (ENROUTE_OSMAND_ADDR); empty turns it off")
	fs.StringVar(&c.OsmAndPublicURL, "osmand-public-url", env("OSMAND_PUBLIC_URL", ""), "URL phones reach the OsmAnd listener at, shown to set up Traccar Client (ENROUTE_OSMAND_PUBLIC_URL); default http://PUBLIC-URL-HOST:OSMAND-PORT")
	fs.IntVar(&c.Tracker.Resolution, "h3-resolution", envInt(env("H3_RESOLUTION", "8")), "H3 resolution of the live index, 5 to 10 (ENROUTE_H3_RESOLUTION)")
	fs.Float64Var(&c.Tracker.MaxAccuracyM, "max-accuracy-m", float64(envInt(env("MAX_ACCURACY_M", "200"))), "fixes less accurate are rejected (ENROUTE_MAX_ACCURACY_M)")
	fs.DurationVar(&c.Tracker.MaxAge, "max-fix-age", envDuration(env("MAX_FIX_AGE", "24h")), "older fixes are rejected (ENROUTE_MAX_FIX_AGE)")
	fs.Float64Var(&c.Tracker.MaxSpeedMPS, "max-speed-mps", float64(envInt(env("MAX_SPEED_MPS", "70"))), "jumps implying a higher speed are rejected (ENROUTE_MAX_SPEED_MPS)")
	fs.DurationVar(&c.PositionRetention, "position-retention", envDuration(env("POSITION_RETENTION", "720h")), "how long the position history is kept (ENROUTE_POSITION_RETENTION)")
	fs.DurationVar(&c.ETASaveEvery, "eta-save-every", envDuration(env("ETA_SAVE_EVERY", "10m")), "how often what the ETA model has learned is saved, besides at shutdown: a start relearns only the history since (ENROUTE_ETA_SAVE_EVERY)")
	fs.DurationVar(&c.BoardFlush, "board-flush", envDuration(env("BOARD_FLUSH", "25ms")), "the longest a dispatcher board's positions wait to go together, under the heaviest flow (a board's spacing follows its flow: 0.4 ms at 2,000 positions a second, 10 ms at 10,000; and widens toward this as the server's cores fill up); 0: each at once (ENROUTE_BOARD_FLUSH)")
	fs.DurationVar(&c.CommitGap, "commit-gap", envDuration(env("COMMIT_GAP", "20ms")), "the longest a commit of positions waits for more fixes while they keep coming (it ends sooner once 2 ms pass with none, once 100 wait 2 ms after the last commit, or once 64 requests or 1,000 fixes wait): their acknowledgement waits up to this long, the live push does not; 0: commit at once (ENROUTE_COMMIT_GAP)")
	fs.DurationVar(&c.WSWriteTimeout, "ws-write-timeout", envDuration(env("WS_WRITE_TIMEOUT", "5s")), "a WebSocket peer that does not read for this long is dropped (ENROUTE_WS_WRITE_TIMEOUT)")
	fs.StringVar(&c.TileURL, "tile-url", env("TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"), "map tile URL template of the tracking page (ENROUTE_TILE_URL)")
	fs.StringVar(&c.TileAttribution, "tile-attribution", env("TILE_ATTRIBUTION", "&copy; OpenStreetMap contributors"), "the credit the tile server requires (ENROUTE_TILE_ATTRIBUTION)")
	fs.BoolVar(&c.Demo, "demo", env("DEMO", "false") == "true", "seed demo data (only into a new data directory, or one the demo seeded) and replay a recorded drive (ENROUTE_DEMO); `make demo` runs it in ./data-demo")
	fs.StringVar(&c.NATSPrefix, "nats-prefix", env("NATS_PREFIX", "enroute"), "subject prefix on NATS, to keep deployments sharing a server apart (ENROUTE_NATS_PREFIX)")
	fs.StringVar(&c.MQTTTopic, "mqtt-topic", env("MQTT_TOPIC", mqttsub.DefaultTopic), "MQTT subscription for OwnTracks, ending in /+/+ (user and device); $share/GROUP/... with several nodes (ENROUTE_MQTT_TOPIC)")
	fs.StringVar(&c.MQTTClientID, "mqtt-client-id", env("MQTT_CLIENT_ID", defaultMQTTClientID()), "MQTT client id, stable per node and different on each: the broker keeps this node's session under it (ENROUTE_MQTT_CLIENT_ID); default enroute-HOSTNAME")
	fs.DurationVar(&c.GCSpacing, "gc-spacing", envDuration(env("GC_SPACING", "20s")), "the time wanted between Go's garbage collections, up to 1h: a collection's marking delays pushes, and under load Go's default comes every 2-3 s (at 6,000 fixes a second spacing them took the p99 from 8.2 to 3.5 ms); the heap goal may grow to --gc-ceiling-mb for it (ENROUTE_GC_SPACING); off when 0 or when GOGC is set")
	fs.IntVar(&c.GCCeilingMB, "gc-ceiling-mb", envInt(env("GC_CEILING_MB", "0")), "the largest heap goal, in MiB, --gc-spacing may set; the process's memory runs somewhat above it (ENROUTE_GC_CEILING_MB); 0: a quarter of the memory the process may use, at most 1,024, and at most half of GOMEMLIMIT")
	fs.StringVar(&c.PprofAddr, "pprof-addr", env("PPROF_ADDR", ""), "serve Go's /debug/pprof on this address, for profiling (ENROUTE_PPROF_ADDR); off by default")
	rates := []struct {
		flag  string
		dst   *httpapi.RateLimit
		def   httpapi.RateLimit
		usage string
		val   *string
	}{
		{flag: "rate-public", dst: &c.RateLimits.Public, def: httpapi.DefaultRateLimits.Public, usage: "requests per client address to the tracking pages, their state and live sockets"},
		{flag: "rate-login", dst: &c.RateLimits.Login, def: httpapi.DefaultRateLimits.Login, usage: "log-ins per client address"},
		{flag: "rate-webhook", dst: &c.RateLimits.Webhook, def: httpapi.DefaultRateLimits.Webhook, usage: "SMS webhook requests per client address"},
		{flag: "rate-unknown", dst: &c.RateLimits.Unknown, def: httpapi.DefaultRateLimits.Unknown, usage: "requests naming a device or key that does not exist, per client address"},
		{flag: "rate-api", dst: &c.RateLimits.API, def: httpapi.DefaultRateLimits.API, usage: "API requests per key"},
	}
	for i := range rates {
		r := &rates[i]
		name := "RATE_" + strings.ToUpper(strings.TrimPrefix(r.flag, "rate-"))
		r.val = fs.String(r.flag, env(name, r.def.String()), fmt.Sprintf("%s: N/s, N/m or N/h with an optional :burst, or off (ENROUTE_%s)", r.usage, name))
	}
	fs.StringVar(&c.GeocoderURL, "geocoder-url", env("GEOCODER_URL", nominatim.PublicURL), "Nominatim service that verifies addresses without a pin, or off (ENROUTE_GEOCODER_URL); default the public one, at most 1 request a second")
	fs.Float64Var(&c.GeocoderRate, "geocoder-rate", envFloat(env("GEOCODER_RATE", "0")), "most geocoder requests a second; 0: 1 for the public service (never more), unlimited for your own (ENROUTE_GEOCODER_RATE)")
	fs.StringVar(&c.GeocoderEmail, "geocoder-email", env("GEOCODER_EMAIL", ""), "contact e-mail sent to the geocoder, as the public service asks of heavier users (ENROUTE_GEOCODER_EMAIL)")
	fs.StringVar(&c.GeocoderCountries, "geocoder-countries", env("GEOCODER_COUNTRIES", ""), "limit geocoding to these countries, ISO codes comma-separated: us,ca (ENROUTE_GEOCODER_COUNTRIES); default anywhere")
	fs.DurationVar(&c.GeocodeWait, "geocode-wait", envDuration(env("GEOCODE_WAIT", "1500ms")), "how long creating a location waits for the geocoder before answering pending; 0: not at all (ENROUTE_GEOCODE_WAIT)")
	fs.DurationVar(&c.Geocode.BaseBackoff, "geocode-backoff", envDuration(env("GEOCODE_BACKOFF", "30s")), "first retry delay when the geocoder does not answer, doubled per attempt up to 1h; a Retry-After is honoured (ENROUTE_GEOCODE_BACKOFF)")
	fs.BoolVar(&c.Webhooks.AllowPrivate, "webhook-allow-private", env("WEBHOOK_ALLOW_PRIVATE", "false") == "true", "let webhook endpoints be plain http and reach private, loopback and link-local addresses, for development and tests (ENROUTE_WEBHOOK_ALLOW_PRIVATE); off by default")
	fs.DurationVar(&c.Webhooks.BaseBackoff, "webhook-backoff", envDuration(env("WEBHOOK_BACKOFF", "5s")), "first retry delay of a failed webhook delivery, doubled each attempt, ±20% (ENROUTE_WEBHOOK_BACKOFF)")
	fs.DurationVar(&c.Webhooks.MaxBackoff, "webhook-max-backoff", envDuration(env("WEBHOOK_MAX_BACKOFF", "1h")), "longest webhook retry delay (ENROUTE_WEBHOOK_MAX_BACKOFF)")
	fs.IntVar(&c.Webhooks.MaxAttempts, "webhook-max-attempts", envInt(env("WEBHOOK_MAX_ATTEMPTS", "40")), "attempts before a webhook delivery fails for good (ENROUTE_WEBHOOK_MAX_ATTEMPTS)")
	fs.DurationVar(&c.Webhooks.Timeout, "webhook-timeout", envDuration(env("WEBHOOK_TIMEOUT", "10s")), "one webhook attempt's timeout; a crashed node's delivery waits 1.5 times this (and a second) before another takes it (ENROUTE_WEBHOOK_TIMEOUT)")
	fs.DurationVar(&c.Webhooks.PollInterval, "webhook-poll", envDuration(env("WEBHOOK_POLL", "2s")), "how often the webhook outbox is checked for due retries (ENROUTE_WEBHOOK_POLL)")
	fs.DurationVar(&c.Webhooks.DisableAfter, "webhook-disable-after", envDuration(env("WEBHOOK_DISABLE_AFTER", "24h")), "an endpoint whose deliveries failed continuously this long is disabled (ENROUTE_WEBHOOK_DISABLE_AFTER)")
	trusted := fs.String("trusted-proxies", env("TRUSTED_PROXIES", ""), "addresses or CIDRs of reverse proxies whose X-Forwarded-For names the client (ENROUTE_TRUSTED_PROXIES); none by default")
	version := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(m.Stderr)
		fs.PrintDefaults()
		return err
	} else if err != nil {
		return err
	}
	if *version {
		return errVersion
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	c.DatabaseURL = m.Getenv("ENROUTE_DATABASE_URL")
	c.AdminToken = m.Getenv("ENROUTE_ADMIN_TOKEN")
	c.TwilioAuthToken = m.Getenv("ENROUTE_TWILIO_AUTH_TOKEN")
	c.SMTPURL = m.Getenv("ENROUTE_SMTP_URL")
	c.NATSURL = m.Getenv("ENROUTE_NATS_URL")
	c.MQTTURL = m.Getenv("ENROUTE_MQTT_URL")
	if c.MQTTURL != "" {
		mc := c.mqttConfig()
		if err := mc.Validate(); err != nil {
			return fmt.Errorf("ENROUTE_MQTT_URL, --mqtt-topic, --mqtt-client-id: %w", err)
		}
	}
	if k := m.Getenv("ENROUTE_SECRET_KEY"); k != "" {
		key, err := webhook.ParseKey(k)
		if err != nil {
			return fmt.Errorf("invalid ENROUTE_SECRET_KEY: %v", err)
		}
		c.SecretKey = key
	}
	if err := c.validateNotify(); err != nil {
		return err
	}
	for _, r := range rates {
		l, err := httpapi.ParseRateLimit(*r.val)
		if err != nil {
			return fmt.Errorf("invalid --%s %q: %v", r.flag, *r.val, err)
		}
		*r.dst = l
	}
	for _, p := range strings.FieldsFunc(*trusted, func(r rune) bool { return r == ',' || r == ' ' }) {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("invalid --trusted-proxies %q: want addresses or CIDRs, comma-separated", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.RateLimits.TrustedProxies = append(c.RateLimits.TrustedProxies, prefix.Masked())
	}
	if c.OsmAndAddr != "" {
		if _, _, err := net.SplitHostPort(c.OsmAndAddr); err != nil {
			return fmt.Errorf("invalid --osmand-addr %q: want host:port", c.OsmAndAddr)
		}
	}
	switch {
	case c.Tracker.Resolution < 5 || c.Tracker.Resolution > 10:
		return errors.New("--h3-resolution must be between 5 and 10")
	case c.Tracker.MaxAccuracyM <= 0 || c.Tracker.MaxAge <= 0 || c.Tracker.MaxSpeedMPS <= 0:
		return errors.New("--max-accuracy-m, --max-fix-age and --max-speed-mps must be positive")
	case c.BoardFlush < 0 || c.BoardFlush > time.Second:
		return errors.New("--board-flush must be between 0 and 1s")
	case c.CommitGap < 0 || c.CommitGap > 100*time.Millisecond:
		return errors.New("--commit-gap must be between 0 and 100ms")
	case c.WSWriteTimeout <= 0:
		return errors.New("--ws-write-timeout must be positive")
	case c.GCSpacing < 0 || c.GCSpacing > time.Hour:
		return errors.New("--gc-spacing must be between 0 and 1h")
	case c.GCCeilingMB < 0 || c.GCCeilingMB > 1<<20:
		return errors.New("--gc-ceiling-mb must be between 0 and 1048576 (1 TiB)")
	case c.PositionRetention < time.Hour:
		return errors.New("--position-retention must be at least 1h")
	case c.ETASaveEvery < time.Second:
		return errors.New("--eta-save-every must be at least 1s")
	case c.GeocoderRate < 0:
		return errors.New("--geocoder-rate must be 0 or more")
	case c.GeocodeWait < 0 || c.GeocodeWait > 10*time.Second:
		return errors.New("--geocode-wait must be between 0 and 10s")
	case c.Geocode.BaseBackoff <= 0:
		return errors.New("--geocode-backoff must be positive")
	}
	if c.GeocoderURL != "off" {
		if u, err := url.Parse(c.GeocoderURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid --geocoder-url %q: want http(s)://host[/path] or off", c.GeocoderURL)
		}
	}
	// Due retries are looked for every 5 s, or at the back-off when shorter.
	c.Geocode.PollInterval = min(5*time.Second, c.Geocode.BaseBackoff)

	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("invalid --addr %q: want host:port", c.Addr)
	}
	if err := c.LogLevel.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", *level)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("invalid --log-format %q: want text or json", c.LogFormat)
	}
	d, err := time.ParseDuration(*shutdown)
	if err != nil || d <= 0 {
		return fmt.Errorf("invalid --shutdown-timeout %q: want a duration like 15s", *shutdown)
	}
	c.ShutdownTimeout = d
	if c.PublicURL == "" {
		c.PublicURL = "http://" + c.Addr // the bound address once listening (port 0)
		c.publicURLDefault = true
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid --public-url %q: want http(s)://host[:port]", c.PublicURL)
	}
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.OsmAndPublicURL != "" {
		if u, err := url.Parse(c.OsmAndPublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("invalid --osmand-public-url %q: want http(s)://host[:port]", c.OsmAndPublicURL)
		}
		c.OsmAndPublicURL = strings.TrimRight(c.OsmAndPublicURL, "/")
	}
	if c.AdminToken != "" && len(c.AdminToken) < 20 {
		return errors.New("ENROUTE_ADMIN_TOKEN must be at least 20 characters")
	}
	return nil
}

func (c *Config) validateNotify() error {
	switch c.SMSProvider {
	case "log":
	case "twilio":
		if c.TwilioAccountSID == "" || c.TwilioAuthToken == "" {
			return errors.New("ENROUTE_SMS_PROVIDER=twilio needs ENROUTE_TWILIO_ACCOUNT_SID and ENROUTE_TWILIO_AUTH_TOKEN")
		}
		if u, err := url.Parse(c.TwilioBaseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("invalid --twilio-base-url %q", c.TwilioBaseURL)
		}
	default:
		return fmt.Errorf("invalid --sms-provider %q: want log or twilio", c.SMSProvider)
	}
	if c.EmailProvider == "" {
		c.EmailProvider = "none"
		if c.SMTPURL != "" {
			c.EmailProvider = "smtp"
		}
	}
	switch c.EmailProvider {
	case "log", "none":
	case "smtp":
		if c.SMTPURL == "" {
			return errors.New("--email-provider smtp needs ENROUTE_SMTP_URL")
		}
		if _, err := notify.ParseSMTPURL(c.SMTPURL); err != nil {
			return err
		}
	default:
		return fmt.Errorf("invalid --email-provider %q: want smtp, log or none", c.EmailProvider)
	}
	if c.Outbox.BaseBackoff <= 0 || c.Outbox.MaxBackoff <= 0 || c.Outbox.SendTimeout <= 0 || c.Outbox.MaxAttempts <= 0 || c.Outbox.PollInterval <= 0 {
		return errors.New("the outbox flags need positive values")
	}
	return nil
}

// envDuration and envInt parse a default taken from the environment; an
// invalid value becomes -1, which validation then refuses with a message.
func envDuration(s string) time.Duration {
	d, err := time.ParseDuration(s)
	if err != nil {
		return -1
	}
	return d
}

func envFloat(s string) float64 {
	var f float64
	if _, err := fmt.Sscan(s, &f); err != nil {
		return -1
	}
	return f
}

func envInt(s string) int {
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		return -1
	}
	return n
}

func (c *Config) newLogger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// mqttConfig is the OwnTracks MQTT subscriber's configuration.
func (c *Config) mqttConfig() mqttsub.Config {
	return mqttsub.Config{URL: c.MQTTURL, Topic: c.MQTTTopic, ClientID: c.MQTTClientID}
}

// defaultMQTTClientID is enroute-HOSTNAME: stable across restarts of a
// node, different between machines.
func defaultMQTTClientID() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "enroute"
	}
	return "enroute-" + h
}

// storeName describes the store for logs, without credentials.
func (c *Config) storeName() string {
	if c.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite"
}
