package members

import (
	"context"
	"errors"
	"log/slog"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Edit is a change to a member (PATCH /api/v1/members/{id}, docs/API.md
// v1.3 and v1.5); nil fields are left as they are. Who may change which
// field is the API's to check.
type Edit struct {
	Name *string
	// Phone: a Chinese mobile in any form NormalizePhone reads, or E.164;
	// "" removes the phone.
	Phone      *string
	Role       *storage.Role
	VillageID  *string
	Lang       *string
	Address    *string
	TravelMode *string
	// Home: SetHome with Home nil removes the home position.
	SetHome bool
	Home    *storage.LatLng
	// Active false deactivates the member, true reactivates it.
	Active *bool
}

// Edit validates and stores a change to a member, then updates the
// directory (every node's): a deactivated member leaves it and its
// WebSockets are closed; a changed one is placed again and the active
// alerts' move-in checks run.
func (s *Service) Edit(ctx context.Context, id string, e Edit) (storage.Member, error) {
	se := storage.MemberEdit{Address: e.Address, TravelMode: e.TravelMode, Active: e.Active, Role: e.Role,
		VillageID: e.VillageID, Lang: e.Lang}
	if e.Name != nil {
		if err := service.CheckText("name", *e.Name, 100, false); err != nil {
			return storage.Member{}, err
		}
		se.Name = e.Name
	}
	if e.Phone != nil {
		p := ""
		if *e.Phone != "" {
			var ok bool
			if p, ok = PhoneInput(*e.Phone); !ok {
				return storage.Member{}, service.Invalid("phone must be a Chinese mobile number (13800000000) or E.164 (+8613800000000)")
			}
		}
		se.Phone = &p
	}
	if e.Role != nil && !hub.ValidRole(*e.Role) {
		return storage.Member{}, service.Invalid("role must be one of resident, patrol, cadre, commander, admin")
	}
	if e.VillageID != nil {
		if _, err := s.store.GetVillage(ctx, *e.VillageID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return storage.Member{}, service.Invalid("unknown village_id %q", *e.VillageID)
			}
			return storage.Member{}, err
		}
	}
	if e.Lang != nil && *e.Lang != "" && *e.Lang != "zh-CN" && *e.Lang != "en" {
		return storage.Member{}, service.Invalid("lang must be zh-CN or en")
	}
	if e.Address != nil {
		if err := service.CheckText("address", *e.Address, MaxAddress, true); err != nil {
			return storage.Member{}, err
		}
	}
	if e.TravelMode != nil {
		if err := CheckTravelMode(*e.TravelMode); err != nil {
			return storage.Member{}, err
		}
	}
	if e.SetHome {
		if e.Home != nil {
			if err := service.CheckLatLng("home", e.Home, false); err != nil {
				return storage.Member{}, err
			}
		}
		se.Home, se.ClearHome = e.Home, e.Home == nil
	}
	m, err := s.store.EditMember(ctx, id, se)
	if errors.Is(err, storage.ErrConflict) {
		return storage.Member{}, service.Errorf(service.CodeConflict, "another member has this phone number")
	}
	if err != nil {
		return storage.Member{}, err
	}
	s.fresh(&m)
	s.dir.Add(&m, s.now())
	switch {
	case m.Inactive && e.Active != nil:
		s.node.CloseMember(m.ID, hub.ReasonDeactivated)
		s.log.InfoContext(ctx, "member deactivated", slog.String("member", m.ID))
	case !m.Inactive:
		s.moved(ctx, m.ID)
	}
	return m, nil
}

// SetHomeHere sets a member's home exactly where someone standing at the
// house is ("I am at this house now", PUT /members/{id}/home): no longer
// approximate.
func (s *Service) SetHomeHere(ctx context.Context, id string, lat, lng float64, accuracyM *float64) (storage.Member, error) {
	if !service.ValidLatLng(lat, lng) {
		return storage.Member{}, service.Invalid("lat and lng are required, lat in [-90, 90], lng in [-180, 180]")
	}
	if accuracyM != nil && (*accuracyM < 0 || *accuracyM > 100000) {
		return storage.Member{}, service.Invalid("accuracy_m must be between 0 and 100000")
	}
	return s.Edit(ctx, id, Edit{SetHome: true, Home: &storage.LatLng{Lat: lat, Lng: lng}})
}

// MaxFind caps one page of Find.
const MaxFind = 1000

// Find lists the members f selects, ordered by id, a page of at most
// MaxFind (live positions gone stale left out).
func (s *Service) Find(ctx context.Context, f storage.MemberFilter) ([]storage.Member, error) {
	if f.Limit <= 0 || f.Limit > MaxFind {
		f.Limit = MaxFind
	}
	if err := service.CheckText("q", f.Query, 100, true); err != nil {
		return nil, err
	}
	out, err := s.store.FindMembers(ctx, f)
	if err != nil {
		return nil, err
	}
	for i := range out {
		s.fresh(&out[i])
	}
	return out, nil
}
