package policy

import (
	"fmt"
	"slices"
	"time"
)

// Patrol are the rules of patrol rounds and visits to watched households
// (docs/API.md v1.6 "patrol rounds, visits and tallies", issue 16 part 4).
// A zero field takes its DefaultPatrol value, so a policy written before
// v1.6 stays valid.
type Patrol struct {
	// Kinds are the round kinds (fire, flood, landslide, sanitation).
	Kinds []string `json:"kinds,omitempty"`
	// Visits is how often each watch kind (backbone, service, control)
	// is visited: a household is due again this long after its last
	// visit. A watch kind without an entry takes the default's.
	Visits map[string]Duration `json:"visits,omitempty"`
	// DueWithin lists a household as due this long before its next
	// visit falls due.
	DueWithin Duration `json:"due_within,omitempty"`
	// TrackMinDistanceM and TrackMinInterval thin a round's track: a
	// live position closer than this to the last recorded point, or
	// sooner after it, is not recorded.
	TrackMinDistanceM float64  `json:"track_min_distance_m,omitempty"`
	TrackMinInterval  Duration `json:"track_min_interval,omitempty"`
	// TrackMaxPoints caps the points of one round's track.
	TrackMaxPoints int `json:"track_max_points,omitempty"`
}

// WatchKinds are the watch kinds a visit frequency may name (storage's
// WatchBackbone, WatchService, WatchControl).
var WatchKinds = []string{"backbone", "service", "control"}

// DefaultPatrol is the county's patrol rules: control households every
// week, service households every two weeks, backbone households monthly.
func DefaultPatrol() Patrol {
	return Patrol{
		Kinds: []string{"fire", "flood", "landslide", "sanitation"},
		Visits: map[string]Duration{
			"control":  Duration(7 * 24 * time.Hour),
			"service":  Duration(14 * 24 * time.Hour),
			"backbone": Duration(30 * 24 * time.Hour),
		},
		DueWithin:         Duration(2 * 24 * time.Hour),
		TrackMinDistanceM: 10,
		TrackMinInterval:  Duration(10 * time.Second),
		TrackMaxPoints:    5000,
	}
}

// RoundKinds returns the round kinds.
func (p Policy) RoundKinds() []string {
	if len(p.Patrol.Kinds) == 0 {
		return DefaultPatrol().Kinds
	}
	return p.Patrol.Kinds
}

// ValidRoundKind reports whether kind is a round kind.
func (p Policy) ValidRoundKind(kind string) bool { return slices.Contains(p.RoundKinds(), kind) }

// VisitEvery is how often a household of watch kind is visited; ok is
// false for a kind that is not watched.
func (p Policy) VisitEvery(watch string) (d time.Duration, ok bool) {
	if f, found := p.Patrol.Visits[watch]; found && f > 0 {
		return f.D(), true
	}
	f, found := DefaultPatrol().Visits[watch]
	return f.D(), found
}

// VisitDueWithin is how long before its next visit a household is due.
func (p Policy) VisitDueWithin() time.Duration {
	if p.Patrol.DueWithin > 0 {
		return p.Patrol.DueWithin.D()
	}
	return DefaultPatrol().DueWithin.D()
}

// TrackThinning returns the track's thinning rules and cap.
func (p Policy) TrackThinning() (minDistM float64, minInterval time.Duration, maxPoints int) {
	d := DefaultPatrol()
	minDistM, minInterval, maxPoints = d.TrackMinDistanceM, d.TrackMinInterval.D(), d.TrackMaxPoints
	if p.Patrol.TrackMinDistanceM > 0 {
		minDistM = p.Patrol.TrackMinDistanceM
	}
	if p.Patrol.TrackMinInterval > 0 {
		minInterval = p.Patrol.TrackMinInterval.D()
	}
	if p.Patrol.TrackMaxPoints > 0 {
		maxPoints = p.Patrol.TrackMaxPoints
	}
	return minDistM, minInterval, maxPoints
}

// patrol checks the patrol rules; zero fields are allowed (defaults).
func (v *validator) patrol(p *Patrol) {
	if len(p.Kinds) > 0 {
		v.names("patrol.kinds", p.Kinds)
	}
	for _, w := range sortedKeys(p.Visits) {
		f := fmt.Sprintf("patrol.visits[%q]", w)
		if !slices.Contains(WatchKinds, w) {
			v.add(f, "must be a watch kind (backbone, service, control)")
		}
		if d := p.Visits[w]; d < Duration(time.Second) || d > Duration(366*24*time.Hour) {
			v.add(f, "must be from 1s to 366 days, got %s", d)
		}
	}
	if p.DueWithin < 0 || p.DueWithin > Duration(366*24*time.Hour) {
		v.add("patrol.due_within", "must be from 0 to 366 days, got %s", p.DueWithin)
	}
	if p.TrackMinDistanceM < 0 || p.TrackMinDistanceM > 10000 {
		v.add("patrol.track_min_distance_m", "must be from 0 to 10000")
	}
	if p.TrackMinInterval < 0 || p.TrackMinInterval > Duration(time.Hour) {
		v.add("patrol.track_min_interval", "must be from 0 to 1h, got %s", p.TrackMinInterval)
	}
	if p.TrackMaxPoints < 0 || p.TrackMaxPoints > 100000 {
		v.add("patrol.track_max_points", "must be from 0 to 100000")
	}
}
