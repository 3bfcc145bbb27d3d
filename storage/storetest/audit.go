package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunAudit: the audit trail and alert templates (storage/audit.go,
// storage/templates.go).
func RunAudit(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, auditCases, newStore)
}

var auditCases = []testCase{
	{"AppendList", testAuditAppendList},
	{"Filters", testAuditFilters},
	{"Templates", testTemplates},
	{"ActorsOfChanges", testActorsOfChanges},
}

func auditEntry(actor, route, target string, d time.Duration) storage.AuditEntry {
	return storage.AuditEntry{At: at(d), ActorID: actor, ActorRole: storage.RoleCommander, TokenID: "tok-" + actor,
		Addr: "192.0.2.7", Method: "POST", Route: route, Target: target, Status: 200}
}

// testAuditAppendList: entries come back as stored, newest first, with
// growing seqs; before and after JSON kept, absent ones nil.
func testAuditAppendList(t *testing.T, s storage.Store) {
	ctx := context.Background()
	got, err := s.ListAudit(ctx, storage.AuditFilter{})
	mustNoErr(t, err, "list empty")
	wantEqual(t, len(got), 0, "empty trail")
	e1 := auditEntry("c1", "POST /api/v1/alerts", "a1", 0)
	mustNoErr(t, s.AppendAudit(ctx, &e1), "append 1")
	e2 := auditEntry("c1", "PATCH /api/v1/members/{id}", "m1", time.Minute)
	e2.Before = json.RawMessage(`{"name":"张三","active":true}`)
	e2.After = json.RawMessage(`{"name":"张三","active":false}`)
	e2.Status = 200
	mustNoErr(t, s.AppendAudit(ctx, &e2), "append 2")
	if e1.Seq <= 0 || e2.Seq <= e1.Seq {
		t.Fatalf("seqs %d, %d: want growing from 1", e1.Seq, e2.Seq)
	}
	got, err = s.ListAudit(ctx, storage.AuditFilter{})
	mustNoErr(t, err, "list")
	if len(got) != 2 {
		t.Fatalf("got %d entries, want 2", len(got))
	}
	g := got[0]
	wantEqual(t, g.Seq, e2.Seq, "newest first")
	wantTime(t, g.At, e2.At, "at")
	wantEqual(t, []string{g.ActorID, string(g.ActorRole), g.TokenID, g.Addr, g.Method, g.Route, g.Target},
		[]string{"c1", "commander", "tok-c1", "192.0.2.7", "POST", "PATCH /api/v1/members/{id}", "m1"}, "fields")
	wantEqual(t, g.Status, 200, "status")
	wantJSON(t, g.Before, e2.Before, "before")
	wantJSON(t, g.After, e2.After, "after")
	if got[1].Before != nil || got[1].After != nil {
		t.Errorf("entry without notes: before %s after %s, want nil", got[1].Before, got[1].After)
	}
}

// testAuditFilters: actor, action (a part of the route), target, time
// range and paging by seq, combined.
func testAuditFilters(t *testing.T, s storage.Store) {
	ctx := context.Background()
	es := []storage.AuditEntry{
		auditEntry("c1", "POST /api/v1/alerts", "a1", 0),
		auditEntry("c2", "POST /api/v1/alerts/{id}/cancel", "a1", time.Minute),
		auditEntry("c1", "PATCH /api/v1/reports/{id}", "r1", 2*time.Minute),
		auditEntry("c2", "POST /api/v1/bulletins", "b1", 3*time.Minute),
		auditEntry("c1", "POST /api/v1/alerts/{id}/cancel", "a2", 4*time.Minute),
	}
	for i := range es {
		mustNoErr(t, s.AppendAudit(ctx, &es[i]), "append")
	}
	seqs := func(f storage.AuditFilter) []int64 {
		t.Helper()
		got, err := s.ListAudit(ctx, f)
		mustNoErr(t, err, "list")
		out := []int64{}
		for _, e := range got {
			out = append(out, e.Seq)
		}
		return out
	}
	sq := func(i ...int) []int64 {
		out := []int64{}
		for _, n := range i {
			out = append(out, es[n].Seq)
		}
		return out
	}
	wantEqual(t, seqs(storage.AuditFilter{ActorID: "c1"}), sq(4, 2, 0), "actor")
	wantEqual(t, seqs(storage.AuditFilter{Action: "cancel"}), sq(4, 1), "action")
	wantEqual(t, seqs(storage.AuditFilter{Action: "POST /api/v1/alerts"}), sq(4, 1, 0), "action prefix")
	wantEqual(t, seqs(storage.AuditFilter{Target: "a1"}), sq(1, 0), "target")
	wantEqual(t, seqs(storage.AuditFilter{Since: at(time.Minute), Until: at(3 * time.Minute)}), sq(2, 1), "time range")
	wantEqual(t, seqs(storage.AuditFilter{Limit: 2}), sq(4, 3), "first page")
	wantEqual(t, seqs(storage.AuditFilter{Limit: 2, BeforeSeq: es[3].Seq}), sq(2, 1), "second page")
	wantEqual(t, seqs(storage.AuditFilter{ActorID: "c1", Action: "cancel", Target: "a2"}), sq(4), "combined")
	wantEqual(t, seqs(storage.AuditFilter{Action: "%"}), sq(), "a LIKE wildcard is literal")
}

