package tracker

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/enroutehq/enroute"
)

// Live positions as the API shows them (GET /technicians/positions): the
// JSON of encoding/json for a Position with its age_s and stale, byte for
// byte (TestRenderedJSON), written by hand and kept per fix. Formatting a
// position's seven floats and two times was most of a near query's CPU
// (an answer of 140 technicians: 140 renderings); each live position is
// now rendered once, when a query first wants it after its fix, and
// later answers copy its bytes (BenchmarkLive_NearRendered).

// Rendered is a live position's JSON object up to its received_at (no
// closing brace: its age follows), shared and read-only, and the time of
// its fix for that age.
type Rendered struct {
	Time   time.Time
	Fields []byte
}

// Render renders p (a position from anywhere; live ones are kept).
func Render(p *enroute.Position) Rendered {
	return Rendered{Time: p.Time, Fields: appendFields(make([]byte, 0, 288), p)}
}

// rendered returns s's rendering, made now if no query has wanted it since
// its fix. The caller holds Live.mu, at least for reading: readers may
// race to make it, each the same bytes; Apply clears it under the write
// lock.
func (s *techState) rendered() Rendered {
	b := s.json.Load()
	if b == nil {
		r := appendFields(make([]byte, 0, 288), &s.pos)
		b = &r
		s.json.Store(b)
	}
	return Rendered{Time: s.pos.Time, Fields: *b}
}

// maxRenderLocked bounds the renderings one query makes under Live's lock
// (each about half a microsecond, while a waiting Apply, and every reader
// queued behind it, waits): past it, positions are copied and rendered
// after the lock, and not kept.
const maxRenderLocked = 256

// renderBatch gathers a query's answer under Live's lock: each position's
// kept rendering, or one made now, or past maxRenderLocked a copy to
// render after the lock (finish).
type renderBatch struct {
	entries []renderEntry
	made    int
}

type renderEntry struct {
	tech  int64
	r     Rendered
	later *enroute.Position // to render after the lock
}

// add adds s; the caller holds Live.mu, at least for reading.
func (b *renderBatch) add(s *techState) {
	e := renderEntry{tech: s.pos.TechnicianID}
	switch kept := s.json.Load(); {
	case kept != nil:
		e.r = Rendered{Time: s.pos.Time, Fields: *kept}
	case b.made < maxRenderLocked:
		b.made++
		e.r = s.rendered()
	default:
		p := s.pos
		e.later = &p
	}
	b.entries = append(b.entries, e)
}

// finish renders what add left for after the lock and returns the answer,
// by technician id when byID, else in the order added.
func (b *renderBatch) finish(byID bool) []Rendered {
	if byID {
		slices.SortFunc(b.entries, func(x, y renderEntry) int { return cmp.Compare(x.tech, y.tech) })
	}
	out := make([]Rendered, len(b.entries))
	for i := range b.entries {
		if e := &b.entries[i]; e.later != nil {
			out[i] = Render(e.later)
		} else {
			out[i] = e.r
		}
	}
	return out
}

// AppendItems renders {"items":[...]} of rs with each one's age_s at now
// and stale (older than staleAfter), and a newline, as echo's c.JSON would.
func AppendItems(b []byte, rs []Rendered, now time.Time, staleAfter time.Duration) []byte {
	b = append(b, `{"items":[`...)
	for i := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, rs[i].Fields...)
		b = append(b, `,"age_s":`...)
		age := now.Sub(rs[i].Time)
		b = appendJSONFloat(b, age.Seconds())
		if age > staleAfter {
			b = append(b, `,"stale":true}`...)
		} else {
			b = append(b, `,"stale":false}`...)
		}
	}
	return append(b, "]}\n"...)
}

// appendFields appends p's JSON object up to received_at, unclosed.
func appendFields(b []byte, p *enroute.Position) []byte {
	b = append(b, `{"technician_id":`...)
	b = strconv.AppendInt(b, p.TechnicianID, 10)
	b = append(b, `,"device_id":`...)
	b = strconv.AppendInt(b, p.DeviceID, 10)
	b = append(b, `,"ts":"`...)
	b = appendTime(b, p.Time)
	for _, f := range [...]struct {
		name string
		v    float64
	}{{`","lat":`, p.Lat}, {`,"lng":`, p.Lng}, {`,"accuracy_m":`, p.AccuracyM}, {`,"speed_mps":`, p.SpeedMPS},
		{`,"heading_deg":`, p.HeadingDeg}, {`,"altitude_m":`, p.AltitudeM}, {`,"battery":`, p.Battery}} {
		b = append(b, f.name...)
		b = appendJSONFloat(b, f.v)
	}
	b = append(b, `,"received_at":"`...)
	b = appendTime(b, p.ReceivedAt)
	return append(b, '"')
}

// appendTime appends t as encoding/json writes a time (RFC 3339 with
// nanoseconds, trailing zeros dropped): by hand for a time at UTC's
// offset, as every fix's is on a server in UTC, else by AppendFormat.
func appendTime(b []byte, t time.Time) []byte {
	if _, off := t.Zone(); off != 0 || t.Year() < 0 || t.Year() > 9999 {
		return t.AppendFormat(b, time.RFC3339Nano)
	}
	y, mo, d := t.Date()
	h, mi, sec := t.Clock()
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(mo)/10), byte('0'+int(mo)%10), '-', byte('0'+d/10), byte('0'+d%10), 'T',
		byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+sec/10), byte('0'+sec%10))
	if ns := t.Nanosecond(); ns != 0 {
		var frac [10]byte
		frac[0] = '.'
		for i := 9; i >= 1; i-- {
			frac[i] = byte('0' + ns%10)
			ns /= 10
		}
		n := 10
		for frac[n-1] == '0' {
			n--
		}
		b = append(b, frac[:n]...)
	}
	return append(b, 'Z')
}

// appendJSONFloat appends f as encoding/json writes a float64: the
// shortest decimal, in exponent form below 1e-6 or from 1e21, its
// exponent without a leading zero. f is finite (positions are validated).
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-07 to e-7, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}
