package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/enroutehq/enroute"
)

// wsDial connects to a WebSocket of the stack with optional headers.
func (st *stack) wsDial(path string, headers ...string) (*websocket.Conn, *http.Response, error) {
	h := http.Header{}
	for i := 0; i+1 < len(headers); i += 2 {
		h.Set(headers[i], headers[i+1])
	}
	return websocket.DefaultDialer.Dial("ws://"+st.m.Addr()+path, h)
}

// boardAll opens a dispatcher board watching everything and returns it
// with its snapshot; it is closed when the test ends.
func (st *stack) boardAll() (*websocket.Conn, map[string]any) {
	st.t.Helper()
	ws := st.board()
	if err := ws.WriteJSON(map[string]any{"type": "subscribe"}); err != nil {
		st.t.Fatal(err)
	}
	return ws, next(st.t, ws, 5*time.Second)
}

// board opens a dispatcher board, not subscribed yet; it is closed when the
// test ends.
func (st *stack) board() *websocket.Conn {
	st.t.Helper()
	ws, _, err := st.wsDial("/api/v1/live", "Authorization", "Bearer "+testAdminToken)
	if err != nil {
		st.t.Fatal(err)
	}
	st.t.Cleanup(func() { ws.Close() })
	return ws
}

// portoAndChicago makes two technicians, one in Porto and one in Chicago,
// and returns the first one's id and both devices' tokens.
func (st *stack) portoAndChicago() (porto int64, portoToken, chicagoToken string) {
	st.t.Helper()
	porto, _, portoToken = st.device("Ana Silva")
	_, _, chicagoToken = st.device("Bruno Reis")
	st.fixAt(portoToken, 41.15, -8.61)
	st.fixAt(chicagoToken, 41.88, -87.63)
	return porto, portoToken, chicagoToken
}

// next reads the next JSON message within timeout.
func next(t *testing.T, ws *websocket.Conn, timeout time.Duration) map[string]any {
	t.Helper()
	unreadMu.Lock()
	q := unread[ws]
	if len(q) == 0 {
		unreadMu.Unlock()
		_ = ws.SetReadDeadline(time.Now().Add(timeout))
		_, raw, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		for _, r := range unbatch(raw) {
			var m map[string]any
			if err := json.Unmarshal(r, &m); err != nil {
				t.Fatalf("message %s: %v", r, err)
			}
			q = append(q, m)
		}
		unreadMu.Lock()
	}
	m := q[0]
	unread[ws] = q[1:]
	if len(q) == 1 {
		delete(unread, ws)
	}
	unreadMu.Unlock()
	return m
}

// unread holds the messages of a batch that next has not returned yet.
var (
	unreadMu sync.Mutex
	unread   = map[*websocket.Conn][]map[string]any{}
)

// unbatch returns the messages a WebSocket message holds: itself, or those
// of a "batch".
func unbatch(raw []byte) []json.RawMessage {
	var b struct {
		Type     string            `json:"type"`
		Messages []json.RawMessage `json:"messages"`
	}
	if json.Unmarshal(raw, &b) == nil && b.Type == "batch" {
		return b.Messages
	}
	return []json.RawMessage{raw}
}

// nextNotProgress reads the next message that is not a progress update,
// nor a status event saying "dispatched": the snapshot already said so,
// and on a node other than the one that dispatched, the bus may deliver
// the dispatch after the watcher connected.
func nextNotProgress(t *testing.T, ws *websocket.Conn, timeout time.Duration) map[string]any {
	t.Helper()
	for {
		if m := next(t, ws, timeout); m["type"] != "progress" && (m["type"] != "status" || m["status"] != "dispatched") {
			return m
		}
	}
}

