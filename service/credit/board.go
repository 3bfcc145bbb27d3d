package credit

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// Boards (排行榜, 红榜, 黑榜): a village's households ranked by the total of
// their inspection of a month. Households without an inspection that month
// are not ranked.

// Boards a household may be on.
const (
	BoardRed   = "red"
	BoardBlack = "black"
)

// Place is a household's place on a month's board.
type Place struct {
	HouseholdID string         `json:"household_id"`
	Name        string         `json:"name"`
	Total       int            `json:"total"`
	Scores      map[string]int `json:"scores"`
	// Place is 1 for the highest total; equal totals share a place (1, 2,
	// 2, 4).
	Place int `json:"place"`
	// Board is "red", "black" or "".
	Board string `json:"board"`
}

// Board is a village's board of a month.
type Board struct {
	VillageID   string     `json:"village_id"`
	Month       string     `json:"month"`
	Published   bool       `json:"published"`
	PublishedAt *time.Time `json:"published_at"`
	// Households is how many households the village has; the ranking
	// holds those inspected this month.
	Households int     `json:"households"`
	Ranking    []Place `json:"ranking"`
	Red        []Place `json:"red"`
	Black      []Place `json:"black"`
	// digest is of the inspections the board was computed from.
	digest storage.InspectionsDigest
}

// Board computes a village's board of a month (published or not).
func (s *Service) Board(ctx context.Context, villageID, month string) (Board, error) {
	if err := s.CheckMonth(month); err != nil {
		return Board{}, err
	}
	pubs, err := s.store.BoardPublications(ctx, villageID)
	if err != nil {
		return Board{}, err
	}
	b := Board{VillageID: villageID, Month: month, Ranking: []Place{}, Red: []Place{}, Black: []Place{}}
	if i := slices.IndexFunc(pubs, func(p storage.BoardPublication) bool { return p.Month == month }); i >= 0 {
		at := pubs[i].PublishedAt
		b.Published, b.PublishedAt = true, &at
	}
	names := map[string]string{}
	for after := ""; ; {
		hs, err := s.store.ListHouseholds(ctx, storage.HouseholdFilter{VillageID: villageID, After: after, Limit: 500})
		if err != nil {
			return Board{}, err
		}
		for _, h := range hs {
			names[h.ID] = h.Name
		}
		if len(hs) < 500 {
			break
		}
		after = hs[len(hs)-1].ID
	}
	b.Households = len(names)
	ins, err := s.store.ListInspections(ctx, villageID, month)
	if err != nil {
		return Board{}, err
	}
	b.digest = storage.Digest(ins)
	for _, i := range ins {
		b.Ranking = append(b.Ranking, Place{HouseholdID: i.HouseholdID, Name: names[i.HouseholdID], Total: i.Total, Scores: i.Scores})
	}
	s.rank(&b)
	return b, nil
}

// rank orders b.Ranking, gives the places and fills the red and black
// boards: red the places 1 to RedSize, black the places 1 to BlackSize
// counted from the bottom (equal totals share a place, so ties are on or
// off together), never a household of the red board.
func (s *Service) rank(b *Board) {
	r := b.Ranking
	slices.SortFunc(r, func(x, y Place) int {
		return cmp.Or(cmp.Compare(y.Total, x.Total), cmp.Compare(x.Name, y.Name), cmp.Compare(x.HouseholdID, y.HouseholdID))
	})
	for i := range r {
		if i > 0 && r[i].Total == r[i-1].Total {
			r[i].Place = r[i-1].Place
		} else {
			r[i].Place = i + 1
		}
	}
	// fromBottom[i]: 1 + how many have a lower total.
	for i := range r {
		below := 0
		for j := range r {
			if r[j].Total < r[i].Total {
				below++
			}
		}
		switch {
		case s.rules().RedSize > 0 && r[i].Place <= s.rules().RedSize:
			r[i].Board = BoardRed
			b.Red = append(b.Red, r[i])
		case s.rules().BlackSize > 0 && below+1 <= s.rules().BlackSize:
			r[i].Board = BoardBlack
			b.Black = append(b.Black, r[i])
		}
	}
	// The black board lists the lowest first.
	slices.Reverse(b.Black)
}

