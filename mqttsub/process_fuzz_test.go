package mqttsub

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

type oneDevice struct{}

func (oneDevice) DeviceByMQTTIdentity(_ context.Context, identity string) (*enroute.Device, error) {
	if identity == "ana/pixel" {
		return &enroute.Device{ID: 7, TechnicianID: 3, MQTTIdentity: identity}, nil
	}
	return nil, nil
}

type takeAll struct{}

func (takeAll) Ingest(_ context.Context, _ *enroute.Device, items []tracker.Item) (*tracker.Result, error) {
	return &tracker.Result{Accepted: len(items)}, nil
}

// FuzzProcess: whatever a broker delivers (any topic, any payload), a
// message is done with at once when the history takes everything, and
// has exactly one outcome.
func FuzzProcess(f *testing.F) {
	for _, seed := range []struct{ topic, payload string }{
		{"owntracks/ana/pixel", `{"_type":"location","acc":5,"alt":81,"batt":41,"bs":1,"cog":271,"conn":"m","lat":41.1496,"lon":-8.6109,"m":1,"t":"u","tid":"px","tst":1795769940,"vel":36}`},
		{"owntracks/ana/pixel", `{"_type":"lwt","tst":1795769940}`},
		{"owntracks/ana/pixel", `{"_type":"transition","event":"enter","desc":"Depot","tst":1795769940,"wtst":1795769000,"acc":10,"lat":41.1,"lon":-8.6,"t":"c"}`},
		{"owntracks/ana/pixel", `{"_type":"encrypted","data":"Zm9v"}`},
		{"owntracks/bob/phone", `{"_type":"location","lat":41.1,"lon":-8.6,"tst":1795769940}`},
		{"owntracks/ana/pixel/event", `{"_type":"location","lat":41.1,"lon":-8.6,"tst":1795769940}`},
		{"other/ana/pixel", `{}`},
		{"owntracks/ana/pixel", `{"_type":"location","lat":"x"}`},
	} {
		f.Add(seed.topic, []byte(seed.payload))
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		s := &Subscriber{cfg: Config{MaxPayloadBytes: 64 << 10}, prefix: "owntracks/", devices: oneDevice{}, ingest: takeAll{},
			logger: slog.New(slog.NewTextHandler(io.Discard, nil)), ctx: context.Background()}
		if !s.process(topic, payload) {
			t.Fatalf("process(%q, %q) held a message the history would take", topic, payload)
		}
		var n int64
		for o := range numOutcomes {
			n += s.Count(o)
		}
		if n != 1 {
			t.Fatalf("process(%q, %q) counted %d outcomes", topic, payload, n)
		}
	})
}
