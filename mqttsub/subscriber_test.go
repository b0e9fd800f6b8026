package mqttsub_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/internal/netfault"
	"github.com/enroutehq/enroute/mqttsub"
	"github.com/enroutehq/enroute/tracker"
)

// brokerURL is the test broker (Mosquitto), or the test skips (fails
// under CI, which must run it).
func brokerURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("ENROUTE_TEST_MQTT_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("ENROUTE_TEST_MQTT_URL is not set; CI must run the MQTT tests")
		}
		tb.Skip("set ENROUTE_TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883) to run the MQTT tests against a real broker")
	}
	return u
}

// unique returns a name no other test (nor an earlier run, whose sessions
// the broker may keep) uses: each test's topics and client ids start with
// one.
func unique(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// hostOf is the broker's host:port in an mqtt:// URL.
func hostOf(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return u.Host
}

// publisher is a phone: a plain MQTT client, as OwnTracks is one.
type publisher struct {
	t *testing.T
	c paho.Client
}

func newPublisher(t *testing.T, broker string) *publisher {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker("tcp://" + hostOf(t, broker)).SetClientID(unique("phone-")).SetCleanSession(true)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return &publisher{t: t, c: c}
}

// publish sends payload to topic with QoS 1, as OwnTracks does.
func (p *publisher) publish(topic string, payload []byte) {
	p.t.Helper()
	if tok := p.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		p.t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

// location is an OwnTracks location message as the app publishes it.
func location(lat, lng float64, at time.Time) []byte {
	return fmt.Appendf(nil, `{"_type":"location","acc":5,"alt":81,"batt":41,"bs":1,"cog":271,"conn":"m","lat":%g,"lon":%g,"m":1,"t":"u","tid":"px","tst":%d,"vel":36}`,
		lat, lng, at.Unix())
}

// devices maps MQTT identities to devices.
type devices map[string]*enroute.Device

func (d devices) DeviceByMQTTIdentity(_ context.Context, identity string) (*enroute.Device, error) {
	return d[identity], nil
}

// ingester records what it takes; while fail is not 0 it refuses with
// err instead (fail < 0: for ever).
type ingester struct {
	mu    sync.Mutex
	fail  int
	err   error
	tries int
	got   []taken
}

type taken struct {
	device int64
	pos    enroute.Position
}

func (in *ingester) Ingest(_ context.Context, dev *enroute.Device, items []tracker.Item) (*tracker.Result, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.tries++
	if in.fail != 0 {
		if in.fail > 0 {
			in.fail--
		}
		return nil, in.err
	}
	for _, it := range items {
		in.got = append(in.got, taken{dev.ID, it.Pos})
	}
	return &tracker.Result{Accepted: len(items), Rejected: []tracker.Rejection{}}, nil
}

func (in *ingester) taken() []taken {
	in.mu.Lock()
	defer in.mu.Unlock()
	return append([]taken(nil), in.got...)
}

// has says whether a fix of time at was taken.
func (in *ingester) has(at time.Time) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, x := range in.got {
		if x.pos.Time.Equal(at) {
			return true
		}
	}
	return false
}

func (in *ingester) setFail(n int, err error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.fail, in.err = n, err
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// subscribe connects a subscriber to root/+/+ as clientID; its session
// is removed from the broker when the test ends.
func subscribe(t *testing.T, broker, root, clientID string, d devices, in *ingester) *mqttsub.Subscriber {
	t.Helper()
	s, err := mqttsub.Connect(context.Background(), mqttsub.Config{URL: broker, Topic: root + "/+/+", ClientID: clientID, RetryWait: 10 * time.Millisecond, MaxReconnectWait: time.Second}, d, in, quiet)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: closed, then the session forgotten.
	t.Cleanup(func() { forgetSession(t, broker, clientID) })
	t.Cleanup(func() { s.Close() })
	return s
}

// forgetSession makes the broker drop the session kept for clientID:
// connecting with a clean session does that.
func forgetSession(t *testing.T, broker, clientID string) {
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + hostOf(t, broker)).SetClientID(clientID).SetCleanSession(true))
	if tok := c.Connect(); tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
		c.Disconnect(100)
	}
}

