package server

import (
	"context"
	"testing"
	"time"
)

// BenchmarkImportMembers200k imports a generated county sheet of 200,000
// members (400 villages) through HTTP into a fresh store, then the same
// sheet again (every row unchanged), and reports the seconds of each
// (BENCHMARKS.md "Roster import"). Run with -benchtime=1x; set
// HUB_TEST_STORE=postgres for PostgreSQL.
func BenchmarkImportMembers200k(b *testing.B) {
	const n, villages = 200000, 400
	vsheet := csvBytes(b, villageSheetRows(villages))
	sheet := csvBytes(b, memberSheetRows(n, villages, 1))
	b.SetBytes(int64(len(sheet)))
	var first, again time.Duration
	for range b.N {
		b.StopTimer()
		e := newEnv(b)
		if code, out := e.upload("/api/v1/import/villages", e.admin, ctCSV, vsheet); code != 200 {
			b.Fatalf("villages = %d %v", code, out)
		}
		b.StartTimer()
		start := time.Now()
		if code, out := e.upload("/api/v1/import/members", e.admin, ctCSV, sheet); code != 200 {
			b.Fatalf("import = %d %v", code, out)
		}
		first += time.Since(start)
		start = time.Now()
		if code, out := e.upload("/api/v1/import/members", e.admin, ctCSV, sheet); code != 200 {
			b.Fatalf("re-import = %d %v", code, out)
		}
		again += time.Since(start)
		b.StopTimer()
		if got, _ := e.store.CountMembers(context.Background(), ""); got < n {
			b.Fatalf("%d members stored", got)
		}
	}
	b.ReportMetric(first.Seconds()/float64(b.N), "s/import")
	b.ReportMetric(again.Seconds()/float64(b.N), "s/reimport")
	b.ReportMetric(float64(n)/(first.Seconds()/float64(b.N)), "rows/s")
}
