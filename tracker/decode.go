package tracker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/enroutehq/enroute"
)

// Unknown marks an optional value the device did not send.
const Unknown = -1.0

const knotsToMPS = 1852.0 / 3600

// Item is one decoded fix of a batch, or why it could not be decoded.
type Item struct {
	Pos enroute.Position
	Err string
}

// nativeFix is how encoding/json reads a fix of Enroute's own protocol: a
// Position under its own JSON names, but for ts, taken raw (epoch
// milliseconds or RFC 3339; time.Time reads only the latter), and the
// fields the server sets, whose names are taken here so that whatever a
// device sends under them is dropped (TestNativeFixFields keeps this so as
// Position grows).
type nativeFix struct {
	enroute.Position
	TS json.RawMessage `json:"ts"`

	ServerTechnicianID json.RawMessage `json:"technician_id"`
	ServerDeviceID     json.RawMessage `json:"device_id"`
	ServerReceivedAt   json.RawMessage `json:"received_at"`
}

// blankFix is a fix before decoding. Optional values start at Unknown and
// required ones at NaN (which JSON cannot carry), so decoding tells
// "absent" from "zero" without pointers.
func blankFix() enroute.Position {
	return enroute.Position{Lat: math.NaN(), Lng: math.NaN(), AccuracyM: Unknown, SpeedMPS: Unknown, HeadingDeg: Unknown, Battery: Unknown}
}

// DecodeNative reads a JSON array of fixes. A malformed body is an error;
// a malformed fix is an Item with Err, and the others still count.
func DecodeNative(body []byte) ([]Item, error) { return DecodeNativeInto(nil, body) }

// DecodeNativeInto is DecodeNative into dst's memory (its items are
// overwritten), for callers that reuse it: the items hold nothing of body.
func DecodeNativeInto(dst []Item, body []byte) ([]Item, error) {
	if items, ok := decodeNativeFast(dst, body); ok {
		return items, nil
	}
	return decodeNativeSlow(dst, body)
}

// decodeNativeSlow is DecodeNativeInto through encoding/json: the reference.
func decodeNativeSlow(dst []Item, body []byte) ([]Item, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(body, &raws); err != nil {
		return nil, errors.New("the body must be a JSON array of fixes")
	}
	items := slices.Grow(dst[:0], len(raws))
	for _, raw := range raws {
		items = append(items, decodeNativeFix(raw))
	}
	return items, nil
}

func decodeNativeFix(raw []byte) Item {
	f := nativeFix{Position: blankFix()}
	if err := json.Unmarshal(raw, &f); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			// The field's path names the embedded Position ("Position.lat");
			// a fix is flat, so its last part is what the device sent.
			return Item{Err: te.Field[strings.LastIndexByte(te.Field, '.')+1:] + " must be a number"}
		}
		return Item{Err: "a fix must be a JSON object"}
	}
	if math.IsNaN(f.Lat) || math.IsNaN(f.Lng) {
		return Item{Err: "lat and lng are required"}
	}
	ts, err := parseJSONTime(f.TS)
	if err != nil {
		return Item{Err: err.Error()}
	}
	f.Time = ts
	return Item{Pos: f.Position}
}

var errTSFormat = errors.New("ts must be RFC 3339 or epoch milliseconds")

// parseJSONTime reads an RFC 3339 string or epoch milliseconds.
func parseJSONTime(raw json.RawMessage) (time.Time, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return time.Time{}, errors.New("ts is required")
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return time.Time{}, errTSFormat
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, errTSFormat
		}
		return t.UTC(), nil
	default:
		ms, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || math.IsNaN(ms) || math.IsInf(ms, 0) || ms < 0 || ms > 1e14 {
			return time.Time{}, errTSFormat
		}
		return time.UnixMilli(int64(ms)).UTC(), nil
	}
}

// DecodeOsmAnd reads the OsmAnd protocol's parameters, as Traccar Client
// and other apps send them in a query string or a form: id or deviceid;
// lat and lon, or location=lat,lon; timestamp (epoch seconds or
// milliseconds, ISO 8601, or "yyyy-MM-dd HH:mm:ss" UTC; default now);
// speed in knots; bearing or heading; altitude; accuracy (or hdop, taken as
// 5 m per unit); batt in percent.
func DecodeOsmAnd(v Values, now time.Time) (id string, p enroute.Position, err error) {
	id = first(v, "id", "deviceid")
	if id == "" {
		return "", p, errors.New("id (or deviceid) is required")
	}
	p = enroute.Position{AccuracyM: Unknown, SpeedMPS: Unknown, HeadingDeg: Unknown, Battery: Unknown}
	lat, lon := v.Get("lat"), v.Get("lon")
	if loc := v.Get("location"); loc != "" && lat == "" {
		lat, lon, _ = strings.Cut(loc, ",")
	}
	if p.Lat, err = number("lat", lat, true); err != nil {
		return id, p, err
	}
	if p.Lng, err = number("lon", lon, true); err != nil {
		return id, p, err
	}
	p.Time = now
	if ts := v.Get("timestamp"); ts != "" {
		if p.Time, err = parseOsmAndTime(ts); err != nil {
			return id, p, err
		}
	}
	opt := func(name, s string, scale float64, dst *float64) {
		if err == nil && s != "" {
			var f float64
			if f, err = number(name, s, false); err == nil {
				*dst = f * scale
			}
		}
	}
	opt("speed", v.Get("speed"), knotsToMPS, &p.SpeedMPS)
	opt("bearing", first(v, "bearing", "heading"), 1, &p.HeadingDeg)
	opt("altitude", v.Get("altitude"), 1, &p.AltitudeM)
	opt("accuracy", v.Get("accuracy"), 1, &p.AccuracyM)
	if p.AccuracyM == Unknown {
		opt("hdop", v.Get("hdop"), 5, &p.AccuracyM)
	}
	opt("batt", v.Get("batt"), 1, &p.Battery)
	return id, p, err
}