// waitFor polls ok every 10 ms until it holds, failing after within.
func waitFor(t *testing.T, within time.Duration, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !ok(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after %v", what, within)
		}
	}
}

func TestSubscriberIngestsLocations(t *testing.T) {
	broker := brokerURL(t)
	root := unique("enrtest")
	pixel := &enroute.Device{ID: 7, TechnicianID: 3, MQTTIdentity: "ana/pixel"}
	in := &ingester{}
	s := subscribe(t, broker, root, unique("enroute-"), devices{"ana/pixel": pixel}, in)
	if !s.Connected() {
		t.Fatal("not connected after Connect")
	}
	phone := newPublisher(t, broker)
	at := time.Now().Add(-10 * time.Second).Truncate(time.Second)

	phone.publish(root+"/ana/pixel", location(41.1496, -8.6109, at))
	waitFor(t, 10*time.Second, "fix taken", func() bool { return len(in.taken()) == 1 })
	got := in.taken()[0]
	if got.device != 7 || got.pos.Lat != 41.1496 || got.pos.Lng != -8.6109 || !got.pos.Time.Equal(at) || math.Abs(got.pos.SpeedMPS-10) > 1e-9 || got.pos.AccuracyM != 5 {
		t.Fatalf("took %+v", got)
	}

	// What is not a fix of a known device is counted and dropped: the
	// app's last will, a region event, another phone, bad payloads.
	phone.publish(root+"/ana/pixel", []byte(`{"_type":"lwt","tst":1795769940}`))
	phone.publish(root+"/ana/pixel", []byte(`{"_type":"transition","event":"enter","desc":"Depot","tst":1795769940,"wtst":1795769000,"acc":10,"lat":41.1,"lon":-8.6,"t":"c"}`))
	phone.publish(root+"/bob/phone", location(41.15, -8.61, at))
	phone.publish(root+"/ana/pixel", []byte(`not json`))
	phone.publish(root+"/ana/pixel", []byte(`{"_type":"location","lat":41.1}`))
	big := fmt.Appendf(nil, `{"_type":"location","lat":41.15,"lon":-8.61,"tst":%d,"desc":"%s"}`, at.Unix(), strings.Repeat("x", 64<<10))
	phone.publish(root+"/ana/pixel", big)                              // a location, but over the limit
	phone.publish(root+"/ana/pixel/event", location(41.15, -8.61, at)) // not matched: no message
	waitFor(t, 10*time.Second, "every message counted", func() bool {
		return s.Count(mqttsub.Ignored) == 2 && s.Count(mqttsub.Unknown) == 1 && s.Count(mqttsub.Invalid) == 3
	})
	if n := len(in.taken()); n != 1 || s.Count(mqttsub.Accepted) != 1 {
		t.Fatalf("took %d fixes, counted %d accepted; want 1", n, s.Count(mqttsub.Accepted))
	}
}

// TestSubscriberHoldsWhatTheHistoryCannotTake: a fix refused for now is
// tried again, unacknowledged meanwhile, and taken once the history can;
// one still refused when the subscriber closes stays with the broker,
// which gives it to the next session of the same client id.
func TestSubscriberHoldsWhatTheHistoryCannotTake(t *testing.T) {
	broker := brokerURL(t)
	root, id := unique("enrtest"), unique("enroute-")
	d := devices{"ana/pixel": {ID: 7, TechnicianID: 3}}
	in := &ingester{fail: 3, err: tracker.ErrUnavailable}
	s := subscribe(t, broker, root, id, d, in)
	phone := newPublisher(t, broker)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)

	phone.publish(root+"/ana/pixel", location(41.1496, -8.6109, at))
	waitFor(t, 10*time.Second, "fix taken after the history came back", func() bool { return len(in.taken()) == 1 })
	if s.Retries() != 3 {
		t.Fatalf("retries = %d, want 3", s.Retries())
	}

	in.setFail(-1, tracker.ErrBusy)
	phone.publish(root+"/ana/pixel", location(41.1497, -8.6108, at.Add(time.Second)))
	waitFor(t, 10*time.Second, "a held message", func() bool { return s.Retries() > 4 })
	s.Close()

	// The next start, with the same client id: the broker hands over the
	// message held, and what was published while no one was connected.
	phone.publish(root+"/ana/pixel", location(41.1498, -8.6107, at.Add(2*time.Second)))
	again := &ingester{}
	subscribe(t, broker, root, id, d, again)
	waitFor(t, 10*time.Second, "both messages in the next session", func() bool { return len(again.taken()) == 2 })
	lats := map[float64]bool{}
	for _, tk := range again.taken() {
		lats[tk.pos.Lat] = true
	}
	if !lats[41.1497] || !lats[41.1498] {
		t.Fatalf("next session took %+v", again.taken())
	}
}

