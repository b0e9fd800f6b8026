package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/enroutehq/enroute"
	"github.com/enroutehq/enroute/migrations"
)

// historyBytes is what the history takes: its table's pages (dbstat) and
// the whole file, per fix.
func historyBytes(tb testing.TB, db *sql.DB, fixes int) (table, file float64) {
	tb.Helper()
	var pages, pageSize, size int64
	if err := db.QueryRow("SELECT sum(pgsize) FROM dbstat WHERE name = 'positions'").Scan(&size); err != nil {
		tb.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_count").Scan(&pages); err != nil {
		tb.Fatal(err)
	}
	if err := db.QueryRow("PRAGMA page_size").Scan(&pageSize); err != nil {
		tb.Fatal(err)
	}
	return float64(size) / float64(fixes), float64(pages*pageSize) / float64(fixes)
}

// BenchmarkHistoryBytes: bytes a fix in the history, before migration
// 00019 (REAL columns) and after, for ENROUTE_BENCH_HISTORY realistic
// fixes (e.g. 1000000) of 1,000 technicians (benchFix): as written, in
// batches of 100 per technician (pages split as the history grows), and
// after VACUUM (pages full); the migration's time too. Run it alone, once:
//
//	ENROUTE_BENCH_HISTORY=1000000 go test ./sqlite -run '^$' -bench HistoryBytes -benchtime 1x
func BenchmarkHistoryBytes(b *testing.B) {
	fixes, _ := strconv.Atoi(os.Getenv("ENROUTE_BENCH_HISTORY"))
	if fixes <= 0 {
		b.Skip("set ENROUTE_BENCH_HISTORY to a number of fixes (e.g. 1000000) to write")
	}
	perTech := fixes / benchTechs
	fixes = perTech * benchTechs
	ctx := context.Background()
	t0 := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	b.StopTimer()
	for range b.N {
		// Before: the REAL layout, written as the store wrote it.
		path := filepath.Join(b.TempDir(), "enroute.db")
		db := rawDB(b, path)
		p, err := goose.NewProvider(goose.DialectSQLite3, db, migrations.SQLite)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := p.UpTo(ctx, beforeCompact); err != nil {
			b.Fatal(err)
		}
		eachBatch(t0, perTech, func(batch []enroute.Position) { insertOld(b, db, "positions", batch) })
		written, _ := historyBytes(b, db, fixes)
		if _, err := db.Exec("VACUUM"); err != nil {
			b.Fatal(err)
		}
		vacuumed, file := historyBytes(b, db, fixes)
		b.ReportMetric(written, "real-written-B/fix")
		b.ReportMetric(vacuumed, "real-vacuumed-B/fix")
		b.ReportMetric(file, "real-file-B/fix")
		db.Close()

		// The migration, on that history.
		b.StartTimer()
		s, err := Open(ctx, path)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		migrated, _ := historyBytes(b, s.w, fixes)
		b.ReportMetric(migrated, "migrated-B/fix")
		s.Close()

		// After: the integer layout, written by the store.
		s, err = Open(ctx, filepath.Join(b.TempDir(), "enroute.db"))
		if err != nil {
			b.Fatal(err)
		}
		fillHistory(b, s, t0, perTech)
		written, _ = historyBytes(b, s.w, fixes)
		if _, err := s.w.Exec("VACUUM"); err != nil {
			b.Fatal(err)
		}
		vacuumed, file = historyBytes(b, s.w, fixes)
		b.ReportMetric(written, "int-written-B/fix")
		b.ReportMetric(vacuumed, "int-vacuumed-B/fix")
		b.ReportMetric(file, "int-file-B/fix")
		s.Close()
	}
}
