package server

import (
	"context"
	"slices"
	"testing"

	"github.com/longyou/hub/storage"
)

// TestTownshipScope: a cadre given a township scope (v1.6) has a cadre's
// rights in every village of its township and none elsewhere; only
// commanders and admins give the scope, to cadres and commanders, for a
// township some village names.
func TestTownshipScope(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	other, err := e.h.members.CreateVillage(ctx, "Gamma", "U", &storage.LatLng{Lat: 29.3, Lng: 119.2}, false)
	if err != nil {
		t.Fatal(err)
	}
	cad, cadTok := e.member(storage.RoleCadre, 0, home)
	res, resTok := e.member(storage.RoleResident, 1, home)
	_, comTok := e.member(storage.RoleCommander, -1, home)

	// Reports in village 1 (same township) and in Gamma (another).
	code, out := e.call("POST", "/api/v1/reports", resTok, map[string]any{"kind": "flood", "text": "水漫过路", "lat": 29.13, "lng": 119.17})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	repID := out["report"].(map[string]any)["id"].(string)
	reports := func(tok, village string) int {
		code, _ := e.call("GET", "/api/v1/reports?village_id="+village, tok, nil)
		return code
	}
	if c := reports(cadTok, e.villages[1].ID); c != 403 {
		t.Fatalf("a village cadre reads another village's reports: %d, want 403", c)
	}

	for _, c := range []struct {
		name, tok, member, township string
		want                        int
	}{
		{"resident sets", resTok, cad.ID, "T", 403},
		{"cadre sets", cadTok, cad.ID, "T", 403},
		{"unknown township", comTok, cad.ID, "Nowhere", 400},
		{"resident given a township", comTok, res.ID, "T", 400},
		{"no such member", comTok, "m_missing", "T", 404},
		{"commander sets", comTok, cad.ID, "T", 200},
	} {
		code, out := e.call("PUT", "/api/v1/members/"+c.member+"/township", c.tok, map[string]any{"township": c.township})
		if code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
		if code == 200 && out["member"].(map[string]any)["township"] != "T" {
			t.Errorf("%s: member %v, want township T", c.name, out["member"])
		}
	}
	if code, _ := e.call("PUT", "/api/v1/members/"+cad.ID+"/township", comTok, map[string]any{}); code != 400 {
		t.Errorf("no township field: %d, want 400", code)
	}

	// Now the cadre governs T: Alpha and Beta, not Gamma.
	if c := reports(cadTok, e.villages[1].ID); c != 200 {
		t.Errorf("township cadre reads Beta's reports: %d, want 200", c)
	}
	if c := reports(cadTok, other.ID); c != 403 {
		t.Errorf("township cadre reads Gamma's reports: %d, want 403", c)
	}
	if code, out := e.call("PATCH", "/api/v1/reports/"+repID, cadTok, map[string]any{"status": "accepted"}); code != 200 {
		t.Errorf("township cadre handles Beta's report: %d %v", code, out)
	}
	// Cleared: back to its own village.
	if code, _ := e.call("PUT", "/api/v1/members/"+cad.ID+"/township", comTok, map[string]any{"township": ""}); code != 200 {
		t.Fatalf("clear township: %d", code)
	}
	if c := reports(cadTok, e.villages[1].ID); c != 403 {
		t.Errorf("cleared cadre reads Beta's reports: %d, want 403", c)
	}

	// StaffAt: who handles a matter of Beta at each level.
	if code, _ := e.call("PUT", "/api/v1/members/"+cad.ID+"/township", comTok, map[string]any{"township": "T"}); code != 200 {
		t.Fatal("set township again")
	}
	betaCadre, _ := e.member(storage.RoleCadre, 1, home)
	for level, want := range map[string]int{"village": 1, "township": 2} {
		ids, err := e.h.members.StaffAt(ctx, e.villages[1].ID, level)
		if err != nil || len(ids) != want {
			t.Errorf("StaffAt(Beta, %s) = %v, %v: want %d ids", level, ids, err, want)
		}
	}
	county, err := e.h.members.StaffAt(ctx, e.villages[1].ID, "county")
	if err != nil || len(county) < 4 { // Beta's cadre, the township cadre, the commander, the admin
		t.Errorf("StaffAt(Beta, county) = %v, %v", county, err)
	}
	if !slices.Contains(county, betaCadre.ID) || !slices.Contains(county, cad.ID) {
		t.Errorf("StaffAt(Beta, county) = %v: misses Beta's cadre or the township cadre", county)
	}
}
