package httpapi

import (
	"math"
	"testing"

	"github.com/enroutehq/enroute"
)

// The WebSocket messages clients send, decoded as the server decodes them:
// a device stream's batch and a dispatcher's subscribe message. Whatever
// arrives, the decoder answers without panicking, and what it accepts is
// usable: an error is an EINVALID with a message, a viewport is inside the
// world with its minimums first, a fix accepted has a position and a time.

func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{
		`{"seq":1,"fixes":[{"ts":"2026-11-27T08:59:58Z","lat":41.1496,"lng":-8.6109,"accuracy_m":4.5,"speed_mps":12.5,"heading_deg":90,"altitude_m":81,"battery":77}]}`,
		`{"seq":42,"fixes":[{"ts":1795769999000,"lat":41.15,"lng":-8.61},{"ts":1795770000000,"lat":41.1501,"lng":-8.6108}]}`,
		`{"seq":2,"fixes":[]}`, `{"seq":3,"fixes":null}`, `{"seq":4}`, `{"seq":"5","fixes":[]}`,
		`{"seq":6,"fixes":{"lat":1}}`, `[]`, `null`, ``, `{"seq":7,"fixes":[{"ts":"x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		_, items, err := decodeBatch(msg)
		if err != nil {
			if enroute.ErrorCode(err) != enroute.EINVALID || enroute.ErrorMessage(err) == "" {
				t.Fatalf("%q: error %v is not an EINVALID with a message", msg, err)
			}
			if items != nil {
				t.Fatalf("%q: error %v with %d items", msg, err, len(items))
			}
			return
		}
		for _, it := range items {
			if it.Err == "" && (math.IsNaN(it.Pos.Lat) || math.IsNaN(it.Pos.Lng) || it.Pos.Time.IsZero()) {
				t.Fatalf("%q: accepted a fix without a position or time: %+v", msg, it)
			}
		}
	})
}

func FuzzDecodeView(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe"}`,
		`{"type":"subscribe","bbox":[41.10,-8.70,41.20,-8.55]}`,
		`{"type":"subscribe","bbox":null}`, `{"type":"subscribe","bbox":[]}`,
		`{"type":"subscribe","bbox":[91,0,92,1]}`, `{"type":"subscribe","bbox":[2,0,1,1]}`,
		`{"type":"unsubscribe"}`, `{"type":"subscribe","bbox":["a",0,1,1]}`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		box, err := decodeView(msg)
		if err != nil {
			if enroute.ErrorCode(err) != enroute.EINVALID || enroute.ErrorMessage(err) == "" {
				t.Fatalf("%q: error %v is not an EINVALID with a message", msg, err)
			}
			if len(enroute.ErrorMessage(err)) > 123 {
				t.Fatalf("%q: %q is longer than a close frame's reason may be", msg, enroute.ErrorMessage(err))
			}
			return
		}
		if box != nil && (box.Validate() != nil || box.MinLat > box.MaxLat || math.IsNaN(box.MinLat)) {
			t.Fatalf("%q: accepted the viewport %+v", msg, *box)
		}
	})
}

// TestDecodeView names what is wrong with a viewport.
func TestDecodeView(t *testing.T) {
	for msg, want := range map[string]string{
		`{"type":"subscribe","bbox":[91,0,92,1]}`: "The bbox is out of range: [minLat,minLng,maxLat,maxLng].",
		`{"type":"subscribe","bbox":[2,0,1,1]}`:   "The bbox must have minLat before maxLat: [minLat,minLng,maxLat,maxLng].",
		`{"type":"subscribe","bbox":[1,2,3]}`:     enroute.ErrorMessage(errViewMsg),
		`{"type":"watch"}`:                        enroute.ErrorMessage(errViewMsg),
	} {
		if _, err := decodeView([]byte(msg)); enroute.ErrorMessage(err) != want {
			t.Errorf("%s: %v, want %q", msg, err, want)
		}
	}
	box, err := decodeView([]byte(`{"type":"subscribe","bbox":[41.10,-8.70,41.20,-8.55]}`))
	if err != nil || box == nil || box.MinLat != 41.10 || box.MaxLng != -8.55 {
		t.Fatalf("viewport = %+v, %v", box, err)
	}
	// Across the antimeridian, as west > east or as a map panned past 180.
	for _, msg := range []string{`{"type":"subscribe","bbox":[-17,179.5,-16,-179.5]}`, `{"type":"subscribe","bbox":[-17,179.5,-16,180.5]}`} {
		box, err := decodeView([]byte(msg))
		if err != nil || box == nil || !box.Crosses() || !box.Contains(-16.5, -179.9) || !box.Contains(-16.5, 179.9) {
			t.Errorf("%s: %+v, %v", msg, box, err)
		}
	}
	if box, err := decodeView([]byte(`{"type":"subscribe"}`)); box != nil || err != nil {
		t.Fatalf("everything = %+v, %v", box, err)
	}
}
