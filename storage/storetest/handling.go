package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunHandling: report handling (storage/handling.go, v1.6): the new
// report fields and filters, ChangeReport (history, events, SMS, the seq
// check), the history and the facts the figures read.
func RunHandling(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, handlingCases, newStore)
}

var handlingCases = []testCase{
	{"FieldsAndFilters", testHandlingFields},
	{"ChangeReport", testChangeReport},
	{"Facts", testReportFacts},
	{"EraseRedactsUpdates", testEraseRedactsUpdates},
}

// testEraseRedactsUpdates: erasing a reporter blanks the text and photos
// in the bodies of its reports' report_update events too, as in their
// report events.
func testEraseRedactsUpdates(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("c1", 2, storage.RoleCadre, "v1"))
	rep := createReport(t, s, "rep1", "r1", "v1", at(0))
	r := *rep
	r.AssigneeID, r.UpdatedAt = "c1", at(time.Minute)
	upd := &storage.Event{Type: storage.EventReportUpdate, VillageID: "v1", MemberID: "r1", To: []string{"r1", "c1"},
		Body: []byte(`{"id":"rep1","text":"我家门口塌方","photos":["p1"],"assignee_id":"c1"}`), CreatedAt: at(time.Minute)}
	mustNoErr(t, s.ChangeReport(ctx, &storage.ReportChange{Report: &r, FromSeq: r.Seq, Events: []*storage.Event{upd}}), "change")
	_, err := s.EraseMember(ctx, "r1", at(time.Hour))
	mustNoErr(t, err, "erase")
	evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "c1", Role: storage.RoleCadre, VillageID: "v1"}, 0, 0)
	mustNoErr(t, err, "events")
	found := false
	for _, e := range evs {
		if e.Seq != upd.Seq {
			continue
		}
		found = true
		if strings.Contains(string(e.Body), "塌方") || strings.Contains(string(e.Body), `"p1"`) || !strings.Contains(string(e.Body), `"assignee_id"`) {
			t.Errorf("report_update body after erasure: %s", e.Body)
		}
	}
	if !found {
		t.Fatalf("the report_update event is gone: %+v", evs)
	}
}

