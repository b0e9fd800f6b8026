package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/enroutehq/enroute/httpapi"
	"github.com/enroutehq/enroute/tracker"
	"github.com/enroutehq/enroute/webhook"
)

func loadOpenAPI(t testing.TB, e *env) *openapi3.T {
	t.Helper()
	r := e.must(200, "", "GET", "/api/v1/openapi.yaml", nil)
	doc, err := openapi3.NewLoader().LoadFromData(r.raw)
	if err != nil {
		t.Fatalf("load openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// TestOpenAPICoversRoutes keeps the document true: every registered route is
// documented, and everything documented is registered.
func TestOpenAPICoversRoutes(t *testing.T) {
	e := newEnv(t)
	doc := loadOpenAPI(t, e)
	tr := tracker.New(tracker.Config{}, e.store, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httpapi.NewServer(httpapi.Config{}, e.store, httpapi.Features{Ingest: tr, Live: tr, Hub: tracker.NewHub(tracker.HubConfig{}, 8, 4096), Webhooks: &webhook.Service{Store: e.store, Sealer: testSealer(t)}}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	routes := srv.Routes()
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	for _, r := range routes {
		if !documented[r] {
			t.Errorf("route %s is not in openapi.yaml", r)
		}
	}
	for d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("openapi.yaml documents %s, which is not a route", d)
		}
	}
	if len(routes) < 30 {
		t.Fatalf("only %d routes registered", len(routes))
	}
	if r := e.do("", http.MethodGet, "/api/v1/openapi.yaml", nil); r.header.Get("Content-Type") != "application/yaml" {
		t.Fatalf("content type = %q", r.header.Get("Content-Type"))
	}
}

// checkDocumented fails the test when a JSON (or GeoJSON) response does
// not match the schema openapi.yaml gives for its route, status and media
// type.
func checkDocumented(t testing.TB, doc *openapi3.T, method, path string, r response) {
	t.Helper()
	item, ok := matchPath(doc, path)
	if !ok {
		return // No such route: nothing documents it.
	}
	op := item.GetOperation(method)
	if op == nil {
		return
	}
	ref := op.Responses.Status(r.status)
	if ref == nil || ref.Value == nil {
		if r.status >= 400 {
			// Errors share one shape, documented or not for this route.
			checkSchema(t, doc.Components.Schemas["Error"].Value, method, path, r)
			return
		}
		t.Fatalf("%s %s answered %d, which openapi.yaml does not document", method, path, r.status)
	}
	mediaType, _, _ := mime.ParseMediaType(r.header.Get("Content-Type"))
	mt := ref.Value.Content.Get(mediaType)
	if mt == nil || mt.Schema == nil || r.body == nil {
		return
	}
	checkSchema(t, mt.Schema.Value, method, path, r)
}

func checkSchema(t testing.TB, schema *openapi3.Schema, method, path string, r response) {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.raw, &v); err != nil {
		t.Fatal(err)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Fatalf("%s %s answered %d with a body openapi.yaml does not allow: %v", method, path, r.status, err)
	}
}

// matchPath finds the documented path template matching a concrete path.
func matchPath(doc *openapi3.T, path string) (*openapi3.PathItem, bool) {
	parts := strings.Split(path, "/")
	for tmpl, item := range doc.Paths.Map() {
		tp := strings.Split(tmpl, "/")
		if len(tp) != len(parts) {
			continue
		}
		ok := true
		for i := range tp {
			if !strings.HasPrefix(tp[i], "{") && tp[i] != parts[i] {
				ok = false
				break
			}
		}
		if ok {
			return item, true
		}
	}
	return nil, false
}
