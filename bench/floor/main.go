// Command floor is the least a server can do for bench/load's live mode:
// the endpoints the generator calls, on Enroute's own stack (net/http and
// gorilla/websocket), with nothing behind them. No store, no validation
// but parsing, no ETA, no H3, no history: a fix is parsed, answered and
// handed to its technician's watcher and to every board. bench/load run
// against it (SERVER=floor bench/nodes.sh) measures what this machine
// allows the live pattern itself, the floor under Enroute's figures.
//
// It is a benchmark tool, not a server: everything is kept in memory,
// every caller is trusted, and nothing is ever forgotten.
package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18081", "listen address")
	flush := flag.Duration("board-flush", 25*time.Millisecond, "a board gets its positions at most this often, as Enroute's --board-flush")
	inline := flag.Bool("inline", false, "write a watcher's position from the request's goroutine instead of waking the watcher's writer (one goroutine hop fewer)")
	osmandAddr := flag.String("osmand-addr", "", "also serve OsmAnd's one fix a request here, on fasthttp as Enroute does (empty: not)")
	flag.Parse()
	s := newServer(*flush, *inline)
	if *osmandAddr != "" {
		ln, err := net.Listen("tcp", *osmandAddr)
		if err != nil {
			log.Fatal(err)
		}
		go func() { log.Fatal(s.serveOsmAnd(ln)) }()
	}
	srv := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

// server is the floor's state: technicians by device token and by
// tracking token, and their watchers.
type server struct {
	flush  time.Duration
	inline bool
	up     websocket.Upgrader
	ids    atomic.Int64

	mu       sync.Mutex
	byDevice map[string]int64   // device token -> technician
	byIdent  map[string]int64   // device identifier (OsmAnd's id) -> technician
	byLink   map[string]int64   // tracking token -> technician
	techOf   map[int64]int64    // assignment -> technician
	watchers map[int64]*watcher // technician -> watcher
	boardLog []byte             // every position since start, encoded, comma-terminated
}

func newServer(flush time.Duration, inline bool) *server {
	return &server{flush: flush, inline: inline,
		up:       websocket.Upgrader{ReadBufferSize: 512, WriteBufferSize: 1024, WriteBufferPool: &sync.Pool{}},
		byDevice: map[string]int64{}, byIdent: map[string]int64{}, byLink: map[string]int64{}, techOf: map[int64]int64{}, watchers: map[int64]*watcher{}}
}

func token() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// fail answers with status and a JSON error naming the problem.
func fail(w http.ResponseWriter, status int, problem string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": problem})
}

// ServeHTTP routes by path: the generator's calls only.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/api/v1/positions":
		s.positions(w, r)
	case p == "/readyz":
		w.WriteHeader(http.StatusOK)
	case p == "/api/v1/live":
		s.board(w, r)
	case strings.HasPrefix(p, "/t/") && strings.HasSuffix(p, "/live"):
		s.watch(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/t/"), "/live"))
	case p == "/api/v1/technicians", p == "/api/v1/customers", p == "/api/v1/locations", p == "/api/v1/jobs":
		reply(w, map[string]int64{"id": s.ids.Add(1)})
	case strings.HasSuffix(p, "/devices"):
		tech, _ := strconv.ParseInt(strings.Split(p, "/")[4], 10, 64)
		tok, ident := token(), token()
		s.mu.Lock()
		s.byDevice[tok], s.byIdent[ident] = tech, tech
		s.mu.Unlock()
		reply(w, map[string]string{"identifier": ident, "token": tok})
	case strings.HasSuffix(p, "/assignments"):
		var in struct {
			TechnicianID int64 `json:"technician_id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&in)
		id := s.ids.Add(1)
		s.mu.Lock()
		s.techOf[id] = in.TechnicianID
		s.mu.Unlock()
		reply(w, map[string]int64{"id": id})
	case strings.HasSuffix(p, "/dispatch"), strings.HasPrefix(p, "/api/v1/settings/"):
		reply(w, map[string]string{}) // the settings the generator turns on (arrival tracking) are the floor's always
	case strings.HasSuffix(p, "/tracking-link"):
		a, _ := strconv.ParseInt(strings.Split(p, "/")[4], 10, 64)
		tok := token()
		s.mu.Lock()
		s.byLink[tok] = s.techOf[a]
		s.mu.Unlock()
		reply(w, map[string]string{"token": tok})
	default:
		http.NotFound(w, r)
	}
}

// fix is what the floor reads of a native fix.
type fix struct {
	TS  string  `json:"ts"`
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// positions takes a native batch: parsed, its newest handed on, answered.
func (s *server) positions(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	tech, ok := s.byDevice[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	s.mu.Unlock()
	if !ok {
		fail(w, http.StatusUnauthorized, "unknown device")
		return
	}
	buf := bodies.Get().(*bytes.Buffer)
	defer bodies.Put(buf)
	buf.Reset()
	var fixes []fix
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, 1<<20)); err != nil || json.Unmarshal(buf.Bytes(), &fixes) != nil || len(fixes) == 0 {
		fail(w, http.StatusBadRequest, "bad fixes")
		return
	}
	f := fixes[len(fixes)-1]
	s.publish(tech, fmt.Appendf(nil, `{"type":"position","technician_id":%d,"ts":%q,"lat":%g,"lng":%g}`, tech, f.TS, f.Lat, f.Lng))
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"accepted":%d,"duplicates":0,"rejected":[]}`, len(fixes))
}

