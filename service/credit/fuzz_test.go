package credit

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"
)

// FuzzCheckMonth: any string is a month or a bad_request, never a panic,
// and an accepted month is exactly YYYY-MM and not in the future.
func FuzzCheckMonth(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-13", "2026-1", "26-11", "", "2026-11-01", "9999-12", "1999-12", "２０２６-11", "2026-00"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 4, 22, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, m string) {
		if err := CheckMonth(m, now); err != nil {
			return
		}
		if len(m) != 7 || m[4] != '-' || m > "2026-12" || m < "2000-01" {
			t.Fatalf("accepted %q", m)
		}
	})
}

// FuzzCell: a cell never starts a formula, and a CSV row of it reads back
// as the cell.
func FuzzCell(f *testing.F) {
	for _, s := range []string{"王家", "=HYPERLINK(\"x\")", "+1", "-1", "@SUM(A1)", "\tx", "a,b\"c\nd", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := Cell(s)
		if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Fatalf("Cell(%q) = %q starts a formula", s, c)
		}
		var b strings.Builder
		w := csv.NewWriter(&b)
		_ = w.Write([]string{c, "x"})
		w.Flush()
		rec, err := csv.NewReader(strings.NewReader(b.String())).Read()
		if err != nil {
			return // csv cannot carry every byte string (a lone \r); the writer's business
		}
		if len(rec) != 2 || rec[1] != "x" {
			t.Fatalf("row of %q read back as %q", c, rec)
		}
	})
}
