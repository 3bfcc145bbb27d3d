package patrol

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/longyou/hub/storage"
)

// Tally is one village's row of the tallies: what it counted in the span,
// with the report figures when the report service gives them.
type Tally struct {
	VillageID string
	Name      string
	Township  string
	storage.Tally
	Figures *ReportFigures
}

// Tallies is the answer of a tallies query.
type Tallies struct {
	From, To time.Time
	Villages []Tally // ordered by village id
	Total    Tally
	// CountyNotices counts the county-wide bulletins of the span (they
	// belong to no village's row), counted in Total.Notices.
	CountyNotices int
	// Days are the rounds and visits per day (UTC+8) of these villages.
	Days []storage.DayCount
	// HasFigures is whether the report figures are given.
	HasFigures bool
}

// Tallies counts, per village of villageIDs, the reports, notices
// (bulletins), rounds and visits of [from, to), and the report figures
// when the report service gives them. countyNotices adds the county-wide
// bulletins to the total (callers who see the whole county).
func (s *Service) Tallies(ctx context.Context, from, to time.Time, villageIDs []string, countyNotices bool) (Tallies, error) {
	if err := checkSpan(from, to); err != nil {
		return Tallies{}, err
	}
	from, to = from.UTC(), to.UTC()
	vs, err := s.store.ListVillages(ctx)
	if err != nil {
		return Tallies{}, err
	}
	byID := make(map[string]storage.Village, len(vs))
	for _, v := range vs {
		byID[v.ID] = v
	}
	ids := slices.Sorted(slices.Values(villageIDs))
	ids = slices.Compact(ids)
	query := slices.Clone(ids)
	if countyNotices {
		query = append(query, "")
	}
	if query == nil {
		query = []string{}
	}
	counts, err := s.store.Tallies(ctx, from, to, query)
	if err != nil {
		return Tallies{}, err
	}
	var figs map[string]ReportFigures
	if s.figures != nil && len(ids) > 0 {
		if figs, err = s.figures(ctx, from, to, ids); err != nil {
			return Tallies{}, err
		}
	}
	out := Tallies{From: from, To: to, Villages: make([]Tally, 0, len(ids)), HasFigures: s.figures != nil}
	var tf ReportFigures
	var medians []float64
	for _, id := range ids {
		t := Tally{VillageID: id, Name: byID[id].Name, Township: byID[id].Township, Tally: counts[id]}
		if out.HasFigures {
			f := figs[id]
			t.Figures = &f
			tf.OnTime += f.OnTime
			tf.Overdue += f.Overdue
			tf.SolvedInVillage += f.SolvedInVillage
			if f.MedianResolveS > 0 {
				medians = append(medians, f.MedianResolveS)
			}
		}
		out.Total.Reports += t.Reports
		out.Total.Notices += t.Notices
		out.Total.Rounds += t.Rounds
		out.Total.Visits += t.Visits
		out.Villages = append(out.Villages, t)
	}
	if countyNotices {
		out.CountyNotices = counts[""].Notices
		out.Total.Notices += out.CountyNotices
	}
	if out.HasFigures {
		// The county's median is not derivable from the villages'
		// medians; the total shows the median of the villages' medians.
		tf.MedianResolveS = median(medians)
		out.Total.Figures = &tf
	}
	if len(ids) > 0 {
		if out.Days, err = s.store.PatrolDays(ctx, from, to, ids); err != nil {
			return Tallies{}, err
		}
	} else {
		out.Days = []storage.DayCount{}
	}
	return out, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	n := len(xs)
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}

// SortDue orders a due list most overdue first (earliest due time), then
// by household id.
func SortDue(ds []Due) {
	slices.SortFunc(ds, func(a, b Due) int {
		return cmp.Or(a.DueAt.Compare(b.DueAt), cmp.Compare(a.Household.ID, b.Household.ID))
	})
}
