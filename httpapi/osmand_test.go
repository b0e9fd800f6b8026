package httpapi

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/tracker"
)

func TestOsmAndForm(t *testing.T) {
	for _, tc := range []struct {
		name, query, body string
		post              bool
		want              url.Values // nil: refused
	}{
		{"GET query", "id=a&lat=1", "", false, url.Values{"id": {"a"}, "lat": {"1"}}},
		{"GET ignores a body", "id=a", "id=b", false, url.Values{"id": {"a"}}},
		{"POST body", "", "id=a&lat=1", true, url.Values{"id": {"a"}, "lat": {"1"}}},
		{"POST body, trailing newline", "", "id=a&lat=1\r\n", true, url.Values{"id": {"a"}, "lat": {"1"}}},
		{"POST query only", "id=a&lat=1", "", true, url.Values{"id": {"a"}, "lat": {"1"}}},
		{"POST body first, then query", "id=q&lon=2", "id=b&lat=1", true, url.Values{"id": {"b", "q"}, "lat": {"1"}, "lon": {"2"}}},
		{"malformed query", "id=a&lat=%zz", "", false, nil},
		{"malformed body", "", "id=a&lat=%zz", true, nil},
		{"malformed body, the query has it", "id=a&lat=1", "%zz", true, url.Values{"id": {"a"}, "lat": {"1"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := readOsmAndForm(tc.query, tc.body, tc.post)
			defer got.release()
			if ok != (tc.want != nil) {
				t.Fatalf("osmandForm(%q, %q) ok = %v; want %v", tc.query, tc.body, ok, tc.want != nil)
			}
			for _, k := range []string{"id", "lat", "lon", "speed"} {
				if ok && got.Get(k) != tc.want.Get(k) {
					t.Fatalf("osmandForm(%q, %q).Get(%q) = %q; want %q", tc.query, tc.body, k, got.Get(k), tc.want.Get(k))
				}
			}
		})
	}
}

// readOsmAndForm is osmandForm on a query and a body as fasthttp gives
// them.
func readOsmAndForm(query, body string, post bool) (osmandArgs, bool) {
	var args fasthttp.Args
	args.Parse(query)
	return osmandForm(&args, []byte(query), []byte(body), post)
}

// FuzzOsmAndForm: osmandForm reads what net/http's ParseForm would (the
// body's values first, then the query's, by url.ParseQuery), and refuses
// what it refuses.
func FuzzOsmAndForm(f *testing.F) {
	for _, s := range [][2]string{
		{"id=a&lat=1", ""}, {"id=q&lon=2", "id=b&lat=1"}, {"id=a&lat=%zz", ""}, {"", "id=a&lat=%zz"},
		{"id=a;lat=1", ""}, {"id=a+b&lat=%2B1", "lon=%41"}, {"id&lat=", "id=&lat=2"}, {"%", ""}, {"a=%4", ""},
		{"id=x", "\r\nid=y\n"}, {"id=%e2%82%ac&lat=1", ""}, {"=", "%zz"}, {"id=a", "id=b" + strings.Repeat("&", maxOsmAndParams)},
	} {
		f.Add(s[0], s[1], true)
		f.Add(s[0], s[1], false)
	}
	f.Fuzz(func(t *testing.T, query, body string, post bool) {
		got, ok := readOsmAndForm(query, body, post)
		defer got.release()
		want, err := url.ParseQuery(query)
		wantOK := err == nil
		if b := strings.TrimSpace(body); wantOK && post && b != "" {
			if fromBody, err := url.ParseQuery(b); err != nil {
				wantOK = len(want) > 0
			} else {
				for k, vs := range want {
					fromBody[k] = append(fromBody[k], vs...)
				}
				want = fromBody
			}
		}
		if ok != wantOK {
			t.Fatalf("osmandForm(%q, %q, %v) ok = %v; url.ParseQuery's reading %v (%v)", query, body, post, ok, wantOK, err)
		}
		if !ok {
			return
		}
		for k := range want {
			// The empty key is no parameter of OsmAnd's: fasthttp drops
			// a segment "=" where url.ParseQuery keeps it under "".
			if k != "" && got.Get(k) != want.Get(k) {
				t.Fatalf("osmandForm(%q, %q, %v).Get(%q) = %q; url.ParseQuery's %q", query, body, post, k, got.Get(k), want.Get(k))
			}
		}
		for _, k := range []string{"id", "lat", "lon", "timestamp"} {
			if got.Get(k) != want.Get(k) {
				t.Fatalf("osmandForm(%q, %q, %v).Get(%q) = %q; url.ParseQuery's %q", query, body, post, k, got.Get(k), want.Get(k))
			}
		}
	})
}

// TestOsmAndTraccarClientPOST: Traccar Client's POSTs are read as Traccar
// reads them: the parameters in a body with no Content-Type or
// text/plain, or in the query of an empty POST; a JSON body still takes
// the JSON path, and only with a JSON content type (as in Traccar).
func TestOsmAndTraccarClientPOST(t *testing.T) {
	store := newTestStore(t)
	dev, _ := store.device("", "")
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	tr := tracker.New(tracker.Config{}, store, logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	s := NewServer(Config{}, store, Features{Ingest: tr, Live: tr}, logger)
	t.Cleanup(func() { _ = s.Close(context.Background()) })

	start := time.Now().Add(-time.Minute).Truncate(time.Second)
	raw := func(method, target, contentType, body string) string {
		head := method + " " + target + " HTTP/1.1\r\nHost: x\r\n"
		if contentType != "" {
			head += "Content-Type: " + contentType + "\r\n"
		}
		if method == "POST" {
			head += fmt.Sprintf("Content-Length: %d\r\n", len(body))
		}
		return head + "\r\n" + body
	}
	for i, tc := range []struct {
		name, method, query, contentType, body string
		want                                   int
		lat, speedMPS                          float64 // of the stored fix
	}{
		{"no content type", "POST", "", "", "id=%s&timestamp=%d&lat=41.1501&lon=-8.61&speed=10&batt=80", 200, 41.1501, 10 * 0.514444},
		{"no content type, trailing newline", "POST", "", "", "id=%s&timestamp=%d&lat=41.1502&lon=-8.61\n", 200, 41.1502, -1},
		{"text/plain", "POST", "", "text/plain; charset=utf-8", "id=%s&timestamp=%d&lat=41.1503&lon=-8.61&speed=0", 200, 41.1503, 0},
		{"octet-stream", "POST", "", "application/octet-stream", "deviceid=%s&timestamp=%d&location=41.1504,-8.61", 200, 41.1504, -1},
		{"query-string-only POST", "POST", "id=%s&timestamp=%d&lat=41.1505&lon=-8.61", "", "", 200, 41.1505, -1},
		{"query-string POST with text/plain", "POST", "id=%s&timestamp=%d&lat=41.1506&lon=-8.61", "text/plain", "", 200, 41.1506, -1},
		{"form", "POST", "", "application/x-www-form-urlencoded", "id=%s&timestamp=%d&lat=41.1507&lon=-8.61", 200, 41.1507, -1},
		{"JSON", "POST", "", "application/json; charset=utf-8",
			`{"device_id":"%s","location":{"timestamp":"%d","coords":{"latitude":41.1508,"longitude":-8.61,"speed":3}}}`, 200, 41.1508, 3},
		{"JSON without a JSON content type", "POST", "", "text/plain",
			`{"device_id":"%s","location":{"timestamp":"%d","coords":{"latitude":41.1509,"longitude":-8.61}}}`, 400, 0, 0},
		{"malformed body", "POST", "", "text/plain", "id=%s&timestamp=%d&lat=%%zz", 400, 0, 0},
		{"no parameters at all", "POST", "", "", "", 400, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := start.Add(time.Duration(i) * time.Second)
			fill := func(s string) string {
				if strings.Contains(s, "%s") {
					return fmt.Sprintf(s, dev.Identifier, ts.Unix())
				}
				return s
			}
			target := "/"
			if tc.query != "" {
				target += "?" + fill(tc.query)
			}
			var req fasthttp.Request
			if err := req.Read(bufio.NewReader(strings.NewReader(raw(tc.method, target, tc.contentType, fill(tc.body))))); err != nil {
				t.Fatal(err)
			}
			var rc fasthttp.RequestCtx
			rc.Init(&req, nil, nil)
			s.osmand(&rc)
			if got := rc.Response.StatusCode(); got != tc.want {
				t.Fatalf("status %d %s, want %d", got, rc.Response.Body(), tc.want)
			}
			if tc.want != 200 {
				if !strings.Contains(string(rc.Response.Body()), `"code":"invalid"`) {
					t.Fatalf("refusal = %s", rc.Response.Body())
				}
				return
			}
			ps, err := store.FindPositions(context.Background(), enroute.PositionFilter{TechnicianID: &store.tech.ID, Since: ts, Until: ts.Add(time.Second)})
			if err != nil {
				t.Fatal(err)
			}
			// The history keeps speeds to 1 cm/s.
			if len(ps) != 1 || ps[0].Lat != tc.lat || (tc.speedMPS >= 0 && fmt.Sprintf("%.2f", ps[0].SpeedMPS) != fmt.Sprintf("%.2f", tc.speedMPS)) {
				t.Fatalf("stored %+v, want one fix at lat %v, speed %v m/s", ps, tc.lat, tc.speedMPS)
			}
		})
	}
}
