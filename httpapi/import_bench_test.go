package httpapi_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/enroutehq/enroute/httpapi"
)

// BenchmarkImportCustomers: a 10,000-row file through the API on the
// embedded store: every row new (create), then the same file again
// (unchanged: one read of the stored external ids, no writes).
func BenchmarkImportCustomers(b *testing.B) {
	e := newEnvWith(b, httpapi.Config{})
	file := func(prefix string) string {
		var sb strings.Builder
		sb.WriteString("external_id,name,phone,email,language\n")
		for i := range 10_000 {
			fmt.Fprintf(&sb, "%s-%05d,Customer %d,+1312555%04d,c%d@example.com,en\n", prefix, i, i, i, i)
		}
		return sb.String()
	}
	b.Run("rows=10000/create", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if r := e.csvPost(e.admin, "/api/v1/import/customers", file(fmt.Sprintf("N%d", i)), false); r.status != 200 {
				b.Fatalf("%d %s", r.status, r.raw)
			}
		}
	})
	again := file("SAME")
	e.csvPost(e.admin, "/api/v1/import/customers", again, false)
	b.Run("rows=10000/unchanged", func(b *testing.B) {
		for b.Loop() {
			if r := e.csvPost(e.admin, "/api/v1/import/customers", again, false); r.status != 200 {
				b.Fatalf("%d %s", r.status, r.raw)
			}
		}
	})
}
