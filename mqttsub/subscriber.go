// Package mqttsub takes OwnTracks' positions over MQTT, the app's default
// mode: it subscribes to the broker's OwnTracks topics
// (owntracks/<user>/<device>), finds the device registered with that
// MQTT identity ("user/device") and ingests the fix through the tracker,
// as the HTTP mode does (same validation, duplicates and live publishing).
// It is the only importer of eclipse/paho.mqtt.golang.
//
// Trust: the topic names the device, and nothing in the message proves
// it. The broker authenticates each phone and its ACL lets the phone
// publish to its own topic only; Enroute trusts a topic because it came
// from its broker, over a connection Enroute opened to it.
//
// Delivery: a QoS 1 subscription in a persistent session (clean session
// off, a stable client id), so what phones publish while Enroute is away
// waits at the broker. A message is acknowledged once its fix is committed
// to the history, or once it is refused for good (invalid, not a
// location, an unknown device). While the history cannot take it (busy,
// unavailable) the message is held unacknowledged and tried again with a
// growing wait, and the broker sends no more than its in-flight window
// meanwhile; one still held at Close is sent again in the next session.
//
// Concurrency: paho hands each message to a goroutine of its own (order
// does not matter: every fix carries its time); at most
// Config.MaxInFlight of them work at once, the rest wait (QoS 0 ones,
// which the broker does not bound, are dropped instead). Close ends them
// and waits for them. Stats and Connected are safe at any time.
package mqttsub

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// DefaultTopic is what OwnTracks publishes locations to: owntracks/<user>/<device>.
const DefaultTopic = "owntracks/+/+"

// Config says where the broker is and how to subscribe. Zero values mean
// the documented defaults; URL and ClientID are required.
type Config struct {
	// URL is mqtt://[user:password@]host[:1883], or mqtts:// for TLS
	// (port 8883 by default). It may hold a password: errors and logs
	// name the host only.
	URL string
	// Topic is the subscription; default DefaultTopic. Its last two
	// levels must be + (the user and the device); it may be a shared
	// subscription ($share/<group>/owntracks/+/+).
	Topic string
	// ClientID names the session the broker keeps while Enroute is away:
	// stable per node, and different on every node.
	ClientID string
	// MaxPayloadBytes bounds a message; larger ones are dropped. Default
	// 64 KiB (a location is about 300 bytes).
	MaxPayloadBytes int
	// MaxInFlight bounds the messages worked on at once; default 32.
	MaxInFlight int
	// ConnectTimeout bounds the first connection and subscription;
	// default 10 s.
	ConnectTimeout time.Duration
	// KeepAlive is the MQTT keep-alive; default 30 s.
	KeepAlive time.Duration
	// MaxReconnectWait is the longest wait between reconnection
	// attempts; default 30 s.
	MaxReconnectWait time.Duration
	// RetryWait is the first wait before a fix the history could not
	// take is tried again, doubled each time up to 5 s; default 100 ms.
	RetryWait time.Duration
	// TLS is the configuration of mqtts connections; default the
	// system's roots with the URL's host as the server name.
	TLS *tls.Config
}

const maxRetryWait = 5 * time.Second

// Validate checks the URL and the topic, and fills in the defaults.
func (c *Config) Validate() error {
	if _, _, _, err := parseURL(c.URL); err != nil {
		return err
	}
	if c.Topic == "" {
		c.Topic = DefaultTopic
	}
	if _, err := topicPrefix(c.Topic); err != nil {
		return err
	}
	if c.ClientID == "" {
		return errors.New("the MQTT client id is required (stable per node: the broker keeps the session under it)")
	}
	if c.MaxPayloadBytes <= 0 {
		c.MaxPayloadBytes = 64 << 10
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 32
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = 10 * time.Second
	}
	if c.KeepAlive <= 0 {
		c.KeepAlive = 30 * time.Second
	}
	if c.MaxReconnectWait <= 0 {
		c.MaxReconnectWait = 30 * time.Second
	}
	if c.RetryWait <= 0 {
		c.RetryWait = 100 * time.Millisecond
	}
	return nil
}

