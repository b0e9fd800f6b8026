package main

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// streamBatch sends one batch of a fix taken `ago` before now on a device
// stream.
func streamBatch(ws *websocket.Conn, seq int, lat float64, ago time.Duration) error {
	return ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"seq":%d,"fixes":[{"ts":%d,"lat":%f,"lng":-8.61}]}`,
		seq, time.Now().Add(-ago).UnixMilli(), lat)))
}

// openStream opens a device stream with token and checks that a batch (a
// fix taken `ago` before now) is acknowledged on it.
func (st *stack) openStream(t *testing.T, token string, ago time.Duration) *websocket.Conn {
	t.Helper()
	ws, _, err := st.wsDial("/api/v1/devices/stream", "Authorization", "Bearer "+token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	if err := streamBatch(ws, 1, 41.15, ago); err != nil {
		t.Fatal(err)
	}
	if ack := next(t, ws, 5*time.Second); ack["type"] != "ack" || ack["accepted"] != 1.0 {
		t.Fatalf("ack = %v", ack)
	}
	return ws
}

// closedWith waits up to timeout for ws to be closed and returns the code.
func closedWith(t *testing.T, ws *websocket.Conn, timeout time.Duration) int {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(timeout))
	for {
		_, raw, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code
		} else if err != nil {
			t.Fatalf("the stream was not closed: %v", err)
		}
		t.Logf("message before the close: %s", raw)
	}
}

// TestDeviceStreamEndsWhenDeviceChanges: revoking a device, replacing its
// token or deleting its technician closes its open streams at once with
// 4001, and nothing it sends afterwards is stored. Before, a revoked
// device's open stream was acknowledged 40 s later and its fixes kept.
func TestDeviceStreamEndsWhenDeviceChanges(t *testing.T) {
	st := newIngestStack(t)
	for _, tc := range []struct {
		name   string
		change func(tech, device int64) (newToken string)
	}{
		{"revoked", func(_, device int64) string {
			st.ok("DELETE", fmt.Sprintf("/api/v1/devices/%d", device), nil)
			return ""
		}},
		{"token replaced", func(_, device int64) string {
			r := st.ok("POST", fmt.Sprintf("/api/v1/devices/%d/token", device), nil)
			if r.status != 200 || r.str("token") == "" || r.id() != device {
				t.Fatalf("new token = %d %s", r.status, r.raw)
			}
			return r.str("token")
		}},
		{"technician deleted", func(tech, _ int64) string {
			st.ok("DELETE", fmt.Sprintf("/api/v1/technicians/%d", tech), nil)
			return ""
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tech, _, token := st.device("Ana " + tc.name)
			device := int64(st.ok("GET", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), nil).items()[0]["id"].(float64))
			ws := st.openStream(t, token, 40*time.Second)
			other := st.openStream(t, token, 35*time.Second) // a second stream of the same phone
			before := st.stored()
			newToken := tc.change(tech, device)
			// The change answered: both streams are already closing.
			for _, s := range []*websocket.Conn{ws, other} {
				if code := closedWith(t, s, 2*time.Second); code != 4001 {
					t.Fatalf("closed with %d, want 4001", code)
				}
			}
			_ = streamBatch(ws, 2, 41.16, 10*time.Second) // what a phone sends meanwhile
			if _, res, err := st.wsDial("/api/v1/devices/stream", "Authorization", "Bearer "+token); err == nil || res.StatusCode != 401 {
				t.Fatalf("the old token opened a stream again")
			}
			if status, _ := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json",
				fmt.Sprintf(`[{"ts":%d,"lat":41.17,"lng":-8.61}]`, time.Now().Add(-5*time.Second).UnixMilli()), "Authorization", "Bearer "+token); status != 401 {
				t.Fatalf("the old token posted a fix: %d", status)
			}
			if got := st.stored(); got != before {
				t.Fatalf("%d fixes stored after the change", got-before)
			}
			if newToken != "" { // the phone carries on with its new token
				ws := st.openStream(t, newToken, 20*time.Second)
				// Past the next questions about changed devices, which still
				// report this one, the new token's stream stays open.
				time.Sleep(2*time.Second + 500*time.Millisecond)
				if err := streamBatch(ws, 2, 41.1501, 10*time.Second); err != nil {
					t.Fatal(err)
				}
				if ack := next(t, ws, 5*time.Second); ack["type"] != "ack" || ack["accepted"] != 1.0 {
					t.Fatalf("the new token's stream, seconds later: %v", ack)
				}
			}
		})
	}
}

// TestDeviceChangesReachOtherNodes: a device revoked or deleted with its
// technician on node A loses its stream on node B within the time B takes
// to ask what changed (2 s), with no request needed to make it ask.
func TestDeviceChangesReachOtherNodes(t *testing.T) {
	a, b := nodePair(t, natsURL(t))
	for _, tc := range []struct {
		name   string
		change func(tech, device int64)
	}{
		{"revoked", func(_, device int64) { a.ok("DELETE", fmt.Sprintf("/api/v1/devices/%d", device), nil) }},
		{"technician deleted", func(tech, _ int64) { a.ok("DELETE", fmt.Sprintf("/api/v1/technicians/%d", tech), nil) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tech, _, token := a.device("Ana " + tc.name)
			device := int64(a.ok("GET", fmt.Sprintf("/api/v1/technicians/%d/devices", tech), nil).items()[0]["id"].(float64))
			ws := b.openStream(t, token, 30*time.Second)
			tc.change(tech, device)
			if code := closedWith(t, ws, 6*time.Second); code != 4001 {
				t.Fatalf("closed with %d, want 4001", code)
			}
			if status, _ := send(t, "POST", "http://"+b.m.Addr()+"/api/v1/positions", "application/json",
				fmt.Sprintf(`[{"ts":%d,"lat":41.17,"lng":-8.61}]`, time.Now().Add(-5*time.Second).UnixMilli()), "Authorization", "Bearer "+token); status != 401 {
				t.Fatalf("node B took a fix of the changed device: %d", status)
			}
		})
	}
}
