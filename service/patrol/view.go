package patrol

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/longyou/hub/storage"
)

// RoundView is a round as the API and its events show it.
type RoundView struct {
	ID        string     `json:"id"`
	MemberID  string     `json:"member_id"`
	VillageID string     `json:"village_id"`
	Kind      string     `json:"kind"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
	Summary   string     `json:"summary"`
	Points    int        `json:"points"`
	DistanceM float64    `json:"distance_m"`
	DurationS int64      `json:"duration_s"`
	Reports   int        `json:"reports"`
}

// ViewRound is r as shown at now (an open round's duration runs to now).
func ViewRound(r *storage.Round, now time.Time) RoundView {
	end := now
	if r.EndedAt != nil {
		end = *r.EndedAt
	}
	return RoundView{ID: r.ID, MemberID: r.MemberID, VillageID: r.VillageID, Kind: r.Kind, StartedAt: r.StartedAt,
		EndedAt: r.EndedAt, Summary: r.Summary, Points: r.Points, DistanceM: float64(int64(r.DistanceM*10)) / 10,
		DurationS: max(0, int64(end.Sub(r.StartedAt)/time.Second)), Reports: r.Reports}
}

// VisitView is a visit as the API and its events show it.
type VisitView struct {
	ID          string    `json:"id"`
	HouseholdID string    `json:"household_id"`
	VillageID   string    `json:"village_id"`
	MemberID    string    `json:"member_id"`
	RoundID     string    `json:"round_id"`
	Note        string    `json:"note"`
	Photos      []string  `json:"photos"`
	At          time.Time `json:"at"`
}

// ViewVisit is v as shown.
func ViewVisit(v *storage.Visit) VisitView {
	photos := v.Photos
	if photos == nil {
		photos = []string{}
	}
	return VisitView{ID: v.ID, HouseholdID: v.HouseholdID, VillageID: v.VillageID, MemberID: v.MemberID,
		RoundID: v.RoundID, Note: v.Note, Photos: photos, At: v.At}
}

// event is the addressed event of a round or a visit of villageID by
// memberID: to the member and its village's cadres (Config.Staff). Nil
// when the service publishes no events.
func (s *Service) event(ctx context.Context, typ, villageID, memberID string, body any, at time.Time) (*storage.Event, error) {
	if s.publish == nil {
		return nil, nil
	}
	to := []string{memberID}
	if s.staff != nil {
		ids, err := s.staff(ctx, villageID)
		if err != nil {
			return nil, err
		}
		to = append(to, ids...)
	}
	slices.Sort(to)
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	return &storage.Event{Type: typ, VillageID: villageID, MemberID: memberID, To: slices.Compact(to), Body: b,
		CreatedAt: at}, nil
}
