package httpapi

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// TestEncodePosition: the hand-written encoder says what encoding/json says.
func TestEncodePosition(t *testing.T) {
	for _, p := range []enroute.Position{
		{TechnicianID: 7, Time: time.Date(2026, 11, 27, 9, 0, 0, 123456000, time.UTC), Lat: 41.1496, Lng: -8.6109, AccuracyM: 4.5, SpeedMPS: -1, HeadingDeg: 359.9},
		{TechnicianID: 1 << 40, Time: time.Unix(0, 0), Lat: -90, Lng: 180, AccuracyM: 1e-7, SpeedMPS: 1e21, HeadingDeg: 0},
	} {
		var got, want map[string]any
		if err := json.Unmarshal(EncodePosition(&p), &got); err != nil {
			t.Fatalf("invalid JSON %s: %v", EncodePosition(&p), err)
		}
		b, _ := json.Marshal(positionOf(&p))
		_ = json.Unmarshal(b, &want)
		for k, v := range want {
			if f, ok := v.(float64); ok {
				if g, _ := got[k].(float64); math.Abs(g-f) > 1e-9*math.Abs(f) {
					t.Fatalf("%s = %v, want %v", k, got[k], v)
				}
			} else if got[k] != v {
				t.Fatalf("%s = %v, want %v", k, got[k], v)
			}
		}
	}
	ps := []tracker.Update{{Pos: enroute.Position{TechnicianID: 1}}, {Pos: enroute.Position{TechnicianID: 2}}}
	var m struct {
		Type      string           `json:"type"`
		Positions []map[string]any `json:"positions"`
	}
	// Appended after what the buffer held before (it is reused).
	b := appendFrame([]byte("stale"), ps)[len("stale"):]
	if err := json.Unmarshal(b, &m); err != nil || m.Type != "positions" || len(m.Positions) != 2 {
		t.Fatalf("frame = %s (%v)", b, err)
	}
	// A progress message encoded once reads as the one marshalled per viewer.
	pr := &enroute.Progress{AssignmentID: 7, TechnicianID: 1, DistanceM: 1234, ETA: time.Now().Add(time.Minute)}
	var got, want map[string]any
	if err := json.Unmarshal(EncodeProgress(pr), &got); err != nil {
		t.Fatal(err)
	}
	wb, _ := json.Marshal(progressMsg{Type: "progress", Progress: pr, ETAS: etaSeconds(pr)})
	json.Unmarshal(wb, &want)
	if got["type"] != "progress" || got["assignment_id"] != want["assignment_id"] || got["distance_m"] != want["distance_m"] || got["eta"] != want["eta"] {
		t.Fatalf("EncodeProgress = %v, want %v", got, want)
	}
}