// fixAt posts one fix for a device token at lat, lng, stamped now but at
// least 2 s after that device's previous one: tests send faster than a
// phone records, and a step of 100 m a few milliseconds after the last fix
// is an impossible jump the server rightly refuses.
func (st *stack) fixAt(token string, lat, lng float64) {
	st.t.Helper()
	body := fmt.Sprintf(`[{"ts":%d,"lat":%f,"lng":%f,"speed_mps":10}]`, fixTime(token).UnixMilli(), lat, lng)
	if status, raw := send(st.t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+token); status != 200 {
		st.t.Fatalf("fix = %d %s", status, raw)
	}
}

var (
	fixTimesMu sync.Mutex
	fixTimes   = map[string]time.Time{} // device token -> its last fix's time
)

// fixTime is now, or 2 s after the device's last fix if that is later.
func fixTime(token string) time.Time {
	fixTimesMu.Lock()
	defer fixTimesMu.Unlock()
	t := time.Now()
	if last, ok := fixTimes[token]; ok && t.Before(last.Add(2*time.Second)) {
		t = last.Add(2 * time.Second)
	}
	fixTimes[token] = t
	return t
}

// trackingLink dispatches a technician to a new job and returns a tracking
// token for the assignment, with arrival tracking on (a link shows
// positions only then).
func (st *stack) trackingLink(tech int64) (assignment int64, token string) {
	st.tracking()
	s := st.site("+351912345678", "")
	assignment = st.assign(st.job(s), tech)
	st.move(assignment, "dispatch")
	token = enroute.NewTrackingToken()
	if err := st.m.Store.CreateTrackingLink(context.Background(), &enroute.TrackingLink{AssignmentID: assignment}, enroute.HashSecret(token)); err != nil {
		st.t.Fatal(err)
	}
	return assignment, token
}

