package server

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// auditEntries reads the whole trail (newest first) through the API,
// following next_before with pages of limit.
func (e *testEnv) auditEntries(tok, query string, limit int) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	before := ""
	for range 100 {
		q := fmt.Sprintf("/api/v1/audit?limit=%d%s", limit, query)
		if before != "" {
			q += "&before=" + before
		}
		code, page := e.call("GET", q, tok, nil)
		if code != 200 {
			e.t.Fatalf("GET %s: %d %v", q, code, page)
		}
		for _, x := range page["entries"].([]any) {
			out = append(out, x.(map[string]any))
		}
		nb, _ := page["next_before"].(string)
		if nb == "" {
			return out
		}
		before = nb
	}
	e.t.Fatal("audit paging did not end")
	return nil
}

// findAudit is the newest entry of route (and target, when not "").
func findAudit(es []map[string]any, route, target string) map[string]any {
	for _, x := range es {
		if x["route"] == route && (target == "" || x["target"] == target) {
			return x
		}
	}
	return nil
}

// TestAuditDay scripts a day of a county's actions and checks that the
// trail has each with who, when, from where, and before and after where
// something changed; that it pages, filters and exports; that nobody edits
// it; and that no secret is in it.
func TestAuditDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	com, comTok := e.member(storage.RoleCommander, -1, outside)
	cad, cadTok := e.member(storage.RoleCadre, 0, inside)
	_, patTok := e.member(storage.RolePatrol, 0, inside)
	res, resTok := e.member(storage.RoleResident, 0, inside)
	_, adm := e.call("GET", "/api/v1/me", e.admin, nil)
	adminID := adm["member"].(map[string]any)["id"].(string)
	secrets := []string{comTok, cadTok, patTok, resTok, e.admin}
	type step struct {
		route, target, actor string
		at                   time.Time
	}
	var steps []step
	did := func(route, target, actor string) {
		steps = append(steps, step{route, target, actor, e.now()})
		e.advance(10 * time.Minute)
	}

	// 08:00 a commander adds a resident, renames and deactivates it.
	code, out := e.call("POST", "/api/v1/members", comTok, map[string]any{"name": "周大", "phone": nextPhone(),
		"role": "resident", "village_id": e.villages[0].ID})
	if code != 201 {
		t.Fatalf("create member: %d %v", code, out)
	}
	newID := out["member"].(map[string]any)["id"].(string)
	secrets = append(secrets, out["token"].(string))
	did("POST /api/v1/members", newID, com.ID)
	if code, out = e.call("PATCH", "/api/v1/members/"+newID, comTok, map[string]any{"name": "周大明"}); code != 200 {
		t.Fatalf("rename: %d %v", code, out)
	}
	did("PATCH /api/v1/members/{id}", newID, com.ID)
	if code, out = e.call("PATCH", "/api/v1/members/"+newID, cadTok, map[string]any{"active": false}); code != 200 {
		t.Fatalf("deactivate: %d %v", code, out)
	}
	did("PATCH /api/v1/members/{id}", newID, cad.ID)
	// The admin issues the resident a second token and revokes it.
	if code, out = e.call("POST", "/api/v1/members/"+res.ID+"/tokens", e.admin, nil); code != 201 {
		t.Fatalf("issue token: %d %v", code, out)
	}
	secrets = append(secrets, out["token"].(string))
	tokID := out["token_info"].(map[string]any)["id"].(string)
	did("POST /api/v1/members/{id}/tokens", res.ID, adminID)
	if code, out = e.call("DELETE", "/api/v1/tokens/"+tokID, e.admin, nil); code != 200 && code != 204 {
		t.Fatalf("revoke token: %d %v", code, out)
	}
	did("DELETE /api/v1/tokens/{token_id}", tokID, adminID)
	// An alert sent and cancelled.
	if code, out = e.call("POST", "/api/v1/alerts", comTok, circleAlert(29.03, 119.17, 2000, nil)); code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	did("POST /api/v1/alerts", alertID, com.ID)
	if code, out = e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", comTok, nil); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	if by := out["alert"].(map[string]any)["cancelled_by"]; by != com.ID {
		t.Errorf("cancelled_by %v, want %s", by, com.ID)
	}
	did("POST /api/v1/alerts/{id}/cancel", alertID, com.ID)
	// A report (over HTTP and over the WebSocket), handled by the cadre.
	if code, out = e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "road", "text": "路断了",
		"lat": inside.Lat, "lng": inside.Lng}); code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	repID := out["report"].(map[string]any)["id"].(string)
	did("POST /api/v1/reports", repID, res.ID)
	ws := e.dial(resTok)
	ws.welcome()
	reply, _ := ws.cmd(map[string]any{"type": "report", "kind": "fire", "text": "山火", "lat": inside.Lat, "lng": inside.Lng})
	if reply["ok"] != true {
		t.Fatalf("ws report: %v", reply)
	}
	wsRepID := reply["data"].(map[string]any)["report"].(map[string]any)["id"].(string)
	did("WS report", wsRepID, res.ID)
	if code, out = e.call("PATCH", "/api/v1/reports/"+repID, cadTok, map[string]any{"status": "accepted",
		"feedback": "已派人"}); code != 200 {
		t.Fatalf("handle report: %d %v", code, out)
	}
	if by := out["report"].(map[string]any)["updated_by"]; by != cad.ID {
		t.Errorf("updated_by %v, want %s", by, cad.ID)
	}
	if code, out = e.call("GET", "/api/v1/alerts/"+alertID, comTok, nil); code != 200 || out["alert"].(map[string]any)["cancelled_by"] != com.ID {
		t.Errorf("the alert read back: %d %v", code, out)
	}
	did("PATCH /api/v1/reports/{id}", repID, cad.ID)
	// A bulletin and a roster import (its dry run is no change).
	if code, out = e.call("POST", "/api/v1/bulletins", cadTok, map[string]any{"village_id": e.villages[0].ID,
		"category": "notice", "title": "停水通知", "body": "明日停水"}); code != 201 {
		t.Fatalf("bulletin: %d %v", code, out)
	}
	bulID := out["bulletin"].(map[string]any)["id"].(string)
	did("POST /api/v1/bulletins", bulID, cad.ID)
	sheet := "姓名,手机,村,角色\n吴九," + strings.TrimPrefix(nextPhone(), "+86") + "," + e.villages[0].Name + ",村民\n"
	if code, out = e.upload("/api/v1/import/members?dry_run=1", comTok, ctCSV, []byte(sheet)); code != 200 {
		t.Fatalf("dry run: %d %v", code, out)
	}
	if code, out = e.upload("/api/v1/import/members", comTok, ctCSV, []byte(sheet)); code != 200 {
		t.Fatalf("import: %d %v", code, out)
	}
	did("POST /api/v1/import/members", "", com.ID)

	all := e.auditEntries(comTok, "", 100)
	if len(all) != len(steps) {
		for _, x := range all {
			t.Logf("entry %v %v %v", x["route"], x["target"], x["actor_id"])
		}
		t.Fatalf("%d entries, want %d (one per change; no dry run, no reads)", len(all), len(steps))
	}
	for i, s := range steps {
		x := all[len(all)-1-i] // newest first
		if x["route"] != s.route || x["target"] != s.target || x["actor_id"] != s.actor {
			t.Errorf("entry %d: %v %v by %v, want %s %s by %s", i, x["route"], x["target"], x["actor_id"], s.route, s.target, s.actor)
		}
		at, err := time.Parse(time.RFC3339Nano, x["at"].(string))
		if err != nil || at.Before(s.at.Add(-time.Second)) || at.After(s.at.Add(time.Second)) {
			t.Errorf("entry %d (%s) at %v, want the scripted clock's %v", i, s.route, x["at"], s.at)
		}
		if !strings.HasPrefix(s.route, "WS ") {
			if x["addr"] != "127.0.0.1" || x["token_id"] == "" || num(x["status"]) < 200 || num(x["status"]) > 299 {
				t.Errorf("entry %d (%s): addr %v token %v status %v", i, s.route, x["addr"], x["token_id"], x["status"])
			}
		}
	}
	// Before and after of the changes.
	wantNote := func(x map[string]any, field string, before, after any) {
		t.Helper()
		b, _ := x["before"].(map[string]any)
		a, _ := x["after"].(map[string]any)
		if b == nil || a == nil || b[field] != before || a[field] != after {
			t.Errorf("%v %v: %s before %v after %v, want %v -> %v", x["route"], x["target"], field, b, a, before, after)
		}
	}
	members := e.auditEntries(comTok, "&target="+newID+"&action=PATCH", 100)
	if len(members) != 2 {
		t.Fatalf("member changes: %d", len(members))
	}
	wantNote(members[1], "name", "周大", "周大明")
	wantNote(members[0], "active", true, false)
	if ph, _ := members[0]["after"].(map[string]any)["phone"].(string); !strings.HasPrefix(ph, "****") {
		t.Errorf("the trail keeps the phone masked, got %q", ph)
	}
	wantNote(findAudit(all, "POST /api/v1/alerts/{id}/cancel", alertID), "status", "active", "cancelled")
	rep := findAudit(all, "PATCH /api/v1/reports/{id}", repID)
	wantNote(rep, "status", "new", "accepted")
	wantNote(rep, "feedback", "", "已派人")
	// Filters: actor, action, target, time.
	if got := e.auditEntries(comTok, "&actor="+cad.ID, 100); len(got) != 3 {
		t.Errorf("actor filter: %d entries, want 3", len(got))
	}
	if got := e.auditEntries(e.admin, "&action=cancel", 100); len(got) != 1 || got[0]["target"] != alertID {
		t.Errorf("action filter: %v", got)
	}
	from, to := steps[2].at.Add(-time.Second).UTC().Format(time.RFC3339Nano), steps[5].at.Add(time.Second).UTC().Format(time.RFC3339Nano)
	if got := e.auditEntries(comTok, "&from="+from+"&to="+to, 100); len(got) != 4 {
		t.Errorf("time filter: %d entries, want 4", len(got))
	}
	// Paging gives the same entries as one page.
	paged := e.auditEntries(comTok, "", 3)
	if len(paged) != len(all) {
		t.Fatalf("paged %d entries, want %d", len(paged), len(all))
	}
	for i := range all {
		if paged[i]["seq"] != all[i]["seq"] {
			t.Fatalf("page order differs at %d", i)
		}
	}
	if code, out := e.call("GET", "/api/v1/audit?before=bm9wZQ", comTok, nil); code != 400 {
		t.Errorf("a foreign cursor: %d %v", code, out)
	}
	// The export has the same rows.
	code, raw := e.callRaw("GET", "/api/v1/audit/export.csv?action=members", comTok, nil)
	if code != 200 {
		t.Fatalf("export: %d %s", code, raw)
	}
	rows, err := csv.NewReader(strings.NewReader(string(raw))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v", err)
	}
	wantRows := len(e.auditEntries(comTok, "&action=members", 100))
	if len(rows) != wantRows+1 || rows[0][0] != "seq" || rows[0][7] != "route" {
		t.Fatalf("export: %d rows (header %v), want %d and a header", len(rows), rows[0], wantRows+1)
	}
	// No secret anywhere in the trail.
	dump, _ := json.Marshal(all)
	for _, s := range secrets {
		if strings.Contains(string(dump), s) || strings.Contains(string(raw), s) {
			t.Errorf("the trail holds a token")
		}
	}
	// Nobody edits it: every other method on its routes is refused and
	// changes nothing.
	seq := all[0]["seq"]
	for _, m := range []string{"PUT", "PATCH", "DELETE", "POST"} {
		for _, p := range []string{"/api/v1/audit", "/api/v1/audit/" + fmt.Sprint(seq), "/api/v1/audit/export.csv"} {
			code, _ := e.callRaw(m, p, e.admin, map[string]any{"route": "x"})
			if code != 404 {
				t.Errorf("%s %s = %d, want 404 (docs/API.md v1.6)", m, p, code)
			}
		}
	}
	after, err := e.store.ListAudit(ctx, storage.AuditFilter{Limit: 1000})
	if err != nil || len(after) != len(all) || after[0].Seq != int64(num(seq)) {
		t.Errorf("after the refused edits: %d entries (%v), want %d", len(after), err, len(all))
	}
	if code, _ := e.call("GET", "/api/v1/audit?from=yesterday", comTok, nil); code != 400 {
		t.Errorf("a bad time: %d, want 400", code)
	}
}

// TestAuditRoles: only commanders and admins read the trail.
func TestAuditRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range []storage.Role{storage.RoleResident, storage.RolePatrol, storage.RoleCadre} {
		_, tok := e.member(role, 0, inside)
		for _, p := range []string{"/api/v1/audit", "/api/v1/audit/export.csv"} {
			if code, out := e.call("GET", p, tok, nil); code != 403 || errCode(out) != "forbidden" {
				t.Errorf("%s GET %s = %d %v, want 403", role, p, code, out)
			}
		}
	}
	_, com := e.member(storage.RoleCommander, -1, outside)
	for _, tok := range []string{com, e.admin} {
		if code, out := e.call("GET", "/api/v1/audit", tok, nil); code != 200 {
			t.Errorf("GET /api/v1/audit = %d %v, want 200", code, out)
		}
	}
	if code, _ := e.call("GET", "/api/v1/audit", "", nil); code != 401 {
		t.Errorf("without a token: %d, want 401", code)
	}
}
