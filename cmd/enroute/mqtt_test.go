package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/enroutehq/enroute/mqttsub"
)

// mqttBroker is the test broker's URL (Mosquitto), or the test skips
// (fails under CI, which must run it).
func mqttBroker(t *testing.T) string {
	t.Helper()
	u := os.Getenv("ENROUTE_TEST_MQTT_URL")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("ENROUTE_TEST_MQTT_URL is not set; CI must run the MQTT tests")
		}
		t.Skip("set ENROUTE_TEST_MQTT_URL (e.g. mqtt://127.0.0.1:1883) to run the OwnTracks-over-MQTT tests against a real broker")
	}
	return u
}

func randomName(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// mqttClient connects a plain MQTT client to the broker, as a phone's
// OwnTracks does (cleanSession true: a session of its own is not kept).
func mqttClient(t *testing.T, broker, clientID string, clean bool) paho.Client {
	t.Helper()
	u, err := url.Parse(broker)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + u.Host).SetClientID(clientID).SetCleanSession(clean))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to the broker: %v", tok.Error())
	}
	return c
}

// publishOwnTracks publishes an OwnTracks location as the app does: QoS 1,
// to <root>/<user>/<device>.
func publishOwnTracks(t *testing.T, phone paho.Client, topic string, lat, lng float64, at time.Time) {
	t.Helper()
	msg := fmt.Sprintf(`{"_type":"location","acc":8,"alt":80,"batt":77,"bs":1,"cog":86,"conn":"m","lat":%g,"lon":%g,"m":1,"t":"u","tid":"AS","tst":%d,"vel":15,"topic":%q}`,
		lat, lng, at.Unix(), topic)
	if tok := phone.Publish(topic, 1, false, msg); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish to %s: %v", topic, tok.Error())
	}
}

// TestOwnTracksOverMQTT: a phone registered with its MQTT identity
// publishes through Mosquitto and its fixes are live and in the history,
// as over HTTP; unknown identities are dropped; a new identity takes
// over from the old at once; and what is published while Enroute is down
// arrives after it restarts (the broker kept its session).
func TestOwnTracksOverMQTT(t *testing.T) {
	broker := mqttBroker(t)
	root, clientID := randomName("enrtest"), randomName("enroute-test-")
	t.Cleanup(func() { // the broker keeps no session of this test's
		mqttClient(t, broker, clientID, true).Disconnect(100)
	})
	env := map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_MQTT_URL": broker}
	args := []string{"--mqtt-topic", root + "/+/+", "--mqtt-client-id", clientID}
	st := &stack{t: t, env: env}
	st.m, _ = start(t, env, args...)

	tech := st.ok("POST", "/api/v1/technicians", map[string]any{"name": "Ana Silva", "rating": 4.8}).id()
	dev := st.ok("POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), map[string]any{"name": "Ana's phone", "mqtt_identity": "ana/pixel"})
	if dev.str("mqtt_identity") != "ana/pixel" {
		t.Fatalf("device = %s", dev.raw)
	}
	if r := st.do("POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), map[string]any{"mqtt_identity": "ana/pixel"}); r.status != 409 {
		t.Fatalf("a second device with the identity = %d %s", r.status, r.raw)
	}
	if r := st.do("POST", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), map[string]any{"mqtt_identity": "owntracks/ana/pixel"}); r.status != 400 || !strings.Contains(r.raw, "mqtt_identity") {
		t.Fatalf("a topic as the identity = %d %s", r.status, r.raw)
	}

	phone := mqttClient(t, broker, randomName("phone-"), true)
	defer phone.Disconnect(100)
	now := time.Now()
	publishOwnTracks(t, phone, root+"/ana/pixel", 41.1501, -8.6099, now.Add(-30*time.Second))
	waitFor(t, 10*time.Second, "the fix live", func() bool {
		live := st.ok("GET", "/api/v1/technicians/positions", nil).items()
		return len(live) == 1 && live[0]["lat"] == 41.1501 && int64(live[0]["technician_id"].(float64)) == tech
	})
	// Live at once, in the history once committed (a moment later).
	var hist []map[string]any
	waitFor(t, 10*time.Second, "the fix in the history", func() bool {
		hist = st.ok("GET", fmt.Sprintf("/api/v1/technicians/%d/positions", tech), nil).items()
		return len(hist) > 0
	})
	if len(hist) != 1 {
		t.Fatalf("history = %v", hist)
	}
	if speed, _ := hist[0]["speed_mps"].(float64); hist[0]["lat"] != 41.1501 || math.Abs(speed-15/3.6) > 0.005 || hist[0]["accuracy_m"] != 8.0 {
		t.Fatalf("history = %v", hist)
	}

	// The same message again (a redelivery) is a duplicate; an unknown
	// identity and the app's other messages are dropped; none is stored.
	sub := st.m.mqtt.Load()
	publishOwnTracks(t, phone, root+"/ana/pixel", 41.1501, -8.6099, now.Add(-30*time.Second))
	publishOwnTracks(t, phone, root+"/bob/phone", 41.1502, -8.6098, now.Add(-25*time.Second))
	if tok := phone.Publish(root+"/ana/pixel", 1, false, `{"_type":"lwt","tst":1795769940}`); !tok.WaitTimeout(10 * time.Second) {
		t.Fatal("publish lwt")
	}
	waitFor(t, 10*time.Second, "every message counted", func() bool {
		return sub.Count(mqttsub.Duplicate) == 1 && sub.Count(mqttsub.Unknown) == 1 && sub.Count(mqttsub.Ignored) == 1
	})
	if n := st.stored(); n != 1 {
		t.Fatalf("stored %d fixes, want 1", n)
	}
	metrics := st.ok("GET", "/metrics", nil).raw
	for _, want := range []string{`enroute_mqtt_messages_total{outcome="accepted"} 1`, `enroute_mqtt_messages_total{outcome="unknown_device"} 1`, "enroute_mqtt_connected 1"} {
		if !strings.Contains(metrics, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}

	// The phone's new identity (PATCH): the old topic stops at once.
	st.ok("PATCH", fmt.Sprintf("/api/v1/devices/%d", dev.id()), map[string]any{"mqtt_identity": "ana/pixel9"})
	publishOwnTracks(t, phone, root+"/ana/pixel", 41.1503, -8.6097, now.Add(-20*time.Second))
	publishOwnTracks(t, phone, root+"/ana/pixel9", 41.1504, -8.6096, now.Add(-15*time.Second))
	waitFor(t, 10*time.Second, "the new identity's fix, the old one's dropped", func() bool {
		return sub.Count(mqttsub.Accepted) == 2 && sub.Count(mqttsub.Unknown) == 2
	})

	// Enroute stops; the phone goes on publishing; Enroute starts again
	// with the same client id, and the broker hands over what it kept.
	if err := st.m.Close(); err != nil {
		t.Fatal(err)
	}
	publishOwnTracks(t, phone, root+"/ana/pixel9", 41.1505, -8.6095, now.Add(-10*time.Second))
	publishOwnTracks(t, phone, root+"/ana/pixel9", 41.1506, -8.6094, now.Add(-5*time.Second))
	st.m, _ = start(t, env, args...)
	waitFor(t, 10*time.Second, "the fixes published while Enroute was down", func() bool { return st.stored() == 4 })
	live := st.ok("GET", "/api/v1/technicians/positions", nil).items()
	if len(live) != 1 || live[0]["lat"] != 41.1506 {
		t.Fatalf("live after the restart = %v", live)
	}
}