// testHandlingFields: the handling fields are stored and read back, and
// the list filters by villages, level, overdue and assignee.
func testHandlingFields(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("c2", 2, storage.RoleCadre, "v2"))
	r, ev := reportAt("rep1", "r1", "v2", at(0))
	r.ReporterVillageID, r.Level, r.RemindAt, r.EscalateAt, r.CountyAt = "v1", storage.LevelVillage, at(time.Hour), at(2*time.Hour), at(3*time.Hour)
	mustNoErr(t, s.CreateReport(ctx, r, ev), "create")
	createReport(t, s, "rep2", "r1", "v1", at(time.Second))

	got, err := s.GetReport(ctx, "rep1")
	mustNoErr(t, err, "get")
	wantEqual(t, got.ReporterVillageID, "v1", "reporter village")
	wantEqual(t, got.VillageID, "v2", "village")
	wantEqual(t, got.Level, storage.LevelVillage, "level")
	wantEqual(t, got.Overdue, false, "overdue")
	wantTime(t, got.RemindAt, at(time.Hour), "remind_at")
	wantTime(t, got.EscalateAt, at(2*time.Hour), "escalate_at")
	wantTime(t, got.CountyAt, at(3*time.Hour), "county_at")
	wantTime(t, got.ClosedAt, time.Time{}, "closed_at")
	rep2, err := s.GetReport(ctx, "rep2")
	mustNoErr(t, err, "get rep2")
	wantEqual(t, rep2.Level, storage.LevelVillage, "level of a report made without one")

	// Its history starts with its creation, by its reporter.
	hs, err := s.ReportHistory(ctx, "rep1")
	mustNoErr(t, err, "history")
	if len(hs) != 1 || hs[0].Change != storage.ChangeCreated || hs[0].Actor != "r1" || hs[0].To != storage.ReportNew {
		t.Fatalf("history after create: %+v", hs)
	}
	wantTime(t, hs[0].At, at(0), "created at")

	// Escalate and assign rep1.
	got.Level, got.Overdue, got.AssigneeID, got.UpdatedAt = storage.LevelTownship, true, "c2", at(time.Minute)
	upd := &storage.Event{Type: storage.EventReportUpdate, VillageID: "v2", MemberID: "r1", To: []string{"r1", "c2"},
		Body: []byte(`{"id":"rep1"}`), CreatedAt: at(time.Minute)}
	mustNoErr(t, s.ChangeReport(ctx, &storage.ReportChange{Report: &got, FromSeq: got.Seq, Events: []*storage.Event{upd}}), "change")

	list := func(f storage.ReportFilter) []string {
		t.Helper()
		rs, err := s.ListReports(ctx, f)
		mustNoErr(t, err, "list")
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		slices.Sort(ids)
		return ids
	}
	yes, no := true, false
	for _, c := range []struct {
		name string
		f    storage.ReportFilter
		want []string
	}{
		{"villages v2", storage.ReportFilter{VillageIDs: []string{"v2"}}, []string{"rep1"}},
		{"villages v1 v2", storage.ReportFilter{VillageIDs: []string{"v1", "v2"}}, []string{"rep1", "rep2"}},
		{"villages none", storage.ReportFilter{VillageIDs: []string{}}, nil},
		{"township level", storage.ReportFilter{Level: storage.LevelTownship}, []string{"rep1"}},
		{"village level", storage.ReportFilter{Level: storage.LevelVillage}, []string{"rep2"}},
		{"overdue", storage.ReportFilter{Overdue: &yes}, []string{"rep1"}},
		{"not overdue", storage.ReportFilter{Overdue: &no}, []string{"rep2"}},
		{"assignee", storage.ReportFilter{AssigneeID: "c2"}, []string{"rep1"}},
	} {
		if got := list(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// testChangeReport: a change writes the report, its history, its events
// (addressed ones to their readers) and its SMS in one go, once; a change
// from a stale seq writes nothing (ErrConflict).
func testChangeReport(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("c1", 2, storage.RoleCadre, "v1"),
		newMember("t1", 3, storage.RoleCadre, ""))
	rep := createReport(t, s, "rep1", "r1", "v1", at(0))
	created := rep.Seq

	r := *rep
	r.Overdue, r.Reminded, r.Level, r.UpdatedAt = true, true, storage.LevelTownship, at(time.Hour)
	notice := &storage.Event{Type: storage.EventNotice, VillageID: "v1", To: []string{"t1"}, Body: []byte(`{"kind":"report_escalated"}`), CreatedAt: at(time.Hour)}
	v1 := &storage.Event{Type: storage.EventReport, VillageID: "v1", MemberID: "r1", Body: []byte(`{"id":"rep1"}`), CreatedAt: at(time.Hour)}
	upd := &storage.Event{Type: storage.EventReportUpdate, VillageID: "v1", MemberID: "r1", To: []string{"r1", "c1", "t1"},
		Body: []byte(`{"id":"rep1","level":"township"}`), CreatedAt: at(time.Hour)}
	sms := storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefReport, ID: "rep1"},
		MemberID: "c1", Kind: storage.MessageReportReminder, DueAt: at(time.Hour)}
	c := &storage.ReportChange{Report: &r, FromSeq: created,
		History: []storage.ReportHistory{
			{ReportID: "rep1", At: at(time.Hour), Actor: storage.HistoryActorSystem, Change: storage.ChangeOverdue, From: "false", To: "true"},
			{ReportID: "rep1", At: at(time.Hour), Actor: storage.HistoryActorSystem, Change: storage.ChangeLevel, From: "village", To: "township"},
		},
		Events: []*storage.Event{notice, v1, upd}, Messages: []storage.Message{sms}}
	mustNoErr(t, s.ChangeReport(ctx, c), "change")
	if !(created < notice.Seq && notice.Seq < v1.Seq && v1.Seq < upd.Seq) || r.Seq != upd.Seq {
		t.Fatalf("seqs: created %d notice %d report %d update %d report.Seq %d", created, notice.Seq, v1.Seq, upd.Seq, r.Seq)
	}
	got, err := s.GetReport(ctx, "rep1")
	mustNoErr(t, err, "get")
	if !got.Overdue || !got.Reminded || got.Level != storage.LevelTownship || got.Seq != upd.Seq || got.CreatedSeq != created {
		t.Errorf("after change: %+v", got)
	}
	hs, err := s.ReportHistory(ctx, "rep1")
	mustNoErr(t, err, "history")
	if len(hs) != 3 || hs[1].Change != storage.ChangeOverdue || hs[2].Change != storage.ChangeLevel ||
		hs[2].Actor != storage.HistoryActorSystem || hs[2].From != "village" || hs[2].To != "township" || !(hs[1].ID < hs[2].ID) {
		t.Errorf("history: %+v", hs)
	}
	msgs, err := s.ListMessages(ctx, sms.Ref)
	mustNoErr(t, err, "messages")
	if len(msgs) != 1 || msgs[0].MemberID != "c1" || msgs[0].Kind != storage.MessageReportReminder {
		t.Errorf("messages: %+v", msgs)
	}

	// Who reads what: t1 (no village) the notice and the update; c1 the
	// report event (its village's cadre) and the update; r1 the report
	// event (its reporter) and the update.
	seqs := func(a storage.Audience) []int64 {
		t.Helper()
		evs, err := s.EventsSince(ctx, a, created, 0)
		mustNoErr(t, err, "events since")
		var out []int64
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return out
	}
	wantEqual(t, seqs(storage.Audience{MemberID: "t1", Role: storage.RoleCadre}), []int64{notice.Seq, upd.Seq}, "t1's events")
	wantEqual(t, seqs(storage.Audience{MemberID: "c1", Role: storage.RoleCadre, VillageID: "v1"}), []int64{v1.Seq, upd.Seq}, "c1's events")
	wantEqual(t, seqs(storage.Audience{MemberID: "r1", Role: storage.RoleResident, VillageID: "v1"}), []int64{v1.Seq, upd.Seq}, "r1's events")

	// A stale change (from the created seq) writes nothing; the same SMS
	// again is not queued twice.
	stale := *rep
	stale.Status, stale.UpdatedAt = storage.ReportResolved, at(2*time.Hour)
	again := &storage.Event{Type: storage.EventReportUpdate, VillageID: "v1", MemberID: "r1", To: []string{"r1"}, Body: []byte(`{}`), CreatedAt: at(2 * time.Hour)}
	err = s.ChangeReport(ctx, &storage.ReportChange{Report: &stale, FromSeq: created,
		History: []storage.ReportHistory{{ReportID: "rep1", At: at(2 * time.Hour), Actor: "c1", Change: storage.ChangeStatus}},
		Events:  []*storage.Event{again}, Messages: []storage.Message{sms}})
	wantErrIs(t, err, storage.ErrConflict, "stale change")
	if hs, _ := s.ReportHistory(ctx, "rep1"); len(hs) != 3 {
		t.Errorf("a stale change wrote history: %d entries", len(hs))
	}
	if latest, _ := s.GetReport(ctx, "rep1"); latest.Status != storage.ReportNew || latest.Seq != upd.Seq {
		t.Errorf("a stale change changed the report: %+v", latest)
	}
	// Closed, with the same SMS: still one row.
	r.Status, r.ClosedAt, r.UpdatedAt = storage.ReportResolved, at(3*time.Hour), at(3*time.Hour)
	fin := &storage.Event{Type: storage.EventReportUpdate, VillageID: "v1", MemberID: "r1", To: []string{"r1"}, Body: []byte(`{}`), CreatedAt: at(3 * time.Hour)}
	mustNoErr(t, s.ChangeReport(ctx, &storage.ReportChange{Report: &r, FromSeq: r.Seq, Events: []*storage.Event{fin},
		Messages: []storage.Message{sms}}), "close")
	if msgs, _ := s.ListMessages(ctx, sms.Ref); len(msgs) != 1 {
		t.Errorf("the same SMS queued twice: %d rows", len(msgs))
	}
	got, _ = s.GetReport(ctx, "rep1")
	wantTime(t, got.ClosedAt, at(3*time.Hour), "closed_at")

	// Unknown report; no event.
	missing := storage.Report{ID: "missing", UpdatedAt: at(0)}
	wantErrIs(t, s.ChangeReport(ctx, &storage.ReportChange{Report: &missing, Events: []*storage.Event{fin}}), storage.ErrNotFound, "unknown report")
	wantErrIs(t, s.ChangeReport(ctx, &storage.ReportChange{Report: &r, FromSeq: r.Seq}), storage.ErrNotAddressed, "no event")
	if hs, err := s.ReportHistory(ctx, "missing"); err != nil || len(hs) != 0 {
		t.Errorf("history of an unknown report: %v, %v", hs, err)
	}
}

