package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// testAddressedEvents: an addressed event (v1.6) reaches exactly the
// members of its To and, with ToVillage, its village's members, on resume
// (EventsSince) and in the catch-up read (EventsAfter, with its To).
func testAddressedEvents(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("cmd", 1, storage.RoleCommander, ""), newMember("c1", 2, storage.RoleCadre, "v1"),
		newMember("r1", 3, storage.RoleResident, "v1"), newMember("r2", 4, storage.RoleResident, "v2"))

	if err := s.AppendEvent(ctx, &storage.Event{Type: "notice", CreatedAt: at(0)}); !errors.Is(err, storage.ErrNotAddressed) {
		t.Fatalf("append an event with no readers: %v, want ErrNotAddressed", err)
	}
	toTwo := &storage.Event{Type: "notice", MemberID: "cmd", VillageID: "v1", To: []string{"r2", "c1", "r2"},
		Body: []byte(`{"n":1}`), CreatedAt: at(time.Second)}
	mustNoErr(t, s.AppendEvent(ctx, toTwo), "append to two")
	toV1 := &storage.Event{Type: "board", VillageID: "v1", ToVillage: true, To: []string{"cmd"},
		Body: []byte(`{"n":2}`), CreatedAt: at(2 * time.Second)}
	mustNoErr(t, s.AppendEvent(ctx, toV1), "append to a village")
	if toTwo.Seq <= 0 || toV1.Seq <= toTwo.Seq {
		t.Fatalf("seqs %d, %d: want growing", toTwo.Seq, toV1.Seq)
	}

	seqs := func(a storage.Audience) []int64 {
		t.Helper()
		evs, err := s.EventsSince(ctx, a, 0, 0)
		mustNoErr(t, err, "events since")
		var out []int64
		for _, e := range evs {
			out = append(out, e.Seq)
		}
		return out
	}
	for _, c := range []struct {
		a    storage.Audience
		want []int64
	}{
		{storage.Audience{MemberID: "cmd", Role: storage.RoleCommander}, []int64{toV1.Seq}},
		{storage.Audience{MemberID: "c1", Role: storage.RoleCadre, VillageID: "v1"}, []int64{toTwo.Seq, toV1.Seq}},
		{storage.Audience{MemberID: "r1", Role: storage.RoleResident, VillageID: "v1"}, []int64{toV1.Seq}},
		{storage.Audience{MemberID: "r2", Role: storage.RoleResident, VillageID: "v2"}, []int64{toTwo.Seq}},
		{storage.Audience{MemberID: "x", Role: storage.RoleResident, VillageID: "v3"}, nil},
	} {
		if got := seqs(c.a); !slices.Equal(got, c.want) {
			t.Errorf("events for %s: %v, want %v", c.a.MemberID, got, c.want)
		}
	}
	// Resume from the first: only the second.
	if evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "c1", Role: storage.RoleCadre, VillageID: "v1"}, toTwo.Seq, 0); err != nil ||
		len(evs) != 1 || evs[0].Seq != toV1.Seq || !evs[0].ToVillage || string(evs[0].Body) != `{"n":2}` {
		t.Errorf("events since the first: %+v, %v", evs, err)
	}

	all, err := s.EventsAfter(ctx, 0, 0)
	mustNoErr(t, err, "events after")
	if len(all) != 2 {
		t.Fatalf("events after 0: %d, want 2", len(all))
	}
	if !slices.Equal(all[0].To, []string{"c1", "r2"}) || all[0].ToVillage {
		t.Errorf("first event read back: to %v village %v, want [c1 r2] false", all[0].To, all[0].ToVillage)
	}
	if !slices.Equal(all[1].To, []string{"cmd"}) || !all[1].ToVillage || all[1].VillageID != "v1" {
		t.Errorf("second event read back: to %v village %v %q", all[1].To, all[1].ToVillage, all[1].VillageID)
	}
	// A limited catch-up read attaches only its own events' readers.
	one, err := s.EventsAfter(ctx, 0, 1)
	mustNoErr(t, err, "events after, limit 1")
	if len(one) != 1 || !slices.Equal(one[0].To, []string{"c1", "r2"}) {
		t.Errorf("events after 0 limit 1: %+v", one)
	}
}
