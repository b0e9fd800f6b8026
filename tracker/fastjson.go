package tracker

import (
	"math"
	"slices"
	"strconv"
	"time"
)

// decodeNativeFast decodes the common shape of a native batch, an array of
// flat objects with number and plain-string values, in one pass without
// reflection: about eight times faster than encoding/json
// (BenchmarkDecodeNative in BENCHMARKS.md). On anything else (escapes,
// nesting, a value of the wrong type, invalid JSON) it returns ok false
// and DecodeNative takes the encoding/json path, whose results and errors
// are the reference: FuzzDecodeNativeFast checks that both agree.
func decodeNativeFast(dst []Item, b []byte) (items []Item, ok bool) {
	p := scanner{b: b}
	p.ws()
	if !p.eat('[') {
		return nil, false
	}
	items = slices.Grow(dst[:0], len(b)/90+1)
	p.ws()
	if p.eat(']') {
		p.ws()
		return items, p.i == len(p.b)
	}
	for {
		p.ws()
		it, ok := p.fix()
		if !ok {
			return nil, false
		}
		items = append(items, it)
		p.ws()
		if p.eat(']') {
			break
		}
		if !p.eat(',') {
			return nil, false
		}
	}
	p.ws()
	return items, p.i == len(p.b)
}

type scanner struct {
	b []byte
	i int
}

func (p *scanner) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *scanner) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *scanner) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

// str reads a string without escapes or control characters.
func (p *scanner) str() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false // escapes and non-ASCII: the slow path
		}
		p.i++
	}
	return nil, false
}

// num reads a JSON number (strict grammar) as a float64 that is finite.
func (p *scanner) num() ([]byte, float64, bool) {
	start := p.i
	p.eat('-')
	switch {
	case p.eat('0'):
	case p.digits() == 0:
		return nil, 0, false
	}
	if p.eat('.') && p.digits() == 0 {
		return nil, 0, false
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if p.digits() == 0 {
			return nil, 0, false
		}
	}
	tok := p.b[start:p.i]
	f, err := strconv.ParseFloat(string(tok), 64)
	if err != nil || math.IsInf(f, 0) {
		return nil, 0, false
	}
	return tok, f, true
}

func (p *scanner) digits() int {
	n := 0
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// literal reads true, false or null.
func (p *scanner) literal() (string, bool) {
	for _, lit := range []string{"true", "false", "null"} {
		if len(p.b)-p.i >= len(lit) && string(p.b[p.i:p.i+len(lit)]) == lit {
			p.i += len(lit)
			return lit, true
		}
	}
	return "", false
}

// fix reads one object. Fields the native protocol does not know are
// skipped when scalar, as encoding/json skips them.
func (p *scanner) fix() (Item, bool) {
	if !p.eat('{') {
		return Item{}, false
	}
	f := blankFix()
	var tsTok []byte // raw JSON of ts, as encoding/json would hand it over
	p.ws()
	if !p.eat('}') {
		for {
			p.ws()
			key, ok := p.str()
			if !ok {
				return Item{}, false
			}
			p.ws()
			if !p.eat(':') {
				return Item{}, false
			}
			p.ws()
			var dst *float64
			name := foldKey(key) // encoding/json matches names ignoring case
			switch name {
			case "lat":
				dst = &f.Lat
			case "lng":
				dst = &f.Lng
			case "accuracy_m":
				dst = &f.AccuracyM
			case "speed_mps":
				dst = &f.SpeedMPS
			case "heading_deg":
				dst = &f.HeadingDeg
			case "altitude_m":
				dst = &f.AltitudeM
			case "battery":
				dst = &f.Battery
			}
			start := p.i
			switch c := p.peek(); {
			case c == '"':
				if _, ok := p.str(); !ok || dst != nil {
					return Item{}, false // a string where a number belongs: the slow path's error
				}
			case c == '-' || (c >= '0' && c <= '9'):
				_, v, ok := p.num()
				if !ok {
					return Item{}, false
				}
				if dst != nil {
					*dst = v
				}
			default:
				lit, ok := p.literal()
				if !ok || (dst != nil && lit != "null") {
					return Item{}, false
				}
			}
			if name == "ts" {
				tsTok = p.b[start:p.i]
			}
			p.ws()
			if p.eat('}') {
				break
			}
			if !p.eat(',') {
				return Item{}, false
			}
		}
	}
	if math.IsNaN(f.Lat) || math.IsNaN(f.Lng) {
		return Item{Err: "lat and lng are required"}, true
	}
	ts, err := parseTSToken(tsTok)
	if err != nil {
		return Item{Err: err.Error()}, true
	}
	f.Time = ts
	return Item{Pos: f}, true
}

// parseTSToken is parseJSONTime without re-decoding a plain string.
func parseTSToken(tok []byte) (time.Time, error) {
	if len(tok) >= 2 && tok[0] == '"' {
		t, err := time.Parse(time.RFC3339Nano, string(tok[1:len(tok)-1]))
		if err != nil {
			return time.Time{}, errTSFormat
		}
		return t.UTC(), nil
	}
	return parseJSONTime(tok)
}

// nativeKeys are the native fix's field names.
var nativeKeys = []string{"ts", "lat", "lng", "accuracy_m", "speed_mps", "heading_deg", "altitude_m", "battery"}

// foldKey returns the native field name key matches ignoring ASCII case,
// as encoding/json does (keys are ASCII here: others take the slow path),
// or key itself.
func foldKey(key []byte) string {
	for _, k := range nativeKeys {
		if len(k) == len(key) && asciiEqualFold(k, key) {
			return k
		}
	}
	return string(key)
}

func asciiEqualFold(a string, b []byte) bool {
	for i := range len(a) {
		x, y := a[i], b[i]
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
