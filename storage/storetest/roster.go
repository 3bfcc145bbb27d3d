package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunRoster: imports of members and villages, member edits and
// deactivation, the filtered member list (storage/roster.go; the roster
// routes of docs/API.md v1.5).
func RunRoster(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, rosterCases, newStore)
}

var rosterCases = []testCase{
	{"ImportMembers", testImportMembers},
	{"ImportProtect", testImportProtect},
	{"ImportVillages", testImportVillages},
	{"EditMember", testEditMember},
	{"DeactivateCancelsOutbox", testDeactivateCancelsOutbox},
	{"FindMembers", testFindMembers},
}

func importRow(line int, id, name, phone, v, addr string) storage.ImportMember {
	return storage.ImportMember{Line: line, Member: storage.Member{ID: id, Name: name, Phone: phone, VillageID: v,
		Address: addr, CreatedAt: t0}}
}

// testImportMembers: a dry run writes nothing; an import creates members
// without tokens, then matches by phone, or without one by village, name
// and address, updating (keeping what a row leaves empty) or leaving as
// they are.
func testImportMembers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	v1, v2 := village(t, s, "v1"), village(t, s, "v2")
	home := &storage.LatLng{Lat: 29.1, Lng: 119.2}
	rows := []storage.ImportMember{
		importRow(2, "i1", "甲", phoneOf(1), v1.ID, "1号"),
		importRow(3, "i2", "乙", "", v1.ID, "2号"),
		importRow(4, "i3", "丙", phoneOf(3), v2.ID, ""),
	}
	rows[0].Member.Role, rows[0].Member.Home, rows[0].Member.Lang = storage.RolePatrol, home, "en"
	res, err := s.ImportMembers(ctx, rows, storage.ImportOptions{DryRun: true})
	mustNoErr(t, err, "dry run")
	wantEqual(t, [3]int{res.Created, res.Updated, res.Unchanged}, [3]int{3, 0, 0}, "dry run counts")
	n, _ := s.CountMembers(ctx, "")
	wantEqual(t, n, 0, "members after a dry run")

	res, err = s.ImportMembers(ctx, rows, storage.ImportOptions{})
	mustNoErr(t, err, "import")
	wantEqual(t, [3]int{res.Created, res.Updated, res.Unchanged}, [3]int{3, 0, 0}, "import counts")
	slices.Sort(res.Changed)
	wantEqual(t, res.Changed, []string{"i1", "i2", "i3"}, "changed ids")
	m, err := s.GetMember(ctx, "i1")
	mustNoErr(t, err, "get i1")
	if m.Role != storage.RolePatrol || m.Home == nil || *m.Home != *home || m.Lang != "en" || m.Inactive {
		t.Errorf("i1 = %+v", m)
	}
	m, _ = s.GetMember(ctx, "i2")
	if m.Role != storage.RoleResident || m.Phone != "" || m.Address != "2号" {
		t.Errorf("i2 = %+v", m)
	}
	toks, err := s.ListTokens(ctx, storage.TokenFilter{MemberID: "i1"})
	mustNoErr(t, err, "tokens")
	wantEqual(t, len(toks), 0, "an imported member's tokens")

	// Again with new ids: i1 moves village, keeps role/home/lang (left
	// empty); i2 is found by its key and takes a phone; i3 unchanged.
	again := []storage.ImportMember{
		importRow(2, "j1", "甲", phoneOf(1), v2.ID, "1号"),
		importRow(3, "j2", "乙", phoneOf(2), v1.ID, "2号"),
		importRow(4, "j3", "丙", phoneOf(3), v2.ID, ""),
	}
	again[1].ByKey = true
	res, err = s.ImportMembers(ctx, again, storage.ImportOptions{})
	mustNoErr(t, err, "re-import")
	wantEqual(t, [3]int{res.Created, res.Updated, res.Unchanged}, [3]int{0, 2, 1}, "re-import counts")
	n, _ = s.CountMembers(ctx, "")
	wantEqual(t, n, 3, "members after the re-import")
	m, _ = s.GetMember(ctx, "i1")
	if m.VillageID != v2.ID || m.Role != storage.RolePatrol || m.Home == nil || m.Lang != "en" {
		t.Errorf("i1 after re-import = %+v", m)
	}
	m, _ = s.GetMember(ctx, "i2")
	wantEqual(t, m.Phone, phoneOf(2), "i2's phone taken from the sheet")
	_, err = s.GetMember(ctx, "j1")
	wantErrIs(t, err, storage.ErrNotFound, "a matched row's new id")
}