// testReportFacts: the facts of the reports made in a period, of some
// villages or all.
func testReportFacts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"))
	createReport(t, s, "a", "r1", "v1", at(0))
	b := createReport(t, s, "b", "r1", "v2", at(time.Hour))
	createReport(t, s, "c", "r1", "v2", at(48*time.Hour))
	b.Status, b.ClosedAt, b.Overdue, b.UpdatedAt = storage.ReportResolved, at(2*time.Hour), true, at(2*time.Hour)
	ev := &storage.Event{Type: storage.EventReportUpdate, VillageID: "v2", MemberID: "r1", To: []string{"r1"}, Body: []byte(`{}`), CreatedAt: at(2 * time.Hour)}
	mustNoErr(t, s.ChangeReport(ctx, &storage.ReportChange{Report: b, FromSeq: b.Seq, Events: []*storage.Event{ev}}), "close b")

	facts := func(vs []string) map[string]storage.ReportFact {
		t.Helper()
		fs, err := s.ReportFacts(ctx, at(0), at(24*time.Hour), vs)
		mustNoErr(t, err, "facts")
		out := map[string]storage.ReportFact{}
		for _, f := range fs {
			out[f.ID] = f
		}
		return out
	}
	all := facts(nil)
	if len(all) != 2 {
		t.Fatalf("facts of the first day: %+v, want a and b", all)
	}
	fb := all["b"]
	if fb.VillageID != "v2" || fb.Status != storage.ReportResolved || !fb.Overdue || fb.Level != storage.LevelVillage {
		t.Errorf("fact b: %+v", fb)
	}
	wantTime(t, fb.ClosedAt, at(2*time.Hour), "b closed")
	wantTime(t, fb.CreatedAt, at(time.Hour), "b created")
	wantTime(t, fb.DueAt, at(time.Hour+30*time.Minute), "b due")
	wantTime(t, all["a"].ClosedAt, time.Time{}, "a open")
	if got := facts([]string{"v1"}); len(got) != 1 || got["a"].ID != "a" {
		t.Errorf("facts of v1: %+v", got)
	}
	if got := facts([]string{}); len(got) != 0 {
		t.Errorf("facts of no village: %+v", got)
	}
}
