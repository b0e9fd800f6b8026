package load

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The generator's own client reads what net/http's server writes: sized
// and chunked answers, on one kept-alive connection, and a closed one is
// dialled again.
func TestRawConn(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/sized":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"accepted":` + r.Header.Get("X-N") + `,"echo":"` + string(body) + `"}`))
		case "/chunked":
			w.Write([]byte("part one, "))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		case "/close":
			w.Header().Set("Connection", "close")
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	rc, err := NewRawConn(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		status, body, err := rc.Do("POST", "/sized", []string{"X-N: 7"}, []byte("hi"))
		if err != nil || status != 200 || string(body) != `{"accepted":7,"echo":"hi"}` {
			t.Fatalf("request %d: %d %q %v", i, status, body, err)
		}
	}
	status, body, err := rc.Do("GET", "/chunked", nil, nil)
	if err != nil || status != 200 || string(body) != "part one, part two" {
		t.Fatalf("chunked: %d %q %v", status, body, err)
	}
	status, _, err = rc.Do("GET", "/close", nil, nil)
	if err != nil || status != 400 {
		t.Fatalf("close: %d %v", status, err)
	}
	status, body, err = rc.Do("GET", "/sized", []string{"X-N: 1"}, nil)
	if err != nil || status != 200 || !strings.HasPrefix(string(body), `{"accepted":1`) {
		t.Fatalf("after close: %d %q %v", status, body, err)
	}
	if conns.Load() != 2 {
		t.Fatalf("%d connections, want 2 (one kept alive, one after the close)", conns.Load())
	}
}
