package server

import (
	"testing"

	"github.com/longyou/hub/storage"
)

// TestHouseholds: cadres keep their village's households, patrols read
// them, a member reads its own household and no other, a member is in
// one household at most.
func TestHouseholds(t *testing.T) {
	e := newEnv(t)
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	_, cadTok := e.member(storage.RoleCadre, 0, home)
	_, patTok := e.member(storage.RolePatrol, 0, home)
	_, pat1Tok := e.member(storage.RolePatrol, 1, home)
	r1, r1Tok := e.member(storage.RoleResident, 0, home)
	r2, r2Tok := e.member(storage.RoleResident, 0, home)
	other, _ := e.member(storage.RoleResident, 1, home)
	_, comTok := e.member(storage.RoleCommander, -1, home)
	v0, v1 := e.villages[0].ID, e.villages[1].ID

	body := func(v, name, watch string, ids ...string) map[string]any {
		return map[string]any{"village_id": v, "name": name, "member_ids": ids, "watch": watch}
	}
	for _, c := range []struct {
		name string
		tok  string
		body map[string]any
		want int
	}{
		{"resident", r1Tok, body(v0, "王家", "", r1.ID), 403},
		{"patrol", patTok, body(v0, "王家", "", r1.ID), 403},
		{"cadre of another village", cadTok, body(v1, "李家", "", other.ID), 403},
		{"member of another village", cadTok, body(v0, "王家", "", other.ID), 400},
		{"bad watch", cadTok, body(v0, "王家", "vip", r1.ID), 400},
		{"no name", cadTok, body(v0, "", "", r1.ID), 400},
		{"unknown member", cadTok, body(v0, "王家", "", "m_nobody"), 400},
	} {
		if code, out := e.call("POST", "/api/v1/households", c.tok, c.body); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	code, out := e.call("POST", "/api/v1/households", cadTok, body(v0, "王家", "service", r1.ID))
	if code != 201 {
		t.Fatalf("cadre creates: %d %v", code, out)
	}
	h := out["household"].(map[string]any)
	hid := h["id"].(string)
	if h["watch"] != "service" || h["village_id"] != v0 || len(h["member_ids"].([]any)) != 1 {
		t.Errorf("created: %v", h)
	}
	if code, _ := e.call("POST", "/api/v1/households", comTok, body(v0, "又一家", "", r1.ID)); code != 409 {
		t.Errorf("a member in two households: %d, want 409", code)
	}
	if code, _ := e.call("POST", "/api/v1/households", comTok, body(v1, "李家", "control", other.ID)); code != 201 {
		t.Errorf("commander creates in another village: %d", code)
	}

	// Reading: the member its own (also as "mine"), not another's.
	if code, out := e.call("GET", "/api/v1/households/mine", r1Tok, nil); code != 200 || out["household"].(map[string]any)["id"] != hid {
		t.Errorf("r1 reads its household: %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/households/"+hid, r2Tok, nil); code != 404 {
		t.Errorf("r2 reads r1's household: %d, want 404", code)
	}
	if code, _ := e.call("GET", "/api/v1/households/mine", r2Tok, nil); code != 404 {
		t.Errorf("r2 has no household: %d, want 404", code)
	}
	if code, _ := e.call("GET", "/api/v1/households?village_id="+v0, r1Tok, nil); code != 403 {
		t.Errorf("a resident lists households: %d, want 403", code)
	}
	if code, out := e.call("GET", "/api/v1/households?watch=any", patTok, nil); code != 200 || len(out["households"].([]any)) != 1 {
		t.Errorf("patrol lists its village's watched households: %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/households?village_id="+v0, pat1Tok, nil); code != 403 {
		t.Errorf("patrol of another village lists: %d, want 403", code)
	}
	if code, out := e.call("GET", "/api/v1/households?watch=control", comTok, nil); code != 200 || len(out["households"].([]any)) != 1 {
		t.Errorf("commander lists control households: %d %v", code, out)
	}

	// Changing: the cadre moves r2 in and r1 out, clears the watch.
	code, out = e.call("PATCH", "/api/v1/households/"+hid, cadTok, map[string]any{"member_ids": []string{r2.ID}, "watch": ""})
	if code != 200 {
		t.Fatalf("patch: %d %v", code, out)
	}
	if ids := out["household"].(map[string]any)["member_ids"].([]any); len(ids) != 1 || ids[0] != r2.ID {
		t.Errorf("patched members: %v", ids)
	}
	if code, _ := e.call("GET", "/api/v1/households/"+hid, r1Tok, nil); code != 404 {
		t.Errorf("r1 reads the household it left: %d, want 404", code)
	}
	if code, _ := e.call("PATCH", "/api/v1/households/"+hid, patTok, map[string]any{"name": "x"}); code != 403 {
		t.Errorf("patrol patches: %d, want 403", code)
	}
	if code, _ := e.call("PATCH", "/api/v1/households/"+hid, cadTok, map[string]any{"village_id": v1}); code != 400 {
		t.Errorf("moving a household: %d, want 400", code)
	}
}
