package patrol

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/internal/testenv"
	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// clock is a test clock moved by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newService(t *testing.T, pol *policy.Policy, figs func(context.Context, time.Time, time.Time, []string) (map[string]ReportFigures, error)) (*Service, storage.Store, *clock) {
	t.Helper()
	st := testenv.Store(t)
	c := &clock{t: time.Date(2026, 1, 10, 2, 0, 0, 0, time.UTC)}
	for _, v := range []storage.Village{{ID: "v1", Name: "甲村", Township: "镇"}, {ID: "v2", Name: "乙村", Township: "镇"}} {
		v.CreatedAt = c.now()
		if err := st.CreateVillage(t.Context(), &v); err != nil {
			t.Fatal(err)
		}
	}
	return New(Config{Store: st, Clock: c.now, Policy: pol, ReportFigures: figs}), st, c
}

// TestTrackThinning: positions closer than the policy's distance or sooner
// than its interval are skipped, a track stops at its cap, and nothing is
// recorded without an open round.
func TestTrackThinning(t *testing.T) {
	pol := policy.Default()
	pol.Patrol.TrackMinDistanceM, pol.Patrol.TrackMinInterval, pol.Patrol.TrackMaxPoints = 50, policy.Duration(time.Minute), 3
	s, st, c := newService(t, &pol, nil)
	ctx := t.Context()
	at := func(lat float64) storage.Position { return storage.Position{Lat: lat, Lng: 119, At: c.now()} }
	s.Located(ctx, "p1", at(29)) // no round
	r, err := s.StartRound(ctx, storage.Member{ID: "p1", VillageID: "v1"}, "fire")
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		after time.Duration
		lat   float64
	}{
		{0, 29},                    // first: kept
		{2 * time.Minute, 29.0003}, // ~33 m: too close
		{30 * time.Second, 29.001}, // ~111 m but 30 s after the first: too soon
		{time.Minute, 29.001},      // kept
		{2 * time.Minute, 29.002},  // kept (3: the cap)
		{2 * time.Minute, 29.003},  // over the cap
	}
	for _, st := range steps {
		c.add(st.after)
		s.Located(ctx, "p1", at(st.lat))
	}
	track, err := st.RoundTrack(ctx, r.ID)
	if err != nil || len(track) != 3 || track[0].Lat != 29 || track[1].Lat != 29.001 || track[2].Lat != 29.002 {
		t.Fatalf("track: %+v %v", track, err)
	}
	got, _ := st.GetRound(ctx, r.ID)
	if got.DistanceM < 215 || got.DistanceM > 230 {
		t.Errorf("distance %v, want ~222 m", got.DistanceM)
	}
	if _, err := s.StartRound(ctx, storage.Member{ID: "p1", VillageID: "v1"}, "flood"); err == nil {
		t.Error("a second open round was started")
	}
	if _, err := s.StartRound(ctx, storage.Member{ID: "p2", VillageID: "v1"}, "picnic"); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

