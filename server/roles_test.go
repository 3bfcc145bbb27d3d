package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// who is a signed-in member of the role tests, named as the tables name it.
type who struct {
	name string
	tok  string
	m    storage.Member
}

// roleCast makes one member of each role the role tests walk: a resident,
// a patrol and a cadre of village 0, a cadre of village 1, a commander.
func (e *testEnv) roleCast() (res, pat, cad, cad1, com who) {
	mk := func(name string, r storage.Role, v int) who {
		m, tok := e.member(r, v, inside)
		return who{name, tok, m}
	}
	return mk("resident", storage.RoleResident, 0), mk("patrol", storage.RolePatrol, 0),
		mk("cadre", storage.RoleCadre, 0), mk("cadre-other-village", storage.RoleCadre, 1),
		mk("commander", storage.RoleCommander, -1)
}

// TestRoleTable walks docs/API.md's role table: every action, allowed and
// refused, for each role.
func TestRoleTable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, pat, cad, cad1, com := e.roleCast()
	adm := who{"admin", e.admin, storage.Member{}}
	v0, v1 := e.villages[0].ID, e.villages[1].ID
	all := []who{res, pat, cad, cad1, com, adm}

	// A report by the resident and a villages-area alert on village 0.
	_, out := e.call("POST", "/api/v1/reports", res.tok, map[string]any{"kind": "road", "text": "路面塌陷", "lat": 29.03, "lng": 119.17})
	reportID := out["report"].(map[string]any)["id"].(string)
	_, out = e.call("POST", "/api/v1/alerts", com.tok, map[string]any{"kind": "warning", "severity": "moderate", "title": "t",
		"area": map[string]any{"villages": []string{v0}}})
	villageAlert := out["alert"].(map[string]any)["id"].(string)

	circle := circleAlert(29.03, 119.17, 500, nil)
	villagesArea := func(v string) map[string]any {
		return map[string]any{"kind": "warning", "severity": "minor", "title": "t", "area": map[string]any{"villages": []string{v}}}
	}
	n := 0
	newMember := func(role string) func() any {
		return func() any {
			n++
			return map[string]any{"name": "n", "phone": fmt.Sprintf("+86137%08d", n), "role": role, "village_id": v0}
		}
	}
	cases := []struct {
		action string
		method string
		path   string
		body   func() any
		allow  map[string]int // role name -> status; absent means 403
	}{
		{"create village", "POST", "/api/v1/villages", func() any {
			return map[string]any{"name": "x", "township": "t", "center": map[string]any{"lat": 29, "lng": 119}}
		}, map[string]int{"commander": 201, "admin": 201}},
		{"list villages", "GET", "/api/v1/villages", nil, map[string]int{"resident": 200, "patrol": 200, "cadre": 200, "cadre-other-village": 200, "commander": 200, "admin": 200}},
		{"create resident", "POST", "/api/v1/members", newMember("resident"), map[string]int{"commander": 201, "admin": 201}},
		{"create admin", "POST", "/api/v1/members", newMember("admin"), map[string]int{"admin": 201}},
		{"read own record", "GET", "/api/v1/members/" + res.m.ID, nil, map[string]int{"resident": 200, "cadre": 200, "commander": 200, "admin": 200, "patrol": 404, "cadre-other-village": 404}},
		{"village bulletin", "POST", "/api/v1/bulletins", func() any {
			return map[string]any{"village_id": v0, "category": "notice", "title": "t", "body": "b"}
		}, map[string]int{"cadre": 201, "commander": 201, "admin": 201}},
		{"county bulletin", "POST", "/api/v1/bulletins", func() any {
			return map[string]any{"category": "notice", "title": "t", "body": "b"}
		}, map[string]int{"commander": 201, "admin": 201}},
		{"circle alert", "POST", "/api/v1/alerts", func() any { return circle }, map[string]int{"commander": 201, "admin": 201}},
		{"own village alert", "POST", "/api/v1/alerts", func() any { return villagesArea(v0) }, map[string]int{"cadre": 201, "commander": 201, "admin": 201}},
		{"other village alert", "POST", "/api/v1/alerts", func() any { return villagesArea(v1) }, map[string]int{"cadre-other-village": 201, "commander": 201, "admin": 201}},
		{"preview", "POST", "/api/v1/alerts/preview", func() any { return villagesArea(v0) }, map[string]int{"cadre": 200, "commander": 200, "admin": 200}},
		{"alert progress", "GET", "/api/v1/alerts/" + villageAlert, nil, map[string]int{"cadre": 200, "commander": 200, "admin": 200}},
		// v1.5: a patrol reads its own village's households (api/behalf.go).
		{"alert recipients", "GET", "/api/v1/alerts/" + villageAlert + "/recipients", nil, map[string]int{"patrol": 200, "cadre": 200, "commander": 200, "admin": 200}},
		{"reports of village 0", "GET", "/api/v1/reports?village_id=" + v0, nil, map[string]int{"resident": 200, "patrol": 200, "cadre": 200, "commander": 200, "admin": 200}},
		{"change report", "PATCH", "/api/v1/reports/" + reportID, func() any { return map[string]any{"feedback": "ok"} }, map[string]int{"cadre": 200, "commander": 200, "admin": 200, "cadre-other-village": 403, "patrol": 403}},
		{"make a report", "POST", "/api/v1/reports", func() any {
			return map[string]any{"kind": "other", "lat": 29.0, "lng": 119.0}
		}, map[string]int{"resident": 201, "patrol": 201, "cadre": 201, "cadre-other-village": 201, "commander": 201, "admin": 201}},
		{"list patrols", "GET", "/api/v1/members?role=patrol", nil, map[string]int{"cadre": 200, "cadre-other-village": 200, "commander": 200, "admin": 200}},
		{"list other village's patrols", "GET", "/api/v1/members?role=patrol&village_id=" + v0, nil, map[string]int{"cadre": 200, "commander": 200, "admin": 200}},
		{"density map", "GET", "/api/v1/density", nil, map[string]int{"cadre": 200, "cadre-other-village": 200, "commander": 200, "admin": 200}},
	}
	for _, c := range cases {
		for _, w := range all {
			want, ok := c.allow[w.name]
			if !ok {
				want = 403
			}
			var body any
			if c.body != nil {
				body = c.body()
			}
			code, out := e.call(c.method, c.path, w.tok, body)
			if code != want {
				t.Errorf("%s as %s: %d %v, want %d", c.action, w.name, code, out, want)
			}
			if code == 403 && errCode(out) != service.CodeForbidden {
				t.Errorf("%s as %s: error code %q", c.action, w.name, errCode(out))
			}
		}
	}
	// Everyone may read its own record through /me.
	for _, w := range all {
		code, out := e.call("GET", "/api/v1/me", w.tok, nil)
		if code != 200 || out["member"].(map[string]any)["role"] == nil {
			t.Errorf("/me as %s: %d %v", w.name, code, out)
		}
	}
	// A resident's report list holds its own reports only, never another's.
	_, out = e.call("GET", "/api/v1/reports", pat.tok, nil)
	if rs := out["reports"].([]any); len(rs) != 1 || rs[0].(map[string]any)["member_id"] != pat.m.ID {
		t.Errorf("patrol sees reports %v", rs)
	}
	// A cadre lists its own village's patrols, with their live position.
	_, out = e.call("GET", "/api/v1/members?role=patrol", cad1.tok, nil)
	if ms := out["members"].([]any); len(ms) != 0 {
		t.Errorf("cadre of village 1 sees patrols of village 0: %v", ms)
	}
	_, out = e.call("GET", "/api/v1/members?role=patrol", cad.tok, nil)
	if ms := out["members"].([]any); len(ms) != 1 || ms[0].(map[string]any)["id"] != pat.m.ID {
		t.Errorf("cadre's patrols: %v", ms)
	}
	// A cadre cannot read another village's reports.
	if code, _ := e.call("GET", "/api/v1/reports?village_id="+v1, cad.tok, nil); code != 403 {
		t.Errorf("cadre reading other village reports: %d", code)
	}
	// Cancelling: a cadre of the village named by the alert, command.
	if code, out := e.call("POST", "/api/v1/alerts/"+villageAlert+"/cancel", cad1.tok, nil); code != 403 {
		t.Errorf("other cadre cancel: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/alerts/"+villageAlert+"/cancel", res.tok, nil); code != 403 {
		t.Errorf("resident cancel: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/alerts/"+villageAlert+"/cancel", cad.tok, nil); code != 200 {
		t.Errorf("cadre cancel: %d %v", code, out)
	}
}

func TestResidentNeverSeesOthersPhoneOrPosition(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a, aTok := e.member(storage.RoleResident, 0, inside)
	b, _ := e.member(storage.RoleResident, 0, inside)
	code, out := e.call("GET", "/api/v1/members/"+b.ID, aTok, nil)
	if code != 404 || out["member"] != nil {
		t.Fatalf("resident reads another resident: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/members/"+a.ID, aTok, nil)
	if code != 200 || out["member"].(map[string]any)["phone"] != a.Phone {
		t.Fatalf("resident reads itself: %d %v", code, out)
	}
	// A report event to a resident carries only its own reports.
	c := e.dial(aTok)
	c.welcome()
	e.call("POST", "/api/v1/reports", e.admin, map[string]any{"kind": "fire", "lat": 29.03, "lng": 119.17})
	c.quiet(200*time.Millisecond, "report")
}