// publish hands a technician's position to its watcher and to the boards.
func (s *server) publish(tech int64, msg []byte) {
	s.mu.Lock()
	wt := s.watchers[tech]
	s.boardLog = append(append(s.boardLog, msg...), ',')
	s.mu.Unlock()
	if wt != nil {
		wt.send(msg, s.inline)
	}
}

// watcher is a customer's connection: the newest position waits in next
// for the writer (latest wins), as in Enroute's hub.
type watcher struct {
	conn *websocket.Conn
	mu   sync.Mutex
	next []byte
	wake chan struct{}
	done chan struct{} // closed when the customer goes: the writer ends
}

func (wt *watcher) send(msg []byte, inline bool) {
	if inline {
		wt.mu.Lock()
		_ = wt.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		_ = wt.conn.WriteMessage(websocket.TextMessage, msg)
		wt.mu.Unlock()
		return
	}
	wt.mu.Lock()
	wt.next = msg
	wt.mu.Unlock()
	select {
	case wt.wake <- struct{}{}:
	default:
	}
}

func (wt *watcher) writer() {
	for {
		select {
		case <-wt.wake:
		case <-wt.done:
			return
		}
		wt.mu.Lock()
		msg := wt.next
		wt.next = nil
		if msg != nil {
			_ = wt.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
			if err := wt.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				wt.mu.Unlock()
				return
			}
		}
		wt.mu.Unlock()
	}
}

func (s *server) watch(w http.ResponseWriter, r *http.Request, tok string) {
	s.mu.Lock()
	tech, ok := s.byLink[tok]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	wt := &watcher{conn: conn, wake: make(chan struct{}, 1), done: make(chan struct{})}
	s.mu.Lock()
	s.watchers[tech] = wt
	s.mu.Unlock()
	go wt.writer()
	for {
		if _, _, err := conn.NextReader(); err != nil {
			break
		}
	}
	close(wt.done)
	s.mu.Lock()
	if s.watchers[tech] == wt {
		delete(s.watchers, tech)
	}
	s.mu.Unlock()
	_ = conn.Close()
}

// board sends every position, at most every s.flush, from the shared log.
func (s *server) board(w http.ResponseWriter, r *http.Request) {
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if _, _, err := conn.ReadMessage(); err != nil { // the subscribe message
		return
	}
	go func() {
		for {
			if _, _, err := conn.NextReader(); err != nil {
				return
			}
		}
	}()
	s.mu.Lock()
	from := len(s.boardLog)
	s.mu.Unlock()
	var frame []byte
	for {
		time.Sleep(s.flush)
		s.mu.Lock()
		frame = append(append(frame[:0], `{"type":"batch","positions":[`...), s.boardLog[from:]...)
		from = len(s.boardLog)
		s.mu.Unlock()
		if len(frame) == len(`{"type":"batch","positions":[`) {
			continue
		}
		frame = append(frame[:len(frame)-1], "]}"...)
		_ = conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if err := conn.WriteMessage(websocket.TextMessage, frame); err != nil {
			return
		}
	}
}
