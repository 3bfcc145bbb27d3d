package reports

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// TestFiguresAdd: on time is a final status before due_at; solved in the
// village is a final status at the village level; the median is over the
// closed ones (the mean of the middle two for an even count); none closed
// is a nil median.
func TestFiguresAdd(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	fact := func(closedAfter time.Duration, level string, overdue bool) storage.ReportFact {
		f := storage.ReportFact{CreatedAt: t0, DueAt: t0.Add(time.Hour), Level: level, Overdue: overdue}
		if closedAfter > 0 {
			f.ClosedAt = t0.Add(closedAfter)
		}
		return f
	}
	var f Figures
	for _, x := range []storage.ReportFact{
		fact(30*time.Minute, storage.LevelVillage, false),
		fact(time.Hour, storage.LevelVillage, true), // at due_at: not before it
		fact(5*time.Hour, storage.LevelTownship, true),
		fact(0, storage.LevelCounty, true),
		fact(2*time.Hour, "", true), // "" is the village level
	} {
		f.add(&x)
	}
	f.finish()
	want := Figures{Reports: 5, Closed: 4, OnTime: 1, Overdue: 4, SolvedInVillage: 3, Escalated: 2}
	got := f
	got.MedianResolveS = nil
	if got.Reports != want.Reports || got.Closed != want.Closed || got.OnTime != want.OnTime || got.Overdue != want.Overdue ||
		got.SolvedInVillage != want.SolvedInVillage || got.Escalated != want.Escalated {
		t.Errorf("figures %+v, want %+v", got, want)
	}
	// 30m, 1h, 2h, 5h: (1h + 2h) / 2.
	if f.MedianResolveS == nil || *f.MedianResolveS != 5400 {
		t.Errorf("median %v, want 5400", f.MedianResolveS)
	}
	var none Figures
	none.add(&storage.ReportFact{CreatedAt: t0, DueAt: t0})
	none.finish()
	if none.MedianResolveS != nil || none.Reports != 1 {
		t.Errorf("no closed report: %+v", none)
	}
	var odd Figures
	for _, d := range []time.Duration{3 * time.Minute, time.Minute, 2 * time.Minute} {
		x := fact(d, storage.LevelVillage, false)
		odd.add(&x)
	}
	odd.finish()
	if odd.MedianResolveS == nil || *odd.MedianResolveS != 120 {
		t.Errorf("odd median %v, want 120", odd.MedianResolveS)
	}
}
