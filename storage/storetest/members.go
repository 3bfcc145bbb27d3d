package storetest

import (
	"crypto/sha256"
	"errors"
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
	{"AddressTravelModeEveryRead", testAddressTravelModeEveryRead},
	{"UpdateMember", testUpdateMember},
	{"UpdateMemberEachField", testUpdateMemberEachField},
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
		Demo: true, CreatedAt: at(time.Minute), Address: "3 组 12 号", TravelMode: "motorbike"}
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

// wantMember fails unless got is want (times compared as instants).
func wantMember(t testing.TB, got, want storage.Member, what string) {
	t.Helper()
	wantTime(t, got.CreatedAt, want.CreatedAt, what+": created_at")
	got.CreatedAt = want.CreatedAt
	if want.Live != nil && got.Live != nil {
		wantTime(t, got.Live.At, want.Live.At, what+": live.at")
		live := *got.Live
		live.At = want.Live.At
		got.Live = &live
	}
	wantEqual(t, got, want, what)
}

// testAddressTravelModeEveryRead: Address and TravelMode are stored by
// CreateMembers and come back from every read that builds a Member.
func testAddressTravelModeEveryRead(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	with := newMember("m-with", 1, storage.RoleResident, "v1")
	with.Address, with.TravelMode = "枫树岭镇下姜村 3 组 12 号", "walk"
	with.Home = &storage.LatLng{Lat: 29.5, Lng: 119.1}
	bike := newMember("m-bike", 2, storage.RolePatrol, "v1")
	bike.TravelMode = "bike" // a mode without an address
	addr := newMember("m-addr", 3, storage.RoleCadre, "v1")
	addr.Address = "4 组" // an address without a mode
	bare := newMember("m-bare", 4, storage.RoleResident, "v1")
	want := []storage.Member{addr, bare, bike, with} // by id
	err := s.CreateMembers(ctx, []storage.NewMember{
		{Member: with, TokenHash: tokenHash("with")}, {Member: bike, TokenHash: tokenHash("bike")},
		{Member: addr, TokenHash: tokenHash("addr")}, {Member: bare, TokenHash: tokenHash("bare")},
	})
	mustNoErr(t, err, "create members")

	for _, w := range want {
		got, err := s.GetMember(ctx, w.ID)
		mustNoErr(t, err, "get member "+w.ID)
		wantMember(t, got, w, "GetMember "+w.ID)
	}
	toks := map[string]string{"m-with": "with", "m-bike": "bike", "m-addr": "addr", "m-bare": "bare"}
	for _, w := range want {
		got, err := s.MemberByToken(ctx, tokenHash(toks[w.ID]))
		mustNoErr(t, err, "member by token "+w.ID)
		wantMember(t, got, w, "MemberByToken "+w.ID)
	}
	got, err := s.GetMembers(ctx, []string{"m-with", "m-bare", "m-bike", "m-addr"})
	mustNoErr(t, err, "get members")
	if len(got) != 4 {
		t.Fatalf("GetMembers: %d members, want 4", len(got))
	}
	for i, w := range []storage.Member{with, bare, bike, addr} {
		wantMember(t, got[i], w, "GetMembers "+w.ID)
	}
	list, err := s.ListMembers(ctx, "", 10)
	mustNoErr(t, err, "list members")
	if len(list) != len(want) {
		t.Fatalf("ListMembers: %d members, want %d", len(list), len(want))
	}
	for i, w := range want {
		wantMember(t, list[i], w, "ListMembers "+w.ID)
	}
}

func ptr[T any](v T) *T { return &v }