// TestSubscriberReconnects: the link to the broker is cut; the subscriber
// reconnects by itself, and what was published meanwhile arrives.
func TestSubscriberReconnects(t *testing.T) {
	broker := brokerURL(t)
	link := netfault.Start(t, hostOf(t, broker))
	root := unique("enrtest")
	in := &ingester{}
	s := subscribe(t, "mqtt://"+link.Addr(), root, unique("enroute-"), devices{"ana/pixel": {ID: 7, TechnicianID: 3}}, in)
	phone := newPublisher(t, broker)
	at := time.Now().Add(-time.Minute).Truncate(time.Second)

	phone.publish(root+"/ana/pixel", location(41.1496, -8.6109, at))
	waitFor(t, 10*time.Second, "first fix", func() bool { return in.has(at) })

	// QoS 1 is at least once: a fix whose acknowledgement the cut cut
	// off comes again after it (the tracker drops the repeat), so fixes
	// are waited for by their time, not counted.
	link.Cut()
	waitFor(t, 10*time.Second, "lost connection", func() bool { return !s.Connected() })
	phone.publish(root+"/ana/pixel", location(41.1497, -8.6108, at.Add(time.Second)))
	link.Restore()
	waitFor(t, 20*time.Second, "the fix published while cut off", func() bool { return in.has(at.Add(time.Second)) })
	if !s.Connected() {
		t.Fatal("a message arrived, but the subscriber says it is not connected")
	}
	phone.publish(root+"/ana/pixel", location(41.1498, -8.6107, at.Add(2*time.Second)))
	waitFor(t, 10*time.Second, "a fix after the reconnection", func() bool { return in.has(at.Add(2 * time.Second)) })
	for _, x := range in.taken() {
		if d := x.pos.Time.Sub(at); d < 0 || d > 2*time.Second || d%time.Second != 0 {
			t.Fatalf("took a fix of %v, not one published", x.pos.Time)
		}
	}
}

func TestConnectRefusesWhatCannotWork(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		cfg  mqttsub.Config
		want string
	}{
		{"NoURL", mqttsub.Config{ClientID: "x"}, "invalid MQTT URL"},
		{"Scheme", mqttsub.Config{URL: "http://broker:1883", ClientID: "x"}, `scheme "http"`},
		{"Path", mqttsub.Config{URL: "mqtt://broker:1883/owntracks", ClientID: "x"}, "no path"},
		{"NoClientID", mqttsub.Config{URL: "mqtt://broker"}, "client id"},
		{"TopicWithoutUserAndDevice", mqttsub.Config{URL: "mqtt://broker", ClientID: "x", Topic: "owntracks/#"}, "/+/+"},
		{"TopicWithAnotherWildcard", mqttsub.Config{URL: "mqtt://broker", ClientID: "x", Topic: "+/+/+"}, "/+/+"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mqttsub.Connect(ctx, tc.cfg, devices{}, &ingester{}, quiet)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	t.Run("SecretStaysOut", func(t *testing.T) {
		// Nothing listens there: the error names the host, not the password.
		_, err := mqttsub.Connect(ctx, mqttsub.Config{URL: "mqtt://ana:s3cret@127.0.0.1:1", ClientID: "x", ConnectTimeout: 2 * time.Second}, devices{}, &ingester{}, quiet)
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("SharedSubscription", func(t *testing.T) {
		c := mqttsub.Config{URL: "mqtts://broker", ClientID: "x", Topic: "$share/enroute/owntracks/+/+"}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	})
}
