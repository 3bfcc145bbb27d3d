package alerting

import (
	"cmp"
	"context"
	"encoding/json"
	"math"
	"slices"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
)

// RecipientInfo is a recipient with what the roster shows beside the
// stored row (docs/API.md v1.3): the member's address, village name and
// travel mode, and for a reach alert the computed ETA.
type RecipientInfo struct {
	storage.Recipient
	Address     string
	VillageName string
	TravelMode  string
	// ETAMin is the travel time in minutes from the member's position to
	// the reach's point by its mode, rounded to 0.1; nil when unknown (not
	// a reach, no position, out of reach).
	ETAMin *float64
	// AnsweredBy is who recorded the member's latest answer for it (issue
	// 12); nil when the member answered itself or has not answered.
	AnsweredBy *Actor
}

// Actor is a member named in a recipient row: who answered for it.
type Actor struct {
	ID   string       `json:"id"`
	Name string       `json:"name"`
	Role storage.Role `json:"role"`
}

// RecipientsInfo lists an alert's recipients filtered by response, with
// their addresses, village names, modes and (for a reach) computed ETAs;
// byETA sorts by ETA (unknown last), then by name.
func (s *Service) RecipientsInfo(ctx context.Context, a *storage.Alert, response string, byETA bool) ([]RecipientInfo, error) {
	return s.RecipientsOf(ctx, a, response, byETA, "")
}

// RecipientsOf is RecipientsInfo of the members of one village (all when
// village is ""): a patrol's households (issue 12).
func (s *Service) RecipientsOf(ctx context.Context, a *storage.Alert, response string, byETA bool, village string) ([]RecipientInfo, error) {
	if err := CheckResponseFilter(response); err != nil {
		return nil, err
	}
	rs, err := s.store.ListRecipients(ctx, a.ID, storage.RecipientFilter{Response: response, VillageID: village})
	if err != nil {
		return nil, err
	}
	if err := s.voiceStates(ctx, a.ID, rs); err != nil {
		return nil, err
	}
	ids := make([]string, len(rs))
	seen := make(map[string]bool, len(rs))
	for i := range rs {
		ids[i] = rs[i].MemberID
		seen[ids[i]] = true
	}
	for i := range rs {
		if by := rs[i].AnsweredBy; by != "" && !seen[by] {
			ids = append(ids, by) // who answered for a member, when not a recipient itself
			seen[by] = true
		}
	}
	ms, err := s.store.GetMembers(ctx, ids)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*storage.Member, len(ms))
	for i := range ms {
		byID[ms[i].ID] = &ms[i]
	}
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(vs))
	for _, v := range vs {
		names[v.ID] = v.Name
	}
	reach, err := s.reachOf(a)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]RecipientInfo, len(rs))
	for i := range rs {
		r := &out[i]
		r.Recipient = rs[i]
		r.VillageName = names[rs[i].VillageID]
		if m := byID[rs[i].MemberID]; m != nil {
			r.Address, r.TravelMode = m.Address, m.TravelMode
		}
		if by := rs[i].AnsweredBy; by != "" {
			r.AnsweredBy = &Actor{ID: by, Name: "已删除"} // an answerer since erased is not found
			if m := byID[by]; m != nil {
				r.AnsweredBy.Name, r.AnsweredBy.Role = m.Name, m.Role
			}
		}
		if r.Live != nil && now.Sub(r.Live.At) >= s.node.LiveTTL() {
			r.Live = nil // stale: never shown as where the member is
		}
		if reach == nil {
			continue
		}
		if p, ok := position(&rs[i], now, s.node.LiveTTL()); ok {
			if eta, ok := reach.ETA(p, r.TravelMode); ok {
				v := math.Round(eta*10) / 10
				r.ETAMin = &v
			}
		}
	}
	if byETA {
		slices.SortStableFunc(out, func(x, y RecipientInfo) int {
			switch {
			case x.ETAMin != nil && y.ETAMin != nil:
				if c := cmp.Compare(*x.ETAMin, *y.ETAMin); c != 0 {
					return c
				}
			case x.ETAMin != nil:
				return -1
			case y.ETAMin != nil:
				return 1
			}
			return cmp.Compare(x.Name, y.Name)
		})
	}
	return out, nil
}

// reachOf is the reach of a reach alert (the active one this node holds,
// else compiled again on the current network); nil for other areas.
func (s *Service) reachOf(a *storage.Alert) (*travel.ReachSet, error) {
	s.alerts.mu.RLock()
	aa := s.alerts.m[a.ID]
	s.alerts.mu.RUnlock()
	if aa != nil {
		return aa.reach, nil
	}
	var area geo.Area
	if err := json.Unmarshal(a.Area, &area); err != nil {
		return nil, err
	}
	if area.Reach == nil {
		return nil, nil
	}
	rs, err := s.travel.CompileReach(area, s.dir.Modes())
	if err != nil {
		return nil, service.GeoErr(err)
	}
	return rs, nil
}

// position is a recipient's position as targeting takes it: live if fresh,
// else home.
func position(r *storage.Recipient, now time.Time, liveTTL time.Duration) (geo.LatLng, bool) {
	if r.Live != nil && now.Sub(r.Live.At) < liveTTL {
		return geo.LatLng{Lat: r.Live.Lat, Lng: r.Live.Lng}, true
	}
	if r.Home != nil {
		return geo.LatLng{Lat: r.Home.Lat, Lng: r.Home.Lng}, true
	}
	return geo.LatLng{}, false
}
