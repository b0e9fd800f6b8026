package tracker

import (
	"math"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

var now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func TestDecodeNative(t *testing.T) {
	body := `[
	 {"ts":"2026-11-27T08:59:58Z","lat":41.1496,"lng":-8.6109,"accuracy_m":4.5,"speed_mps":12.5,"heading_deg":90,"altitude_m":81,"battery":77},
	 {"ts":1795769999000,"lat":41.15,"lng":-8.61},
	 {"ts":"yesterday","lat":1,"lng":1},
	 {"lat":1,"lng":1},
	 {"ts":1795769999000,"lat":"north","lng":1},
	 {"ts":1795769999000,"lng":1},
	 "not an object"
	]`
	items, err := DecodeNative([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 7 {
		t.Fatalf("%d items", len(items))
	}
	p := items[0].Pos
	if items[0].Err != "" || !p.Time.Equal(now.Add(-2*time.Second)) || p.Lat != 41.1496 || p.SpeedMPS != 12.5 || p.Battery != 77 || p.AltitudeM != 81 {
		t.Fatalf("item 0 = %+v", items[0])
	}
	if q := items[1].Pos; items[1].Err != "" || q.Time.UnixMilli() != 1795769999000 || q.AccuracyM != Unknown || q.SpeedMPS != Unknown || q.Battery != Unknown {
		t.Fatalf("item 1 = %+v", items[1])
	}
	for i, want := range []string{"", "", "ts must be", "ts is required", "lat must be a number", "lat and lng are required", "a fix must be a JSON object"} {
		if !strings.HasPrefix(items[i].Err, want) || (want == "") != (items[i].Err == "") {
			t.Errorf("item %d error = %q, want %q", i, items[i].Err, want)
		}
	}
	for _, bad := range []string{"", "{}", "[", `{"ts":1}`, "null"} {
		if items, err := DecodeNative([]byte(bad)); err == nil && bad != "null" {
			t.Errorf("DecodeNative(%q) = %v, want an error", bad, items)
		}
	}
}

func TestDecodeOsmAnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		query string
		check func(id string, lat, lng, speed, heading, acc, batt float64, ts time.Time) bool
		err   string
	}{
		{"TraccarClientQuery", "id=dev_abc&timestamp=1795769940&lat=41.1496&lon=-8.6109&speed=10&bearing=270.5&altitude=81&accuracy=12&batt=64",
			func(id string, lat, lng, speed, heading, acc, batt float64, ts time.Time) bool {
				return id == "dev_abc" && lat == 41.1496 && lng == -8.6109 && math.Abs(speed-5.14444) < 1e-4 && heading == 270.5 && acc == 12 && batt == 64 && ts.Equal(now.Add(-time.Minute))
			}, ""},
		{"DeviceIDLocationMillis", "deviceid=dev_abc&location=41.1,-8.6&timestamp=1795769940000",
			func(id string, lat, lng, _, _, _, _ float64, ts time.Time) bool {
				return id == "dev_abc" && lat == 41.1 && lng == -8.6 && ts.Equal(now.Add(-time.Minute))
			}, ""},
		{"ISOAndHeadingAndHdop", "id=d&lat=1&lon=2&timestamp=2026-11-27T08:59:00Z&heading=10&hdop=2",
			func(_ string, _, _, _, heading, acc, _ float64, ts time.Time) bool {
				return heading == 10 && acc == 10 && ts.Equal(now.Add(-time.Minute))
			}, ""},
		{"SpaceDate", "id=d&lat=1&lon=2&timestamp=2026-11-27+08:59:00",
			func(_ string, _, _, speed, _, _, _ float64, ts time.Time) bool {
				return ts.Equal(now.Add(-time.Minute)) && speed == Unknown
			}, ""},
		{"NoTimestamp", "id=d&lat=1&lon=2",
			func(_ string, _, _, _, _, _, _ float64, ts time.Time) bool { return ts.Equal(now) }, ""},
		{"NoID", "lat=1&lon=2", nil, "id"},
		{"NoLat", "id=d&lon=2", nil, "lat is required"},
		{"BadLon", "id=d&lat=1&lon=east", nil, "lon must be"},
		{"BadTime", "id=d&lat=1&lon=2&timestamp=noon", nil, "timestamp must be"},
		{"BadSpeed", "id=d&lat=1&lon=2&speed=fast", nil, "speed must be"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, _ := url.ParseQuery(tc.query)
			id, p, err := DecodeOsmAnd(v, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil || !tc.check(id, p.Lat, p.Lng, p.SpeedMPS, p.HeadingDeg, p.AccuracyM, p.Battery, p.Time) {
				t.Fatalf("DecodeOsmAnd = %q %+v %v", id, p, err)
			}
		})
	}
}

// traccarClient9 is what Traccar Client 9 posts (its JSON mode).
const traccarClient9 = `{"location":{"timestamp":"2026-11-27T08:59:00.000Z","coords":{"latitude":41.1496,"longitude":-8.6109,"accuracy":4.8,"speed":13.2,"heading":181.5,"altitude":80.1},"is_moving":true,"odometer":1234.5,"event":"motionchange","battery":{"level":0.64,"is_charging":false},"activity":{"type":"in_vehicle"},"extras":{}},"device_id":"dev_abc"}`

func TestDecodeTraccarJSON(t *testing.T) {
	id, p, err := DecodeTraccarJSON([]byte(traccarClient9), now)
	if err != nil || id != "dev_abc" || p.Lat != 41.1496 || p.SpeedMPS != 13.2 || p.HeadingDeg != 181.5 || p.Battery != 64 || !p.Time.Equal(now.Add(-time.Minute)) {
		t.Fatalf("= %q %+v %v", id, p, err)
	}
	unknown := strings.NewReplacer(`"speed":13.2`, `"speed":-1`, `"heading":181.5`, `"heading":-1`).Replace(traccarClient9)
	if _, p, _ := DecodeTraccarJSON([]byte(unknown), now); p.SpeedMPS != Unknown || p.HeadingDeg != Unknown {
		t.Fatalf("unknown speed/heading = %+v", p)
	}
	for _, bad := range []string{`{}`, `{"device_id":"d"}`, `{"device_id":"d","location":{"coords":{"latitude":1}}}`, `[`} {
		if _, _, err := DecodeTraccarJSON([]byte(bad), now); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestDecodeOwnTracks(t *testing.T) {
	p, ok, err := DecodeOwnTracks([]byte(`{"_type":"location","acc":5,"alt":81,"batt":41,"cog":271,"lat":41.1496,"lon":-8.6109,"tid":"JJ","tst":1795769940,"vel":36,"t":"u","conn":"m"}`))
	if err != nil || !ok || p.SpeedMPS != 10 || p.HeadingDeg != 271 || p.Battery != 41 || !p.Time.Equal(now.Add(-time.Minute)) {
		t.Fatalf("= %+v %v %v", p, ok, err)
	}
	if _, ok, err := DecodeOwnTracks([]byte(`{"_type":"transition","event":"enter"}`)); ok || err != nil {
		t.Fatal("other types are ignored without error")
	}
	for _, bad := range []string{`{"_type":"location","lat":1}`, `{"_type":"location","lat":1,"lon":2}`, `nope`} {
		if _, _, err := DecodeOwnTracks([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func FuzzDecodeNative(f *testing.F) {
	f.Add(`[{"ts":"2026-11-27T08:59:58Z","lat":41.1496,"lng":-8.6109,"accuracy_m":4.5,"speed_mps":12.5,"heading_deg":90,"altitude_m":81,"battery":77}]`)
	f.Add(`[{"ts":1795769999000,"lat":41.15,"lng":-8.61},{"ts":"x"}]`)
	f.Add(`[1e400]`)
	f.Fuzz(func(t *testing.T, s string) {
		items, err := DecodeNative([]byte(s))
		if err != nil {
			return
		}
		for _, it := range items {
			if it.Err == "" && (math.IsNaN(it.Pos.Lat) || math.IsNaN(it.Pos.Lng) || it.Pos.Time.IsZero()) {
				t.Fatalf("accepted a fix without a position or time: %+v", it)
			}
		}
	})
}

func FuzzDecodeOsmAnd(f *testing.F) {
	f.Add("id=dev_abc&timestamp=1795769940&lat=41.1496&lon=-8.6109&speed=10&bearing=270.5&altitude=81&accuracy=12&batt=64")
	f.Add("deviceid=x&location=41.1,-8.6&timestamp=2026-11-27+08:59:00&hdop=1.2")
	f.Fuzz(func(t *testing.T, q string) {
		v, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		id, p, err := DecodeOsmAnd(v, now)
		if err == nil && (id == "" || math.IsNaN(p.Lat) || math.IsInf(p.Lng, 0) || math.IsNaN(p.SpeedMPS)) {
			t.Fatalf("accepted %q as %q %+v", q, id, p)
		}
	})
}

func FuzzDecodeTraccarJSON(f *testing.F) {
	f.Add(traccarClient9)
	f.Fuzz(func(t *testing.T, s string) {
		id, p, err := DecodeTraccarJSON([]byte(s), now)
		if err == nil && (id == "" || math.IsNaN(p.Lat)) {
			t.Fatalf("accepted %q", s)
		}
	})
}

func FuzzDecodeOwnTracks(f *testing.F) {
	f.Add(`{"_type":"location","acc":5,"alt":81,"batt":41,"cog":271,"lat":41.1496,"lon":-8.6109,"tid":"JJ","tst":1795769940,"vel":36}`)
	f.Add(`{"_type":"waypoints"}`)
	f.Fuzz(func(t *testing.T, s string) {
		p, ok, err := DecodeOwnTracks([]byte(s))
		if ok && (err != nil || p.Time.IsZero()) {
			t.Fatalf("accepted %q: %+v %v", s, p, err)
		}
	})
}

// FuzzDecodeNativeFast: whenever the fast path decodes a body, it decodes
// it exactly as encoding/json does.
func FuzzDecodeNativeFast(f *testing.F) {
	for _, s := range []string{
		`[{"ts":"2026-11-27T08:59:58Z","lat":41.1496,"lng":-8.6109,"accuracy_m":4.5,"speed_mps":12.5,"heading_deg":90,"altitude_m":81,"battery":77}]`,
		`[{"ts":1795769999000,"lat":41.15,"lng":-8.61,"extra":true,"n":null},{"ts":"x","lat":1,"lng":1},{"lat":1}]`,
		`[ ]`, `[{}]`, `[{"ts":null,"lat":-0.0,"lng":1e2}]`, `[{"lat":"1","lng":2}]`, `[{"ts":1,"lat":1,"lng":1,"lat":2}]`,
		`[{"ts":"2026-11-27T08:59:58.123456+01:00","lat":1E-2,"lng":-0}]`, `[{"ts":1e400,"lat":1,"lng":1}]`,
		`[{"ts":1,"lat":1,"lng":1,"technician_id":9,"device_id":9,"received_at":"2026-11-27T08:59:58Z","cell":9}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := decodeNativeFast(nil, []byte(s))
		if !ok {
			return
		}
		slow, err := decodeNativeSlow(nil, []byte(s))
		if err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", s, err)
		}
		if len(fast) != len(slow) {
			t.Fatalf("%q: %d items fast, %d slow", s, len(fast), len(slow))
		}
		for i := range fast {
			a, b := fast[i], slow[i]
			same := a.Err == b.Err && a.Pos.Time.Equal(b.Pos.Time) && sameFloat(a.Pos.Lat, b.Pos.Lat) && sameFloat(a.Pos.Lng, b.Pos.Lng) &&
				sameFloat(a.Pos.AccuracyM, b.Pos.AccuracyM) && sameFloat(a.Pos.SpeedMPS, b.Pos.SpeedMPS) && sameFloat(a.Pos.HeadingDeg, b.Pos.HeadingDeg) &&
				sameFloat(a.Pos.AltitudeM, b.Pos.AltitudeM) && sameFloat(a.Pos.Battery, b.Pos.Battery) &&
				a.Pos.TechnicianID == b.Pos.TechnicianID && a.Pos.DeviceID == b.Pos.DeviceID && a.Pos.ReceivedAt.Equal(b.Pos.ReceivedAt)
			if !same {
				t.Fatalf("%q item %d: fast %+v, slow %+v", s, i, a, b)
			}
		}
	})
}

func sameFloat(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestNativeFixFields: each JSON field of enroute.Position is either one a
// device sends (nativeKeys, which the fast path reads too) or one the
// server sets, whose name nativeFix takes so that the slow path drops it as
// the fast path does. A field added to Position goes in one or the other.
func TestNativeFixFields(t *testing.T) {
	own := map[string]bool{} // the names nativeFix takes from Position
	for _, f := range reflect.VisibleFields(reflect.TypeFor[nativeFix]()) {
		if name := jsonName(f); len(f.Index) == 1 && !f.Anonymous && name != "ts" {
			own[name] = true
		}
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[enroute.Position]()) {
		name := jsonName(f)
		if name == "" {
			continue
		}
		if sent := slices.Contains(nativeKeys, name); sent == own[name] {
			t.Errorf("Position's %q: a device's (nativeKeys) %v, the server's (taken by nativeFix) %v; want exactly one", name, sent, own[name])
		}
	}
	body := `[{"ts":1795769999000,"lat":41.15,"lng":-8.61,"technician_id":9,"device_id":9,"received_at":"2026-11-27T08:59:58Z"},` +
		`{"ts":1795769999000,"lat":41.15,"lng":-8.61,"technician_id":{"x":9},"device_id":"9","received_at":1}]`
	items, err := decodeNativeSlow(nil, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range items {
		if p := it.Pos; it.Err != "" || p.TechnicianID != 0 || p.DeviceID != 0 || !p.ReceivedAt.IsZero() {
			t.Errorf("a device set the server's fields: %+v", it)
		}
	}
}

// jsonName is the name encoding/json gives f, "" when it skips f.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if !f.IsExported() || name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}
