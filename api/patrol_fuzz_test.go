package api

import (
	"testing"
	"time"

	"github.com/longyou/hub/service"
)

// FuzzSpanQuery: a tallies or rounds span (from/to as RFC 3339 times or
// China dates) is parsed or refused as bad_request, never a panic; an
// accepted span is ordered and in UTC.
func FuzzSpanQuery(f *testing.F) {
	for _, s := range [][2]string{
		{"2026-01-01", "2026-01-01"}, {"2026-01-02T08:00:00Z", "2026-01-03T08:00:00+08:00"}, {"", ""},
		{"2026-13-01", "2026-01-01"}, {"2026-01-02", "2026-01-01"}, {"1999-12-31T23:59:59Z", "2300-01-01"},
		{"2026-01-01T00:00:00.123456789Z", "2026-1-1"}, {"９９９９-01-01", "x"},
	} {
		f.Add(s[0], s[1], true)
		f.Add(s[0], s[1], false)
	}
	f.Fuzz(func(t *testing.T, from, to string, required bool) {
		a, b, err := spanQuery(from, to, required)
		if err != nil {
			if service.From(err).Code != service.CodeBadRequest {
				t.Fatalf("spanQuery(%q, %q): %v, want bad_request", from, to, err)
			}
			return
		}
		if required && (a.IsZero() || b.IsZero()) {
			t.Fatalf("spanQuery(%q, %q) required: zero time", from, to)
		}
		if !a.IsZero() && !b.IsZero() && !b.After(a) {
			t.Fatalf("spanQuery(%q, %q): %v not before %v", from, to, a, b)
		}
		for _, x := range []time.Time{a, b} {
			if !x.IsZero() && x.Location() != time.UTC {
				t.Fatalf("spanQuery(%q, %q): %v not UTC", from, to, x)
			}
		}
	})
}
