package wsconn

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The frames a Conn writes itself read as gorilla's own: text of every
// length encoding (7-bit, 16-bit, 64-bit), a ping, and a close whose
// reason was cut to fit a control frame.
func TestFramesReadByGorilla(t *testing.T) {
	sizes := []int{0, 1, 125, 126, 127, 65535, 65536, 70000}
	long := strings.Repeat("é", 100) // 200 bytes: cut to 123 at a character's boundary
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var b []byte
		for _, n := range sizes {
			b = appendFrame(b, websocket.TextMessage, bytes.Repeat([]byte{'a' + byte(n%26)}, n))
		}
		b = appendFrame(b, websocket.PingMessage, []byte("still there?"))
		b = appendFrame(b, websocket.CloseMessage, closePayload(CloseSlowConsumer, long))
		_, _ = ws.NetConn().Write(b)
		_, _, _ = ws.ReadMessage() // until the client goes
	}))
	defer srv.Close()
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pinged := ""
	c.SetPingHandler(func(s string) error { pinged = s; return nil })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for _, n := range sizes {
		typ, msg, err := c.ReadMessage()
		if err != nil || typ != websocket.TextMessage || !bytes.Equal(msg, bytes.Repeat([]byte{'a' + byte(n%26)}, n)) {
			t.Fatalf("frame of %d bytes read as type %d, %d bytes, %v", n, typ, len(msg), err)
		}
	}
	_, _, err = c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != CloseSlowConsumer {
		t.Fatalf("after the texts: %v, want close %d", err, CloseSlowConsumer)
	}
	if pinged != "still there?" {
		t.Fatalf("ping = %q", pinged)
	}
	if want := strings.Repeat("é", 61); ce.Text != want {
		t.Fatalf("close reason = %q (%d bytes), want %d bytes", ce.Text, len(ce.Text), len(want))
	}
}
