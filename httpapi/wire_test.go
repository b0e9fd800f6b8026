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
	ps := []tracker.Update{{Pos: &enroute.Position{TechnicianID: 1}}, {Pos: &enroute.Position{TechnicianID: 2}}}
	var m struct {
		Type      string           `json:"type"`
		Positions []map[string]any `json:"positions"`
	}
	// Appended after what the buffer held before (it is reused).
	b := appendPositions([]byte("stale"), ps)[len("stale"):]
	if err := json.Unmarshal(b, &m); err != nil || m.Type != "positions" || len(m.Positions) != 2 {
		t.Fatalf("frame = %s (%v)", b, err)
	}
	// A progress message encoded once reads as the one marshalled per
	// viewer, field for field (eta_s, counted from now, within a second).
	at := time.Date(2026, 11, 27, 9, 0, 0, 123456789, time.UTC)
	for _, pr := range []*enroute.Progress{
		{AssignmentID: 7, TechnicianID: 1, DistanceM: 1234.5, ETA: time.Now().Add(time.Minute), At: at},
		{AssignmentID: 1 << 40, TechnicianID: 3, DistanceM: 0, ETA: at.In(time.FixedZone("", -5*3600)), At: at.Add(-time.Hour)},
		{AssignmentID: 8, TechnicianID: 2, DistanceM: 900, ETA: at.Add(5 * time.Minute), ETAEarly: at.Add(4 * time.Minute), ETALate: at.Add(7*time.Minute + time.Millisecond), At: at},
	} {
		var got, want map[string]any
		if err := json.Unmarshal(EncodeProgress(pr), &got); err != nil {
			t.Fatalf("invalid JSON %s: %v", EncodeProgress(pr), err)
		}
		wb, _ := json.Marshal(progressMsg{Type: "progress", Progress: pr, ETAS: etaSeconds(pr)})
		_ = json.Unmarshal(wb, &want)
		if len(got) != len(want) {
			t.Fatalf("EncodeProgress = %v, want %v", got, want)
		}
		for k, v := range want {
			if k == "eta_s" {
				if g, _ := got[k].(float64); math.Abs(g-v.(float64)) > 1 {
					t.Fatalf("eta_s = %v, want about %v", got[k], v)
				}
			} else if got[k] != v {
				t.Fatalf("%s = %v, want %v (%s)", k, got[k], v, EncodeProgress(pr))
			}
		}
	}
}

// TestUpdatesOneMessage: what one take held goes out as one message:
// alone as itself, several wrapped in a "batch" in order, positions first.
func TestUpdatesOneMessage(t *testing.T) {
	at := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	pos := tracker.Update{Pos: &enroute.Position{TechnicianID: 7, Time: at, Lat: 41.15, Lng: -8.61}}
	pr := &enroute.Progress{AssignmentID: 3, TechnicianID: 7, DistanceM: 1200, ETA: at.Add(4 * time.Minute), At: at}
	status := &enroute.Assignment{ID: 3, Status: enroute.StatusWorking}
	type msg struct {
		Type     string            `json:"type"`
		Messages []json.RawMessage `json:"messages"`
		Lat      float64           `json:"lat"`
		Status   string            `json:"status"`
	}
	decode := func(b []byte) msg {
		t.Helper()
		var m msg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		return m
	}
	if m := decode(appendUpdates(nil, []tracker.Update{pos}, nil)); m.Type != "position" || m.Lat != 41.15 {
		t.Fatalf("one position = %+v", m)
	}
	if m := decode(appendUpdates(nil, nil, []tracker.Event{{Progress: pr}})); m.Type != "progress" {
		t.Fatalf("one progress = %+v", m)
	}
	// Appended to a reused buffer: a position, its progress, a status.
	buf := []byte("stale")
	b := appendUpdates(buf, []tracker.Update{pos}, []tracker.Event{{Progress: pr, Msg: EncodeProgress(pr)}, {Assignment: status}})
	if string(b[:len("stale")]) != "stale" {
		t.Fatalf("appendUpdates overwrote what b held: %s", b)
	}
	m := decode(b[len("stale"):])
	if m.Type != "batch" || len(m.Messages) != 3 {
		t.Fatalf("batch = %+v", m)
	}
	want := []string{"position", "progress", "status"}
	for i, raw := range m.Messages {
		if got := decode(raw); got.Type != want[i] {
			t.Fatalf("message %d = %s, want %s", i, raw, want[i])
		}
	}
	if got := decode(m.Messages[2]); got.Status != "working" {
		t.Fatalf("status = %s", m.Messages[2])
	}
}
