package server

import (
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// Paging and filters of the lists (docs/API.md v1.4, issue 13 item 5).

// noReportLimit lifts the report rate limit, so a test can file a flood.
func noReportLimit(c *Config) {
	p := policy.Default()
	p.Limits[policy.ActionReport] = policy.Rate{Every: policy.Duration(time.Millisecond), Burst: 100000}
	c.Policy = &p
}

// listPages reads every page of a list (path with its query, without
// before) as tok, and returns the ids in the order given and the number
// of pages; between is called after each page but the last.
func (e *testEnv) listPages(tok, path, key string, between func()) (ids []string, pages int) {
	e.t.Helper()
	before := ""
	for pages = 1; pages < 1000; pages++ {
		p := path
		if before != "" {
			p += "&before=" + url.QueryEscape(before)
		}
		code, out := e.call("GET", p, tok, nil)
		if code != 200 {
			e.t.Fatalf("GET %s: %d %v", p, code, out)
		}
		for _, x := range out[key].([]any) {
			ids = append(ids, x.(map[string]any)["id"].(string))
		}
		nb, ok := out["next_before"].(string)
		if !ok {
			return ids, pages
		}
		before = nb
		if between != nil {
			between()
		}
	}
	e.t.Fatalf("GET %s: paging does not end", path)
	return nil, 0
}

// TestPageReports1000: 1,000 reports read 37 at a time through the API,
// newest first and oldest first, with more reports arriving and some
// handled between pages: each of the 1,000 is listed exactly once, and
// the last page says there is no next one. Today's list stopped at the
// newest 100.
func TestPageReports1000(t *testing.T) {
	t.Parallel()
	e := newEnv(t, noReportLimit)
	_, com := e.member(storage.RoleCommander, -1, inside)
	_, cadre1 := e.member(storage.RoleCadre, 1, inside)
	_, res0 := e.member(storage.RoleResident, 0, inside)
	_, res1 := e.member(storage.RoleResident, 1, inside)
	post := func(tok, kind string) string {
		t.Helper()
		// Each where its reporter lives: a report belongs to the village
		// where it is (v1.6).
		lat := 29.03
		if tok == res1 {
			lat = 29.13
		}
		code, out := e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": kind, "text": "t", "lat": lat, "lng": 119.17})
		if code != 201 {
			t.Fatalf("report: %d %v", code, out)
		}
		return out["report"].(map[string]any)["id"].(string)
	}
	// The first one is the report that must not be pushed out of view.
	trapped := post(res0, "flood")
	want := []string{trapped}
	village1 := map[string]bool{}
	for i := 1; i < 1000; i++ {
		tok := res0
		if i%4 == 0 {
			tok = res1
		}
		id := post(tok, []string{"other", "road", "water"}[i%3])
		want = append(want, id)
		if tok == res1 {
			village1[id] = true
		}
	}
	n := 0
	churn := func() {
		n++
		post(res0, "other") // a newer report
		// An older one handled meanwhile.
		if code, out := e.call("PATCH", "/api/v1/reports/"+want[(n*31)%1000], com, map[string]any{"status": "accepted"}); code != 200 {
			t.Fatalf("accept: %d %v", code, out)
		}
	}
	onceEach := func(what string, got []string, extra int) {
		t.Helper()
		seen := map[string]int{}
		for _, id := range got {
			seen[id]++
		}
		for _, id := range want {
			if seen[id] != 1 {
				t.Errorf("%s: %s listed %d times", what, id, seen[id])
			}
		}
		if len(got) != len(want)+extra {
			t.Errorf("%s: %d listed, want %d", what, len(got), len(want)+extra)
		}
	}

	got, pages := e.listPages(com, "/api/v1/reports?limit=37", "reports", churn)
	onceEach("newest first", got, 0)
	if pages != 28 || got[0] != want[999] || got[len(got)-1] != trapped {
		t.Errorf("newest first: %d pages, from %s to %s", pages, got[0], got[len(got)-1])
	}
	got, _ = e.listPages(com, "/api/v1/reports?order=oldest&limit=37", "reports", churn)
	if got[0] != trapped {
		t.Errorf("oldest first starts with %s, want %s", got[0], trapped)
	}
	onceEach("oldest first", got, n) // and the added ones, at the end

	// Unhandled oldest first: the oldest report comes first, whatever
	// arrived since.
	code, out := e.call("GET", "/api/v1/reports?status=new,accepted,in_progress&order=oldest&limit=5", com, nil)
	if rs := out["reports"].([]any); code != 200 || len(rs) != 5 || rs[0].(map[string]any)["id"] != trapped || out["next_before"] == nil {
		t.Fatalf("unhandled oldest first: %d %v", code, out)
	}
	// The default page is 100; at most 500.
	code, out = e.call("GET", "/api/v1/reports", com, nil)
	if rs := out["reports"].([]any); code != 200 || len(rs) != 100 || out["next_before"] == nil {
		t.Errorf("default page: %d, %d reports", code, len(rs))
	}
	code, out = e.call("GET", "/api/v1/reports?limit=500", com, nil)
	if rs := out["reports"].([]any); code != 200 || len(rs) != 500 {
		t.Errorf("limit 500: %d, %d reports", code, len(rs))
	}

	// A cadre pages through its village's only.
	got, _ = e.listPages(cadre1, "/api/v1/reports?limit=50&order=oldest", "reports", nil)
	if len(got) != len(village1) {
		t.Errorf("cadre of village 1: %d reports, want %d", len(got), len(village1))
	}
	for _, id := range got {
		if !village1[id] {
			t.Errorf("cadre of village 1 listed %s", id)
		}
	}
	// Filters: kind, several statuses.
	code, out = e.call("GET", "/api/v1/reports?kind=flood", com, nil)
	if rs := out["reports"].([]any); code != 200 || len(rs) != 1 || rs[0].(map[string]any)["id"] != trapped {
		t.Errorf("kind flood: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/reports?status=accepted&limit=500", com, nil)
	if rs := out["reports"].([]any); code != 200 || len(rs) != n {
		t.Errorf("accepted: %d, %d reports, want %d", code, len(rs), n)
	}
}

// TestListFiltersAndCursors: the alert and bulletin lists page and filter
// too; a bad parameter or another list's cursor is a bad_request.
func TestListFiltersAndCursors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, com := e.member(storage.RoleCommander, -1, inside)
	_, res := e.member(storage.RoleResident, 0, inside)
	var alerts, bulletins []string
	for i := range 7 {
		code, out := e.call("POST", "/api/v1/alerts", com, map[string]any{"kind": "warning", "severity": "minor",
			"title": fmt.Sprint("t", i), "area": map[string]any{"villages": []string{e.villages[i%2].ID}}})
		if code != 201 {
			t.Fatalf("alert: %d %v", code, out)
		}
		alerts = append([]string{out["alert"].(map[string]any)["id"].(string)}, alerts...)
		v := ""
		if i%2 == 0 {
			v = e.villages[0].ID
		}
		code, out = e.call("POST", "/api/v1/bulletins", com, map[string]any{"village_id": v,
			"category": []string{"notice", "jobs"}[i%2], "title": fmt.Sprint("b", i), "body": "x"})
		if code != 201 {
			t.Fatalf("bulletin: %d %v", code, out)
		}
		bulletins = append([]string{out["bulletin"].(map[string]any)["id"].(string)}, bulletins...)
	}
	got, pages := e.listPages(com, "/api/v1/alerts?limit=3", "alerts", nil)
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(alerts) {
		t.Errorf("alerts paged: %d pages %v, want %v", pages, got, alerts)
	}
	got, _ = e.listPages(res, "/api/v1/bulletins?limit=2", "bulletins", nil)
	if want := []string{bulletins[0], bulletins[1], bulletins[2], bulletins[3], bulletins[4], bulletins[5], bulletins[6]}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("resident's bulletins paged: %v, want %v", got, want)
	}
	code, out := e.call("GET", "/api/v1/bulletins?category=jobs", com, nil)
	if bs := out["bulletins"].([]any); code != 200 || len(bs) != 3 {
		t.Errorf("jobs bulletins: %d %v", code, out)
	}
	future := url.QueryEscape(e.now().Add(time.Hour).Format(time.RFC3339))
	code, out = e.call("GET", "/api/v1/alerts?since="+future, com, nil)
	if as := out["alerts"].([]any); code != 200 || len(as) != 0 {
		t.Errorf("alerts since an hour from now: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/bulletins?until="+future, com, nil)
	if bs := out["bulletins"].([]any); code != 200 || len(bs) != 7 {
		t.Errorf("bulletins until an hour from now: %d %v", code, out)
	}

	code, out = e.call("GET", "/api/v1/alerts?limit=1", com, nil)
	alertCursor, _ := out["next_before"].(string)
	if code != 200 || alertCursor == "" {
		t.Fatalf("alerts limit 1: %d %v", code, out)
	}
	for _, q := range []string{
		"/api/v1/reports?limit=0", "/api/v1/reports?limit=501", "/api/v1/reports?limit=x",
		"/api/v1/reports?before=nope", "/api/v1/reports?before=" + alertCursor,
		"/api/v1/bulletins?before=" + alertCursor, "/api/v1/reports?order=random",
		"/api/v1/reports?status=new,done", "/api/v1/reports?status=new,", "/api/v1/reports?kind=meteor",
		"/api/v1/reports?since=yesterday", "/api/v1/alerts?until=2026-13-01T00:00:00Z",
		"/api/v1/bulletins?category=gossip", "/api/v1/alerts?since=2026-07-02T00:00:00Z&until=2026-07-01T00:00:00Z",
	} {
		if code, out := e.call("GET", q, com, nil); code != 400 || errCode(out) != "bad_request" {
			t.Errorf("GET %s: %d %v, want 400 bad_request", q, code, out)
		}
	}
}

// TestReportCursorOrders: a cursor of the oldest-first listing is refused
// by the newest-first one (and back), instead of giving a wrong page.
func TestReportCursorOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, com := e.member(storage.RoleCommander, -1, inside)
	_, res := e.member(storage.RoleResident, 0, inside)
	for range 3 {
		if code, out := e.call("POST", "/api/v1/reports", res, map[string]any{"kind": "road", "text": "t", "lat": 29.03, "lng": 119.17}); code != 201 {
			t.Fatalf("report: %d %v", code, out)
		}
	}
	_, out := e.call("GET", "/api/v1/reports?order=oldest&limit=1", com, nil)
	oldest := out["next_before"].(string)
	_, out = e.call("GET", "/api/v1/reports?limit=1", com, nil)
	newest := out["next_before"].(string)
	if code, _ := e.call("GET", "/api/v1/reports?before="+url.QueryEscape(oldest), com, nil); code != 400 {
		t.Errorf("an oldest-first cursor newest first: %d", code)
	}
	if code, _ := e.call("GET", "/api/v1/reports?order=oldest&before="+url.QueryEscape(newest), com, nil); code != 400 {
		t.Errorf("a newest-first cursor oldest first: %d", code)
	}
	code, out := e.call("GET", "/api/v1/reports?order=oldest&limit=5&before="+url.QueryEscape(oldest), com, nil)
	if rs := out["reports"].([]any); code != 200 || len(rs) != 2 || out["next_before"] != nil {
		t.Errorf("oldest first, second page: %d %v", code, out)
	}
}
