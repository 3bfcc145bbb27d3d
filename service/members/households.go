package members

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Households (docs/API.md v1.6, issue 16).

// MaxHouseholdMembers bounds the members of one household.
const MaxHouseholdMembers = 50

// WatchKinds are the watch kinds a household may have, "" (none) first.
var WatchKinds = []string{storage.WatchNone, storage.WatchBackbone, storage.WatchService, storage.WatchControl}

// HouseholdInput is a household to create, or (nil fields kept) the
// changes to one.
type HouseholdInput struct {
	VillageID string
	Name      *string
	MemberIDs *[]string
	Watch     *string
}

func checkWatch(w string) error {
	if !slices.Contains(WatchKinds, w) {
		return service.Invalid("watch must be \"\", backbone, service or control")
	}
	return nil
}

// checkHouseholdMembers checks that ids name distinct, active members of
// village and returns them sorted.
func (s *Service) checkHouseholdMembers(ctx context.Context, village string, ids []string) ([]string, error) {
	if len(ids) > MaxHouseholdMembers {
		return nil, service.Invalid("member_ids: at most %d members", MaxHouseholdMembers)
	}
	ids = slices.Sorted(slices.Values(ids))
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		return nil, service.Invalid("member_ids: a member is listed twice")
	}
	ms, err := s.store.GetMembers(ctx, ids)
	if err != nil {
		return nil, err
	}
	found := make(map[string]storage.Member, len(ms))
	for _, m := range ms {
		found[m.ID] = m
	}
	for _, id := range ids {
		m, ok := found[id]
		if !ok {
			return nil, service.Invalid("member_ids: no member %q", id)
		}
		if m.VillageID != village {
			return nil, service.Invalid("member_ids: member %q is not of village %s", id, village)
		}
	}
	return ids, nil
}

// conflict turns a store conflict into the API's error.
func householdConflict(err error) error {
	if errors.Is(err, storage.ErrConflict) {
		return service.Errorf(service.CodeConflict, "a member of the household already belongs to another household")
	}
	return err
}

// CreateHousehold creates a household of a village.
func (s *Service) CreateHousehold(ctx context.Context, in HouseholdInput, by string) (storage.Household, error) {
	if in.Name == nil || *in.Name == "" {
		return storage.Household{}, service.Invalid("name is required")
	}
	if err := service.CheckText("name", *in.Name, 100, false); err != nil {
		return storage.Household{}, err
	}
	watch := ""
	if in.Watch != nil {
		watch = *in.Watch
	}
	if err := checkWatch(watch); err != nil {
		return storage.Household{}, err
	}
	if _, err := s.store.GetVillage(ctx, in.VillageID); errors.Is(err, storage.ErrNotFound) {
		return storage.Household{}, service.Invalid("village_id: no village %q", in.VillageID)
	} else if err != nil {
		return storage.Household{}, err
	}
	var ids []string
	if in.MemberIDs != nil {
		var err error
		if ids, err = s.checkHouseholdMembers(ctx, in.VillageID, *in.MemberIDs); err != nil {
			return storage.Household{}, err
		}
	}
	now := s.now()
	h := storage.Household{ID: service.NewID("h"), VillageID: in.VillageID, Name: *in.Name, MemberIDs: ids,
		Watch: watch, CreatedBy: by, CreatedAt: now, UpdatedAt: now}
	if h.MemberIDs == nil {
		h.MemberIDs = []string{}
	}
	if err := s.store.CreateHousehold(ctx, &h); err != nil {
		return storage.Household{}, householdConflict(err)
	}
	return h, nil
}

// UpdateHousehold changes a household (its village stays).
func (s *Service) UpdateHousehold(ctx context.Context, h storage.Household, in HouseholdInput) (storage.Household, error) {
	u := storage.HouseholdUpdate{Name: in.Name, Watch: in.Watch, At: s.now()}
	if in.Name != nil {
		if err := service.CheckText("name", *in.Name, 100, false); err != nil {
			return storage.Household{}, err
		}
		if *in.Name == "" {
			return storage.Household{}, service.Invalid("name must not be empty")
		}
	}
	if in.Watch != nil {
		if err := checkWatch(*in.Watch); err != nil {
			return storage.Household{}, err
		}
	}
	if in.MemberIDs != nil {
		ids, err := s.checkHouseholdMembers(ctx, h.VillageID, *in.MemberIDs)
		if err != nil {
			return storage.Household{}, err
		}
		u.MemberIDs = &ids
	}
	out, err := s.store.UpdateHousehold(ctx, h.ID, u)
	return out, householdConflict(err)
}

// Household reads a household.
func (s *Service) Household(ctx context.Context, id string) (storage.Household, error) {
	h, err := s.store.GetHousehold(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return h, fmt.Errorf("household %q: %w", id, service.ErrNotFound)
	}
	return h, err
}

// Households lists households.
func (s *Service) Households(ctx context.Context, f storage.HouseholdFilter) ([]storage.Household, error) {
	return s.store.ListHouseholds(ctx, f)
}

// HouseholdOf returns the household of a member; ok is false when it has
// none.
func (s *Service) HouseholdOf(ctx context.Context, memberID string) (h storage.Household, ok bool, err error) {
	hs, err := s.store.ListHouseholds(ctx, storage.HouseholdFilter{MemberID: memberID, Limit: 1})
	if err != nil || len(hs) == 0 {
		return storage.Household{}, false, err
	}
	return hs[0], true, nil
}
