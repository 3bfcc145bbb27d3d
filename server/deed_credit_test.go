package server

import (
	"testing"

	"github.com/longyou/hub/storage"
)

// TestDeedEarnsCredit: a confirmed good deed about a household earns it
// the policy's good_deed points once (issue 16: credit from good deeds
// confirmed); a rejected one earns nothing.
func TestDeedEarnsCredit(t *testing.T) {
	e := newEnv(t)
	home := storage.LatLng{Lat: 29.03, Lng: 119.17}
	_, cadTok := e.member(storage.RoleCadre, 0, home)
	res, resTok := e.member(storage.RoleResident, 0, home)
	v0 := e.villages[0].ID
	code, out := e.call("POST", "/api/v1/households", cadTok, map[string]any{"village_id": v0, "name": "王家", "member_ids": []string{res.ID}})
	if code != 201 {
		t.Fatalf("household: %d %v", code, out)
	}
	hid := out["household"].(map[string]any)["id"].(string)
	balance := func() int64 {
		t.Helper()
		code, out := e.call("GET", "/api/v1/households/"+hid+"/credit", resTok, nil)
		if code != 200 {
			t.Fatalf("credit: %d %v", code, out)
		}
		return num(out["balance"])
	}
	deed := func() string {
		t.Helper()
		code, out := e.call("POST", "/api/v1/deeds", resTok, map[string]any{"village_id": v0, "title": "帮邻居抢收稻谷",
			"text": "洪水前帮五保户收稻", "household_id": hid})
		if code != 201 {
			t.Fatalf("deed: %d %v", code, out)
		}
		return out["deed"].(map[string]any)["id"].(string)
	}
	if b := balance(); b != 0 {
		t.Fatalf("balance before: %d", b)
	}
	d1 := deed()
	if code, out := e.call("POST", "/api/v1/deeds/"+d1+"/confirm", cadTok, nil); code != 200 {
		t.Fatalf("confirm: %d %v", code, out)
	}
	waitFor(t, "the good deed's points", func() bool { return balance() == 10 })
	if code, _ := e.call("POST", "/api/v1/deeds/"+d1+"/confirm", cadTok, nil); code != 409 {
		t.Errorf("second confirmation: %d, want 409", code)
	}
	d2 := deed()
	if code, _ := e.call("POST", "/api/v1/deeds/"+d2+"/reject", cadTok, nil); code != 200 {
		t.Fatal("reject")
	}
	if b := balance(); b != 10 {
		t.Errorf("balance after a rejected deed: %d, want 10", b)
	}
}
