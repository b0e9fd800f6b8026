package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

// post is a raw POST to the OsmAnd listener.
func post(contentType, body string) string {
	return fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n%s", contentType, len(body), body)
}

// fuzzIdent is the identifier of the device FuzzOsmAnd's requests name.
const fuzzIdent = "dev_fuzz0000000000000000000000"

// FuzzOsmAnd sends any HTTP request to the OsmAnd listener's handler, as
// fasthttp reads it off the wire: the answer is never a server error, and
// an error is always the one JSON shape.
func FuzzOsmAnd(f *testing.F) {
	now := time.Now().Unix()
	for _, s := range []string{
		fmt.Sprintf("GET /?id=%s&lat=41.15&lon=-8.61&timestamp=%d&speed=10&bearing=90&hdop=2&batt=80 HTTP/1.1\r\nHost: x\r\n\r\n", fuzzIdent, now),
		post("application/x-www-form-urlencoded", "id="+fuzzIdent+"&lat=41.1&lon=-8.6"),
		post("application/json", `{"device_id":"`+fuzzIdent+`","location":{"timestamp":"2026-12-06T09:00:00Z","coords":{"latitude":41.1,"longitude":-8.6,"speed":-1}}}`),
		post("application/json", `{"device_id":`),
		"GET /?id=dev_nosuchdevice000000000000&lat=41.1&lon=-8.6 HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /?lat=NaN&lon=Inf HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT / HTTP/1.1\r\nHost: x\r\n\r\n",
		"GET /?id=" + fuzzIdent + "&location=41.1,-8.6&timestamp=1e400 HTTP/1.1\r\nHost: x\r\n\r\n",
		// Traccar Client's POST: the parameters in a body with no
		// Content-Type, or text/plain, or in the query of an empty POST.
		fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len("id="+fuzzIdent+"&lat=41.1&lon=-8.6\n"), "id="+fuzzIdent+"&lat=41.1&lon=-8.6\n"),
		post("text/plain; charset=utf-8", fmt.Sprintf("id=%s&timestamp=%d&lat=41.1&lon=-8.6&speed=0&batt=51.0&charge=false", fuzzIdent, now)),
		"POST /?id=" + fuzzIdent + "&lat=41.1&lon=-8.6 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		"POST /?id=" + fuzzIdent + "&lat=41.1&lon=-8.6 HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n%zz",
	} {
		f.Add([]byte(s))
	}
	store := newTestStore(f)
	if err := store.CreateDevice(context.Background(), &enroute.Device{TechnicianID: store.tech.ID, Identifier: fuzzIdent}, enroute.HashSecret("fuzz-token")); err != nil {
		f.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr := tracker.New(tracker.Config{}, store, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	f.Cleanup(func() { cancel(); <-done })
	s := NewServer(Config{}, store, Features{Ingest: tr, Live: tr}, logger)
	f.Cleanup(func() { _ = s.Close(context.Background()) })

	f.Fuzz(func(t *testing.T, raw []byte) {
		var req fasthttp.Request
		if err := req.Read(bufio.NewReader(bytes.NewReader(raw))); err != nil {
			return // fasthttp answers what it cannot read itself (osmandBadRequest)
		}
		var rc fasthttp.RequestCtx
		rc.Init(&req, nil, nil)
		s.osmand(&rc)
		status, body := rc.Response.StatusCode(), rc.Response.Body()
		if status >= 500 {
			t.Fatalf("%q = %d %s", raw, status, body)
		}
		if status >= 400 {
			var answer ErrorResponse
			if err := json.Unmarshal(body, &answer); err != nil || answer.Error.Code == "" || answer.Error.Message == "" {
				t.Fatalf("%q = %d without the error shape: %s", raw, status, body)
			}
		}
	})
}
