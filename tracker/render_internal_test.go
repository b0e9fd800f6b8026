package tracker

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
)

// livePosition is a live position as the API shows it, for
// encoding/json to render what AppendItems does by hand.
type livePosition struct {
	enroute.Position
	AgeS  float64 `json:"age_s"`
	Stale bool    `json:"stale"`
}

// livePositions are n positions with values of every kind encoding/json
// writes its own way: tiny, huge, negative, whole, times in other zones.
func livePositions(n int) []enroute.Position {
	r := rand.New(rand.NewPCG(3, 4))
	lisbon, _ := time.LoadLocation("Europe/Lisbon")
	odd := []float64{0, -1, 1e-7, -3.5e-9, 1e21, 123456789012345678901234.0, 0.1, 1.0 / 3, 179.99999999, -90, 100}
	t0 := time.Date(2026, 12, 6, 11, 22, 33, 123456789, time.UTC)
	ps := make([]enroute.Position, n)
	for i := range ps {
		pick := func() float64 {
			if r.IntN(3) == 0 {
				return odd[r.IntN(len(odd))]
			}
			return (r.Float64() - 0.5) * 360
		}
		ts := t0.Add(-time.Duration(r.IntN(600_000)) * time.Millisecond)
		if i%2 == 1 {
			ts = ts.In(lisbon)
		}
		ps[i] = enroute.Position{TechnicianID: int64(i + 1), DeviceID: r.Int64N(1 << 40), Time: ts, Lat: pick(), Lng: pick(),
			AccuracyM: pick(), SpeedMPS: pick(), HeadingDeg: pick(), AltitudeM: pick(), Battery: pick(), ReceivedAt: ts.Add(time.Second)}
	}
	return ps
}

// The hand-written answer of a live positions query is byte for byte
// what encoding/json makes of the same list (echo's c.JSON: a newline
// after it).
func TestLivePositionsJSON(t *testing.T) {
	now := time.Date(2026, 12, 6, 11, 25, 0, 0, time.UTC)
	for _, n := range []int{0, 1, 500} {
		ps := livePositions(n)
		out := make([]livePosition, len(ps))
		for i, p := range ps {
			out[i] = livePosition{Position: p, AgeS: now.Sub(p.Time).Seconds(), Stale: Stale(p, now, staleAfter)}
		}
		var want bytes.Buffer
		if err := json.NewEncoder(&want).Encode(map[string]any{"items": out}); err != nil {
			t.Fatal(err)
		}
		rs := make([]Rendered, len(ps))
		for i := range ps {
			rs[i] = Render(&ps[i])
		}
		if got := AppendItems(nil, rs, now, staleAfter); !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("%d positions:\n got %.400s\nwant %.400s", n, got, want.Bytes())
		}
	}
	for _, tm := range []time.Time{time.Date(2026, 12, 6, 9, 5, 3, 0, time.UTC), time.Date(2026, 12, 6, 9, 5, 3, 120_000_000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 0)), time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600)),
		time.Unix(1796556055, 123456789)} {
		want, _ := json.Marshal(tm)
		if got := append(append([]byte{'"'}, appendTime(nil, tm)...), '"'); !bytes.Equal(got, want) {
			t.Errorf("%v: got %s, want %s", tm, got, want)
		}
	}
	for _, f := range []float64{1e-6, 9.999e-7, 1e20, 1e21, -1e-300, math.SmallestNonzeroFloat64, math.MaxFloat64} {
		want, _ := json.Marshal(f)
		if got := appendJSONFloat(nil, f); !bytes.Equal(got, want) {
			t.Errorf("%g: got %s, want %s", f, got, want)
		}
	}
}

