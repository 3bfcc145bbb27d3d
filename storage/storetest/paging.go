package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// pagingCases are the filters and the keyset paging of the report, alert
// and bulletin lists (docs/API.md v1.4): a listing continues after the
// created seq of the last row it gave, so reports added or handled while
// a client pages never make it see a row twice or miss one.
var pagingCases = []testCase{
	{"PageReports1000", testPageReports1000},
	{"ReportCreatedSeq", testReportCreatedSeq},
	{"ReportFilters", testReportFilters},
	{"PageAlerts", testPageAlerts},
	{"PageBulletins", testPageBulletins},
}

// RunPaging: the lists' filters and paging (the API's ?before= cursors).
func RunPaging(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, pagingCases, newStore)
}

// reportIDs returns the ids of reports.
func reportIDs(rs []storage.Report) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

// pageReports reads every page of f, limit rows at a time, calling between
// each page (after the page number it just read); it checks the order of
// each page and returns the ids seen, in order.
func pageReports(t *testing.T, s storage.Store, f storage.ReportFilter, limit int, between func(page int)) []string {
	t.Helper()
	var ids []string
	f.Limit, f.After = limit, 0
	last := int64(0)
	for page := 1; ; page++ {
		rs, err := s.ListReports(t.Context(), f)
		mustNoErr(t, err, fmt.Sprintf("list reports, page %d", page))
		for _, r := range rs {
			if last != 0 && (f.Oldest && r.CreatedSeq <= last || !f.Oldest && r.CreatedSeq >= last) {
				t.Fatalf("page %d: %s has created seq %d after %d (oldest first: %v)", page, r.ID, r.CreatedSeq, last, f.Oldest)
			}
			last = r.CreatedSeq
			ids = append(ids, r.ID)
		}
		if len(rs) < limit {
			return ids
		}
		f.After = last
		if between != nil {
			between(page)
		}
		if page > 10000 {
			t.Fatalf("paging does not end")
		}
	}
}

// wantEachOnce fails unless got holds every id of want exactly once and
// nothing else but ids extra accepts.
func wantEachOnce(t *testing.T, got, want []string, extra func(id string) bool, what string) {
	t.Helper()
	seen := make(map[string]int, len(got))
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		if seen[id] != 1 {
			t.Errorf("%s: %s seen %d times, want once", what, id, seen[id])
		}
		delete(seen, id)
	}
	for id, n := range seen {
		if extra == nil || !extra(id) || n != 1 {
			t.Errorf("%s: unexpected %s (%d times)", what, id, n)
		}
	}
}

// testPageReports1000: 1,000 reports paged through 37 at a time, newest
// first and oldest first, with reports added and handled between pages:
// each of the 1,000 is seen exactly once, in created-seq order; an added
// one is never seen newest first (it is newer than the first page) and is
// seen once at the end oldest first.
func testPageReports1000(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n = 1000
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("r%04d", i)
		v := []string{"v1", "v2", "v3"}[i%3]
		// CreatedAt goes back and forth: the order is the created seq, not
		// the clock of the node that took the report.
		createReport(t, s, want[i], fmt.Sprintf("m%d", i%7), v, at(time.Duration(i%10)*time.Second))
	}
	added := 0
	isAdded := func(id string) bool { return len(id) > 5 && id[:5] == "added" }
	churn := func(page int) {
		// A new report, and an old one handled (its seq moves, its created
		// seq does not).
		added++
		createReport(t, s, fmt.Sprintf("added%d", added), "m1", "v1", at(time.Hour))
		r, err := s.GetReport(ctx, want[(page*97)%n])
		mustNoErr(t, err, "get report")
		if r.Status == storage.ReportNew {
			from := r.Status
			r.Status, r.UpdatedAt = storage.ReportAccepted, at(2*time.Hour)
			mustNoErr(t, s.UpdateReport(ctx, &r, from, &storage.Event{Type: storage.EventReport,
				VillageID: r.VillageID, MemberID: r.MemberID, CreatedAt: r.UpdatedAt}), "accept "+r.ID)
		}
	}

	newest := pageReports(t, s, storage.ReportFilter{}, 37, churn)
	wantEachOnce(t, newest, want, nil, "newest first")
	if len(newest) == n && (newest[0] != want[n-1] || newest[n-1] != want[0]) {
		t.Errorf("newest first: starts %s ends %s, want %s ... %s", newest[0], newest[n-1], want[n-1], want[0])
	}

	before := added
	oldest := pageReports(t, s, storage.ReportFilter{Oldest: true}, 37, churn)
	wantEachOnce(t, oldest, want, isAdded, "oldest first")
	if len(oldest) > 0 && oldest[0] != want[0] {
		t.Errorf("oldest first starts with %s, want %s", oldest[0], want[0])
	}
	// Every report added before or during the listing is in it, at the end.
	if got := len(oldest) - n; got < before || got > added {
		t.Errorf("oldest first listed %d added reports, want %d to %d", got, before, added)
	}

	// With a filter, through the village index: each of v2's once.
	var v2 []string
	for i := 1; i < n; i += 3 {
		v2 = append(v2, want[i])
	}
	got := pageReports(t, s, storage.ReportFilter{VillageID: "v2", Oldest: true}, 50, nil)
	wantEqual(t, got, v2, "v2 oldest first")
}

