package storetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

var memberCases = []testCase{
	{"Villages", testVillages},
	{"MembersRoundTrip", testMembersRoundTrip},
	{"MembersPhoneUnique", testMembersPhoneUnique},
	{"MembersIDUnique", testMembersIDUnique},
	{"Tokens", testTokens},
	{"ListMembersPaging", testListMembersPaging},
	{"GetMembers", testGetMembers},
	{"CountMembers", testCountMembers},
	{"SetLivePosition", testSetLivePosition},
	{"Ping", testPing},
}

func tokenHash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testVillages(t *testing.T, s storage.Store) {
	ctx := t.Context()
	vs, err := s.ListVillages(ctx)
	mustNoErr(t, err, "list villages of an empty store")
	if len(vs) != 0 {
		t.Errorf("empty store lists %d villages", len(vs))
	}
	b := storage.Village{ID: "v-b", Name: "下姜村", Township: "枫树岭镇",
		Center: storage.LatLng{Lat: 29.5123456, Lng: 118.9876543}, Demo: true, CreatedAt: at(time.Second)}
	mustNoErr(t, s.CreateVillage(ctx, &b), "create village")
	a := village(t, s, "v-a")

	got, err := s.GetVillage(ctx, "v-b")
	mustNoErr(t, err, "get village")
	wantTime(t, got.CreatedAt, b.CreatedAt, "created_at")
	got.CreatedAt = b.CreatedAt
	wantEqual(t, got, b, "village round trip")

	_, err = s.GetVillage(ctx, "v-missing")
	wantErrIs(t, err, storage.ErrNotFound, "get missing village")

	dup := storage.Village{ID: "v-a", Name: "dup", CreatedAt: t0}
	wantErrIs(t, s.CreateVillage(ctx, &dup), storage.ErrConflict, "create village with a taken id")

	vs, err = s.ListVillages(ctx)
	mustNoErr(t, err, "list villages")
	// Reading: ListVillages is ordered by id.
	if len(vs) != 2 || vs[0].ID != "v-a" || vs[1].ID != "v-b" {
		t.Fatalf("list villages: got %+v, want v-a then v-b", vs)
	}
	if vs[0].Name != a.Name {
		t.Errorf("listed village name %q, want %q", vs[0].Name, a.Name)
	}
}

func testMembersRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	full := storage.Member{ID: "m-full", Name: "张三", Phone: "+8613800000001", Role: storage.RolePatrol,
		VillageID: "v1", Home: &storage.LatLng{Lat: 29.0312345, Lng: 119.1712345}, Lang: "zh-CN",
		Demo: true, CreatedAt: at(time.Minute)}
	bare := storage.Member{ID: "m-bare", Name: "李四", Role: storage.RoleResident, CreatedAt: at(time.Minute)}
	bare2 := storage.Member{ID: "m-bare2", Name: "王五", Role: storage.RoleResident, CreatedAt: at(time.Minute)}
	withLive := storage.Member{ID: "m-live", Name: "赵六", Phone: "+8613800000002", Role: storage.RoleCadre,
		VillageID: "v1", CreatedAt: t0,
		Live: &storage.Position{Lat: 29.1, Lng: 119.2, AccuracyM: 12.5, At: at(2 * time.Minute)}}
	err := s.CreateMembers(ctx, []storage.NewMember{
		{Member: full, TokenHash: tokenHash("full")},
		{Member: bare, TokenHash: tokenHash("bare")},
		{Member: bare2}, // no token, no phone: empty phones never collide
		{Member: withLive},
	})
	mustNoErr(t, err, "create members")
	mustNoErr(t, s.CreateMembers(ctx, nil), "create no members")

	for _, want := range []storage.Member{full, bare, bare2, withLive} {
		got, err := s.GetMember(ctx, want.ID)
		mustNoErr(t, err, "get member "+want.ID)
		wantTime(t, got.CreatedAt, want.CreatedAt, want.ID+" created_at")
		got.CreatedAt = want.CreatedAt
		if want.Live != nil && got.Live != nil {
			wantTime(t, got.Live.At, want.Live.At, want.ID+" live.at")
			got.Live.At = want.Live.At
		}
		wantEqual(t, got, want, "member round trip")
	}
	_, err = s.GetMember(ctx, "m-missing")
	wantErrIs(t, err, storage.ErrNotFound, "get missing member")
}

func testMembersPhoneUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))

	err := s.CreateMembers(ctx, []storage.NewMember{
		{Member: newMember("m2", 2, storage.RoleResident, "")},
		{Member: newMember("m3", 1, storage.RoleResident, "")}, // m1's phone
	})
	wantErrIs(t, err, storage.ErrConflict, "create a member with a taken phone")
	// The batch is one transaction: m2 must not exist either.
	_, err = s.GetMember(ctx, "m2")
	wantErrIs(t, err, storage.ErrNotFound, "member of a failed batch")

	err = s.CreateMembers(ctx, []storage.NewMember{
		{Member: newMember("m4", 4, storage.RoleResident, "")},
		{Member: newMember("m5", 4, storage.RoleResident, "")},
	})
	wantErrIs(t, err, storage.ErrConflict, "two members of one batch with the same phone")
	n, err := s.CountMembers(ctx, "")
	mustNoErr(t, err, "count members")
	if n != 1 {
		t.Errorf("members after failed batches: %d, want 1", n)
	}
}

func testMembersIDUnique(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	err := s.CreateMembers(ctx, []storage.NewMember{{Member: newMember("m1", 2, storage.RoleResident, "")}})
	wantErrIs(t, err, storage.ErrConflict, "create a member with a taken id")
	got, err := s.GetMember(ctx, "m1")
	mustNoErr(t, err, "get member")
	if got.Phone != phoneOf(1) {
		t.Errorf("member overwritten: phone %q", got.Phone)
	}
}

func testTokens(t *testing.T, s storage.Store) {
	ctx := t.Context()
	err := s.CreateMembers(ctx, []storage.NewMember{
		{Member: newMember("m1", 1, storage.RoleResident, "v1"), TokenHash: tokenHash("t1")},
		{Member: newMember("m2", 2, storage.RoleAdmin, ""), TokenHash: tokenHash("t2")},
	})
	mustNoErr(t, err, "create members")

	got, err := s.MemberByToken(ctx, tokenHash("t1"))
	mustNoErr(t, err, "member by token")
	if got.ID != "m1" || got.VillageID != "v1" || got.Role != storage.RoleResident {
		t.Errorf("member by token: got %+v", got)
	}
	_, err = s.MemberByToken(ctx, tokenHash("nope"))
	wantErrIs(t, err, storage.ErrNotFound, "member by unknown token")

	mustNoErr(t, s.AddToken(ctx, "m1", tokenHash("t1b")), "add token")
	mustNoErr(t, s.AddToken(ctx, "m1", tokenHash("t1b")), "add the same token again (idempotent)")
	mustNoErr(t, s.AddToken(ctx, "m1", tokenHash("t1")), "add the original token again")
	for _, tok := range []string{"t1", "t1b"} {
		got, err := s.MemberByToken(ctx, tokenHash(tok))
		mustNoErr(t, err, "member by token "+tok)
		if got.ID != "m1" {
			t.Errorf("token %s: member %s, want m1", tok, got.ID)
		}
	}
	// Reading: a token that another member holds is a taken unique key.
	wantErrIs(t, s.AddToken(ctx, "m2", tokenHash("t1")), storage.ErrConflict, "add another member's token")
	got, err = s.MemberByToken(ctx, tokenHash("t1"))
	mustNoErr(t, err, "member by token after conflict")
	if got.ID != "m1" {
		t.Errorf("token t1 moved to %s", got.ID)
	}
	// Reading: a token for a member that does not exist is ErrNotFound.
	wantErrIs(t, s.AddToken(ctx, "m-missing", tokenHash("t9")), storage.ErrNotFound, "add token to a missing member")

	err = s.CreateMembers(ctx, []storage.NewMember{
		{Member: newMember("m3", 3, storage.RoleResident, ""), TokenHash: tokenHash("t2")},
	})
	wantErrIs(t, err, storage.ErrConflict, "create a member with a taken token")
}

func testListMembersPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var ms []storage.Member
	for i := 24; i >= 0; i-- { // created out of order
		ms = append(ms, newMember(fmt.Sprintf("m%02d", i), i, storage.RoleResident, ""))
	}
	members(t, s, ms...)

	var seen []string
	after := ""
	for page := 0; page < 10; page++ {
		got, err := s.ListMembers(ctx, after, 10)
		mustNoErr(t, err, "list members")
		if len(got) == 0 {
			break
		}
		if len(got) > 10 {
			t.Fatalf("page of %d members, limit 10", len(got))
		}
		for _, m := range got {
			seen = append(seen, m.ID)
		}
		after = got[len(got)-1].ID
	}
	if len(seen) != 25 {
		t.Fatalf("paged through %d members, want 25: %v", len(seen), seen)
	}
	for i, id := range seen {
		if want := fmt.Sprintf("m%02d", i); id != want {
			t.Fatalf("member %d is %s, want %s (ordered by id)", i, id, want)
		}
	}
	got, err := s.ListMembers(ctx, "m24", 10)
	mustNoErr(t, err, "list members after the last")
	if len(got) != 0 {
		t.Errorf("after the last member: %d members", len(got))
	}
	got, err = s.ListMembers(ctx, "m10", 3)
	mustNoErr(t, err, "list members after m10")
	if len(got) != 3 || got[0].ID != "m11" || got[2].ID != "m13" {
		t.Errorf("after m10, limit 3: got %v", got)
	}
}

func testCountMembers(t *testing.T, s storage.Store) {
	ctx := t.Context()
	n, err := s.CountMembers(ctx, "")
	mustNoErr(t, err, "count members of an empty store")
	if n != 0 {
		t.Errorf("empty store counts %d members", n)
	}
	members(t, s,
		newMember("r1", 1, storage.RoleResident, ""), newMember("r2", 2, storage.RoleResident, ""),
		newMember("r3", 3, storage.RoleResident, ""), newMember("p1", 4, storage.RolePatrol, ""),
		newMember("a1", 5, storage.RoleAdmin, ""))
	for role, want := range map[storage.Role]int{"": 5, storage.RoleResident: 3, storage.RolePatrol: 1,
		storage.RoleAdmin: 1, storage.RoleCommander: 0} {
		n, err := s.CountMembers(ctx, role)
		mustNoErr(t, err, "count members")
		if n != want {
			t.Errorf("count %q: %d, want %d", role, n, want)
		}
	}
}

func testSetLivePosition(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	p := storage.Position{Lat: 29.123456, Lng: 119.654321, AccuracyM: 8, At: at(time.Hour)}
	mustNoErr(t, s.SetLivePosition(ctx, "m1", p), "set live position")
	p2 := storage.Position{Lat: 29.2, Lng: 119.7, At: at(2 * time.Hour)}
	mustNoErr(t, s.SetLivePosition(ctx, "m1", p2), "set live position again")
	got, err := s.GetMember(ctx, "m1")
	mustNoErr(t, err, "get member")
	if got.Live == nil {
		t.Fatal("no live position after SetLivePosition")
	}
	wantTime(t, got.Live.At, p2.At, "live.at")
	got.Live.At = p2.At
	wantEqual(t, *got.Live, p2, "live position (the last one wins)")
	wantErrIs(t, s.SetLivePosition(ctx, "m-missing", p), storage.ErrNotFound, "set live position of a missing member")
}

func testPing(t *testing.T, s storage.Store) {
	mustNoErr(t, s.Ping(t.Context()), "ping")
}

func testGetMembers(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var ms []storage.Member
	for i := range 5 {
		ms = append(ms, newMember(fmt.Sprintf("g%d", i), 100+i, storage.RoleResident, ""))
	}
	members(t, s, ms...)
	got, err := s.GetMembers(ctx, []string{"g3", "nope", "g0", "g4"})
	mustNoErr(t, err, "get members")
	var ids []string
	for _, m := range got {
		ids = append(ids, m.ID)
	}
	if fmt.Sprint(ids) != "[g3 g0 g4]" {
		t.Fatalf("GetMembers = %v, want [g3 g0 g4] (in the order asked, unknown ids left out)", ids)
	}
	one, err := s.GetMember(ctx, "g3")
	mustNoErr(t, err, "get member")
	if fmt.Sprint(got[0]) != fmt.Sprint(one) {
		t.Errorf("GetMembers row %+v differs from GetMember %+v", got[0], one)
	}
	none, err := s.GetMembers(ctx, nil)
	mustNoErr(t, err, "get no members")
	if len(none) != 0 {
		t.Errorf("GetMembers(nil) = %v", none)
	}
}
