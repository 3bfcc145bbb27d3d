package alerting

import (
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/longyou/hub/geo"
	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service/travel"
	"github.com/longyou/hub/storage"
)

// activeAlert is an alert that is still active, compiled for the checks
// that run when a member connects, moves or is created: does it now cover
// that member?
type activeAlert struct {
	alert  storage.Alert
	region *geo.Region      // nil for a villages area
	reach  *travel.ReachSet // a reach area: the region of each travel mode
	mask   hub.RoleMask
	frame  []byte // the alert event as clients receive it
}

func (a *activeAlert) covers(role storage.Role, village, mode string, pos geo.LatLng, hasPos bool) bool {
	if !a.mask.Has(role) {
		return false
	}
	if a.reach != nil {
		return hasPos && a.reach.Region(mode).Contains(pos)
	}
	if a.region == nil {
		return slices.Contains(a.alert.Villages, village)
	}
	return hasPos && a.region.Contains(pos)
}

// activeAlerts is the set of active alerts of this node: few at any time.
type activeAlerts struct {
	mu sync.RWMutex // guards m
	m  map[string]*activeAlert
}

func newActiveAlerts() *activeAlerts { return &activeAlerts{m: make(map[string]*activeAlert)} }

func (s *activeAlerts) put(a *activeAlert) {
	s.mu.Lock()
	s.m[a.alert.ID] = a
	s.mu.Unlock()
}

// get returns the cached alert if it is active here.
func (s *activeAlerts) get(id string) (storage.Alert, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if a := s.m[id]; a != nil {
		return a.alert, true
	}
	return storage.Alert{}, false
}

func (s *activeAlerts) remove(id string) {
	s.mu.Lock()
	delete(s.m, id)
	s.mu.Unlock()
}

// list returns the alerts active at now.
func (s *activeAlerts) list(now time.Time) []*activeAlert {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]*activeAlert, 0, len(s.m))
	for _, a := range s.m {
		if a.alert.ExpiresAt.After(now) {
			out = append(out, a)
		}
	}
	return out
}

func (s *activeAlerts) prune(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, a := range s.m {
		if !a.alert.ExpiresAt.After(now) {
			delete(s.m, id)
		}
	}
}

// compileActive prepares a stored alert for coverage checks. au, when not
// nil, is the audience Send just resolved (its regions are reused); else
// the area is compiled on the current travel network.
func (s *Service) compileActive(a storage.Alert, au *audience) (*activeAlert, error) {
	aa := &activeAlert{alert: a, mask: hub.Roles(a.Roles...)}
	if au != nil {
		aa.region, aa.reach = au.region, au.reach
	} else {
		var area geo.Area
		if err := json.Unmarshal(a.Area, &area); err != nil {
			return nil, err
		}
		switch {
		case area.Reach != nil:
			rs, err := s.travel.CompileReach(area, s.dir.Modes())
			if err != nil {
				return nil, err
			}
			aa.reach, aa.region = rs, rs.Region("")
		case area.Geographic():
			r, err := geo.Compile(area)
			if err != nil {
				return nil, err
			}
			aa.region = r
		}
	}
	aa.frame = hub.EncodeEvent(&storage.Event{Type: storage.EventAlert, Seq: a.Seq, AlertID: a.ID, Body: EventBody(&a)})
	return aa, nil
}
