package tracker_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/geo"
	"github.com/enroutehq/enroute/tracker"
)

// fleet is n technicians placed uniformly at random (seeded) in a square
// of sideKm around Chicago's centre, and query points in the same square.
func fleet(n int, sideKm float64) (*tracker.Live, [][2]float64) {
	l := tracker.NewLive(8)
	r := rand.New(rand.NewPCG(1, 2))
	dLat := sideKm / 111.2
	dLng := dLat / math.Cos(41.88*math.Pi/180)
	at := func() (float64, float64) { return 41.88 + (r.Float64()-0.5)*dLat, -87.63 + (r.Float64()-0.5)*dLng }
	t0 := time.Now()
	for i := range n {
		lat, lng := at()
		p := enroute.Position{TechnicianID: int64(i + 1), DeviceID: int64(i + 1), Lat: lat, Lng: lng, Time: t0}
		l.Apply(&p, 0)
	}
	qs := make([][2]float64, 256)
	for i := range qs {
		qs[i][0], qs[i][1] = at()
	}
	return l, qs
}

// BenchmarkLive_Near: a dispatcher's "who is within R of this address"
// over a fleet spread across a metro area (30 km) and packed in a city
// (8 km); found is the mean number of technicians returned.
func BenchmarkLive_Near(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, side := range []float64{30, 8} {
			l, qs := fleet(n, side)
			for _, radius := range []float64{200, 2000} {
				b.Run(fmt.Sprintf("techs=%d/side=%gkm/r=%gm", n, side, radius), func(b *testing.B) {
					b.ReportAllocs()
					found, i := 0, 0
					for b.Loop() {
						q := qs[i&255]
						found += len(l.Near(q[0], q[1], radius, 0))
						i++
					}
					b.ReportMetric(float64(found)/float64(i), "found")
				})
			}
		}
	}
}

// BenchmarkLive_InBBox: the same for boxes of 400 m and 4 km.
func BenchmarkLive_InBBox(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		l, qs := fleet(n, 30)
		for _, half := range []float64{200, 2000} {
			b.Run(fmt.Sprintf("techs=%d/side=30km/box=%gm", n, 2*half), func(b *testing.B) {
				b.ReportAllocs()
				found, i := 0, 0
				for b.Loop() {
					q := qs[i&255]
					found += len(l.InBBox(geo.BBoxAround(q[0], q[1], half), 4096))
					i++
				}
				b.ReportMetric(float64(found)/float64(i), "found")
			})
		}
	}
}

// BenchmarkLive_NearRendered: a near query's answer rendered for the API
// (GET /technicians/positions): "kept" as it runs, each position rendered
// once per fix and copied after; "each" rendering every position of every
// answer, as before. 10,000 technicians packed in a city, 200 m.
func BenchmarkLive_NearRendered(b *testing.B) {
	l, qs := fleet(10_000, 8)
	now := time.Now()
	b.Run("kept", func(b *testing.B) {
		b.ReportAllocs()
		found, i := 0, 0
		for b.Loop() {
			q := qs[i&255]
			rs := l.NearRendered(q[0], q[1], 200, 1000)
			_ = tracker.AppendItems(make([]byte, 0, 64+len(rs)*320), rs, now, 2*time.Minute)
			found += len(rs)
			i++
		}
		b.ReportMetric(float64(found)/float64(i), "found")
	})
	b.Run("each", func(b *testing.B) {
		b.ReportAllocs()
		found, i := 0, 0
		for b.Loop() {
			q := qs[i&255]
			ps := l.Near(q[0], q[1], 200, 1000)
			rs := make([]tracker.Rendered, len(ps))
			for j := range ps {
				rs[j] = tracker.Render(&ps[j])
			}
			_ = tracker.AppendItems(make([]byte, 0, 64+len(rs)*320), rs, now, 2*time.Minute)
			found += len(ps)
			i++
		}
		b.ReportMetric(float64(found)/float64(i), "found")
	})
}