// parseURL returns paho's broker address (tcp:// or ssl://, without the
// credentials), the credentials and the host for messages.
func parseURL(raw string) (broker string, user *url.Userinfo, host string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" {
		return "", nil, "", errors.New("invalid MQTT URL: want mqtt://[user:password@]host[:port] or mqtts://...")
	}
	scheme, port := "tcp", "1883"
	switch u.Scheme {
	case "mqtt":
	case "mqtts":
		scheme, port = "ssl", "8883"
	default:
		return "", nil, "", fmt.Errorf("invalid MQTT URL scheme %q: want mqtt or mqtts", u.Scheme)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return "", nil, "", errors.New("invalid MQTT URL: no path or query is taken")
	}
	host = net.JoinHostPort(u.Hostname(), port)
	return scheme + "://" + host, u.User, host, nil
}

// topicPrefix returns what the topics a filter matches start with, before
// the user and the device ("owntracks/"), or why the filter does not fit:
// it must end in /+/+ with no other wildcard.
func topicPrefix(filter string) (string, error) {
	f := filter
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		_, f, _ = strings.Cut(rest, "/")
	}
	levels := strings.Split(f, "/")
	n := len(levels)
	prefix := strings.Join(levels[:max(n-2, 0)], "/")
	if n < 2 || levels[n-1] != "+" || levels[n-2] != "+" || strings.ContainsAny(prefix, "+#") {
		return "", fmt.Errorf("invalid MQTT topic %q: it must end in /+/+ (user and device), like %s, with no other wildcard", filter, DefaultTopic)
	}
	if prefix != "" {
		prefix += "/"
	}
	return prefix, nil
}

// Devices finds the device an MQTT identity names: httpapi.Server, whose
// device cache hears of revocations on every node.
type Devices interface {
	// DeviceByMQTTIdentity returns the active device registered under
	// identity ("user/device"), or nil, nil when there is none.
	DeviceByMQTTIdentity(ctx context.Context, identity string) (*enroute.Device, error)
}

// Ingester takes a device's fixes: tracker.Tracker.
type Ingester interface {
	// Ingest returns once the fixes are committed, or tracker's errors
	// (ErrBusy, ErrUnavailable, ErrClosed) or a commit timeout.
	Ingest(ctx context.Context, dev *enroute.Device, items []tracker.Item) (*tracker.Result, error)
}

var _ Ingester = (*tracker.Tracker)(nil)

// Outcome is what became of a message.
type Outcome int

// Outcomes of messages.
const (
	Accepted  Outcome = iota // a fix, taken
	Duplicate                // a fix already taken
	Rejected                 // a fix that failed validation
	Ignored                  // not a location (lwt, transition, waypoint, card...)
	Unknown                  // no active device has the topic's identity
	Invalid                  // not an OwnTracks message, too large, or an unexpected topic
	Dropped                  // QoS 0, while MaxInFlight were at work
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"accepted", "duplicate", "rejected", "ignored", "unknown_device", "invalid", "dropped"}

// String is the outcome's name in metrics.
func (o Outcome) String() string { return outcomeNames[o] }