// LatestMonth is the latest published month of a village; ok is false
// when none is published.
func (s *Service) LatestMonth(ctx context.Context, villageID string) (month string, ok bool, err error) {
	pubs, err := s.store.BoardPublications(ctx, villageID)
	if err != nil || len(pubs) == 0 {
		return "", false, err
	}
	return pubs[0].Month, true, nil
}

// BoardEvent is the body of the `board` event (docs/API.md v1.6): the
// published boards of a village's month, names and totals only.
type BoardEvent struct {
	VillageID   string      `json:"village_id"`
	Month       string      `json:"month"`
	PublishedAt time.Time   `json:"published_at"`
	Households  int         `json:"households"`
	Ranked      int         `json:"ranked"`
	Red         []EventLine `json:"red"`
	Black       []EventLine `json:"black"`
}

// EventLine is a household on a published board.
type EventLine struct {
	HouseholdID string `json:"household_id"`
	Name        string `json:"name"`
	Total       int    `json:"total"`
	Place       int    `json:"place"`
}

func eventLines(ps []Place) []EventLine {
	out := make([]EventLine, len(ps))
	for i, p := range ps {
		out[i] = EventLine{HouseholdID: p.HouseholdID, Name: p.Name, Total: p.Total, Place: p.Place}
	}
	return out
}

// AwardKey is the key of a board place's award: a household earns a
// board's rule once per village, month and rule.
func AwardKey(villageID, month, rule, householdID string) string {
	return "board:" + villageID + ":" + month + ":" + rule + ":" + householdID
}

// Publish publishes a village's board of a month: the month's inspections
// become final, the board event goes to every member of the village (and
// the publisher), and each household on the red or black board earns the
// policy's rule points, once. Publishing a month again is a conflict and
// changes nothing. It returns the board and how many awards were made.
func (s *Service) Publish(ctx context.Context, villageID, month, by string) (Board, int, error) {
	b, err := s.Board(ctx, villageID, month)
	if err != nil {
		return Board{}, 0, err
	}
	if b.Published {
		return Board{}, 0, service.Errorf(service.CodeConflict, "the board of %s is already published", month)
	}
	if len(b.Ranking) == 0 {
		return Board{}, 0, service.Invalid("no household of the village is inspected for %s", month)
	}
	now := s.node.Now()
	var awards []storage.CreditEntry
	for _, br := range []struct {
		rule, label string
		places      []Place
	}{{s.rules().RedRule, "红榜", b.Red}, {s.rules().BlackRule, "黑榜", b.Black}} {
		r, ok := s.rules().Rule(br.rule)
		if !ok {
			continue
		}
		for _, p := range br.places {
			awards = append(awards, storage.CreditEntry{HouseholdID: p.HouseholdID, VillageID: villageID, Points: r.Points,
				Rule: r.ID, Reason: fmt.Sprintf("%s %s（第%d名）", month, br.label, p.Place),
				Key: AwardKey(villageID, month, r.ID, p.HouseholdID), RecordedBy: by, At: now})
		}
	}
	body, err := json.Marshal(BoardEvent{VillageID: villageID, Month: month, PublishedAt: now, Households: b.Households,
		Ranked: len(b.Ranking), Red: eventLines(b.Red), Black: eventLines(b.Black)})
	if err != nil {
		return Board{}, 0, err
	}
	ev := &storage.Event{Type: storage.EventCreditBoard, VillageID: villageID, MemberID: by, Body: body, CreatedAt: now,
		ToVillage: true, To: []string{by}}
	added, err := s.store.PublishBoard(ctx, storage.BoardPublication{VillageID: villageID, Month: month, PublishedBy: by,
		PublishedAt: now}, b.digest, awards, ev)
	if errors.Is(err, storage.ErrConflict) {
		return Board{}, 0, service.Errorf(service.CodeConflict, "the board of %s is already published", month)
	}
	if errors.Is(err, storage.ErrStale) {
		return Board{}, 0, service.Errorf(service.CodeConflict, "an inspection of %s was just recorded: look at the board again and publish", month)
	}
	if err != nil {
		return Board{}, 0, err
	}
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	s.node.PublishEvent(ctx, ev, hub.AddressedAudience(ev))
	b.Published, b.PublishedAt = true, &now
	return b, added, nil
}
