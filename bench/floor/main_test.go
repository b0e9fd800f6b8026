package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestFloorForwardsAFix: the floor answers the generator's setup calls, and
// a posted fix reaches its technician's watcher and a board, answered as
// Enroute answers an all-accepted batch.
func TestFloorForwardsAFix(t *testing.T) {
	for _, inline := range []bool{false, true} {
		srv := httptest.NewServer(newServer(5*time.Millisecond, inline))
		call := func(path string, body any, out any) {
			t.Helper()
			b, _ := json.Marshal(body)
			res, err := http.Post(srv.URL+path, "application/json", bytes.NewReader(b))
			if err != nil || res.StatusCode != 200 {
				t.Fatalf("POST %s: %v %v", path, err, res)
			}
			defer res.Body.Close()
			if out != nil {
				if err := json.NewDecoder(res.Body).Decode(out); err != nil {
					t.Fatal(err)
				}
			}
		}
		var tech, a struct{ ID int64 }
		var dev struct{ Token string }
		var link struct{ Token string }
		call("/api/v1/technicians", map[string]string{"name": "Ana"}, &tech)
		call("/api/v1/technicians/"+itoa(tech.ID)+"/devices", nil, &dev)
		call("/api/v1/jobs/1/assignments", map[string]int64{"technician_id": tech.ID}, &a)
		call("/api/v1/assignments/"+itoa(a.ID)+"/tracking-link", nil, &link)

		ws := "ws" + strings.TrimPrefix(srv.URL, "http")
		watcher, _, err := websocket.DefaultDialer.Dial(ws+"/t/"+link.Token+"/live", nil)
		if err != nil {
			t.Fatal(err)
		}
		board, _, err := websocket.DefaultDialer.Dial(ws+"/api/v1/live", nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := board.WriteJSON(map[string]string{"type": "subscribe"}); err != nil {
			t.Fatal(err)
		}
		// The fix, sent again until both have it (readResending).
		send := func() (int, string) {
			req, _ := http.NewRequest("POST", srv.URL+"/api/v1/positions", strings.NewReader(`[{"ts":"2026-11-27T08:00:00.5Z","lat":41.88,"lng":-87.63}]`))
			req.Header.Set("Authorization", "Bearer "+dev.Token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var answer bytes.Buffer
			_, _ = answer.ReadFrom(res.Body)
			res.Body.Close()
			return res.StatusCode, answer.String()
		}
		if code, answer := send(); code != 200 || answer != `{"accepted":1,"duplicates":0,"rejected":[]}` {
			t.Fatalf("answer %d %s", code, answer)
		}
		want := `"ts":"2026-11-27T08:00:00.5Z","lat":41.88,"lng":-87.63`
		for name, msg := range readResending(t, func() { send() }, map[string]*websocket.Conn{"watcher": watcher, "board": board}) {
			if !strings.Contains(string(msg), want) {
				t.Fatalf("inline %v: %s got %s; want a message with %s", inline, name, msg, want)
			}
		}

		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/positions", strings.NewReader(`[]`))
		req.Header.Set("Authorization", "Bearer unknown")
		if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("an unknown device: %v %v, want 401", err, res)
		}
		watcher.Close()
		board.Close()
		srv.Close()
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestFloorOsmAnd: a fix sent as OsmAnd's query, by the identifier the
// device was given, is answered 200 and reaches the technician's watcher;
// an unknown identifier is 404 and an unreadable position 400.
func TestFloorOsmAnd(t *testing.T) {
	s := newServer(5*time.Millisecond, false)
	srv := httptest.NewServer(s)
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	osm := s.osmandServer()
	go func() { _ = osm.Serve(ln) }()
	defer osm.Shutdown()

	post := func(path string, body string, out any) {
		t.Helper()
		res, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("POST %s: %v %v", path, err, res)
		}
		defer res.Body.Close()
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	var tech, a struct{ ID int64 }
	var dev struct{ Identifier string }
	var link struct{ Token string }
	post("/api/v1/technicians", `{"name":"Ana"}`, &tech)
	post("/api/v1/technicians/"+itoa(tech.ID)+"/devices", `{}`, &dev)
	post("/api/v1/jobs/1/assignments", `{"technician_id":`+itoa(tech.ID)+`}`, &a)
	post("/api/v1/assignments/"+itoa(a.ID)+"/tracking-link", `{}`, &link)
	watcher, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/t/"+link.Token+"/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	for _, c := range []struct {
		query string
		want  int
	}{
		{"id=" + dev.Identifier + "&timestamp=1795000000&lat=41.88&lon=-87.63&speed=3", 200},
		{"id=nobody&timestamp=1795000000&lat=41.88&lon=-87.63", 404},
		{"id=" + dev.Identifier + "&timestamp=1795000000&lat=north&lon=-87.63", 400},
	} {
		res, err := http.Get("http://" + ln.Addr().String() + "/?" + c.query)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Fatalf("%s: %d, want %d", c.query, res.StatusCode, c.want)
		}
	}
	resend := func() {
		if res, err := http.Get("http://" + ln.Addr().String() + "/?" + "id=" + dev.Identifier + "&timestamp=1795000000&lat=41.88&lon=-87.63&speed=3"); err == nil {
			res.Body.Close()
		}
	}
	msg := readResending(t, resend, map[string]*websocket.Conn{"watcher": watcher})["watcher"]
	if want := `"ts":"2026-11-18T11:06:40Z","lat":41.88,"lng":-87.63`; !strings.Contains(string(msg), want) {
		t.Fatalf("watcher got %s; want a message with %s", msg, want)
	}
}

// readResending reads one message from each connection, calling send
// every 100 ms meanwhile: the floor registers a watcher just after its
// handshake's answer, and a board once it reads its subscribe message, so
// a fix sent at once can reach neither. It fails the test on a read error
// (each read waits at most 5 s).
func readResending(t *testing.T, send func(), conns map[string]*websocket.Conn) map[string][]byte {
	t.Helper()
	type read struct {
		name string
		msg  []byte
		err  error
	}
	got := make(chan read, len(conns))
	for name, c := range conns {
		go func() {
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, msg, err := c.ReadMessage()
			got <- read{name, msg, err}
		}()
	}
	out := map[string][]byte{}
	resend := time.NewTicker(100 * time.Millisecond)
	defer resend.Stop()
	for len(out) < len(conns) {
		select {
		case r := <-got:
			if r.err != nil {
				t.Fatalf("%s: %v", r.name, r.err)
			}
			out[r.name] = r.msg
		case <-resend.C:
			send()
		}
	}
	return out
}