// testImportProtect: a row matching a member of a protected role writes
// nothing at all and names its line.
func testImportProtect(t *testing.T, s storage.Store) {
	ctx := context.Background()
	v := village(t, s, "v1")
	members(t, s, newMember("boss", 1, storage.RoleCommander, ""))
	rows := []storage.ImportMember{importRow(2, "n1", "新", phoneOf(9), v.ID, ""), importRow(3, "n2", "冒", phoneOf(1), v.ID, "")}
	res, err := s.ImportMembers(ctx, rows, storage.ImportOptions{Protect: []storage.Role{storage.RoleCommander, storage.RoleAdmin}})
	mustNoErr(t, err, "import")
	wantEqual(t, res.Protected, []int{3}, "protected lines")
	n, _ := s.CountMembers(ctx, "")
	wantEqual(t, n, 1, "members after a refused import")
	m, _ := s.GetMember(ctx, "boss")
	wantEqual(t, m.Name, "成员 boss", "the commander's name")
}

// testImportVillages: by code, else by township and name; a code taken
// by another village is a conflict and writes nothing.
func testImportVillages(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "old") // 村 old / 乡 old, no code
	c := storage.LatLng{Lat: 29, Lng: 119}
	rows := []storage.Village{
		{ID: "n1", Name: "村 old", Township: "乡 old", Code: "330100000001", Center: c, CreatedAt: t0},
		{ID: "n2", Name: "新村", Township: "镇", Code: "330100000002", Center: c, CreatedAt: t0},
	}
	res, err := s.ImportVillages(ctx, rows, storage.ImportOptions{})
	mustNoErr(t, err, "import villages")
	wantEqual(t, [3]int{res.Created, res.Updated, res.Unchanged}, [3]int{1, 1, 0}, "counts")
	v, err := s.GetVillage(ctx, "old")
	mustNoErr(t, err, "get old")
	if v.Code != "330100000001" || v.Center != c {
		t.Errorf("old village = %+v", v)
	}
	rows[1].ID, rows[1].Name = "n3", "改名村"
	res, err = s.ImportVillages(ctx, rows, storage.ImportOptions{})
	mustNoErr(t, err, "re-import villages")
	wantEqual(t, [3]int{res.Created, res.Updated, res.Unchanged}, [3]int{0, 1, 1}, "re-import counts")
	v, _ = s.GetVillage(ctx, "n2")
	wantEqual(t, v.Name, "改名村", "renamed by code")
	// A new village with a code another village has: nothing written.
	dup := []storage.Village{{ID: "n4", Name: "甲", Township: "乙", Center: c, CreatedAt: t0},
		{ID: "n5", Name: "丙", Township: "丁", Center: c, CreatedAt: t0}}
	mustNoErr(t, s.CreateVillage(ctx, &storage.Village{ID: "n6", Name: "戊", Township: "己", Code: "330100000009", Center: c, CreatedAt: t0}), "n6")
	dup[1].Code = "330100000009"
	dup[1].Name = "戊"
	dup[1].Township = "己"
	res, err = s.ImportVillages(ctx, dup, storage.ImportOptions{})
	mustNoErr(t, err, "import matching by code")
	wantEqual(t, res.Created, 1, "created")
	err = s.CreateVillage(ctx, &storage.Village{ID: "n7", Name: "x", Township: "y", Code: "330100000009", Center: c, CreatedAt: t0})
	wantErrIs(t, err, storage.ErrConflict, "a taken code")
}

// testEditMember: fields change one by one; a taken phone is a conflict
// and changes nothing; "" removes the phone.
func testEditMember(t *testing.T, s storage.Store) {
	ctx := context.Background()
	v1, v2 := village(t, s, "v1"), village(t, s, "v2")
	members(t, s, newMember("a", 1, storage.RoleResident, v1.ID), newMember("b", 2, storage.RoleResident, v1.ID))
	name, lang, role, none, taken := "新名", "en", storage.RolePatrol, "", phoneOf(2)
	m, err := s.EditMember(ctx, "a", storage.MemberEdit{Name: &name, Lang: &lang, Role: &role, VillageID: &v2.ID,
		Home: &storage.LatLng{Lat: 1, Lng: 2}})
	mustNoErr(t, err, "edit")
	if m.Name != name || m.Lang != lang || m.Role != role || m.VillageID != v2.ID || m.Home == nil || m.Phone != phoneOf(1) {
		t.Errorf("edited = %+v", m)
	}
	_, err = s.EditMember(ctx, "a", storage.MemberEdit{Phone: &taken, Name: &none})
	wantErrIs(t, err, storage.ErrConflict, "a taken phone")
	m, _ = s.GetMember(ctx, "a")
	wantEqual(t, m.Name, name, "name after a refused edit")
	m, err = s.EditMember(ctx, "a", storage.MemberEdit{Phone: &none, ClearHome: true})
	mustNoErr(t, err, "remove phone")
	if m.Phone != "" || m.Home != nil {
		t.Errorf("after removing phone and home: %+v", m)
	}
	// Two members without a phone do not collide.
	m, err = s.EditMember(ctx, "b", storage.MemberEdit{Phone: &none})
	mustNoErr(t, err, "remove b's phone")
	_, err = s.EditMember(ctx, "nobody", storage.MemberEdit{Name: &name})
	wantErrIs(t, err, storage.ErrNotFound, "unknown member")
}

