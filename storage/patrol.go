package storage

import (
	"context"
	"time"
)

// Patrol rounds, visits and emergency tallies (docs/API.md v1.6 "patrol
// rounds, visits and tallies", issue 16 parts 4 and 6).

// Round is one patrol round: a patrol walking a fire, flood, landslide or
// sanitation round, its track recorded while it is open.
type Round struct {
	ID        string
	MemberID  string
	VillageID string // the patrol's village when the round started
	Kind      string
	StartedAt time.Time
	// EndedAt is nil while the round is open.
	EndedAt *time.Time
	Summary string
	// Points and DistanceM count the track recorded so far; Last is its
	// last point (nil before the first).
	Points    int
	DistanceM float64
	Last      *TrackPoint
	// Reports counts the reports linked to the round (at its end: the
	// reports its patrol made while it was open).
	Reports int
}

// TrackPoint is one point of a round's track.
type TrackPoint struct {
	Lat, Lng float64
	At       time.Time
}

// RoundFilter selects rounds. Zero fields select everything.
type RoundFilter struct {
	MemberID string
	// VillageIDs keeps the rounds of these villages (nil: any).
	VillageIDs []string
	Kind       string
	// From and To bound StartedAt: From <= started_at < To.
	From, To time.Time
	// Before continues a listing, newest first: rounds started before
	// this round (by started_at, then id).
	Before string
	// Limit <= 0 means 100.
	Limit int
}

// Visit is one visit of a patrol (or cadre) to a watched household.
type Visit struct {
	ID          string
	HouseholdID string
	VillageID   string
	MemberID    string
	RoundID     string // "" when no round was open
	Note        string
	Photos      []string
	At          time.Time
}

// Emergency is a named emergency period the tallies count over.
type Emergency struct {
	ID        string
	Name      string
	From, To  time.Time
	CreatedBy string
	CreatedAt time.Time
}

// Tally is what a village counted in a time span.
type Tally struct {
	Reports int // reports created in the span (by village_id)
	Notices int // bulletins published in the span
	Rounds  int // patrol rounds started in the span
	Visits  int // visits made in the span
}

// DayCount is the rounds and visits of one day (China Standard Time).
type DayCount struct {
	Date   string // YYYY-MM-DD
	Rounds int
	Visits int
}

// Event types of patrol rounds and visits (addressed events, v1.6): the
// round or the visit, to its patrol and its village's cadres.
const (
	EventRound = "round"
	EventVisit = "visit"
)

// Patrol stores rounds, their tracks, visits and emergency periods. The
// writes that take an event (nil: none) append it, addressed, in their
// transaction and set its Seq.
type Patrol interface {
	// StartRound stores an open round. ErrConflict when its member has an
	// open round already.
	StartRound(ctx context.Context, r *Round, ev *Event) error
	// OpenRound returns the member's open round; ok is false when it has
	// none.
	OpenRound(ctx context.Context, memberID string) (r Round, ok bool, err error)
	// AddTrackPoint appends p to the open round id, adding distM to its
	// distance, unless the round has ended or holds maxPoints points
	// already (then added is false and nothing changes).
	AddTrackPoint(ctx context.Context, id string, p TrackPoint, distM float64, maxPoints int) (added bool, err error)
	// EndRound ends the open round id at `at` with summary and links to it
	// the reports its member created from its start until at. ErrNotFound
	// when there is no such round, ErrConflict when it has ended. ev, when
	// not nil, makes the event of the ended round (appended in the
	// transaction; it may return nil).
	EndRound(ctx context.Context, id string, at time.Time, summary string, ev func(Round) *Event) (Round, error)
	// GetRound returns a round or ErrNotFound.
	GetRound(ctx context.Context, id string) (Round, error)
	// RoundTrack returns a round's track in time order.
	RoundTrack(ctx context.Context, id string) ([]TrackPoint, error)
	// RoundReports returns the ids of the reports linked to a round.
	RoundReports(ctx context.Context, id string) ([]string, error)
	// ListRounds returns the rounds f selects, newest first.
	ListRounds(ctx context.Context, f RoundFilter) ([]Round, error)
	// EraseTracks deletes the track points of a member's rounds (their
	// counts and distance stay) and returns how many it deleted: the
	// positions go with the member's personal data (v1.4 erasure).
	EraseTracks(ctx context.Context, memberID string) (int, error)

	// AddVisit stores a visit. Its photos are attached to it (their
	// media rows name it, as a report's do), so the retention of orphan
	// uploads keeps them.
	AddVisit(ctx context.Context, v *Visit, ev *Event) error
	// ListVisits returns a household's visits, newest first (limit <= 0
	// means 100).
	ListVisits(ctx context.Context, householdID string, limit int) ([]Visit, error)
	// LastVisits returns the last visit of each of the households that
	// has one.
	LastVisits(ctx context.Context, householdIDs []string) (map[string]Visit, error)

	// VisitHasPhoto reports whether a visit in villageID carries the
	// media id among its photos (the cadres of the village read them).
	VisitHasPhoto(ctx context.Context, mediaID, villageID string) (bool, error)

	// CreateEmergency stores an emergency period.
	CreateEmergency(ctx context.Context, e *Emergency) error
	// GetEmergency returns one or ErrNotFound.
	GetEmergency(ctx context.Context, id string) (Emergency, error)
	// ListEmergencies returns them, newest (by From) first.
	ListEmergencies(ctx context.Context) ([]Emergency, error)

	// Tallies counts, per village of villageIDs (nil: every village with
	// something to count), what happened in [from, to).
	Tallies(ctx context.Context, from, to time.Time, villageIDs []string) (map[string]Tally, error)
	// PatrolDays counts the rounds and visits of villageIDs (nil: all)
	// per day (UTC+8) in [from, to), days in order; days without either
	// are left out.
	PatrolDays(ctx context.Context, from, to time.Time, villageIDs []string) ([]DayCount, error)
}
