package httpapi_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
)

// csvPost sends a CSV file to an import route, as text/csv or as a form
// upload.
func (e *env) csvPost(key, path, file string, upload bool) response {
	e.t.Helper()
	if !upload {
		return e.do(key, "POST", path, file, "Content-Type", "text/csv")
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fw, err := w.CreateFormFile("file", "export.csv")
	if err != nil {
		e.t.Fatal(err)
	}
	_, _ = fw.Write([]byte(file))
	_ = w.Close()
	return e.do(key, "POST", path, b.Bytes(), "Content-Type", w.FormDataContentType())
}

func (r response) rows() []map[string]any {
	e, _ := r.body["error"].(map[string]any)
	rs, _ := e["rows"].([]any)
	var out []map[string]any
	for _, x := range rs {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

func (r response) counts() string {
	return fmt.Sprintf("created %v updated %v unchanged %v", r.body["created"], r.body["updated"], r.body["unchanged"])
}

// TestImportTechnicians: a file creates, a second import of it changes
// nothing, a changed row updates, a bad row (named by row and column)
// imports nothing, and only admins import technicians.
func TestImportTechnicians(t *testing.T) {
	e := newEnv(t)
	file := "\ufeffExternal_ID,Name,rating,active,photo_url\n" +
		"T-1,Ana Silva,4.8,yes,https://example.com/ana.jpg\n" +
		"T-2,\"Costa, Bruno\",,false,\n"
	for _, upload := range []bool{false, true} {
		r := e.csvPost(e.admin, "/api/v1/import/technicians", file, upload)
		if r.status != 200 {
			t.Fatalf("import = %d %s", r.status, r.raw)
		}
		want := "created 2 updated 0 unchanged 0"
		if upload {
			want = "created 0 updated 0 unchanged 2"
		}
		if got := r.counts(); got != want {
			t.Fatalf("upload %v: %s, want %s", upload, got, want)
		}
	}
	r := e.must(200, e.admin, "GET", "/api/v1/technicians?external_id=T-2", nil)
	items, _ := r.body["items"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "Costa, Bruno" || items[0].(map[string]any)["active"] != false {
		t.Fatalf("T-2 = %s", r.raw)
	}
	// Only a name changes: the other columns are left out and stay.
	r = e.csvPost(e.admin, "/api/v1/import/technicians", "external_id,name\nT-1,Ana M. Silva\nT-2,\"Costa, Bruno\"\n", false)
	if got := r.counts(); r.status != 200 || got != "created 0 updated 1 unchanged 1" {
		t.Fatalf("rename = %d %s", r.status, r.raw)
	}
	r = e.must(200, e.admin, "GET", "/api/v1/technicians?external_id=T-1", nil)
	if ana := r.body["items"].([]any)[0].(map[string]any); ana["name"] != "Ana M. Silva" || ana["rating"] != 4.8 {
		t.Fatalf("T-1 after the rename = %v", ana)
	}

	bad := "external_id,name,rating\nT-3,Carla,4\nT-4,,9\nT-3,Dup,x\n,No id,\n"
	r = e.csvPost(e.admin, "/api/v1/import/technicians", bad, false)
	if r.status != 400 || r.errCode() != enroute.EINVALID {
		t.Fatalf("bad file = %d %s", r.status, r.raw)
	}
	want := map[string]bool{"3 name": true, "3 rating": true, "4 external_id": true, "4 rating": true, "5 external_id": true}
	for _, row := range r.rows() {
		k := fmt.Sprintf("%v %v", row["row"], row["column"])
		if !want[k] {
			t.Fatalf("unexpected error %v in %s", row, r.raw)
		}
		delete(want, k)
	}
	if len(want) != 0 {
		t.Fatalf("errors not reported: %v in %s", want, r.raw)
	}
	if n := e.count("/api/v1/technicians"); n != 2 {
		t.Fatalf("%d technicians after a refused file, want 2", n)
	}

	for _, tc := range []struct{ name, file, want string }{
		{"unknown column", "external_id,name,salary\nT-9,X,1\n", "unknown column"},
		{"missing column", "external_id,rating\nT-9,4\n", "required column missing"},
		{"empty", "", "empty"},
		{"not CSV", "external_id,name\nT-9,\"unclosed\n", "not valid CSV"},
		{"ragged", "external_id,name\nT-9,X,extra\n", "not valid CSV"},
	} {
		r := e.csvPost(e.admin, "/api/v1/import/technicians", tc.file, false)
		if r.status != 400 || !strings.Contains(string(r.raw), tc.want) {
			t.Fatalf("%s: %d %s, want 400 naming %q", tc.name, r.status, r.raw, tc.want)
		}
	}
	if r := e.do(e.admin, "POST", "/api/v1/import/technicians", `{"name":"x"}`); r.status != 400 {
		t.Fatalf("JSON body = %d %s", r.status, r.raw)
	}
	if r := e.csvPost(e.key(enroute.RoleDispatcher), "/api/v1/import/technicians", file, false); r.status != 403 {
		t.Fatalf("dispatcher import = %d, want 403", r.status)
	}
	// Larger than other bodies may be, up to its own limit.
	var big strings.Builder
	big.WriteString("external_id,name\n")
	for i := 0; big.Len() < 2<<20; i++ {
		fmt.Fprintf(&big, "B-%06d,Technician number %d with a long name to fill the file\n", i, i)
	}
	if r := e.csvPost(e.admin, "/api/v1/import/technicians", big.String(), false); r.status != 200 {
		t.Fatalf("a 2 MiB file = %d %s", r.status, r.raw[:min(len(r.raw), 300)])
	}
}

// TestImportCustomers: phones as people write them, a customer's STOP
// kept, and a dispatcher may import customers.
func TestImportCustomers(t *testing.T) {
	e := newEnv(t)
	disp := e.key(enroute.RoleDispatcher)
	file := "external_id,name,phone,email,language\nC-1,Maria Santos,(312) 555-0100,maria@example.com,es\nC-2,John Smith,,,\n"
	if r := e.csvPost(disp, "/api/v1/import/customers", file, false); r.status != 200 || r.counts() != "created 2 updated 0 unchanged 0" {
		t.Fatalf("import = %d %s", r.status, r.raw)
	}
	r := e.must(200, disp, "GET", "/api/v1/customers?external_id=C-1", nil)
	maria := r.body["items"].([]any)[0].(map[string]any)
	if maria["phone"] != "+13125550100" || maria["language"] != "es" {
		t.Fatalf("C-1 = %v", maria)
	}
	e.must(200, disp, "PATCH", "/api/v1/customers/"+itoa(int64(maria["id"].(float64))), map[string]any{"sms_opt_out": true})
	if r := e.csvPost(disp, "/api/v1/import/customers", file, true); r.status != 200 || r.counts() != "created 0 updated 0 unchanged 2" {
		t.Fatalf("second import = %d %s", r.status, r.raw)
	}
	r = e.must(200, disp, "GET", "/api/v1/customers?external_id=C-1", nil)
	if r.body["items"].([]any)[0].(map[string]any)["sms_opt_out"] != true {
		t.Fatal("an import undid a customer's STOP")
	}
	r = e.csvPost(disp, "/api/v1/import/customers", "external_id,name,email\nC-3,Ann,not-an-address\n", false)
	if rows := r.rows(); r.status != 400 || len(rows) != 1 || rows[0]["column"] != "email" || rows[0]["row"] != 2.0 {
		t.Fatalf("bad e-mail = %d %s", r.status, r.raw)
	}
	// The API's own create keeps external ids unique too.
	if r := e.do(disp, "POST", "/api/v1/customers", map[string]any{"name": "Other", "external_id": "C-2"}); r.status != 409 {
		t.Fatalf("duplicate external_id = %d %s", r.status, r.raw)
	}
}