// Values are a request's parameters by name: url.Values, or the OsmAnd
// listener's reading of fasthttp's arguments. Get returns the first value
// of key, or "".
type Values interface{ Get(key string) string }

func first(v Values, names ...string) string {
	for _, n := range names {
		if s := v.Get(n); s != "" {
			return s
		}
	}
	return ""
}

func number(name, s string, required bool) (float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return 0, fmt.Errorf("%s is required", name)
		}
		return Unknown, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%s must be a number", name)
	}
	return f, nil
}

func parseOsmAndTime(s string) (time.Time, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(n) && !math.IsInf(n, 0) && n >= 0 {
		if n > 1e11 { // milliseconds: 1e11 s is in the year 5138
			return time.UnixMilli(int64(n)).UTC(), nil
		}
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)).UTC(), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05.999Z0700"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, errors.New("timestamp must be epoch seconds or milliseconds, ISO 8601, or yyyy-MM-dd HH:mm:ss")
}

// traccarJSON is the body Traccar Client 9 posts.
type traccarJSON struct {
	DeviceID string `json:"device_id"`
	Location *struct {
		Timestamp string `json:"timestamp"`
		Coords    *struct {
			Latitude  *float64 `json:"latitude"`
			Longitude *float64 `json:"longitude"`
			Accuracy  *float64 `json:"accuracy"`
			Speed     *float64 `json:"speed"`
			Heading   *float64 `json:"heading"`
			Altitude  *float64 `json:"altitude"`
		} `json:"coords"`
		Battery *struct {
			Level *float64 `json:"level"`
		} `json:"battery"`
	} `json:"location"`
}

// DecodeTraccarJSON reads Traccar Client 9's JSON body: device_id and a
// location with timestamp, coords {latitude, longitude, accuracy, speed in
// m/s, heading, altitude} and battery {level from 0 to 1}. Negative speed or
// heading mean unknown, as the app sends them.
func DecodeTraccarJSON(body []byte, now time.Time) (id string, p enroute.Position, err error) {
	var tj traccarJSON
	if err := json.Unmarshal(body, &tj); err != nil {
		return "", p, errors.New("the body must be Traccar Client's JSON")
	}
	if tj.DeviceID == "" {
		return "", p, errors.New("device_id is required")
	}
	l := tj.Location
	if l == nil || l.Coords == nil || l.Coords.Latitude == nil || l.Coords.Longitude == nil {
		return tj.DeviceID, p, errors.New("location.coords.latitude and longitude are required")
	}
	c := l.Coords
	p = enroute.Position{Time: now, Lat: *c.Latitude, Lng: *c.Longitude, AccuracyM: orUnknown(c.Accuracy),
		SpeedMPS: orUnknown(c.Speed), HeadingDeg: orUnknown(c.Heading), Battery: Unknown}
	if c.Altitude != nil {
		p.AltitudeM = *c.Altitude
	}
	if l.Battery != nil && l.Battery.Level != nil && *l.Battery.Level >= 0 {
		p.Battery = *l.Battery.Level * 100
	}
	if l.Timestamp != "" {
		if p.Time, err = parseOsmAndTime(l.Timestamp); err != nil {
			return tj.DeviceID, p, err
		}
	}
	return tj.DeviceID, p, nil
}

func orUnknown(f *float64) float64 {
	if f == nil || *f < 0 {
		return Unknown
	}
	return *f
}

// ownTracks is an OwnTracks HTTP-mode message.
type ownTracks struct {
	Type string   `json:"_type"`
	Lat  *float64 `json:"lat"`
	Lon  *float64 `json:"lon"`
	Tst  *float64 `json:"tst"`
	Acc  *float64 `json:"acc"`
	Vel  *float64 `json:"vel"` // km/h
	Cog  *float64 `json:"cog"`
	Alt  *float64 `json:"alt"`
	Batt *float64 `json:"batt"`
}

// DecodeOwnTracks reads an OwnTracks message. Only "_type":"location"
// carries a fix; other types return ok false and no error.
func DecodeOwnTracks(body []byte) (p enroute.Position, ok bool, err error) {
	var m ownTracks
	if err := json.Unmarshal(body, &m); err != nil {
		return p, false, errors.New("the body must be an OwnTracks JSON message")
	}
	if m.Type != "location" {
		return p, false, nil
	}
	if m.Lat == nil || m.Lon == nil {
		return p, false, errors.New("lat and lon are required")
	}
	if m.Tst == nil || *m.Tst < 0 || *m.Tst > 1e11 {
		return p, false, errors.New("tst (epoch seconds) is required")
	}
	p = enroute.Position{Time: time.Unix(int64(*m.Tst), 0).UTC(), Lat: *m.Lat, Lng: *m.Lon,
		AccuracyM: orUnknown(m.Acc), SpeedMPS: Unknown, HeadingDeg: orUnknown(m.Cog), Battery: orUnknown(m.Batt)}
	if m.Vel != nil && *m.Vel >= 0 {
		p.SpeedMPS = *m.Vel / 3.6
	}
	if m.Alt != nil {
		p.AltitudeM = *m.Alt
	}
	return p, true, nil
}