// TestDueVisits: frequencies per watch kind from the policy, never visited
// households due at once and overdue a frequency after they were created,
// a visit moving the next due time, most overdue first.
func TestDueVisits(t *testing.T) {
	pol := policy.Default()
	pol.Patrol.Visits = map[string]policy.Duration{"control": policy.Duration(time.Hour), "service": policy.Duration(3 * time.Hour)}
	pol.Patrol.DueWithin = policy.Duration(30 * time.Minute)
	s, st, c := newService(t, &pol, nil)
	ctx := t.Context()
	for _, h := range []storage.Household{{ID: "h1", Watch: "service"}, {ID: "h2", Watch: "control"}, {ID: "h3", Watch: "backbone"}, {ID: "h4"}} {
		h.VillageID, h.Name, h.CreatedAt, h.UpdatedAt = "v1", h.ID, c.now(), c.now()
		if err := st.CreateHousehold(ctx, &h); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(ds []Due) (out []string) {
		for _, d := range ds {
			out = append(out, d.Household.ID)
		}
		return out
	}
	due, err := s.DueVisits(ctx, "v1", false)
	if err != nil || len(due) != 3 || due[0].Household.ID != "h2" || due[1].Household.ID != "h1" || due[2].Household.ID != "h3" {
		t.Fatalf("due at creation: %v %v", ids(due), err)
	}
	if due[2].Every != 30*24*time.Hour {
		t.Errorf("backbone keeps the default frequency: %v", due[2].Every)
	}
	c.add(90 * time.Minute)
	if over, _ := s.DueVisits(ctx, "v1", true); len(over) != 1 || over[0].Household.ID != "h2" || !over[0].Overdue {
		t.Errorf("overdue after 90 min: %v", ids(over))
	}
	h2, _ := st.GetHousehold(ctx, "h2")
	if _, err := s.AddVisit(ctx, storage.Member{ID: "p1", VillageID: "v1"}, h2, "好", nil); err != nil {
		t.Fatal(err)
	}
	// Visited now: due again in an hour, listed 30 minutes before; the
	// next hour h2 (due at 2h30) is overdue longer than h1 (due at 3h).
	if due, _ := s.DueVisits(ctx, "v1", false); len(due) != 2 || due[0].Household.ID != "h1" {
		t.Errorf("due after the visit: %v", ids(due))
	}
	c.add(40 * time.Minute)
	due, _ = s.DueVisits(ctx, "v1", false)
	if len(due) != 3 || due[0].Household.ID != "h2" || due[0].Overdue || due[0].LastVisit == nil {
		t.Errorf("due 40 min after the visit: %v", ids(due))
	}
	c.add(time.Hour)
	if over, _ := s.DueVisits(ctx, "v1", true); len(over) != 2 || over[0].Household.ID != "h2" || over[1].Household.ID != "h1" {
		t.Errorf("overdue, most overdue first: %v", ids(over))
	}
}

// TestTalliesFigures: the report figures, when given, join the counts per
// village; the total sums them and takes the median of the medians.
func TestTalliesFigures(t *testing.T) {
	var asked []string
	figs := func(_ context.Context, from, to time.Time, vs []string) (map[string]ReportFigures, error) {
		asked = vs
		return map[string]ReportFigures{"v1": {OnTime: 3, Overdue: 1, SolvedInVillage: 4, MedianResolveS: 600},
			"v2": {OnTime: 1, SolvedInVillage: 1, MedianResolveS: 1800}}, nil
	}
	s, _, c := newService(t, nil, figs)
	ctx := t.Context()
	if _, err := s.StartRound(ctx, storage.Member{ID: "p1", VillageID: "v1"}, "flood"); err != nil {
		t.Fatal(err)
	}
	tl, err := s.Tallies(ctx, c.now().Add(-time.Hour), c.now().Add(time.Hour), []string{"v2", "v1", "v1"}, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Villages) != 2 || tl.Villages[0].VillageID != "v1" || tl.Villages[0].Rounds != 1 || tl.Villages[0].Name != "甲村" ||
		tl.Villages[0].Figures == nil || tl.Villages[0].Figures.OnTime != 3 || !tl.HasFigures {
		t.Fatalf("tallies: %+v", tl)
	}
	if f := tl.Total.Figures; f == nil || f.OnTime != 4 || f.Overdue != 1 || f.SolvedInVillage != 5 || f.MedianResolveS != 1200 {
		t.Errorf("total figures: %+v", tl.Total.Figures)
	}
	if len(asked) != 2 || tl.Total.Rounds != 1 || len(tl.Days) != 1 || tl.Days[0].Date != "2026-01-10" {
		t.Errorf("asked %v, total %+v, days %+v", asked, tl.Total, tl.Days)
	}
	if _, err := s.Tallies(ctx, c.now(), c.now().Add(-time.Second), []string{"v1"}, false); err == nil {
		t.Error("a backwards span was accepted")
	}
	s2, _, c2 := newService(t, nil, nil)
	if tl, _ := s2.Tallies(ctx, c2.now().Add(-time.Hour), c2.now(), []string{"v1"}, true); tl.HasFigures || tl.Villages[0].Figures != nil {
		t.Errorf("figures without a source: %+v", tl)
	}
}