func TestCustomerStream(t *testing.T) {
	st := newIngestStack(t)
	ana, _, anaToken := st.device("Ana Silva")
	_, _, boToken := st.device("Bruno Reis")
	st.fixAt(anaToken, 41.1490, -8.6100)
	a, token := st.trackingLink(ana)

	ws, _, err := st.wsDial("/t/" + token + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	snap := next(t, ws, 5*time.Second)
	if snap["type"] != "snapshot" || snap["status"] != "dispatched" || snap["position"].(map[string]any)["lat"] != 41.149 {
		t.Fatalf("snapshot = %v", snap)
	}
	st.fixAt(boToken, 41.1600, -8.6000) // another technician: never shown
	st.fixAt(anaToken, 41.1492, -8.6102)
	m := nextNotProgress(t, ws, 5*time.Second)
	if m["type"] != "position" || m["lat"] != 41.1492 || int64(m["technician_id"].(float64)) != ana {
		t.Fatalf("update = %v", m)
	}
	// Enroute's own part of its latency is timed: one frame with a
	// position so far (the snapshot is not one, and Bruno's fix never came).
	if !poll(5*time.Second, func() bool { return counter(t, st, "enroute_customer_push_delay_seconds_count") >= 1 }) {
		t.Fatalf("the update's delay was not timed:\n%s", metric(t, st))
	}
	if n, sum := counter(t, st, "enroute_customer_push_delay_seconds_count"), counter(t, st, "enroute_customer_push_delay_seconds_sum"); n != 1 || sum <= 0 || sum > 5 {
		t.Fatalf("push delay: %v frames in %v s, want 1 in (0, 5]", n, sum)
	}
	// Arrived: a status event, and no more positions.
	st.move(a, "start")
	if m := nextNotProgress(t, ws, 5*time.Second); m["type"] != "status" || m["status"] != "working" {
		t.Fatalf("status = %v", m)
	}
	st.fixAt(anaToken, 41.1494, -8.6104)
	st.move(a, "complete")
	if m := nextNotProgress(t, ws, 5*time.Second); m["type"] != "status" || m["status"] != "done" {
		t.Fatalf("after working, got %v (a position must not be shown)", m)
	}

	// An unknown token: policy close.
	bad, _, err := st.wsDial("/t/" + enroute.NewTrackingToken() + "/live")
	if err != nil {
		t.Fatal(err)
	}
	_ = bad.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = bad.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("bad token = %v, want close 1008", err)
	}
	// A finished assignment's page connects but streams nothing.
	late, _, err := st.wsDial("/t/" + token + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if m := next(t, late, 5*time.Second); m["status"] != "done" || m["position"] != nil {
		t.Fatalf("finished snapshot = %v", m)
	}
}

// A fix whose estimate is due reaches the customer as one message: the
// position and the progress computed from it (the watcher queues the
// progress for the position's write, Hub.QueueProgress).
func TestPositionAndProgressInOneMessage(t *testing.T) {
	st := newIngestStack(t)
	ana, _, anaToken := st.device("Ana Silva")
	st.fixAt(anaToken, 41.1400, -8.6060)
	_, token := st.trackingLink(ana) // verified: distance and ETA are shown
	ws, _, err := st.wsDial("/t/" + token + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	next(t, ws, 5*time.Second)      // snapshot
	st.watcherIdle(5 * time.Second) // it follows the dispatch: the next fix gets an estimate
	st.fixAt(anaToken, 41.1410, -8.6060)
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, raw, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, r := range unbatch(raw) {
		var m struct{ Type string }
		_ = json.Unmarshal(r, &m)
		types = append(types, m.Type)
	}
	if fmt.Sprint(types) != "[position progress]" {
		t.Fatalf("one message held %v (%s), want the position and its progress", types, raw)
	}
}

func TestDispatcherViewport(t *testing.T) {
	st := newIngestStack(t)
	porto, portoToken, chicagoToken := st.portoAndChicago()
	if _, res, err := st.wsDial("/api/v1/live"); err == nil || res.StatusCode != 401 {
		t.Fatalf("without a key = %v %v", res, err)
	}
	ws := st.board()
	if err := ws.WriteJSON(map[string]any{"type": "subscribe", "bbox": []float64{41.0, -8.8, 41.3, -8.4}}); err != nil {
		t.Fatal(err)
	}
	snap := next(t, ws, 5*time.Second)
	ps := snap["positions"].([]any)
	if snap["type"] != "snapshot" || len(ps) != 1 || int64(ps[0].(map[string]any)["technician_id"].(float64)) != porto {
		t.Fatalf("snapshot = %v", snap)
	}
	st.fixAt(chicagoToken, 41.8801, -87.6301)
	st.fixAt(portoToken, 41.1501, -8.6101)
	if m := next(t, ws, 5*time.Second); int64(m["technician_id"].(float64)) != porto || m["lat"] != 41.1501 {
		t.Fatalf("update = %v (only Porto is in view)", m)
	}
	// Everything.
	if err := ws.WriteJSON(map[string]any{"type": "subscribe"}); err != nil {
		t.Fatal(err)
	}
	if snap := next(t, ws, 5*time.Second); len(snap["positions"].([]any)) != 2 {
		t.Fatalf("everything = %v", snap)
	}
	st.fixAt(chicagoToken, 41.8802, -87.6302)
	if m := next(t, ws, 5*time.Second); m["lat"] != 41.8802 {
		t.Fatalf("update = %v", m)
	}
	// A malformed message: policy close.
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"subscribe","bbox":[1,2]}`))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ce *websocket.CloseError
	for {
		if _, _, err := ws.ReadMessage(); err != nil {
			if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
				t.Fatalf("bad subscribe = %v", err)
			}
			break
		}
	}
	// A browser page from another origin is refused.
	if _, res, err := st.wsDial("/api/v1/live", "Authorization", "Bearer "+testAdminToken, "Origin", "https://evil.example"); err == nil || res.StatusCode != 403 {
		t.Fatalf("foreign origin = %v %v", res, err)
	}
}

// A board watching a burst of fixes gets them batched, several to a
// message (--board-flush), not a message a fix.
// TestBoardGetsABurst: fixes from many technicians at once all reach a
// board, each technician's own, in no more messages than fixes (what
// arrives while the board's writer keeps its spacing goes together; the
// spacing's batching itself: wsconn's TestGapBatchesAndCloseWakes and
// TestAdaptiveGap).
func TestBoardGetsABurst(t *testing.T) {
	st := newIngestStack(t)
	const n = 20
	tokens := make([]string, n)
	for i := range n {
		_, _, tokens[i] = st.device(fmt.Sprintf("Tech %d", i))
	}
	ws, snap := st.boardAll()
	if snap["type"] != "snapshot" {
		t.Fatalf("first = %v", snap)
	}
	// At once: each request on its own goroutine, failures reported back
	// (a test fails only from its own goroutine).
	var wg sync.WaitGroup
	failed := make(chan string, n)
	for i, tok := range tokens {
		body := fmt.Sprintf(`[{"ts":%d,"lat":%f,"lng":-8.61,"speed_mps":10}]`, fixTime(tok).UnixMilli(), 41.15+float64(i)*0.001)
		wg.Go(func() {
			req, _ := http.NewRequest("POST", "http://"+st.m.Addr()+"/api/v1/positions", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			res, err := keepAlive.Do(req)
			if err != nil {
				failed <- err.Error()
				return
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				failed <- res.Status
			}
		})
	}
	wg.Wait()
	close(failed)
	for f := range failed {
		t.Fatalf("a fix: %s", f)
	}
	seen := map[int64]float64{} // technician -> lat
	messages := 0
	for len(seen) < n {
		m := next(t, ws, 5*time.Second)
		var ps []any
		switch m["type"] {
		case "position":
			ps = []any{m}
		case "positions":
			ps = m["positions"].([]any)
		default:
			continue // progress, status
		}
		messages++
		for _, p := range ps {
			p := p.(map[string]any)
			seen[int64(p["technician_id"].(float64))] = p["lat"].(float64)
		}
	}
	if messages > n {
		t.Fatalf("%d messages for %d fixes", messages, n)
	}
	lats := slices.Sorted(maps.Values(seen))
	for i, lat := range lats {
		if math.Abs(lat-(41.15+float64(i)*0.001)) > 1e-9 {
			t.Fatalf("latitudes seen %v", lats)
		}
	}
	t.Logf("%d fixes reached the board in %d messages", n, messages)
}

func TestDeviceStream(t *testing.T) {
	st := newIngestStack(t)
	_, _, token := st.device("Ana Silva")
	ws, _, err := st.wsDial("/api/v1/devices/stream", "Authorization", "Bearer "+token)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	now := time.Now()
	for seq := range 3 {
		var fixes []string
		for i := range 10 {
			fixes = append(fixes, fmt.Sprintf(`{"ts":%d,"lat":%f,"lng":-8.61}`, now.Add(time.Duration(seq*10+i-60)*time.Second).UnixMilli(), 41.15+float64(seq*10+i)*1e-5))
		}
		if err := ws.WriteMessage(websocket.TextMessage, []byte(fmt.Sprintf(`{"seq":%d,"fixes":[%s]}`, seq+1, strings.Join(fixes, ",")))); err != nil {
			t.Fatal(err)
		}
		ack := next(t, ws, 5*time.Second)
		if ack["type"] != "ack" || ack["seq"] != float64(seq+1) || ack["accepted"] != 10.0 {
			t.Fatalf("ack = %v", ack)
		}
	}
	if got := st.stored(); got != 30 {
		t.Fatalf("stored %d", got)
	}
	_ = ws.WriteMessage(websocket.TextMessage, []byte(`{"seq":4,"fixes":{}}`))
	if ack := next(t, ws, 5*time.Second); ack["error"] == nil || ack["seq"] != 4.0 {
		t.Fatalf("bad batch ack = %v", ack)
	}
	if _, res, err := st.wsDial("/api/v1/devices/stream"); err == nil || res.StatusCode != 401 {
		t.Fatal("device stream without a token")
	}
}

// TestShutdownClosesWebSockets: every connection gets 1001 on shutdown.
func TestShutdownClosesWebSockets(t *testing.T) {
	st := newIngestStack(t)
	var conns []*websocket.Conn
	for range 3 {
		ws, _, err := st.wsDial("/api/v1/live", "Authorization", "Bearer "+testAdminToken)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, ws)
	}
	var wg sync.WaitGroup
	codes := make([]int, len(conns))
	for i, ws := range conns {
		wg.Go(func() {
			_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, _, err := ws.ReadMessage()
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				codes[i] = ce.Code
			}
		})
	}
	if err := st.m.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i, c := range codes {
		if c != websocket.CloseGoingAway {
			t.Fatalf("connection %d closed with %d, want 1001", i, c)
		}
	}
}

// TestUnverifiedAddressStreamsNoPositions: "If the customer's service
// location address is not verified, the arrival tracking screen shows the
// technician's name and the destination address": no position, ever.
func TestUnverifiedAddressStreamsNoPositions(t *testing.T) {
	st := newIngestStack(t)
	ana, _, token := st.device("Ana Silva")
	st.fixAt(token, 41.1490, -8.6100)
	a, link := st.trackingLink(ana)
	job := int64(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["job_id"].(float64))
	loc := int64(st.ok("GET", fmt.Sprintf("/api/v1/jobs/%d", job), nil).body["location_id"].(float64))
	st.ok("PATCH", fmt.Sprintf("/api/v1/locations/%d", loc), map[string]any{"verified": false})

	ws, _, err := st.wsDial("/t/" + link + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if snap := next(t, ws, 5*time.Second); snap["status"] != "dispatched" || snap["position"] != nil {
		t.Fatalf("snapshot = %v", snap)
	}
	st.fixAt(token, 41.1492, -8.6102)
	st.move(a, "start")
	if m := next(t, ws, 5*time.Second); m["type"] != "status" || m["status"] != "working" {
		t.Fatalf("got %v, want only the status event", m)
	}
}

// TestTrackingStateAndArrival drives a technician to a verified address:
// the state and the stream carry distance and ETA, the rating shows only
// at 4.0 or more, and staying at the address marks them arrived.
func TestTrackingStateAndArrival(t *testing.T) {
	st := newIngestStack(t)
	tech, _, token := st.device("Ana Silva")
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"rating": 3.9})
	a, link := st.trackingLink(tech) // the address: 41.1496, -8.606, verified

	get := func() map[string]any {
		_, raw := send(t, "GET", "http://"+st.m.Addr()+"/t/"+link+"/state", "", "")
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err != nil {
			t.Fatalf("state: %s", raw)
		}
		return m
	}
	s := get()
	if s["technician"].(map[string]any)["rating"] != nil || s["technician"].(map[string]any)["first_name"] != "Ana" {
		t.Fatalf("rating 3.9 shown, or no first name: %v", s["technician"])
	}
	st.ok("PATCH", fmt.Sprintf("/api/v1/technicians/%d", tech), map[string]any{"rating": 4.0})
	if r := get()["technician"].(map[string]any)["rating"]; r != 4.0 {
		t.Fatalf("rating 4.0 = %v", r)
	}

	ws, _, err := st.wsDial("/t/" + link + "/live")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	next(t, ws, 5*time.Second) // snapshot
	board, _, err := st.wsDial("/api/v1/live", "Authorization", "Bearer "+testAdminToken)
	if err != nil {
		t.Fatal(err)
	}
	defer board.Close()
	if err := board.WriteJSON(map[string]any{"type": "subscribe", "bbox": []float64{41.0, -8.8, 41.3, -8.4}}); err != nil {
		t.Fatal(err)
	}
	next(t, board, 5*time.Second) // snapshot
	// Drive north toward the address, then stay.
	start := time.Now().Add(-3 * time.Minute)
	send1 := func(lat float64, at time.Time) {
		body := fmt.Sprintf(`[{"ts":%d,"lat":%f,"lng":-8.6060,"speed_mps":8}]`, at.UnixMilli(), lat)
		if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+token); status != 200 {
			t.Fatalf("fix = %d %s", status, raw)
		}
	}
	for i := range 12 {
		send1(41.1410+float64(i)*0.0007, start.Add(time.Duration(i)*10*time.Second))
	}
	sawProgress := false
	for !sawProgress {
		m := next(t, ws, 5*time.Second)
		sawProgress = m["type"] == "progress" && m["distance_m"].(float64) > 0 && m["eta"] != nil
	}
	for {
		if m := next(t, board, 5*time.Second); m["type"] == "progress" {
			if int64(m["assignment_id"].(float64)) != a || m["eta_s"] == nil {
				t.Fatalf("board progress = %v", m)
			}
			break
		}
	}
	s = get()
	if s["distance_m"] == nil || s["eta"] == nil || s["position"] == nil || s["destination"].(map[string]any)["lat"] == nil {
		t.Fatalf("state en route lacks distance, ETA or position: %v", s)
	}
	// The API gives them too, for one assignment and in the list.
	hasProgress := func(v map[string]any) bool {
		p, ok := v["progress"].(map[string]any)
		return ok && p["distance_m"].(float64) > 0 && p["eta"] != nil && p["eta_s"] != nil && p["at"] != nil
	}
	if one := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil); !hasProgress(one.body) {
		t.Fatalf("assignment en route without progress: %s", one.raw)
	}
	for _, path := range []string{"/api/v1/assignments?status=dispatched", "/api/v1/jobs/" + fmt.Sprint(st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["job_id"]) + "/assignments"} {
		if items := st.ok("GET", path, nil).items(); len(items) != 1 || !hasProgress(items[0]) {
			t.Fatalf("%s: %v", path, items)
		}
	}
	// At the address for over a minute.
	at := start.Add(120 * time.Second)
	for i := range 8 {
		send1(41.1496, at.Add(time.Duration(i)*10*time.Second))
	}
	waitFor(t, 5*time.Second, "arrival from staying at the address", func() bool {
		return st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["status"] == "working"
	})
	for {
		m := next(t, ws, 5*time.Second)
		if m["type"] == "status" {
			if m["status"] != "working" {
				t.Fatalf("status = %v", m)
			}
			break
		}
	}
	if s := get(); s["status"] != "working" || s["position"] != nil || s["eta"] != nil {
		t.Fatalf("after arrival the page still shows a position or ETA: %v", s)
	}
	if one := st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil); one.body["progress"] != nil {
		t.Fatalf("an arrived assignment with progress: %s", one.raw)
	}
	if status, raw := send(t, "GET", "http://"+st.m.Addr()+"/t/"+enroute.NewTrackingToken()+"/state", "", ""); status != 404 || strings.Contains(raw, "Ana") {
		t.Fatalf("unknown token = %d %s", status, raw)
	}
}

// TestArrivalRuleFromSettings: a company that counts 300 m for 15 s as
// there (a site with a long drive) gets its technician marked arrived 250
// m from the address, creeping closer, which the default 125 m would not.
func TestArrivalRuleFromSettings(t *testing.T) {
	st := newIngestStack(t)
	st.ok("PUT", "/api/v1/settings/dispatch-notifications/tracking", map[string]any{"arrival_radius_m": 300, "arrival_dwell_s": 15})
	tech, _, token := st.device("Ana Silva")
	a, _ := st.trackingLink(tech) // the address: 41.1496, -8.606, verified
	start := time.Now().Add(-time.Minute)
	for i := range 5 { // 250 m south, 20 m closer every 10 s: never still
		body := fmt.Sprintf(`[{"ts":%d,"lat":%f,"lng":-8.6060,"speed_mps":2}]`, start.Add(time.Duration(i)*10*time.Second).UnixMilli(), 41.1496-0.00225+float64(i)*0.00018)
		if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+token); status != 200 {
			t.Fatalf("fix = %d %s", status, raw)
		}
	}
	waitFor(t, 5*time.Second, "arrival within the company's 300 m", func() bool {
		return st.ok("GET", fmt.Sprintf("/api/v1/assignments/%d", a), nil).body["status"] == "working"
	})
}

// TestDemo: make run's demo seeds a dispatched job and a technician who
// moves on the tracking page within seconds.
func TestDemo(t *testing.T) {
	env := map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken}
	m, out := start(t, env, "--demo")
	u := regexp.MustCompile(`Tracking page \(the customer's\):\s+(\S+)`).FindStringSubmatch(out.String())
	if !strings.Contains(out.String(), "/dispatch") || !strings.Contains(out.String(), "/settings/dispatch-notifications") {
		t.Fatalf("the demo does not print the board and settings URLs: %q", out.String())
	}
	if u == nil {
		t.Fatalf("no tracking URL printed: %q", out.String())
	}
	token := u[1][strings.LastIndex(u[1], "/")+1:]
	state := func() map[string]any {
		_, raw := send(t, "GET", "http://"+m.Addr()+"/t/"+token+"/state", "", "")
		var s map[string]any
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatalf("state: %s", raw)
		}
		return s
	}
	s := state()
	tech := s["technician"].(map[string]any)
	if s["status"] != "dispatched" || tech["first_name"] != "Alex" || tech["rating"] != 4.8 || s["destination"].(map[string]any)["verified"] != true {
		t.Fatalf("demo state = %v", s)
	}
	first := s["position"].(map[string]any)["lat"]
	waitFor(t, 10*time.Second, "move of the demo technician", func() bool {
		p, ok := state()["position"].(map[string]any)
		return ok && p["lat"] != first
	})
	if status, _ := send(t, "GET", "http://"+m.Addr()+"/static/demo-technician.svg", "", ""); status != 200 {
		t.Fatalf("demo photo = %d", status)
	}
}

// TestDemoLeavesRealDataAlone: --demo refuses a data directory that holds a
// company's own data and changes none of it; on its own directory a second
// run reuses the demo's records (no duplicates) and ends the first run's
// drive. Before, every start with --demo renamed the company and added a
// technician and a customer.
func TestDemoLeavesRealDataAlone(t *testing.T) {
	// A company's own store, then --demo on it.
	dir := t.TempDir()
	env := map[string]string{"ENROUTE_DATA_DIR": dir, "ENROUTE_ADMIN_TOKEN": testAdminToken}
	m, _ := start(t, env)
	call(t, m, testAdminToken, "PATCH", "/api/v1/company", map[string]any{"name": "Cool Air HVAC"})
	call(t, m, testAdminToken, "POST", "/api/v1/technicians", map[string]any{"name": "Ana Silva"})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	demo := NewMain()
	demo.Getenv = func(k string) string { return env[k] }
	demo.Stdout, demo.Stderr = io.Discard, io.Discard
	if err := demo.ParseFlags([]string{"--addr", "127.0.0.1:0", "--osmand-addr", "", "--demo"}); err != nil {
		t.Fatal(err)
	}
	err := demo.Run(context.Background())
	demo.Close()
	if !errors.Is(err, errNotForDemo) {
		t.Fatalf("--demo on a company's data = %v, want it refused", err)
	}
	m, _ = start(t, env)
	if c := call(t, m, testAdminToken, "GET", "/api/v1/company", nil); c["name"] != "Cool Air HVAC" {
		t.Fatalf("company after the refused demo = %v", c)
	}
	if techs := call(t, m, testAdminToken, "GET", "/api/v1/technicians", nil)["items"].([]any); len(techs) != 1 {
		t.Fatalf("technicians after the refused demo = %v", techs)
	}

	// The demo's own directory, twice.
	denv := map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken}
	first, _ := start(t, denv, "--demo")
	asg := call(t, first, testAdminToken, "GET", "/api/v1/assignments", nil)["items"].([]any)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	second, _ := start(t, denv, "--demo")
	for path, want := range map[string]int{"/api/v1/technicians": 1, "/api/v1/customers": 1, "/api/v1/locations": 1, "/api/v1/jobs": 2} {
		if items := call(t, second, testAdminToken, "GET", path, nil)["items"].([]any); len(items) != want {
			t.Errorf("%s after two demo runs: %d, want %d", path, len(items), want)
		}
	}
	old := call(t, second, testAdminToken, "GET", fmt.Sprintf("/api/v1/assignments/%d", int64(asg[0].(map[string]any)["id"].(float64))), nil)
	if old["status"] != "cancelled" {
		t.Errorf("the first run's drive = %v, want cancelled", old["status"])
	}
}

