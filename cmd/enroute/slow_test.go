package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestSlowConsumerEvicted: a dispatcher board that never reads is dropped,
// while a board that reads keeps receiving every technician promptly.
func TestSlowConsumerEvicted(t *testing.T) {
	st := &stack{t: t, env: map[string]string{"ENROUTE_DATA_DIR": t.TempDir(), "ENROUTE_ADMIN_TOKEN": testAdminToken, "ENROUTE_WS_WRITE_TIMEOUT": "1s"}}
	st.m, _ = start(t, st.env)
	const techs = 40
	var tokens []string
	for i := range techs {
		_, _, tok := st.device(fmt.Sprintf("Tech %d", i))
		tokens = append(tokens, tok)
	}

	// The slow board: a tiny receive buffer, and it never reads.
	slowDialer := websocket.Dialer{NetDialContext: (&net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048) })
	}}).DialContext}
	auth := http.Header{"Authorization": {"Bearer " + testAdminToken}}
	slow, _, err := slowDialer.Dial("ws://"+st.m.Addr()+"/api/v1/live", auth)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if err := slow.WriteJSON(map[string]any{"type": "subscribe"}); err != nil {
		t.Fatal(err)
	}

	good, _, err := websocket.DefaultDialer.Dial("ws://"+st.m.Addr()+"/api/v1/live", auth)
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	if err := good.WriteJSON(map[string]any{"type": "subscribe"}); err != nil {
		t.Fatal(err)
	}
	var (
		mu        sync.Mutex
		latencies []time.Duration
		last      = map[float64]float64{} // technician -> latest lat seen
	)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			type pos struct {
				Tech float64   `json:"technician_id"`
				TS   time.Time `json:"ts"`
				Lat  float64   `json:"lat"`
			}
			_, raw, err := good.ReadMessage()
			if err != nil {
				return
			}
			for _, r := range unbatch(raw) {
				var m struct {
					Type      string `json:"type"`
					Positions []pos  `json:"positions"`
					pos
				}
				if err := json.Unmarshal(r, &m); err != nil {
					t.Errorf("message %s: %v", r, err)
					return
				}
				switch m.Type {
				case "position":
					m.Positions = []pos{m.pos}
				case "positions":
				default:
					continue
				}
				mu.Lock()
				for _, p := range m.Positions {
					latencies = append(latencies, time.Since(p.TS))
					last[p.Tech] = p.Lat
				}
				mu.Unlock()
			}
		}
	}()

	// Load: every technician moves, in rounds, from parallel senders, until
	// the slow board is evicted: by its blocked write's deadline once the
	// kernel's buffers are full, or by the hub's MaxLag (10 s) before
	// that, whichever comes first: how much a socket buffers depends on
	// the machine (tcp_wmem), and once all was sent nothing would lag.
	fix := func(tok string, i int, lat float64) {
		body := fmt.Sprintf(`[{"ts":%q,"lat":%f,"lng":%f,"speed_mps":10,"heading_deg":90,"accuracy_m":5}]`,
			time.Now().UTC().Format(time.RFC3339Nano), lat, -8.61+float64(i)*1e-3)
		if status, raw := send(t, "POST", "http://"+st.m.Addr()+"/api/v1/positions", "application/json", body, "Authorization", "Bearer "+tok); status != 200 {
			t.Errorf("fix = %d %s", status, raw)
		}
	}
	var evicted atomic.Bool
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() {
			for r := 0; !evicted.Load() && !t.Failed(); r++ {
				fix(tok, i, 41.15+float64(r%2)*1e-4) // 11 m back and forth
			}
		})
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(metric(t, st), "enroute_websocket_evictions_total 1") {
		if time.Now().After(deadline) {
			evicted.Store(true)
			wg.Wait()
			t.Fatalf("the never-reading board was not evicted in 30 s of load:\n%s", metric(t, st))
		}
		time.Sleep(50 * time.Millisecond)
	}
	evicted.Store(true)
	wg.Wait()
	// ...and the good one sees every technician's last position, promptly.
	const final = 41.1502 // 11-22 m on: no jump
	for i, tok := range tokens {
		wg.Go(func() { fix(tok, i, final) })
	}
	wg.Wait()
	deadline = time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, lat := range last {
			if lat == final {
				n++
			}
		}
		mu.Unlock()
		if n == techs {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the reading board has the last position of %d of %d technicians", n, techs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	slices.Sort(latencies)
	p50, p99, max := latencies[len(latencies)/2], latencies[len(latencies)*99/100], latencies[len(latencies)-1]
	mu.Unlock()
	t.Logf("reading board: %d updates, fix-to-board latency p50 %v p99 %v max %v", len(latencies), p50, p99, max)
	// The slow board's blocked writes (1 s each) never held the others up.
	if max >= time.Second {
		t.Fatalf("the reading board waited %v behind the slow one", max)
	}
	if !strings.Contains(metric(t, st), "enroute_websockets_open 1") {
		t.Fatalf("open connections:\n%s", metric(t, st))
	}
	good.Close()
	<-readerDone
}

// metric returns the WebSocket lines of /metrics.
func metric(t *testing.T, st *stack) string {
	_, raw := send(t, "GET", "http://"+st.m.Addr()+"/metrics", "", "")
	var out []string
	for _, l := range strings.Split(raw, "\n") {
		if strings.HasPrefix(l, "enroute_websocket") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