// Outcomes lists every outcome, for metrics.
func Outcomes() []Outcome {
	out := make([]Outcome, numOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// Subscriber is a connection to the broker that ingests what it receives.
type Subscriber struct {
	cfg     Config
	prefix  string // of the topics subscribed to, before user/device
	host    string // for logs: never the URL, which may hold a password
	devices Devices
	ingest  Ingester
	logger  *slog.Logger
	client  paho.Client

	// ctx bounds the work on messages: lookups, Ingest and the waits
	// between tries. Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	// subscribed carries each connection's subscription outcome; Connect
	// waits for the first.
	subscribed chan error

	mu        sync.Mutex
	closed    bool
	wg        sync.WaitGroup // messages at work
	closeOnce sync.Once

	connected atomic.Bool
	counts    [numOutcomes]atomic.Int64
	retries   atomic.Int64
}

// Connect connects to the broker and subscribes, and returns once the
// broker has granted the subscription (or fails with why). Messages then
// flow until Close; a lost connection is retried for ever, subscription
// included.
func Connect(ctx context.Context, cfg Config, devices Devices, ingest Ingester, logger *slog.Logger) (*Subscriber, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	broker, user, host, _ := parseURL(cfg.URL) // checked by Validate
	prefix, _ := topicPrefix(cfg.Topic)
	s := &Subscriber{cfg: cfg, prefix: prefix, host: host, devices: devices, ingest: ingest,
		logger: logger.With("component", "mqttsub"), sem: make(chan struct{}, cfg.MaxInFlight), subscribed: make(chan error, 1)}
	s.ctx, s.cancel = context.WithCancel(context.Background())

	opts := paho.NewClientOptions().AddBroker(broker).SetClientID(cfg.ClientID).
		// The broker keeps the subscription and queues QoS 1 messages
		// for this client id while it is away.
		SetCleanSession(false).
		SetAutoReconnect(true).SetMaxReconnectInterval(cfg.MaxReconnectWait).
		SetConnectTimeout(cfg.ConnectTimeout).SetKeepAlive(cfg.KeepAlive).
		// Each message on a goroutine of its own, acknowledged by handle
		// once its fix is committed: a slow commit must not hold up the
		// connection's reader (and its keep-alive).
		SetOrderMatters(false).SetAutoAckDisabled(true).
		// A resumed session delivers before the subscription is made
		// again: those messages reach handle too, never paho's drop.
		SetDefaultPublishHandler(s.handle).
		SetOnConnectHandler(s.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			s.connected.Store(false)
			s.logger.Warn("mqtt connection lost", "broker", s.host, "err", err)
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			s.logger.Debug("mqtt reconnecting", "broker", s.host)
		})
	if user != nil {
		opts.SetUsername(user.Username())
		if pass, ok := user.Password(); ok {
			opts.SetPassword(pass)
		}
	}
	if strings.HasPrefix(broker, "ssl://") {
		tc := cfg.TLS
		if tc == nil {
			h, _, _ := net.SplitHostPort(host)
			tc = &tls.Config{ServerName: h, MinVersion: tls.VersionTLS12}
		}
		opts.SetTLSConfig(tc)
	}
	s.client = paho.NewClient(opts)

	timer := time.NewTimer(cfg.ConnectTimeout)
	defer timer.Stop()
	tok := s.client.Connect()
	select {
	case <-tok.Done():
	case <-timer.C:
	case <-ctx.Done():
	}
	if !isDone(tok) {
		s.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("connect to the MQTT broker %s: no answer within %v", host, cfg.ConnectTimeout)
	}
	if err := tok.Error(); err != nil {
		s.Close()
		return nil, fmt.Errorf("connect to the MQTT broker %s: %w", host, err)
	}
	select {
	case err := <-s.subscribed:
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("subscribe to %s on the MQTT broker %s: %w", cfg.Topic, host, err)
		}
	case <-timer.C:
		s.Close()
		return nil, fmt.Errorf("subscribe to %s on the MQTT broker %s: no answer within %v", cfg.Topic, host, cfg.ConnectTimeout)
	case <-ctx.Done():
		s.Close()
		return nil, ctx.Err()
	}
	return s, nil
}

func isDone(tok paho.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}

// onConnect subscribes, on the first connection and after every
// reconnection (the broker may have lost the session: a restart without
// persistence).
func (s *Subscriber) onConnect(c paho.Client) {
	s.connected.Store(true)
	tok := c.Subscribe(s.cfg.Topic, 1, s.handle)
	var err error
	if !tok.WaitTimeout(s.cfg.ConnectTimeout) {
		err = errors.New("no answer")
	} else if err = tok.Error(); err == nil {
		// A granted QoS above 2 (0x80) is the broker's refusal: its ACL.
		if st, ok := tok.(*paho.SubscribeToken); ok {
			if q, ok := st.Result()[s.cfg.Topic]; !ok || q > 2 {
				err = errors.New("refused by the broker (its access control?)")
			}
		}
	}
	if err != nil {
		s.logger.Error("mqtt subscribe", "broker", s.host, "topic", s.cfg.Topic, "err", err)
	} else {
		s.logger.Info("mqtt subscribed", "broker", s.host, "topic", s.cfg.Topic, "client_id", s.cfg.ClientID)
	}
	select {
	case s.subscribed <- err:
	default: // Connect took the first; later ones are logged only
	}
}

// enter registers a message at work, unless Close has begun.
func (s *Subscriber) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

// handle is paho's handler of every message, on a goroutine of its own.
func (s *Subscriber) handle(_ paho.Client, m paho.Message) {
	if !s.enter() {
		return // not acknowledged: the broker sends it again next session
	}
	defer s.wg.Done()
	if m.Qos() == 0 {
		select {
		case s.sem <- struct{}{}:
		default:
			s.count(Dropped)
			return
		}
	} else {
		select {
		case s.sem <- struct{}{}:
		case <-s.ctx.Done():
			return
		}
	}
	defer func() { <-s.sem }()
	if s.process(m.Topic(), m.Payload()) {
		m.Ack()
	}
}