// clientFrame is a masked text frame as a browser sends it (payloads under
// 126 bytes).
func clientFrame(payload string) []byte {
	mask := [4]byte{0x1f, 0x2e, 0x3d, 0x4c}
	b := append([]byte{0x81, 0x80 | byte(len(payload))}, mask[:]...)
	for i := range len(payload) {
		b = append(b, payload[i]^mask[i%4])
	}
	return b
}

// Messages that reach the server in one packet are all handled: the
// viewer's reader waits on the socket only when gorilla's buffer is empty
// (viewer.read), so the second must not sit in the buffer unread.
func TestBoardReadsMessagesSentTogether(t *testing.T) {
	st := newIngestStack(t)
	st.portoAndChicago()
	ws := st.board()
	both := append(clientFrame(`{"type":"subscribe","bbox":[41.0,-8.8,41.3,-8.4]}`), clientFrame(`{"type":"subscribe"}`)...)
	if _, err := ws.NetConn().Write(both); err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{1, 2} {
		snap := next(t, ws, 5*time.Second)
		if snap["type"] != "snapshot" || len(snap["positions"].([]any)) != want {
			t.Fatalf("snapshot %d = %v, want %d positions", i+1, snap, want)
		}
	}
	// And one sent alone later still is.
	if err := ws.WriteJSON(map[string]any{"type": "subscribe", "bbox": []float64{41.0, -8.8, 41.3, -8.4}}); err != nil {
		t.Fatal(err)
	}
	if snap := next(t, ws, 5*time.Second); len(snap["positions"].([]any)) != 1 {
		t.Fatalf("third snapshot = %v", snap)
	}
}