// testUpdateMember: UpdateMember applies what it is given, returns the
// member as stored, leaves the rest alone; an unknown member is
// ErrNotFound. Reading: ClearHome with a Home (which storage.go forbids) is
// an error that writes nothing; an Address or TravelMode pointing to ""
// clears it.
func testUpdateMember(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	m := newMember("m1", 1, storage.RolePatrol, "v1")
	m.Home = &storage.LatLng{Lat: 29.0312345, Lng: 119.1712345}
	m.Lang, m.Demo = "zh-CN", true
	m.Live = &storage.Position{Lat: 29.1, Lng: 119.2, AccuracyM: 12.5, At: at(time.Minute)}
	other := newMember("m2", 2, storage.RoleResident, "v1")
	other.Address, other.TravelMode = "5 组", "drive"
	members(t, s, m, other)

	check := func(got storage.Member, err error, want storage.Member, what string) {
		t.Helper()
		mustNoErr(t, err, what)
		wantMember(t, got, want, what+": returned")
		stored, err := s.GetMember(ctx, want.ID)
		mustNoErr(t, err, what+": get member")
		wantMember(t, stored, want, what+": stored")
	}

	// Nothing given: nothing changes, the member comes back.
	got, err := s.UpdateMember(ctx, "m1", storage.MemberUpdate{})
	check(got, err, m, "empty update")

	// Everything at once.
	m.Address, m.TravelMode = "下姜村 3 组 12 号", "motorbike"
	m.Home = &storage.LatLng{Lat: 29.5123456, Lng: 118.9876543}
	got, err = s.UpdateMember(ctx, "m1", storage.MemberUpdate{Address: ptr(m.Address),
		TravelMode: ptr(m.TravelMode), Home: &storage.LatLng{Lat: 29.5123456, Lng: 118.9876543}})
	check(got, err, m, "update every field")

	// ClearHome alone: the address and mode stay.
	m.Home = nil
	got, err = s.UpdateMember(ctx, "m1", storage.MemberUpdate{ClearHome: true})
	check(got, err, m, "clear home")
	got, err = s.UpdateMember(ctx, "m1", storage.MemberUpdate{ClearHome: true})
	check(got, err, m, "clear a home that is not there")

	// "" clears the address and the mode.
	m.Address, m.TravelMode = "", ""
	got, err = s.UpdateMember(ctx, "m1", storage.MemberUpdate{Address: ptr(""), TravelMode: ptr("")})
	check(got, err, m, "clear address and travel mode")

	// ClearHome with a Home is refused and writes nothing.
	_, err = s.UpdateMember(ctx, "m1", storage.MemberUpdate{Address: ptr("x"), ClearHome: true,
		Home: &storage.LatLng{Lat: 1, Lng: 2}})
	if err == nil {
		t.Error("UpdateMember with ClearHome and a Home: no error")
	} else if errors.Is(err, storage.ErrNotFound) {
		t.Errorf("UpdateMember with ClearHome and a Home: %v, not a missing member", err)
	}
	stored, err := s.GetMember(ctx, "m1")
	mustNoErr(t, err, "get member")
	wantMember(t, stored, m, "after a refused update")

	// Unknown member.
	_, err = s.UpdateMember(ctx, "m-missing", storage.MemberUpdate{Address: ptr("x")})
	wantErrIs(t, err, storage.ErrNotFound, "update a missing member")
	_, err = s.UpdateMember(ctx, "m-missing", storage.MemberUpdate{})
	wantErrIs(t, err, storage.ErrNotFound, "empty update of a missing member")
	_, err = s.GetMember(ctx, "m-missing")
	wantErrIs(t, err, storage.ErrNotFound, "a missing member after updates")

	// The other member was never touched.
	stored, err = s.GetMember(ctx, "m2")
	mustNoErr(t, err, "get other member")
	wantMember(t, stored, other, "other member")
}

// testUpdateMemberEachField: each field of MemberUpdate alone changes that
// field and nothing else.
func testUpdateMemberEachField(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	m := newMember("m1", 1, storage.RoleResident, "v1")
	m.Address, m.TravelMode = "1 组", "walk"
	m.Home = &storage.LatLng{Lat: 29.1, Lng: 119.1}
	m.Live = &storage.Position{Lat: 29.2, Lng: 119.2, AccuracyM: 5, At: at(time.Second)}
	members(t, s, m)

	steps := []struct {
		what  string
		u     storage.MemberUpdate
		apply func(m *storage.Member)
	}{
		{"address alone", storage.MemberUpdate{Address: ptr("2 组 7 号")},
			func(m *storage.Member) { m.Address = "2 组 7 号" }},
		{"travel mode alone", storage.MemberUpdate{TravelMode: ptr("bike")},
			func(m *storage.Member) { m.TravelMode = "bike" }},
		{"home alone", storage.MemberUpdate{Home: &storage.LatLng{Lat: 29.7654321, Lng: 119.1234567}},
			func(m *storage.Member) { m.Home = &storage.LatLng{Lat: 29.7654321, Lng: 119.1234567} }},
		{"clear home alone", storage.MemberUpdate{ClearHome: true},
			func(m *storage.Member) { m.Home = nil }},
		{"home after a clear", storage.MemberUpdate{Home: &storage.LatLng{Lat: -1.5, Lng: 0}},
			func(m *storage.Member) { m.Home = &storage.LatLng{Lat: -1.5, Lng: 0} }},
		{"travel mode drive", storage.MemberUpdate{TravelMode: ptr("drive")},
			func(m *storage.Member) { m.TravelMode = "drive" }},
		{"travel mode motorbike", storage.MemberUpdate{TravelMode: ptr("motorbike")},
			func(m *storage.Member) { m.TravelMode = "motorbike" }},
	}
	for _, st := range steps {
		st.apply(&m)
		got, err := s.UpdateMember(ctx, "m1", st.u)
		mustNoErr(t, err, st.what)
		wantMember(t, got, m, st.what+": returned")
		stored, err := s.GetMember(ctx, "m1")
		mustNoErr(t, err, st.what+": get member")
		wantMember(t, stored, m, st.what+": stored")
		list, err := s.ListMembers(ctx, "", 10)
		mustNoErr(t, err, st.what+": list members")
		if len(list) != 1 {
			t.Fatalf("%s: ListMembers: %d members", st.what, len(list))
		}
		wantMember(t, list[0], m, st.what+": listed")
	}
}