// BenchmarkLivePositionsJSON: a near query's answer of 20 technicians,
// as phones report them (6 decimals of a degree, speeds to a tenth),
// hand-written and by encoding/json.
func BenchmarkLivePositionsJSON(b *testing.B) {
	now := time.Now()
	ps := make([]enroute.Position, 20)
	for i := range ps {
		ps[i] = enroute.Position{TechnicianID: int64(1000 + i), DeviceID: int64(2000 + i), Time: now.Add(-time.Duration(i) * time.Second),
			Lat: 41.881234 + float64(i)*1e-6, Lng: -87.631234 - float64(i)*1e-6, AccuracyM: 4.5, SpeedMPS: 11.2, HeadingDeg: 271.3,
			AltitudeM: 180.4, Battery: 87, ReceivedAt: now}
	}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rs := make([]Rendered, len(ps))
			for i := range ps {
				rs[i] = Render(&ps[i])
			}
			_ = AppendItems(make([]byte, 0, 64+len(ps)*320), rs, now, staleAfter)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			out := make([]livePosition, len(ps))
			for i, p := range ps {
				out[i] = livePosition{Position: p, AgeS: now.Sub(p.Time).Seconds(), Stale: Stale(p, now, staleAfter)}
			}
			var buf bytes.Buffer
			_ = json.NewEncoder(&buf).Encode(map[string]any{"items": out})
		}
	})
}

const staleAfter = 2 * time.Minute

// A live position's rendering is kept until its technician's next fix,
// which renders anew; a position no query wanted is never rendered.
func TestRenderedFollowsFixes(t *testing.T) {
	l := NewLive(8)
	t0 := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	p := enroute.Position{TechnicianID: 7, DeviceID: 9, Time: t0, Lat: 41.15, Lng: -8.61, AccuracyM: 5, SpeedMPS: -1, HeadingDeg: -1, Battery: 80, ReceivedAt: t0}
	l.Apply(&p, 0)
	if l.techs[7].json.Load() != nil {
		t.Fatal("rendered before any query")
	}
	first := l.NearRendered(41.15, -8.61, 100, 0)
	if len(first) != 1 || !bytes.Equal(first[0].Fields, Render(&p).Fields) || !first[0].Time.Equal(t0) {
		t.Fatalf("first answer %+v", first)
	}
	if again := l.AllRendered(); &again[0].Fields[0] != &first[0].Fields[0] {
		t.Fatal("a second query rendered the same fix again")
	}
	moved := p
	moved.Time, moved.ReceivedAt, moved.Lat = t0.Add(5*time.Second), t0.Add(5*time.Second), 41.1501
	l.Apply(&moved, 0)
	b := geo.BBoxAround(41.15, -8.61, 500)
	got := l.InBBoxRendered(b, 4096)
	if len(got) != 1 || !bytes.Equal(got[0].Fields, Render(&moved).Fields) || !got[0].Time.Equal(moved.Time) {
		t.Fatalf("after a new fix %s", got[0].Fields)
	}
	if !bytes.Contains(got[0].Fields, []byte(`"lat":41.1501,`)) {
		t.Fatalf("rendering %s lacks the new latitude", got[0].Fields)
	}
	// An older fix does not become live, so the rendering stays.
	old := p
	old.Time = t0.Add(time.Second)
	l.Apply(&old, 0)
	if again := l.NearRendered(41.15, -8.61, 100, 0); &again[0].Fields[0] != &got[0].Fields[0] {
		t.Fatal("an out-of-order fix cleared the rendering")
	}
}

// A large answer renders at most maxRenderLocked positions under the lock
// and keeps them; the rest are rendered after it, alike, and kept by none.
func TestRenderedPastTheLockedBound(t *testing.T) {
	l := NewLive(8)
	t0 := time.Date(2026, 12, 6, 14, 0, 0, 0, time.UTC)
	n := maxRenderLocked + 44
	var ps []enroute.Position
	for i := range n {
		p := enroute.Position{TechnicianID: int64(n - i), DeviceID: 1, Time: t0, Lat: 41.15 + float64(i)*1e-5, Lng: -8.61, AccuracyM: -1, SpeedMPS: -1, HeadingDeg: -1, Battery: -1, ReceivedAt: t0}
		l.Apply(&p, 0)
		ps = append(ps, p)
	}
	got := l.AllRendered()
	if len(got) != n {
		t.Fatalf("%d rendered, want %d", len(got), n)
	}
	for i, r := range got {
		p := ps[n-1-i] // by technician id
		if !bytes.Equal(r.Fields, Render(&p).Fields) {
			t.Fatalf("%d: %s, want %s", i, r.Fields, Render(&p).Fields)
		}
	}
	kept := 0
	for _, s := range l.techs {
		if s.json.Load() != nil {
			kept++
		}
	}
	if kept != maxRenderLocked {
		t.Fatalf("%d kept, want %d", kept, maxRenderLocked)
	}
}