// process takes one message and says whether it is done with: taken, or
// refused for good. It returns false, not acknowledged, only when Close
// interrupted it.
func (s *Subscriber) process(topic string, payload []byte) bool {
	identity, ok := s.identity(topic)
	if !ok {
		s.count(Invalid)
		s.logger.Debug("mqtt message on an unexpected topic", "topic", topic)
		return true
	}
	if len(payload) > s.cfg.MaxPayloadBytes {
		s.count(Invalid)
		s.logger.Debug("mqtt message too large", "mqtt_identity", identity, "bytes", len(payload))
		return true
	}
	p, isLocation, err := tracker.DecodeOwnTracks(payload)
	if err != nil {
		s.count(Invalid)
		s.logger.Debug("undecodable owntracks message", "mqtt_identity", identity, "err", err)
		return true
	}
	if !isLocation {
		s.count(Ignored)
		s.logger.Debug("owntracks message ignored", "mqtt_identity", identity, "type", messageType(payload))
		return true
	}
	wait := s.cfg.RetryWait
	for try := 1; ; try++ {
		err := s.take(identity, p)
		if err == nil {
			return true
		}
		if errors.Is(err, tracker.ErrClosed) || s.ctx.Err() != nil {
			return false
		}
		s.retries.Add(1)
		level := slog.LevelDebug
		if try == 1 {
			level = slog.LevelWarn
		}
		s.logger.Log(s.ctx, level, "owntracks fix held, to try again", "mqtt_identity", identity, "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-s.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		wait = min(2*wait, maxRetryWait)
	}
}

// take ingests one fix of the device with identity. An error means it
// may be taken later (the store or the history could not answer).
func (s *Subscriber) take(identity string, p enroute.Position) error {
	dev, err := s.devices.DeviceByMQTTIdentity(s.ctx, identity)
	if err != nil {
		return fmt.Errorf("find the device: %w", err)
	}
	if dev == nil {
		s.count(Unknown)
		s.logger.Debug("owntracks message of an unknown mqtt identity", "mqtt_identity", identity)
		return nil
	}
	res, err := s.ingest.Ingest(s.ctx, dev, []tracker.Item{{Pos: p}})
	if err != nil {
		return err
	}
	switch {
	case res.Accepted > 0:
		s.count(Accepted)
	case res.Duplicates > 0:
		s.count(Duplicate)
	default:
		s.count(Rejected)
		if len(res.Rejected) > 0 {
			s.logger.Debug("owntracks fix rejected", "device_id", dev.ID, "reason", res.Rejected[0].Reason)
		}
	}
	return nil
}

// identity returns "user/device" of a topic the subscription matches. A
// topic it does not match came from a subscription the session kept from
// before (another --mqtt-topic): not ours to take.
func (s *Subscriber) identity(topic string) (string, bool) {
	id, ok := strings.CutPrefix(topic, s.prefix)
	return id, ok && enroute.ValidMQTTIdentity(id)
}

// messageType returns an OwnTracks message's _type, for logs.
func messageType(payload []byte) string {
	var m struct {
		Type string `json:"_type"`
	}
	_ = json.Unmarshal(payload, &m)
	if len(m.Type) > 32 {
		return m.Type[:32]
	}
	return m.Type
}

func (s *Subscriber) count(o Outcome) { s.counts[o].Add(1) }

// Count returns how many messages had outcome o.
func (s *Subscriber) Count(o Outcome) int64 { return s.counts[o].Load() }

// Retries returns how many times a fix was held to be tried again.
func (s *Subscriber) Retries() int64 { return s.retries.Load() }

// Connected reports whether the connection to the broker is up.
func (s *Subscriber) Connected() bool { return s.connected.Load() }

// Close stops taking messages, ends those at work (a message not yet
// taken stays unacknowledged: the broker keeps it for the next session)
// and disconnects. It is idempotent.
func (s *Subscriber) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.cancel()
		s.wg.Wait()
		// Time for the last acknowledgements to leave.
		s.client.Disconnect(250)
		s.connected.Store(false)
	})
	return nil
}
