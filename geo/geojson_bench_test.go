package geo

import (
	"testing"
	"time"
)

// BenchmarkTrailGeoJSON: a page of history at the API's limit, each fix
// with properties as the API gives them.
func BenchmarkTrailGeoJSON(b *testing.B) {
	type props struct {
		TechnicianID int64     `json:"technician_id"`
		TS           time.Time `json:"ts"`
		AccuracyM    *float64  `json:"accuracy_m"`
		SpeedMPS     *float64  `json:"speed_mps"`
		Battery      *float64  `json:"battery"`
	}
	acc, speed := 5.0, 12.5
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	fixes := make([]TrailFix, 1000)
	for i := range fixes {
		p := &pairs[i&255]
		fixes[i] = TrailFix{Lat: p[0], Lng: p[1], Properties: props{TechnicianID: 7, TS: t0.Add(time.Duration(i) * time.Second), AccuracyM: &acc, SpeedMPS: &speed}}
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		out, err := TrailGeoJSON(map[string]any{"technician_id": 7, "from": t0, "to": t0.Add(999 * time.Second)}, fixes)
		if err != nil {
			b.Fatal(err)
		}
		n = len(out)
	}
	b.ReportMetric(float64(n), "bytes")
}
