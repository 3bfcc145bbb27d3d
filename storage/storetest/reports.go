package storetest

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// bulletinCases and mediaCases are the capabilities of the bulletin
// service and of the members service's uploads.
var (
	bulletinCases = []testCase{{"Bulletins", testBulletins}}
	mediaCases    = []testCase{{"Media", testMedia}}
)

var reportCases = []testCase{
	{"ReportRoundTrip", testReportRoundTrip},
	{"ReportClientID", testReportClientID},
	{"UpdateReport", testUpdateReport},
	{"ListReports", testListReports},
}

// wantReport compares two reports, times as instants.
func wantReport(t testing.TB, got, want storage.Report) {
	t.Helper()
	wantTime(t, got.CreatedAt, want.CreatedAt, want.ID+" created_at")
	wantTime(t, got.UpdatedAt, want.UpdatedAt, want.ID+" updated_at")
	wantTime(t, got.DueAt, want.DueAt, want.ID+" due_at")
	got.CreatedAt, got.UpdatedAt, got.DueAt = want.CreatedAt, want.UpdatedAt, want.DueAt
	if want.Level == "" { // stored as the village level (v1.6)
		want.Level = storage.LevelVillage
	}
	wantEqual(t, got, want, "report")
}

func testReportRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r, ev := reportAt("r1", "m1", "v1", t0)
	r.Photos = []string{"p1", "p2"}
	r.Feedback = "已收到"
	mustNoErr(t, s.CreateReport(ctx, r, ev), "create report")
	if r.Seq < 1 || r.Seq != ev.Seq {
		t.Fatalf("report seq %d, event seq %d", r.Seq, ev.Seq)
	}
	got, err := s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get report")
	wantReport(t, got, *r)

	// No photos reads back as an empty list, never nil: the wire shows []
	// (reports.View keeps the list as read; api's goldens pin the JSON).
	np, nev := reportAt("r2", "m1", "v1", at(time.Second))
	np.Photos = nil
	mustNoErr(t, s.CreateReport(ctx, np, nev), "create report without photos")
	got, err = s.GetReport(ctx, "r2")
	mustNoErr(t, err, "get report")
	if got.Photos == nil || len(got.Photos) != 0 {
		t.Errorf("photos of a report without photos: %#v, want []string{}", got.Photos)
	}
	list, err := s.ListReports(ctx, storage.ReportFilter{})
	mustNoErr(t, err, "list reports")
	for _, r := range list {
		if r.Photos == nil {
			t.Errorf("listed report %s has nil photos", r.ID)
		}
		if r.ID == "r2" && len(r.Photos) != 0 {
			t.Errorf("listed report r2 has photos %#v, want none", r.Photos)
		}
	}

	_, err = s.GetReport(ctx, "missing")
	wantErrIs(t, err, storage.ErrNotFound, "get missing report")
	before, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	dup, dev := reportAt("r1", "m2", "v2", at(time.Minute))
	wantErrIs(t, s.CreateReport(ctx, dup, dev), storage.ErrConflict, "create report with a taken id")
	after, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	if after != before {
		t.Errorf("a refused report appended an event (%d -> %d)", before, after)
	}
}

func testUpdateReport(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r := createReport(t, s, "r1", "m1", "v1", t0)
	created := *r

	u := *r
	u.Status, u.Feedback, u.UpdatedAt = storage.ReportAccepted, "已派人", at(time.Minute)
	uev := &storage.Event{Type: storage.EventReport, VillageID: "v1", MemberID: "m1",
		Body: json.RawMessage(`{"id":"r1","status":"accepted"}`), CreatedAt: u.UpdatedAt}
	mustNoErr(t, s.UpdateReport(ctx, &u, storage.ReportNew, uev), "update report")
	if u.Seq != uev.Seq || u.Seq <= created.Seq {
		t.Errorf("updated seq %d (event %d), created seq %d", u.Seq, uev.Seq, created.Seq)
	}
	got, err := s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get report")
	want := created
	want.Status, want.Feedback, want.UpdatedAt, want.Seq = u.Status, u.Feedback, u.UpdatedAt, u.Seq
	wantReport(t, got, want)

	// The status changed meanwhile: a second update from "new" conflicts.
	stale := u
	stale.Status, stale.Feedback = storage.ReportRejected, "重复"
	before, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	err = s.UpdateReport(ctx, &stale, storage.ReportNew, &storage.Event{Type: storage.EventReport, VillageID: "v1", MemberID: "m1"})
	wantErrIs(t, err, storage.ErrConflict, "update from a stale status")
	after, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	if after != before {
		t.Errorf("a refused update appended an event (%d -> %d)", before, after)
	}
	got, err = s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get report")
	if got.Status != storage.ReportAccepted || got.Feedback != "已派人" {
		t.Errorf("a refused update changed the report: %+v", got)
	}

	missing := storage.Report{ID: "missing", Status: storage.ReportAccepted}
	err = s.UpdateReport(ctx, &missing, storage.ReportNew, &storage.Event{Type: storage.EventReport})
	wantErrIs(t, err, storage.ErrNotFound, "update a missing report")
}

