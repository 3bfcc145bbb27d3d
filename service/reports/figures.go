package reports

import (
	"context"
	"slices"
	"sort"
	"time"

	"github.com/longyou/hub/storage"
)

// Figures are what the county reads of reports made in a period
// (docs/API.md v1.6 "report handling"): per village, per township and in
// total.
type Figures struct {
	Reports int `json:"reports"`
	// Closed reached a final status (resolved or rejected by default).
	Closed int `json:"closed"`
	// OnTime reached a final status before its due_at.
	OnTime int `json:"on_time"`
	// Overdue passed its due_at while open.
	Overdue int `json:"overdue"`
	// SolvedInVillage reached a final status while at the village level.
	SolvedInVillage int `json:"solved_in_village"`
	// Escalated went up to the township (or on to the county).
	Escalated int `json:"escalated"`
	// MedianResolveS is the median time from creation to a final status,
	// in seconds, of the closed ones; nil when none is closed.
	MedianResolveS *int64 `json:"median_resolve_s"`

	resolve []time.Duration // of the closed ones, for the median
}

func (f *Figures) add(r *storage.ReportFact) {
	f.Reports++
	if r.Overdue {
		f.Overdue++
	}
	if level(r.Level) != storage.LevelVillage {
		f.Escalated++
	}
	if r.ClosedAt.IsZero() {
		return
	}
	f.Closed++
	if r.ClosedAt.Before(r.DueAt) {
		f.OnTime++
	}
	if level(r.Level) == storage.LevelVillage {
		f.SolvedInVillage++
	}
	f.resolve = append(f.resolve, r.ClosedAt.Sub(r.CreatedAt))
}

func (f *Figures) finish() {
	if len(f.resolve) == 0 {
		f.MedianResolveS = nil
		return
	}
	slices.Sort(f.resolve)
	n := len(f.resolve)
	m := f.resolve[n/2]
	if n%2 == 0 {
		m = (f.resolve[n/2-1] + f.resolve[n/2]) / 2
	}
	s := int64(m / time.Second)
	f.MedianResolveS = &s
	f.resolve = nil
}

// Figures returns the figures of the reports made in [from, to) per
// village (the map's key is the village id; a village without reports is
// absent), of the villages villageIDs (nil: every village).
func (s *Service) Figures(ctx context.Context, from, to time.Time, villageIDs []string) (map[string]Figures, error) {
	facts, err := s.store.ReportFacts(ctx, from, to, villageIDs)
	if err != nil {
		return nil, err
	}
	per := map[string]*Figures{}
	for i := range facts {
		f := per[facts[i].VillageID]
		if f == nil {
			f = &Figures{}
			per[facts[i].VillageID] = f
		}
		f.add(&facts[i])
	}
	out := make(map[string]Figures, len(per))
	for id, f := range per {
		f.finish()
		out[id] = *f
	}
	return out, nil
}

// VillageFigures are a village's figures with its name and township.
type VillageFigures struct {
	VillageID string `json:"village_id"`
	Name      string `json:"name"`
	Township  string `json:"township"`
	Figures
}

// TownshipFigures are a township's figures.
type TownshipFigures struct {
	Township string `json:"township"`
	Figures
}

// FigureTable is the answer of GET /api/v1/reports/figures.
type FigureTable struct {
	From      time.Time         `json:"from"`
	To        time.Time         `json:"to"`
	Villages  []VillageFigures  `json:"villages"`
	Townships []TownshipFigures `json:"townships"`
	Total     Figures           `json:"total"`
}

// FigureTable computes the figures per village (every village of
// villageIDs, nil: every village, with or without reports), per township
// and in total; townships' and the total's medians are over their
// reports, not medians of medians.
func (s *Service) FigureTable(ctx context.Context, from, to time.Time, villageIDs []string) (FigureTable, error) {
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return FigureTable{}, err
	}
	facts, err := s.store.ReportFacts(ctx, from, to, villageIDs)
	if err != nil {
		return FigureTable{}, err
	}
	byVillage := map[string]*Figures{}
	byTownship := map[string]*Figures{}
	townshipOf := map[string]string{}
	var total Figures
	t := FigureTable{From: from, To: to, Villages: []VillageFigures{}, Townships: []TownshipFigures{}}
	for _, v := range vs {
		if villageIDs != nil && !slices.Contains(villageIDs, v.ID) {
			continue
		}
		townshipOf[v.ID] = v.Township
		byVillage[v.ID] = &Figures{}
		if byTownship[v.Township] == nil {
			byTownship[v.Township] = &Figures{}
		}
	}
	for i := range facts {
		f := &facts[i]
		if byVillage[f.VillageID] == nil { // a report of no known village
			byVillage[f.VillageID] = &Figures{}
			if byTownship[""] == nil {
				byTownship[""] = &Figures{}
			}
		}
		byVillage[f.VillageID].add(f)
		byTownship[townshipOf[f.VillageID]].add(f)
		total.add(f)
	}
	names := map[string]string{}
	for _, v := range vs {
		names[v.ID] = v.Name
	}
	for id, f := range byVillage {
		f.finish()
		t.Villages = append(t.Villages, VillageFigures{VillageID: id, Name: names[id], Township: townshipOf[id], Figures: *f})
	}
	sort.Slice(t.Villages, func(i, j int) bool {
		a, b := t.Villages[i], t.Villages[j]
		if a.Township != b.Township {
			return a.Township < b.Township
		}
		return a.VillageID < b.VillageID
	})
	for name, f := range byTownship {
		f.finish()
		t.Townships = append(t.Townships, TownshipFigures{Township: name, Figures: *f})
	}
	sort.Slice(t.Townships, func(i, j int) bool { return t.Townships[i].Township < t.Townships[j].Township })
	total.finish()
	t.Total = total
	return t, nil
}
