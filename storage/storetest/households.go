package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunHouseholds runs the household tests (v1.6).
func RunHouseholds(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("CreateListUpdate", func(t *testing.T) { t.Parallel(); testHouseholds(t, newStore(t)) })
}

func testHouseholds(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("r2", 2, storage.RoleResident, "v1"),
		newMember("r3", 3, storage.RoleResident, "v1"), newMember("r4", 4, storage.RoleResident, "v2"))
	h1 := &storage.Household{ID: "h1", VillageID: "v1", Name: "王家", MemberIDs: []string{"r1", "r2"},
		Watch: storage.WatchService, CreatedBy: "c1", CreatedAt: at(0), UpdatedAt: at(0)}
	mustNoErr(t, s.CreateHousehold(ctx, h1), "create h1")
	h2 := &storage.Household{ID: "h2", VillageID: "v2", Name: "李家", MemberIDs: []string{"r4"}, CreatedAt: at(1), UpdatedAt: at(1)}
	mustNoErr(t, s.CreateHousehold(ctx, h2), "create h2")

	// A member is in one household at most; a missing member is refused;
	// a refused household leaves nothing behind.
	if err := s.CreateHousehold(ctx, &storage.Household{ID: "h3", VillageID: "v1", Name: "x", MemberIDs: []string{"r3", "r1"},
		CreatedAt: at(2), UpdatedAt: at(2)}); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("a member in two households: %v, want ErrConflict", err)
	}
	if err := s.CreateHousehold(ctx, &storage.Household{ID: "h3", VillageID: "v1", Name: "x", MemberIDs: []string{"nobody"},
		CreatedAt: at(2), UpdatedAt: at(2)}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a missing member: %v, want ErrNotFound", err)
	}
	if _, err := s.GetHousehold(ctx, "h3"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("refused household read back: %v, want ErrNotFound", err)
	}

	got, err := s.GetHousehold(ctx, "h1")
	mustNoErr(t, err, "get h1")
	if got.Name != "王家" || got.Watch != storage.WatchService || !slices.Equal(got.MemberIDs, []string{"r1", "r2"}) ||
		!got.CreatedAt.Equal(at(0)) || got.VillageID != "v1" || got.CreatedBy != "c1" {
		t.Errorf("h1 read back: %+v", got)
	}
	list := func(f storage.HouseholdFilter) []string {
		t.Helper()
		hs, err := s.ListHouseholds(ctx, f)
		mustNoErr(t, err, "list households")
		var ids []string
		for _, h := range hs {
			ids = append(ids, h.ID)
		}
		return ids
	}
	for _, c := range []struct {
		name string
		f    storage.HouseholdFilter
		want []string
	}{
		{"all", storage.HouseholdFilter{}, []string{"h1", "h2"}},
		{"village", storage.HouseholdFilter{VillageID: "v2"}, []string{"h2"}},
		{"watched", storage.HouseholdFilter{Watched: true}, []string{"h1"}},
		{"watch kind", storage.HouseholdFilter{Watch: storage.WatchControl}, nil},
		{"member", storage.HouseholdFilter{MemberID: "r2"}, []string{"h1"}},
		{"after", storage.HouseholdFilter{After: "h1"}, []string{"h2"}},
		{"limit", storage.HouseholdFilter{Limit: 1}, []string{"h1"}},
	} {
		if got := list(c.f); !slices.Equal(got, c.want) {
			t.Errorf("list %s: %v, want %v", c.name, got, c.want)
		}
	}

	name, watch, ms := "王家大院", storage.WatchNone, []string{"r3", "r2"}
	up, err := s.UpdateHousehold(ctx, "h1", storage.HouseholdUpdate{Name: &name, Watch: &watch, MemberIDs: &ms, At: at(time.Hour)})
	mustNoErr(t, err, "update h1")
	if up.Name != name || up.Watch != "" || !slices.Equal(up.MemberIDs, []string{"r2", "r3"}) || !up.UpdatedAt.Equal(at(time.Hour)) {
		t.Errorf("h1 updated: %+v", up)
	}
	if got := list(storage.HouseholdFilter{MemberID: "r1"}); got != nil {
		t.Errorf("r1 left h1 but is still in %v", got)
	}
	moved := []string{"r4"}
	if _, err := s.UpdateHousehold(ctx, "h1", storage.HouseholdUpdate{MemberIDs: &moved, At: at(2 * time.Hour)}); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("update to a member of another household: %v, want ErrConflict", err)
	}
	if got, _ := s.GetHousehold(ctx, "h1"); !slices.Equal(got.MemberIDs, []string{"r2", "r3"}) {
		t.Errorf("refused update changed the members: %v", got.MemberIDs)
	}
	if _, err := s.UpdateHousehold(ctx, "nope", storage.HouseholdUpdate{Name: &name, At: at(0)}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("update a missing household: %v, want ErrNotFound", err)
	}
}