func testListReports(t *testing.T, s storage.Store) {
	ctx := t.Context()
	createReport(t, s, "r1", "m1", "v1", at(1*time.Minute))
	createReport(t, s, "r2", "m2", "v2", at(2*time.Minute))
	createReport(t, s, "r3", "m1", "v1", at(3*time.Minute))
	r4 := createReport(t, s, "r4", "m3", "v1", at(4*time.Minute))
	r4.Status, r4.UpdatedAt = storage.ReportResolved, at(5*time.Minute)
	mustNoErr(t, s.UpdateReport(ctx, r4, storage.ReportNew, &storage.Event{Type: storage.EventReport,
		VillageID: "v1", MemberID: "m3", CreatedAt: r4.UpdatedAt}), "resolve r4")
	// r1 changes last, but lists by when it was made.
	r1, err := s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get r1")
	r1.Status, r1.UpdatedAt = storage.ReportInProgress, at(6*time.Minute)
	mustNoErr(t, s.UpdateReport(ctx, &r1, storage.ReportNew, &storage.Event{Type: storage.EventReport,
		VillageID: "v1", MemberID: "m1", CreatedAt: r1.UpdatedAt}), "start r1")

	// Reading: reports are listed newest (CreatedAt) first.
	for _, tc := range []struct {
		name string
		f    storage.ReportFilter
		want []string
	}{
		{"all", storage.ReportFilter{}, []string{"r4", "r3", "r2", "r1"}},
		{"status new", storage.ReportFilter{Status: storage.ReportNew}, []string{"r3", "r2"}},
		{"village v1", storage.ReportFilter{VillageID: "v1"}, []string{"r4", "r3", "r1"}},
		{"new in v1", storage.ReportFilter{Status: storage.ReportNew, VillageID: "v1"}, []string{"r3"}},
		{"member m1", storage.ReportFilter{MemberID: "m1"}, []string{"r3", "r1"}},
		{"resolved", storage.ReportFilter{Status: storage.ReportResolved}, []string{"r4"}},
		{"rejected", storage.ReportFilter{Status: storage.ReportRejected}, []string{}},
		{"limit", storage.ReportFilter{Limit: 3}, []string{"r4", "r3", "r2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListReports(ctx, tc.f)
			mustNoErr(t, err, "list reports")
			ids := []string{}
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			wantEqual(t, ids, tc.want, "reports")
		})
	}
}

func testBulletins(t *testing.T, s storage.Store) {
	ctx := t.Context()
	b1, ev := bulletinAt("b1", "v1", at(time.Minute))
	mustNoErr(t, s.CreateBulletin(ctx, b1, ev), "create bulletin")
	if b1.Seq < 1 || b1.Seq != ev.Seq {
		t.Errorf("bulletin seq %d, event seq %d", b1.Seq, ev.Seq)
	}
	createBulletin(t, s, "b2", "", at(2*time.Minute))
	createBulletin(t, s, "b3", "v2", at(3*time.Minute))
	createBulletin(t, s, "b4", "v1", at(4*time.Minute))

	dup, dev := bulletinAt("b1", "v2", at(5*time.Minute))
	wantErrIs(t, s.CreateBulletin(ctx, dup, dev), storage.ErrConflict, "create bulletin with a taken id")

	// Reading: bulletins are listed newest first.
	for _, tc := range []struct {
		name string
		f    storage.BulletinFilter
		want []string
	}{
		{"all", storage.BulletinFilter{}, []string{"b4", "b3", "b2", "b1"}},
		{"village v1", storage.BulletinFilter{VillageID: "v1"}, []string{"b4", "b1"}},
		{"village v1 and county-wide", storage.BulletinFilter{VillageID: "v1", WithCountyWide: true}, []string{"b4", "b2", "b1"}},
		{"village v3 and county-wide", storage.BulletinFilter{VillageID: "v3", WithCountyWide: true}, []string{"b2"}},
		{"village v3", storage.BulletinFilter{VillageID: "v3"}, []string{}},
		{"limit", storage.BulletinFilter{Limit: 1}, []string{"b4"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListBulletins(ctx, tc.f)
			mustNoErr(t, err, "list bulletins")
			ids := []string{}
			for _, b := range got {
				ids = append(ids, b.ID)
			}
			wantEqual(t, ids, tc.want, "bulletins")
		})
	}
	got, err := s.ListBulletins(ctx, storage.BulletinFilter{Limit: 4})
	mustNoErr(t, err, "list bulletins")
	if len(got) == 4 {
		g := got[3]
		wantTime(t, g.PublishedAt, b1.PublishedAt, "published_at")
		g.PublishedAt = b1.PublishedAt
		wantEqual(t, g, *b1, "bulletin round trip")
	}
}

