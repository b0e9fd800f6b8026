package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
)

// BenchmarkInsertPositions is the recorder's commit as the live load makes
// it (one fix from each of 20 technicians of 10,000, staged), and as a
// phone's batch makes it (100 fixes of one technician, to the history);
// ns/op is per commit, merges included as they come.
func BenchmarkInsertPositions(b *testing.B) {
	for _, tc := range []struct{ techs, perTech int }{{20, 1}, {1, 100}} {
		b.Run(fmt.Sprintf("technicians=%d/fixes=%d", tc.techs, tc.perTech), func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "enroute.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
			ps := make([]enroute.Position, tc.techs*tc.perTech)
			next := 0 // the next technician of 10,000
			b.ReportAllocs()
			for i := range b.N {
				for k := range ps {
					tech := int64((next+k/tc.perTech)%10_000 + 1)
					ps[k] = enroute.Position{TechnicianID: tech, DeviceID: tech, Time: t0.Add(time.Duration(i*tc.perTech+k) * time.Second),
						Lat: 41.15 + float64(k)*1e-5, Lng: -8.61, AccuracyM: 5, SpeedMPS: 10, HeadingDeg: 90, Battery: 80, ReceivedAt: t0}
				}
				next += tc.techs
				if err := s.InsertPositions(ctx, ps); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSaveModel: saving a large ETA model's snapshot (4.4 MB:
// eta's BenchmarkSnapshot, 169,000 cell-hours), which holds the one writer
// while it runs.
func BenchmarkSaveModel(b *testing.B) {
	ctx := context.Background()
	s := openTemp(b)
	data := make([]byte, 4_447_403)
	for i := range data {
		data[i] = byte(i * 31)
	}
	for b.Loop() {
		if err := s.SaveModel(ctx, &enroute.ModelSnapshot{Data: data, LearnedUntil: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
}