// An idle customer's connection, whose reader only waits on the socket,
// still answers a ping, takes the peer's close handshake, and is released
// when the peer just drops the socket.
func TestIdleViewerSeesItsPeer(t *testing.T) {
	st := newIngestStack(t)
	ana, _, anaToken := st.device("Ana Silva")
	st.fixAt(anaToken, 41.1490, -8.6100)
	_, token := st.trackingLink(ana)
	open := func(n int) {
		t.Helper()
		if !poll(5*time.Second, func() bool { return strings.Contains(metric(t, st), fmt.Sprintf("enroute_websockets_open %d", n)) }) {
			t.Fatalf("want %d open:\n%s", n, metric(t, st))
		}
	}

	polite, _, err := st.wsDial("/t/" + token + "/live")
	if err != nil {
		t.Fatal(err)
	}
	rude, _, err := st.wsDial("/t/" + token + "/live")
	if err != nil {
		t.Fatal(err)
	}
	next(t, polite, 5*time.Second)
	next(t, rude, 5*time.Second)
	open(2)
	// A ping from the idle client: the viewer answers it (its ping handler).
	pong := make(chan string, 1)
	polite.SetPongHandler(func(s string) error { pong <- s; return nil })
	if err := polite.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	go func() { _ = polite.SetReadDeadline(time.Now().Add(5 * time.Second)); _, _, _ = polite.ReadMessage() }()
	select {
	case s := <-pong:
		if s != "are you there" {
			t.Fatalf("pong %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong from an idle viewer")
	}
	// Dropped without a word: released.
	_ = rude.NetConn().Close()
	open(1)
	// The close handshake: released too.
	_ = polite.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	open(0)
}