// testDeactivateCancelsOutbox: deactivating cancels the member's pending
// messages (in the same transaction, for the rows written by then); a
// claim never takes a message of an inactive member but cancels it.
func testDeactivateCancelsOutbox(t *testing.T, s storage.Store) {
	ctx := context.Background()
	v := village(t, s, "v1")
	members(t, s, newMember("a", 1, storage.RoleResident, v.ID), newMember("b", 2, storage.RoleResident, v.ID))
	a, ev := alertAt("al", t0)
	ts := []storage.Target{{MemberID: "a", SMSDueAt: at(time.Minute)}, {MemberID: "b", SMSDueAt: at(time.Minute)}}
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "alert")
	off, on := false, true
	m, err := s.EditMember(ctx, "a", storage.MemberEdit{Active: &off})
	mustNoErr(t, err, "deactivate")
	wantEqual(t, m.Inactive, true, "inactive")
	// (A store that writes a big alert's rows after it returns may still
	// show a's row pending here: the claim below cancels it.)
	// A row queued for the inactive member later is cancelled at claim.
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{{Channel: storage.ChannelSMS, Ref: storage.AlertRef("al"),
		MemberID: "a", Kind: storage.MessageAllClear, State: storage.MessagePending, DueAt: at(time.Minute)}}), "enqueue")
	got, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(2*time.Minute), 10, "n1")
	mustNoErr(t, err, "claim")
	for _, r := range got {
		if r.MemberID == "a" {
			t.Errorf("claimed %s of the inactive member", r.Key())
		}
	}
	wantEqual(t, len(got), 1, "claimed")
	rows, err := s.ListMessages(ctx, storage.AlertRef("al"))
	mustNoErr(t, err, "list messages")
	for _, r := range rows {
		want := storage.MessageClaimed
		if r.MemberID == "a" {
			want = storage.MessageCancelled
		}
		wantEqual(t, r.State, want, "message "+r.Key().String())
	}
	m, err = s.EditMember(ctx, "a", storage.MemberEdit{Active: &on})
	mustNoErr(t, err, "reactivate")
	wantEqual(t, m.Inactive, false, "active again")
}

// testFindMembers: filters by role, village, active and a name or phone
// substring; pages by id.
func testFindMembers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	v1, v2 := village(t, s, "v1"), village(t, s, "v2")
	var ms []storage.Member
	for i := range 6 {
		vid := v1.ID
		if i%2 == 1 {
			vid = v2.ID
		}
		m := newMember(fmt.Sprintf("m%d", i), 10+i, storage.RoleResident, vid)
		if i == 5 {
			m.Role = storage.RolePatrol
		}
		ms = append(ms, m)
	}
	members(t, s, ms...)
	off := false
	_, err := s.EditMember(ctx, "m2", storage.MemberEdit{Active: &off})
	mustNoErr(t, err, "deactivate m2")
	ids := func(f storage.MemberFilter) []string {
		t.Helper()
		out, err := s.FindMembers(ctx, f)
		mustNoErr(t, err, "find")
		var ids []string
		for _, m := range out {
			ids = append(ids, m.ID)
		}
		return ids
	}
	yes := true
	wantEqual(t, ids(storage.MemberFilter{VillageID: v1.ID}), []string{"m0", "m2", "m4"}, "village")
	wantEqual(t, ids(storage.MemberFilter{VillageID: v1.ID, Active: &yes}), []string{"m0", "m4"}, "active")
	wantEqual(t, ids(storage.MemberFilter{Active: &off}), []string{"m2"}, "inactive")
	wantEqual(t, ids(storage.MemberFilter{Role: storage.RolePatrol}), []string{"m5"}, "role")
	wantEqual(t, ids(storage.MemberFilter{Query: "m3"}), []string{"m3"}, "name substring")
	wantEqual(t, ids(storage.MemberFilter{Query: phoneOf(14)[5:]}), []string{"m4"}, "phone substring")
	wantEqual(t, ids(storage.MemberFilter{After: "m3", Limit: 2}), []string{"m4", "m5"}, "page")
}
