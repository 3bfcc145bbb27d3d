package members

import (
	"context"
	"slices"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Township scope (docs/API.md v1.6, issue 16). A village belongs to a
// township (storage.Village.Township); a cadre or commander may govern one
// (storage.Member.Township): a township cadre has, in every village of its
// township, the rights a village cadre has in its own; a township
// commander keeps the county's rights and is the township's command when
// something goes up to it (an overdue report, a letter to the township).

// Levels a matter (a report, a letter) is handled at, lowest first.
const (
	LevelVillage  = "village"
	LevelTownship = "township"
	LevelCounty   = "county"
)

// Levels lists the levels lowest first.
var Levels = []string{LevelVillage, LevelTownship, LevelCounty}

// TownshipVillages returns the ids of the villages of a township, ordered
// by id; none for "".
func (s *Service) TownshipVillages(ctx context.Context, township string) ([]string, error) {
	if township == "" {
		return nil, nil
	}
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, v := range vs {
		if v.Township == township {
			ids = append(ids, v.ID)
		}
	}
	return ids, nil
}

// SetTownship sets (or, with "", clears) the township a cadre or commander
// governs. The township must be one that a village names.
func (s *Service) SetTownship(ctx context.Context, id, township string) (storage.Member, error) {
	m, err := s.store.GetMember(ctx, id)
	if err != nil {
		return storage.Member{}, err
	}
	if township != "" {
		if m.Role != storage.RoleCadre && m.Role != storage.RoleCommander {
			return storage.Member{}, service.Invalid("only a cadre or a commander may govern a township")
		}
		ids, err := s.TownshipVillages(ctx, township)
		if err != nil {
			return storage.Member{}, err
		}
		if len(ids) == 0 {
			return storage.Member{}, service.Invalid("township %q has no village", township)
		}
	}
	m, err = s.store.UpdateMember(ctx, id, storage.MemberUpdate{Township: &township})
	if err != nil {
		return storage.Member{}, err
	}
	s.fresh(&m)
	return m, nil
}

// StaffAt returns the ids of the active staff who handle a matter of a
// village at a level, each once, ordered by id:
//   - village: the village's cadres;
//   - township: those, and the cadres and commanders governing the
//     village's township;
//   - county: those, and every commander and admin.
func (s *Service) StaffAt(ctx context.Context, villageID, level string) ([]string, error) {
	active := true
	var ids []string
	add := func(f storage.MemberFilter) error {
		f.Active, f.Limit = &active, 1000
		for {
			ms, err := s.store.FindMembers(ctx, f)
			if err != nil {
				return err
			}
			for _, m := range ms {
				ids = append(ids, m.ID)
			}
			if len(ms) < f.Limit {
				return nil
			}
			f.After = ms[len(ms)-1].ID
		}
	}
	if villageID != "" {
		if err := add(storage.MemberFilter{Role: storage.RoleCadre, VillageID: villageID}); err != nil {
			return nil, err
		}
	}
	if level == LevelTownship || level == LevelCounty {
		v, err := s.store.GetVillage(ctx, villageID)
		if err != nil && villageID != "" {
			return nil, err
		}
		if v.Township != "" {
			for _, role := range []storage.Role{storage.RoleCadre, storage.RoleCommander} {
				if err := add(storage.MemberFilter{Role: role, Township: v.Township}); err != nil {
					return nil, err
				}
			}
		}
	}
	if level == LevelCounty {
		for _, role := range []storage.Role{storage.RoleCommander, storage.RoleAdmin} {
			if err := add(storage.MemberFilter{Role: role}); err != nil {
				return nil, err
			}
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
