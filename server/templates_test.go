package server

import (
	"testing"

	"github.com/longyou/hub/storage"
)

// TestTemplates: the built-in templates are there from the start; a
// commander edits one (the county's copy), adds its own, removes it, and
// reverts the built-in one; cadres read; residents and patrols do not;
// bad templates are refused; every change is in the audit trail.
func TestTemplates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, com := e.member(storage.RoleCommander, -1, outside)
	_, cad := e.member(storage.RoleCadre, 0, inside)
	ids := func(tok string) []string {
		t.Helper()
		code, out := e.call("GET", "/api/v1/templates", tok, nil)
		if code != 200 {
			t.Fatalf("list: %d %v", code, out)
		}
		var got []string
		for _, x := range out["templates"].([]any) {
			got = append(got, x.(map[string]any)["id"].(string))
		}
		return got
	}
	want := []string{"flood", "landslide", "freeze", "fire", "typhoon"}
	if got := ids(cad); len(got) != 5 || got[0] != "flood" || got[4] != "typhoon" {
		t.Fatalf("built-ins %v, want %v", got, want)
	}
	code, out := e.call("GET", "/api/v1/templates/flood", cad, nil)
	tpl, _ := out["template"].(map[string]any)
	if code != 200 || tpl["builtin"] != true || tpl["edited"] != false || tpl["kind"] != "warning" ||
		tpl["severity"] != "severe" || num(tpl["expiry_hours"]) != 12 || tpl["title"] == "" {
		t.Fatalf("flood: %d %v", code, out)
	}
	// Roles.
	for _, role := range []storage.Role{storage.RoleResident, storage.RolePatrol} {
		_, tok := e.member(role, 0, inside)
		if code, _ := e.call("GET", "/api/v1/templates", tok, nil); code != 403 {
			t.Errorf("%s lists templates: %d, want 403", role, code)
		}
	}
	body := map[string]any{"name": "水库泄洪", "kind": "warning", "severity": "extreme", "title": "水库泄洪预警",
		"body": "下游群众立即转移", "expiry_hours": 6, "roles": []string{"patrol", "cadre"}}
	if code, _ := e.call("POST", "/api/v1/templates", cad, body); code != 403 {
		t.Errorf("a cadre adds a template: %d, want 403", code)
	}
	if code, _ := e.call("PUT", "/api/v1/templates/flood", cad, body); code != 403 {
		t.Errorf("a cadre edits a template: %d, want 403", code)
	}
	// Bad templates change nothing.
	for name, bad := range map[string]map[string]any{
		"kind":     {"name": "x", "kind": "party", "severity": "minor", "title": "t", "body": "b", "expiry_hours": 1},
		"severity": {"name": "x", "kind": "warning", "severity": "huge", "title": "t", "body": "b", "expiry_hours": 1},
		"expiry":   {"name": "x", "kind": "warning", "severity": "minor", "title": "t", "body": "b", "expiry_hours": 0},
		"title":    {"name": "x", "kind": "warning", "severity": "minor", "title": "", "body": "b", "expiry_hours": 1},
		"name":     {"name": "", "kind": "warning", "severity": "minor", "title": "t", "body": "b", "expiry_hours": 1},
		"roles":    {"name": "x", "kind": "warning", "severity": "minor", "title": "t", "body": "b", "expiry_hours": 1, "roles": []string{"king"}},
	} {
		if code, out := e.call("POST", "/api/v1/templates", com, bad); code != 400 || errCode(out) != "bad_request" {
			t.Errorf("bad %s: %d %v", name, code, out)
		}
	}
	if code, _ := e.call("POST", "/api/v1/templates", com, "{"); code != 400 {
		t.Errorf("bad JSON: %d", code)
	}
	if got := ids(com); len(got) != 5 {
		t.Fatalf("after bad input: %v", got)
	}
	// The county's own template.
	code, out = e.call("POST", "/api/v1/templates", com, body)
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	mine := out["template"].(map[string]any)
	myID := mine["id"].(string)
	if mine["builtin"] != false || mine["severity"] != "extreme" || len(mine["roles"].([]any)) != 2 {
		t.Fatalf("created: %v", mine)
	}
	if got := ids(cad); len(got) != 6 || got[5] != myID {
		t.Fatalf("with mine: %v", got)
	}
	// Edit the built-in flood: the county's copy is shown.
	edit := map[string]any{"name": "山洪（本县）", "kind": "warning", "severity": "extreme", "title": "本县山洪预警",
		"body": "沿溪群众立即转移到村委会", "expiry_hours": 8}
	code, out = e.call("PUT", "/api/v1/templates/flood", com, edit)
	if code != 200 || out["template"].(map[string]any)["edited"] != true {
		t.Fatalf("edit flood: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/templates/flood", cad, nil)
	if tpl := out["template"].(map[string]any); code != 200 || tpl["title"] != "本县山洪预警" || tpl["edited"] != true {
		t.Fatalf("flood after the edit: %d %v", code, out)
	}
	if code, _ := e.call("PUT", "/api/v1/templates/nosuch", com, edit); code != 404 {
		t.Errorf("PUT an unknown template: %d, want 404", code)
	}
	// A built-in never edited cannot be removed; the copy can (reverts).
	if code, out := e.call("DELETE", "/api/v1/templates/fire", com, nil); code != 409 {
		t.Errorf("delete a built-in: %d %v, want 409", code, out)
	}
	if code, _ := e.call("DELETE", "/api/v1/templates/flood", com, nil); code != 204 {
		t.Errorf("revert flood: %d", code)
	}
	code, out = e.call("GET", "/api/v1/templates/flood", cad, nil)
	if tpl := out["template"].(map[string]any); code != 200 || tpl["edited"] != false || tpl["title"] == "本县山洪预警" {
		t.Fatalf("flood after the revert: %v", tpl)
	}
	if code, _ := e.call("DELETE", "/api/v1/templates/"+myID, com, nil); code != 204 {
		t.Errorf("delete mine: %d", code)
	}
	if code, _ := e.call("DELETE", "/api/v1/templates/"+myID, com, nil); code != 404 {
		t.Errorf("delete mine again: %d, want 404", code)
	}
	if got := ids(com); len(got) != 5 {
		t.Fatalf("at the end: %v", got)
	}
	// The trail has the four changes, with before and after.
	es := e.auditEntries(com, "&action=templates", 100)
	if len(es) != 4 {
		t.Fatalf("template changes in the trail: %d, want 4", len(es))
	}
	if es[3]["target"] != myID || es[3]["after"] == nil || es[2]["target"] != "flood" || es[2]["before"] == nil {
		t.Errorf("trail: %v", es)
	}
}