// testReportCreatedSeq: CreatedSeq is the seq of the report's first event;
// a status change moves Seq, never CreatedSeq.
func testReportCreatedSeq(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := createReport(t, s, "r1", "m1", "v1", t0)
	if r.CreatedSeq != r.Seq || r.CreatedSeq < 1 {
		t.Fatalf("created seq %d, seq %d", r.CreatedSeq, r.Seq)
	}
	created := r.CreatedSeq
	createReport(t, s, "r2", "m1", "v1", t0)
	r.Status, r.UpdatedAt = storage.ReportAccepted, at(time.Minute)
	mustNoErr(t, s.UpdateReport(ctx, r, storage.ReportNew, &storage.Event{Type: storage.EventReport,
		VillageID: "v1", MemberID: "m1", CreatedAt: r.UpdatedAt}), "accept r1")
	got, err := s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get report")
	if got.CreatedSeq != created || got.Seq <= created {
		t.Errorf("after an update: created seq %d (want %d), seq %d", got.CreatedSeq, created, got.Seq)
	}
	// Listed by when they were made, not by their latest change.
	list, err := s.ListReports(ctx, storage.ReportFilter{})
	mustNoErr(t, err, "list")
	wantEqual(t, reportIDs(list), []string{"r2", "r1"}, "newest first")
}

func testReportFilters(t *testing.T, s storage.Store) {
	ctx := t.Context()
	mk := func(id, m, v, kind, status string, c time.Time, photos ...string) {
		r, ev := reportAt(id, m, v, c)
		r.Kind, r.Photos = kind, photos
		mustNoErr(t, s.CreateReport(ctx, r, ev), "create "+id)
		if status != storage.ReportNew {
			r.Status, r.UpdatedAt = status, c.Add(time.Minute)
			mustNoErr(t, s.UpdateReport(ctx, r, storage.ReportNew, &storage.Event{Type: storage.EventReport,
				VillageID: v, MemberID: m, CreatedAt: r.UpdatedAt}), "update "+id)
		}
	}
	mk("r1", "m1", "v1", "flood", storage.ReportNew, at(1*time.Minute), "p1")
	mk("r2", "m2", "v2", "fire", storage.ReportAccepted, at(2*time.Minute), "p2", "p3")
	mk("r3", "m1", "v1", "other", storage.ReportInProgress, at(3*time.Minute))
	mk("r4", "m3", "v1", "flood", storage.ReportResolved, at(4*time.Minute), "p4")
	mk("r5", "m2", "v2", "flood", storage.ReportRejected, at(5*time.Minute))
	mk("r6", "m2", "v2", "road", storage.ReportNew, at(6*time.Minute), "p3")

	open := []string{storage.ReportNew, storage.ReportAccepted, storage.ReportInProgress}
	for _, tc := range []struct {
		name string
		f    storage.ReportFilter
		want []string
	}{
		{"open, oldest first", storage.ReportFilter{Statuses: open, Oldest: true}, []string{"r1", "r2", "r3", "r6"}},
		{"open", storage.ReportFilter{Statuses: open}, []string{"r6", "r3", "r2", "r1"}},
		{"handled", storage.ReportFilter{Statuses: []string{storage.ReportResolved, storage.ReportRejected}}, []string{"r5", "r4"}},
		{"one of several", storage.ReportFilter{Statuses: []string{storage.ReportAccepted}}, []string{"r2"}},
		{"status and statuses", storage.ReportFilter{Status: storage.ReportNew, Statuses: open}, []string{"r6", "r1"}},
		{"kind", storage.ReportFilter{Kind: "flood"}, []string{"r5", "r4", "r1"}},
		{"kind in v2", storage.ReportFilter{Kind: "flood", VillageID: "v2"}, []string{"r5"}},
		{"since (inclusive)", storage.ReportFilter{Since: at(4 * time.Minute)}, []string{"r6", "r5", "r4"}},
		{"until (exclusive)", storage.ReportFilter{Until: at(2 * time.Minute)}, []string{"r1"}},
		{"since and until", storage.ReportFilter{Since: at(2 * time.Minute), Until: at(5 * time.Minute), Oldest: true}, []string{"r2", "r3", "r4"}},
		{"photo", storage.ReportFilter{Photo: "p3"}, []string{"r6", "r2"}},
		{"photo in v1", storage.ReportFilter{Photo: "p3", VillageID: "v1"}, []string{}},
		{"photo unknown", storage.ReportFilter{Photo: "p"}, []string{}},
		{"after, newest first", storage.ReportFilter{Statuses: open, After: 0}, []string{"r6", "r3", "r2", "r1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListReports(ctx, tc.f)
			mustNoErr(t, err, "list reports")
			wantEqual(t, reportIDs(got), tc.want, "reports")
		})
	}
	// After continues in the listing's own direction.
	all, err := s.ListReports(ctx, storage.ReportFilter{Oldest: true})
	mustNoErr(t, err, "list")
	if len(all) != 6 {
		t.Fatalf("listed %d reports, want 6", len(all))
	}
	got, err := s.ListReports(ctx, storage.ReportFilter{Oldest: true, After: all[2].CreatedSeq, Limit: 2})
	mustNoErr(t, err, "oldest after r3")
	wantEqual(t, reportIDs(got), []string{"r4", "r5"}, "oldest first after r3")
	got, err = s.ListReports(ctx, storage.ReportFilter{After: all[2].CreatedSeq})
	mustNoErr(t, err, "newest after r3")
	wantEqual(t, reportIDs(got), []string{"r2", "r1"}, "newest first after r3")
}

