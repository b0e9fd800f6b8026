package httpapi_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/httpapi"
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

// TestImportSitesAndJobs: locations and jobs find their customer and site
// by external id; a site without a pin waits for the geocoder, one with a
// verified pin is verified; jobs read times in the company's time zone; a
// second import changes nothing; a row naming an unknown customer, or a
// job moved to another site, rolls every row back.
func TestImportSitesAndJobs(t *testing.T) {
	e := newEnv(t)
	disp := e.key(enroute.RoleDispatcher)
	e.must(200, e.admin, "PATCH", "/api/v1/company", map[string]any{"time_zone": "America/Chicago"})
	if r := e.csvPost(disp, "/api/v1/import/customers", "external_id,name\nC-1,Maria Santos\nC-2,John Smith\n", false); r.status != 200 {
		t.Fatalf("customers = %d %s", r.status, r.raw)
	}
	sites := "external_id,customer_external_id,address,lat,lng,verified\n" +
		"L-1,C-1,1200 W Harrison St Chicago,41.8743,-87.6571,true\n" +
		"L-2,C-2,233 S Wacker Dr Chicago,,,\n"
	for _, want := range []string{"created 2 updated 0 unchanged 0", "created 0 updated 0 unchanged 2"} {
		if r := e.csvPost(disp, "/api/v1/import/locations", sites, false); r.status != 200 || r.counts() != want {
			t.Fatalf("locations = %d %s, want %s", r.status, r.raw, want)
		}
	}
	site := func(ext string) map[string]any {
		t.Helper()
		r := e.must(200, disp, "GET", "/api/v1/locations?external_id="+ext, nil)
		items, _ := r.body["items"].([]any)
		if len(items) != 1 {
			t.Fatalf("%s = %s", ext, r.raw)
		}
		return items[0].(map[string]any)
	}
	if l := site("L-1"); l["verified"] != true || l["verification"].(map[string]any)["status"] != "manual" {
		t.Fatalf("L-1 = %v", l)
	}
	if l := site("L-2"); l["verified"] != false || l["lat"] != nil || l["verification"].(map[string]any)["status"] != "pending" {
		t.Fatalf("L-2 = %v", l)
	}

	jobs := "external_id,number,customer_external_id,location_external_id,window_start,window_end,notes\n" +
		"J-1,WO-1001,C-1,L-1,2026-12-07 09:00,2026-12-07 11:00,Back gate\n" +
		"J-2,WO-1002,C-2,L-2,2026-12-07T13:00:00-06:00,2026-12-07T15:00:00-06:00,\n"
	for _, want := range []string{"created 2 updated 0 unchanged 0", "created 0 updated 0 unchanged 2"} {
		if r := e.csvPost(disp, "/api/v1/import/jobs", jobs, true); r.status != 200 || r.counts() != want {
			t.Fatalf("jobs = %d %s, want %s", r.status, r.raw, want)
		}
	}
	r := e.must(200, disp, "GET", "/api/v1/jobs?external_id=J-1", nil)
	j1 := r.body["items"].([]any)[0].(map[string]any)
	if j1["window_start"] != "2026-12-07T15:00:00Z" || j1["notes"] != "Back gate" || j1["number"] != "WO-1001" {
		t.Fatalf("J-1 = %v (09:00 in Chicago is 15:00 UTC)", j1)
	}
	// A later window updates the job.
	later := strings.Replace(jobs, "2026-12-07 11:00", "2026-12-07 12:00", 1)
	if r := e.csvPost(disp, "/api/v1/import/jobs", later, false); r.status != 200 || r.counts() != "created 0 updated 1 unchanged 1" {
		t.Fatalf("later window = %d %s", r.status, r.raw)
	}

	// All or nothing: a good new row before a bad one is not kept.
	for _, tc := range []struct{ name, path, file, col string }{
		{"unknown customer", "/api/v1/import/locations", "external_id,customer_external_id,address\nL-3,C-1,1 Main St\nL-4,C-9,2 Main St\n", "customer_external_id"},
		{"site's customer changes", "/api/v1/import/locations", "external_id,customer_external_id,address\nL-3,C-1,1 Main St\nL-1,C-2,1200 W Harrison St Chicago\n", "customer_external_id"},
		{"half a pin", "/api/v1/import/locations", "external_id,customer_external_id,address,lat\nL-3,C-1,1 Main St,41.8\n", "lng"},
		{"job moves", "/api/v1/import/jobs", "external_id,number,customer_external_id,location_external_id,window_start,window_end\nJ-3,WO-1003,C-1,L-1,2026-12-08 09:00,2026-12-08 10:00\nJ-2,WO-1002,C-2,L-1,2026-12-07 13:00,2026-12-07 15:00\n", "location_external_id"},
		{"window backwards", "/api/v1/import/jobs", "external_id,number,customer_external_id,location_external_id,window_start,window_end\nJ-3,WO-1003,C-1,L-1,2026-12-08 10:00,2026-12-08 09:00\n", "window_end"},
		{"not a time", "/api/v1/import/jobs", "external_id,number,customer_external_id,location_external_id,window_start,window_end\nJ-3,WO-1003,C-1,L-1,tomorrow,2026-12-08 09:00\n", "window_start"},
	} {
		r := e.csvPost(disp, tc.path, tc.file, false)
		rows := r.rows()
		if r.status != 400 || len(rows) == 0 || rows[0]["column"] != tc.col {
			t.Fatalf("%s: %d %s, want 400 naming %s", tc.name, r.status, r.raw, tc.col)
		}
	}
	for path, ext := range map[string]string{"/api/v1/locations": "L-3", "/api/v1/jobs": "J-3"} {
		r := e.must(200, disp, "GET", path+"?external_id="+ext, nil)
		if items, _ := r.body["items"].([]any); len(items) != 0 {
			t.Fatalf("%s imported from a refused file: %s", ext, r.raw)
		}
	}
}

// A file over the import limit is a 413 naming the limit, whether its
// length was sent first or not (chunked, as curl -T sends a file).
func TestImportTooLarge(t *testing.T) {
	e := newEnvWith(t, httpapi.Config{MaxImportBytes: 1024})
	file := "external_id,name\n" + strings.Repeat("T-1,A long name to pass the limit\n", 100)
	if r := e.csvPost(e.admin, "/api/v1/import/technicians", file, false); r.status != 413 {
		t.Fatalf("with a length: %d %s", r.status, r.raw)
	}
	req, err := http.NewRequest("POST", e.url+"/api/v1/import/technicians", io.MultiReader(strings.NewReader(file)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Authorization", "Bearer "+e.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 413 || !strings.Contains(string(body), "too_large") {
		t.Fatalf("chunked: %d %s", res.StatusCode, body)
	}
}
