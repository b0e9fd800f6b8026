package geo

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

type testProps struct {
	TS    time.Time `json:"ts"`
	Speed *float64  `json:"speed_mps"`
}

func TestTrailGeoJSON(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	speed := 12.5
	fixes := []TrailFix{
		{Lat: 41.15, Lng: -8.61, Properties: testProps{TS: t0, Speed: &speed}},
		{Lat: 41.16, Lng: -8.61, Properties: testProps{TS: t0.Add(time.Minute)}},
		{Lat: 41.16, Lng: -8.60, Properties: testProps{TS: t0.Add(2 * time.Minute)}},
	}
	b, err := TrailGeoJSON(map[string]any{"technician_id": 7}, fixes)
	if err != nil {
		t.Fatal(err)
	}
	fc, err := geojson.UnmarshalFeatureCollection(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if len(fc.Features) != 4 {
		t.Fatalf("%d features, want the line and 3 points: %s", len(fc.Features), b)
	}
	line, ok := fc.Features[0].Geometry.(orb.LineString)
	if !ok || len(line) != 3 || line[0] != (orb.Point{-8.61, 41.15}) || line[2] != (orb.Point{-8.60, 41.16}) {
		t.Fatalf("line = %#v", fc.Features[0].Geometry)
	}
	want := DistanceM(41.15, -8.61, 41.16, -8.61) + DistanceM(41.16, -8.61, 41.16, -8.60)
	if p := fc.Features[0].Properties; p["technician_id"] != 7.0 || math.Abs(p["distance_m"].(float64)-want) > 1e-6 {
		t.Fatalf("line properties = %v, want distance_m %v", p, want)
	}
	for i, f := range fc.Features[1:] {
		if pt, ok := f.Geometry.(orb.Point); !ok || pt != Point(fixes[i].Lat, fixes[i].Lng) {
			t.Fatalf("point %d = %#v", i, f.Geometry)
		}
		if f.Properties["ts"] != fixes[i].Properties.(testProps).TS.Format(time.RFC3339Nano) {
			t.Fatalf("point %d properties = %v", i, f.Properties)
		}
	}
	if fc.Features[1].Properties["speed_mps"] != 12.5 || fc.Features[2].Properties["speed_mps"] != nil {
		t.Fatalf("speeds = %v, %v", fc.Features[1].Properties, fc.Features[2].Properties)
	}

	// One fix: no line (a LineString needs two positions), the point.
	b, _ = TrailGeoJSON(nil, fixes[:1])
	if fc, err := geojson.UnmarshalFeatureCollection(b); err != nil || len(fc.Features) != 1 || fc.Features[0].Geometry.GeoJSONType() != "Point" {
		t.Fatalf("one fix: %s", b)
	}
	// None: an empty collection, features [] and not null.
	b, _ = TrailGeoJSON(map[string]any{"technician_id": 7}, nil)
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil || raw["type"] != "FeatureCollection" || raw["features"] == nil || len(raw["features"].([]any)) != 0 {
		t.Fatalf("no fixes: %s", b)
	}
}

// TestTrailGeoJSONAntimeridian: a trail across 180° is cut there, both
// ways, and measured the short way.
func TestTrailGeoJSONAntimeridian(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lngs  []float64
		parts [][]orb.Point
	}{
		{"eastward", []float64{179.998, 179.999, -179.999}, [][]orb.Point{
			{{179.998, -16.8}, {179.999, -16.81}, {180, -16.815}},
			{{-180, -16.815}, {-179.999, -16.82}},
		}},
		{"westward and back", []float64{-179.999, 179.999, -179.999}, [][]orb.Point{
			{{-179.999, -16.8}, {-180, -16.805}},
			{{180, -16.805}, {179.999, -16.81}, {180, -16.815}},
			{{-180, -16.815}, {-179.999, -16.82}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fixes []TrailFix
			for i, lng := range tc.lngs {
				fixes = append(fixes, TrailFix{Lat: -16.8 - 0.01*float64(i), Lng: lng, Properties: map[string]any{}})
			}
			b, err := TrailGeoJSON(nil, fixes)
			if err != nil {
				t.Fatal(err)
			}
			fc, err := geojson.UnmarshalFeatureCollection(b)
			if err != nil {
				t.Fatal(err)
			}
			mls, ok := fc.Features[0].Geometry.(orb.MultiLineString)
			if !ok || len(mls) != len(tc.parts) {
				t.Fatalf("trail = %#v", fc.Features[0].Geometry)
			}
			for i, part := range mls {
				if len(part) != len(tc.parts[i]) {
					t.Fatalf("part %d = %v, want %v", i, part, tc.parts[i])
				}
				for j := range part {
					if math.Abs(part[j][0]-tc.parts[i][j][0]) > 1e-9 || math.Abs(part[j][1]-tc.parts[i][j][1]) > 1e-9 {
						t.Fatalf("part %d = %v, want %v", i, part, tc.parts[i])
					}
				}
			}
			if d := fc.Features[0].Properties["distance_m"].(float64); d > 5000 { // a few steps of 1.1 km
				t.Fatalf("distance_m = %v, the long way round", d)
			}
		})
	}
}

// TestTrailGeoJSONCuts: whatever the trail near the antimeridian, the
// GeoJSON encodes, no part of the line crosses it, and it holds every fix.
func TestTrailGeoJSONCuts(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	choices := []float64{180, -180, 179.9999, -179.9999, 0.5, -0.5}
	for range 2000 {
		var fixes []TrailFix
		for range 2 + rng.IntN(6) {
			lng := choices[rng.IntN(len(choices))]
			if lng == 0.5 || lng == -0.5 {
				lng = wrapLng(180 + lng*rng.Float64())
			}
			fixes = append(fixes, TrailFix{Lat: rng.Float64()*2 - 17, Lng: lng})
		}
		b, err := TrailGeoJSON(nil, fixes)
		if err != nil {
			t.Fatalf("%v: %v", fixes, err)
		}
		fc, err := geojson.UnmarshalFeatureCollection(b)
		if err != nil || len(fc.Features) != len(fixes)+1 {
			t.Fatalf("%v: %s, %v", fixes, b, err)
		}
		var parts orb.MultiLineString
		switch g := fc.Features[0].Geometry.(type) {
		case orb.LineString:
			parts = orb.MultiLineString{g}
		case orb.MultiLineString:
			parts = g
		}
		n := 0
		for _, part := range parts {
			if len(part) < 2 {
				t.Fatalf("%v: a part of one position: %v", fixes, parts)
			}
			for i, p := range part {
				if math.Abs(p[0]) > 180 || math.IsNaN(p[1]) {
					t.Fatalf("%v: %v", fixes, parts)
				}
				if i > 0 && math.Abs(p[0]-part[i-1][0]) > 180 {
					t.Fatalf("%v: a part crosses the antimeridian: %v", fixes, parts)
				}
				if n < len(fixes) && p == Point(fixes[n].Lat, fixes[n].Lng) {
					n++
				}
			}
		}
		if n != len(fixes) {
			t.Fatalf("%v: the line holds %d of the fixes: %v", fixes, n, parts)
		}
	}
}
