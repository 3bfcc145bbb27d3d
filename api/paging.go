package api

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/longyou/hub/service"
)

// The lists' paging (docs/API.md v1.4): ?limit= rows (default 100, at most
// 500) and ?before=<cursor> to go on from the page that gave the cursor as
// its next_before. A cursor names the position after the last row of its
// page by a unique key that grows in commit order (a report's created
// seq, an alert's or bulletin's seq), never by an offset, so rows added or
// handled while a client pages do not make it see a row twice or miss
// one. It is opaque to clients; it says which listing it belongs to, and
// a cursor of another listing (another list, or the other order) is a
// bad_request rather than a silently wrong page.

const (
	defaultPageLimit = 100
	maxPageLimit     = 500
)

// The listings a cursor may belong to.
const (
	listReportsNewest = "reports"
	listReportsOldest = "reports-oldest"
	listAlerts        = "alerts"
	listBulletins     = "bulletins"
)

// page is a list request's paging.
type page struct {
	limit int
	after int64 // the key the cursor names; 0: from the start
}

// parsePage reads ?limit= and ?before= for the listing list.
func parsePage(q url.Values, list string) (page, error) {
	p := page{limit: defaultPageLimit}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return page{}, service.Invalid("limit must be an integer from 1 to %d", maxPageLimit)
		}
		p.limit = n
	}
	if s := q.Get("before"); s != "" {
		after, ok := decodeCursor(s, list)
		if !ok {
			return page{}, service.Invalid("before is not a cursor of this list (pass next_before of a page with the same order)")
		}
		p.after = after
	}
	return p, nil
}

// fetch is how many rows to ask the store for: one more than the page, to
// know whether another page follows.
func (p page) fetch() int { return p.limit + 1 }

// next trims rows read with fetch to the page and returns the cursor of the
// next page ("" when this is the last), from the key of the page's last
// row.
func next[T any](p page, list string, rows []T, key func(*T) int64) ([]T, string) {
	if len(rows) <= p.limit {
		return rows, ""
	}
	rows = rows[:p.limit]
	return rows, encodeCursor(list, key(&rows[len(rows)-1]))
}

func encodeCursor(list string, key int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("1:" + list + ":" + strconv.FormatInt(key, 10)))
}

func decodeCursor(s, list string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), "1:"+list+":")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// timeRange reads ?since= and ?until= (RFC 3339): rows made at or after
// since and before until; zero when absent.
func timeRange(q url.Values) (since, until time.Time, err error) {
	for _, x := range []struct {
		name string
		to   *time.Time
	}{{"since", &since}, {"until", &until}} {
		if s := q.Get(x.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return time.Time{}, time.Time{}, service.Invalid("%s must be an RFC 3339 time (2026-07-01T08:00:00Z)", x.name)
			}
			*x.to = t.UTC()
		}
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return time.Time{}, time.Time{}, service.Invalid("since must be before until")
	}
	return since, until, nil
}

// listAnswer is a list's answer: the rows under their name and, when
// another page follows, its cursor.
func listAnswer(name string, rows any, nextBefore string) map[string]any {
	out := map[string]any{name: rows}
	if nextBefore != "" {
		out["next_before"] = nextBefore
	}
	return out
}
