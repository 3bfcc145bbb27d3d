package server

import (
	"testing"

	"github.com/longyou/hub/storage"
)

// TestMembersPagedSignedIn: the paged member list the command center reads
// (v1.5 filters: active, limit) shows signed_in on every row and filters
// by signed_in=false, as the unpaged list does (docs/API.md v1.5
// invitations, "Signed in").
func TestMembersPagedSignedIn(t *testing.T) {
	e := newEnv(t)
	a, aTok := e.member(storage.RoleResident, 0, inside)
	b, _ := e.member(storage.RoleResident, 0, inside)
	if code, _ := e.call("GET", "/api/v1/me", aTok, nil); code != 200 { // a signs in
		t.Fatal(code)
	}
	waitFor(t, "a signed in", func() bool {
		_, out := e.call("GET", "/api/v1/members/"+a.ID, e.admin, nil)
		return out["member"].(map[string]any)["signed_in"] == true
	})
	base := "/api/v1/members?active=true&limit=50&village_id=" + e.villages[0].ID
	_, out := e.call("GET", base, e.admin, nil)
	seen := map[string]any{}
	for _, m := range out["members"].([]any) {
		m := m.(map[string]any)
		seen[m["id"].(string)] = m["signed_in"]
	}
	if seen[a.ID] != true || seen[b.ID] != false {
		t.Fatalf("signed_in on the paged list: a %v, b %v (%v)", seen[a.ID], seen[b.ID], out)
	}
	_, out = e.call("GET", base+"&signed_in=false", e.admin, nil)
	ids := map[string]bool{}
	for _, m := range out["members"].([]any) {
		ids[m.(map[string]any)["id"].(string)] = true
	}
	if ids[a.ID] || !ids[b.ID] {
		t.Fatalf("signed_in=false on the paged list: %v", out)
	}
	if code, _ := e.call("GET", base+"&signed_in=maybe", e.admin, nil); code != 400 {
		t.Fatalf("bad signed_in: %d", code)
	}
}