// testTemplates: put inserts then replaces; list by id; delete once.
func testTemplates(t *testing.T, s storage.Store) {
	ctx := context.Background()
	got, err := s.ListTemplates(ctx)
	mustNoErr(t, err, "list empty")
	wantEqual(t, len(got), 0, "no templates")
	flood := storage.Template{ID: "flood", Name: "山洪", Kind: "flood", Severity: "severe", Title: "山洪预警",
		Body: "请立即转移", ExpiryHours: 12, Roles: nil, UpdatedBy: "c1", UpdatedAt: t0}
	mine := storage.Template{ID: "t-dam", Name: "水库", Kind: "flood", Severity: "extreme", Title: "水库险情",
		Body: "下游群众转移", ExpiryHours: 6, Roles: []storage.Role{storage.RolePatrol, storage.RoleCadre},
		UpdatedBy: "c1", UpdatedAt: at(time.Minute)}
	mustNoErr(t, s.PutTemplate(ctx, mine), "put mine")
	mustNoErr(t, s.PutTemplate(ctx, flood), "put flood")
	got, err = s.ListTemplates(ctx)
	mustNoErr(t, err, "list")
	if len(got) != 2 || got[0].ID != "flood" || got[1].ID != "t-dam" {
		t.Fatalf("list: %+v", got)
	}
	wantTime(t, got[1].UpdatedAt, mine.UpdatedAt, "updated at")
	got[1].UpdatedAt = mine.UpdatedAt
	wantEqual(t, got[1], mine, "mine as stored")
	wantEqual(t, got[0].Roles, []storage.Role(nil), "nil roles stay nil")
	flood.Body, flood.UpdatedBy, flood.UpdatedAt = "改过的", "c2", at(time.Hour)
	mustNoErr(t, s.PutTemplate(ctx, flood), "replace flood")
	g, err := s.GetTemplate(ctx, "flood")
	mustNoErr(t, err, "get flood")
	wantEqual(t, []string{g.Body, g.UpdatedBy}, []string{"改过的", "c2"}, "replaced")
	wantTime(t, g.UpdatedAt, at(time.Hour), "replaced at")
	mustNoErr(t, s.DeleteTemplate(ctx, "flood"), "delete")
	wantErrIs(t, s.DeleteTemplate(ctx, "flood"), storage.ErrNotFound, "delete again")
	_, err = s.GetTemplate(ctx, "flood")
	wantErrIs(t, err, storage.ErrNotFound, "get deleted")
}

// testActorsOfChanges: a cancel stores its event's By as the alert's
// CancelledBy, a report update its UpdatedBy; both read back everywhere.
func testActorsOfChanges(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"))
	createAlert(t, s, "a1", t0, "m1")
	a, err := s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get alert")
	wantEqual(t, a.CancelledBy, "", "not cancelled")
	ev := cancelEvent("a1", at(time.Minute))
	ev.By = "cmd-1"
	got, err := s.CancelAlert(ctx, "a1", at(time.Minute), ev)
	mustNoErr(t, err, "cancel")
	wantEqual(t, got.CancelledBy, "cmd-1", "cancel's answer")
	a, err = s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get cancelled")
	wantEqual(t, a.CancelledBy, "cmd-1", "stored")
	as, err := s.ListAlerts(ctx, storage.AlertFilter{})
	mustNoErr(t, err, "list alerts")
	if len(as) != 1 || as[0].CancelledBy != "cmd-1" {
		t.Errorf("listed: %+v", as)
	}

	r := createReport(t, s, "r1", "m1", "v1", t0)
	wantEqual(t, r.UpdatedBy, "", "new report")
	u := *r
	u.Status, u.UpdatedAt, u.UpdatedBy = storage.ReportAccepted, at(time.Minute), "cadre-1"
	_, uev := reportAt("r1", "m1", "v1", at(time.Minute))
	mustNoErr(t, s.UpdateReport(ctx, &u, storage.ReportNew, uev), "update")
	g, err := s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get report")
	wantEqual(t, g.UpdatedBy, "cadre-1", "updated by")
	rs, err := s.ListReports(ctx, storage.ReportFilter{})
	mustNoErr(t, err, "list reports")
	if len(rs) != 1 || rs[0].UpdatedBy != "cadre-1" {
		t.Errorf("listed: %+v", rs)
	}
}