func testPageAlerts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var want []string
	for i := range 25 {
		id := fmt.Sprintf("a%02d", i)
		a, ev := alertAt(id, at(time.Duration(i)*time.Minute))
		if i%5 == 0 {
			a.Villages = []string{"v1"}
		}
		mustNoErr(t, s.CreateAlert(ctx, a, ev, nil), "create "+id)
		want = append(want, id)
	}
	slices.Reverse(want)
	now := at(time.Hour)
	var got []string
	f := storage.AlertFilter{Now: now, Limit: 7}
	for range 10 {
		as, err := s.ListAlerts(ctx, f)
		mustNoErr(t, err, "list alerts")
		got = append(got, alertIDsOf(as)...)
		if len(as) < f.Limit {
			break
		}
		f.After = as[len(as)-1].Seq
		createAlert(t, s, fmt.Sprintf("new%d", f.After), at(2*time.Hour)) // newer: never on a later page
	}
	wantEqual(t, got, want, "alerts paged newest first")

	for _, tc := range []struct {
		name string
		f    storage.AlertFilter
		want []string
	}{
		{"since and until", storage.AlertFilter{Now: now, Since: at(3 * time.Minute), Until: at(6 * time.Minute)}, []string{"a05", "a04", "a03"}},
		{"village, after", storage.AlertFilter{Now: now, Village: "v1", After: 0, Limit: 2}, []string{"a20", "a15"}},
		{"until, active", storage.AlertFilter{Now: now, Status: storage.AlertActive, Until: at(2 * time.Minute)}, []string{"a01", "a00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			as, err := s.ListAlerts(ctx, tc.f)
			mustNoErr(t, err, "list alerts")
			wantEqual(t, alertIDsOf(as), tc.want, "alerts")
		})
	}
	v1, err := s.ListAlerts(ctx, storage.AlertFilter{Now: now, Village: "v1", Limit: 2})
	mustNoErr(t, err, "list v1")
	if len(v1) == 2 {
		rest, err := s.ListAlerts(ctx, storage.AlertFilter{Now: now, Village: "v1", After: v1[1].Seq})
		mustNoErr(t, err, "list v1 after")
		wantEqual(t, alertIDsOf(rest), []string{"a10", "a05", "a00"}, "v1 second page")
	}
}

func testPageBulletins(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("b%02d", i)
		v := []string{"v1", "", "v2", "v1"}[i%4]
		b, ev := bulletinAt(id, v, at(time.Duration(i)*time.Minute))
		if i%2 == 1 {
			b.Category = "jobs"
		}
		mustNoErr(t, s.CreateBulletin(ctx, b, ev), "create "+id)
		if v == "v1" || v == "" {
			want = append(want, id)
		}
	}
	slices.Reverse(want)
	var got []string
	f := storage.BulletinFilter{VillageID: "v1", WithCountyWide: true, Limit: 4}
	for range 10 {
		bs, err := s.ListBulletins(ctx, f)
		mustNoErr(t, err, "list bulletins")
		for _, b := range bs {
			got = append(got, b.ID)
		}
		if len(bs) < f.Limit {
			break
		}
		f.After = bs[len(bs)-1].Seq
		createBulletin(t, s, fmt.Sprintf("new%d", f.After), "v1", at(time.Hour))
	}
	wantEqual(t, got, want, "v1 and county-wide bulletins paged newest first")

	for _, tc := range []struct {
		name string
		f    storage.BulletinFilter
		want []string
	}{
		{"category", storage.BulletinFilter{VillageID: "v2", Category: "notice"}, []string{"b18", "b14", "b10", "b06", "b02"}},
		{"category jobs in v1", storage.BulletinFilter{VillageID: "v1", Category: "jobs"}, []string{"b19", "b15", "b11", "b07", "b03"}},
		{"since and until", storage.BulletinFilter{Since: at(3 * time.Minute), Until: at(5 * time.Minute)}, []string{"b04", "b03"}},
		{"county-wide only", storage.BulletinFilter{VillageID: "v9", WithCountyWide: true, Until: at(10 * time.Minute)}, []string{"b09", "b05", "b01"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bs, err := s.ListBulletins(ctx, tc.f)
			mustNoErr(t, err, "list bulletins")
			ids := []string{}
			for _, b := range bs {
				ids = append(ids, b.ID)
			}
			wantEqual(t, ids, tc.want, "bulletins")
		})
	}
}
