package api

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzCreatedID: any answer body gives an id or "", never a panic, the
// same one each time (the map's order does not choose), never longer than
// the body's text.
func FuzzCreatedID(f *testing.F) {
	for _, s := range []string{`{"alert":{"id":"al_1"}}`, `{"member":{"id":"m1"},"token":"secret"}`,
		`{"x":{"id":12}}`, `{"x":{"id":1e300}}`, `[]`, `{"a":1}`, `{"a":{"id":null}}`, ``, `{"b":{"id":"z"},"a":{"id":"y"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		id := createdID(body)
		if again := createdID(body); again != id {
			t.Fatalf("ids %q then %q of %q", id, again, body)
		}
		if len([]rune(id)) > len(body) {
			t.Fatalf("id %q longer than %q", id, body)
		}
	})
}

// FuzzAuditFilter: any query is a filter or a 400, never a panic; a
// filter's time range is ordered.
func FuzzAuditFilter(f *testing.F) {
	for _, s := range []string{"actor=m1&action=cancel", "from=2026-07-01T08:00:00Z&to=2026-07-02T08:00:00Z",
		"since=x", "target=" + strings.Repeat("a", 300), "to=2026-07-01T08:00:00Z&from=2026-07-02T08:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r := httptest.NewRequest("GET", "/api/v1/audit?"+url.PathEscape(q), nil)
		r.URL.RawQuery = q
		fl, err := auditFilter(r)
		if err == nil && !fl.Since.IsZero() && !fl.Until.IsZero() && !fl.Since.Before(fl.Until) {
			t.Fatalf("range %v .. %v", fl.Since, fl.Until)
		}
	})
}

// TestPathNames: secrets in paths are never a target.
func TestPathNames(t *testing.T) {
	for path, want := range map[string]string{
		"/api/v1/members/{id}/tokens": "id", "/api/v1/answer/{code}": "", "/api/v1/x/{a}/y/{b...}": "a,b",
		"/api/v1/alerts": "",
	} {
		if got := strings.Join(pathNames(path), ","); got != want {
			t.Errorf("pathNames(%s) = %q, want %q", path, got, want)
		}
	}
}