func testMedia(t *testing.T, s storage.Store) {
	ctx := t.Context()
	data := bytes.Repeat([]byte{0xff, 0xd8, 0x00, 0x10}, 1024)
	m := storage.Media{ID: "img1", ContentType: "image/jpeg", Size: len(data), OwnerID: "m1", CreatedAt: t0}
	mustNoErr(t, s.PutMedia(ctx, m, data), "put media")
	got, gotData, err := s.GetMedia(ctx, "img1")
	mustNoErr(t, err, "get media")
	wantTime(t, got.CreatedAt, m.CreatedAt, "created_at")
	got.CreatedAt = m.CreatedAt
	wantEqual(t, got, m, "media")
	if !bytes.Equal(gotData, data) {
		t.Errorf("media bytes differ (%d bytes, want %d)", len(gotData), len(data))
	}
	wantErrIs(t, s.PutMedia(ctx, m, []byte("other")), storage.ErrConflict, "put media with a taken id")
	_, _, err = s.GetMedia(ctx, "missing")
	wantErrIs(t, err, storage.ErrNotFound, "get missing media")
	info, err := s.MediaInfo(ctx, "img1")
	mustNoErr(t, err, "media info")
	wantTime(t, info.CreatedAt, m.CreatedAt, "media info created_at")
	info.CreatedAt = m.CreatedAt
	wantEqual(t, info, m, "media info")
	_, err = s.MediaInfo(ctx, "missing")
	wantErrIs(t, err, storage.ErrNotFound, "media info of missing media")
}

// testReportClientID: a report retried with the same client id is refused
// with ErrConflict and nothing is written (no report, no event); the first
// one is found by (member, client id). Other members may reuse the key.
func testReportClientID(t *testing.T, s storage.Store) {
	ctx := t.Context()
	r, ev := reportAt("rc1", "m1", "v1", t0)
	r.ClientID = "l123"
	mustNoErr(t, s.CreateReport(ctx, r, ev), "create report")
	seq, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")

	again, ev2 := reportAt("rc2", "m1", "v1", t0.Add(time.Second))
	again.ClientID = "l123"
	wantErrIs(t, s.CreateReport(ctx, again, ev2), storage.ErrConflict, "retried report")
	if _, err := s.GetReport(ctx, "rc2"); err == nil {
		t.Fatalf("the refused retry was stored")
	}
	if after, _ := s.LatestSeq(ctx); after != seq {
		t.Fatalf("the refused retry appended an event: seq %d -> %d", seq, after)
	}
	got, err := s.ListReports(ctx, storage.ReportFilter{MemberID: "m1", ClientID: "l123"})
	mustNoErr(t, err, "list by client id")
	if len(got) != 1 || got[0].ID != "rc1" || got[0].ClientID != "l123" {
		t.Fatalf("by client id: %+v", got)
	}
	other, ev3 := reportAt("rc3", "m2", "v1", t0)
	other.ClientID = "l123"
	mustNoErr(t, s.CreateReport(ctx, other, ev3), "another member, same key")
	none, ev4 := reportAt("rc4", "m1", "v1", t0)
	mustNoErr(t, s.CreateReport(ctx, none, ev4), "no client id")
	none2, ev5 := reportAt("rc5", "m1", "v1", t0)
	mustNoErr(t, s.CreateReport(ctx, none2, ev5), "no client id twice")
}
