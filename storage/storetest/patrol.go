package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunPatrol runs the patrol round, visit, emergency and tally tests (v1.6).
func RunPatrol(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("Rounds", func(t *testing.T) { t.Parallel(); testRounds(t, newStore(t)) })
	t.Run("VisitsTallies", func(t *testing.T) { t.Parallel(); testVisitsTallies(t, newStore(t)) })
}

func testRounds(t *testing.T, s storage.Store) {
	ctx := t.Context()
	if _, ok, err := s.OpenRound(ctx, "p1"); ok || err != nil {
		t.Fatalf("open round before any: %v %v", ok, err)
	}
	r := &storage.Round{ID: "rd1", MemberID: "p1", VillageID: "v1", Kind: "fire", StartedAt: at(0)}
	mustNoErr(t, s.StartRound(ctx, r, ev(storage.EventRound, "rd1", at(0))), "start round")
	before, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	wantErrIs(t, s.StartRound(ctx, &storage.Round{ID: "rd2", MemberID: "p1", VillageID: "v1", Kind: "flood", StartedAt: at(time.Second)},
		ev(storage.EventRound, "rd2", at(time.Second))), storage.ErrConflict, "a second open round")
	if after, _ := s.LatestSeq(ctx); after != before {
		t.Errorf("a refused round appended an event (%d -> %d)", before, after)
	}
	open, ok, err := s.OpenRound(ctx, "p1")
	mustNoErr(t, err, "open round")
	if !ok || open.ID != "rd1" || open.Last != nil || open.EndedAt != nil || !open.StartedAt.Equal(at(0)) {
		t.Fatalf("open round: %v %+v", ok, open)
	}
	for i, p := range []storage.TrackPoint{{Lat: 29, Lng: 119, At: at(time.Minute)}, {Lat: 29.001, Lng: 119, At: at(2 * time.Minute)},
		{Lat: 29.002, Lng: 119, At: at(3 * time.Minute)}} {
		added, err := s.AddTrackPoint(ctx, "rd1", p, float64(i)*100, 2)
		mustNoErr(t, err, "add point")
		if added != (i < 2) {
			t.Errorf("point %d added %v with a cap of 2", i, added)
		}
	}
	// Reports of p1 during the round are linked at its end; before it, or
	// another member's, are not.
	createReport(t, s, "rep0", "p1", "v1", at(-time.Minute))
	createReport(t, s, "rep1", "p1", "v1", at(90*time.Second))
	createReport(t, s, "rep2", "x1", "v1", at(100*time.Second))
	ended, err := s.EndRound(ctx, "rd1", at(time.Hour), "无隐患", func(r storage.Round) *storage.Event {
		e := ev(storage.EventRound, r.ID, at(time.Hour))
		e.Body = []byte(fmt.Sprintf(`{"id":%q,"points":%d,"reports":%d}`, r.ID, r.Points, r.Reports))
		return e
	})
	mustNoErr(t, err, "end round")
	if ended.EndedAt == nil || !ended.EndedAt.Equal(at(time.Hour)) || ended.Summary != "无隐患" || ended.Points != 2 ||
		ended.DistanceM != 100 || ended.Reports != 1 || ended.Last == nil || ended.Last.Lat != 29.001 {
		t.Errorf("ended round: %+v", ended)
	}
	createReport(t, s, "rep3", "p1", "v1", at(2*time.Hour))
	if ids, err := s.RoundReports(ctx, "rd1"); err != nil || !slices.Equal(ids, []string{"rep1"}) {
		t.Errorf("round reports: %v %v", ids, err)
	}
	_, err = s.EndRound(ctx, "rd1", at(2*time.Hour), "again", nil)
	wantErrIs(t, err, storage.ErrConflict, "end an ended round")
	_, err = s.EndRound(ctx, "nope", at(2*time.Hour), "", nil)
	wantErrIs(t, err, storage.ErrNotFound, "end a missing round")
	if added, err := s.AddTrackPoint(ctx, "rd1", storage.TrackPoint{Lat: 1, Lng: 1, At: at(3 * time.Hour)}, 1, 100); added || err != nil {
		t.Errorf("point on an ended round: %v %v", added, err)
	}
	// The round's events reached its patrol and the cadre, in order, the
	// second made from the ended round.
	all, err := s.EventsSince(ctx, storage.Audience{MemberID: "c1", Role: storage.RoleCadre, VillageID: "v1"}, 0, 0)
	mustNoErr(t, err, "events")
	evs := slices.DeleteFunc(all, func(e storage.Event) bool { return e.Type != storage.EventRound })
	if len(evs) != 2 || evs[0].Type != storage.EventRound || string(evs[1].Body) != `{"id":"rd1","points":2,"reports":1}` {
		t.Errorf("round events: %+v", evs)
	}
	track, err := s.RoundTrack(ctx, "rd1")
	mustNoErr(t, err, "track")
	if len(track) != 2 || track[0].Lat != 29 || !track[1].At.Equal(at(2*time.Minute)) {
		t.Errorf("track: %+v", track)
	}
	if _, ok, _ := s.OpenRound(ctx, "p1"); ok {
		t.Error("ended round still open")
	}
	// Erasing the member's tracks keeps the rounds and their counts.
	if n, err := s.EraseTracks(ctx, "p1"); err != nil || n != 2 {
		t.Errorf("erase tracks: %d %v, want 2", n, err)
	}
	if track, _ := s.RoundTrack(ctx, "rd1"); len(track) != 0 {
		t.Errorf("track after erasure: %v", track)
	}
	if r, _ := s.GetRound(ctx, "rd1"); r.Points != 2 || r.Last != nil || r.Reports != 1 {
		t.Errorf("round after erasure: %+v", r)
	}
	mustNoErr(t, s.StartRound(ctx, &storage.Round{ID: "rd3", MemberID: "p1", VillageID: "v1", Kind: "flood", StartedAt: at(24 * time.Hour)}, nil), "next round")
	mustNoErr(t, s.StartRound(ctx, &storage.Round{ID: "rd4", MemberID: "p2", VillageID: "v2", Kind: "flood", StartedAt: at(25 * time.Hour)}, nil), "p2 round")
	list := func(f storage.RoundFilter) []string {
		t.Helper()
		rs, err := s.ListRounds(ctx, f)
		mustNoErr(t, err, "list rounds")
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
		}
		return ids
	}
	for _, c := range []struct {
		name string
		f    storage.RoundFilter
		want []string
	}{
		{"all", storage.RoundFilter{}, []string{"rd4", "rd3", "rd1"}},
		{"member", storage.RoundFilter{MemberID: "p1"}, []string{"rd3", "rd1"}},
		{"villages", storage.RoundFilter{VillageIDs: []string{"v2"}}, []string{"rd4"}},
		{"no villages", storage.RoundFilter{VillageIDs: []string{}}, nil},
		{"kind", storage.RoundFilter{Kind: "fire"}, []string{"rd1"}},
		{"from to", storage.RoundFilter{From: at(time.Hour), To: at(25 * time.Hour)}, []string{"rd3"}},
		{"before", storage.RoundFilter{Before: "rd3"}, []string{"rd1"}},
		{"limit", storage.RoundFilter{Limit: 1}, []string{"rd4"}},
	} {
		if got := list(c.f); !slices.Equal(got, c.want) {
			t.Errorf("list %s: %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := s.GetRound(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get a missing round: %v", err)
	}
}

// ev is an addressed event of a patrol record, to the patrol p1 and the
// cadre c1.
func ev(typ, id string, c time.Time) *storage.Event {
	return &storage.Event{Type: typ, VillageID: "v1", MemberID: "p1", To: []string{"p1", "c1"},
		Body: []byte(fmt.Sprintf(`{"id":%q}`, id)), CreatedAt: c}
}

func testVisitsTallies(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("r2", 2, storage.RoleResident, "v2"))
	mustNoErr(t, s.CreateHousehold(ctx, &storage.Household{ID: "h1", VillageID: "v1", Name: "王家", MemberIDs: []string{"r1"},
		Watch: storage.WatchControl, CreatedAt: at(0), UpdatedAt: at(0)}), "h1")
	mustNoErr(t, s.CreateHousehold(ctx, &storage.Household{ID: "h2", VillageID: "v2", Name: "李家", MemberIDs: []string{"r2"},
		Watch: storage.WatchService, CreatedAt: at(0), UpdatedAt: at(0)}), "h2")
	vi0 := &storage.Visit{ID: "vi0", HouseholdID: "h2", VillageID: "v2", MemberID: "p2", At: at(-time.Hour)}
	vev := ev(storage.EventVisit, "vi0", at(-time.Hour))
	mustNoErr(t, s.AddVisit(ctx, vi0, vev), "visit with an event")
	if evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "p1", Role: storage.RolePatrol, VillageID: "v1"}, 0, 0); err != nil ||
		len(evs) != 1 || evs[0].Type != storage.EventVisit || evs[0].Seq != vev.Seq || vev.Seq == 0 {
		t.Errorf("visit event: %+v %v", evs, err)
	}
	// The visit's photo is kept by the retention of orphan uploads; an
	// upload attached to nothing is not.
	mustNoErr(t, s.PutMediaWithin(ctx, media("m1", "p1", at(0)), []byte("x"), storage.MediaQuota{}), "media m1")
	mustNoErr(t, s.PutMediaWithin(ctx, media("m9", "p1", at(0)), []byte("x"), storage.MediaQuota{}), "media m9")
	for _, v := range []storage.Visit{
		{ID: "vi1", HouseholdID: "h1", VillageID: "v1", MemberID: "p1", Note: "好", Photos: []string{"m1"}, At: at(time.Hour)},
		{ID: "vi2", HouseholdID: "h1", VillageID: "v1", MemberID: "p1", RoundID: "rd1", Note: "很好", At: at(48 * time.Hour)},
		{ID: "vi3", HouseholdID: "h2", VillageID: "v2", MemberID: "p2", At: at(2 * time.Hour)},
	} {
		mustNoErr(t, s.AddVisit(ctx, &v, nil), "visit "+v.ID)
	}
	wantErrIs(t, s.AddVisit(ctx, &storage.Visit{ID: "vi4", HouseholdID: "nope", VillageID: "v1", At: at(0)}, ev(storage.EventVisit, "vi4", at(0))), storage.ErrNotFound, "visit of a missing household")
	vs, err := s.ListVisits(ctx, "h1", 0)
	mustNoErr(t, err, "list visits")
	if len(vs) != 2 || vs[0].ID != "vi2" || vs[0].RoundID != "rd1" || vs[0].Photos == nil || len(vs[0].Photos) != 0 ||
		!slices.Equal(vs[1].Photos, []string{"m1"}) || vs[1].Note != "好" || !vs[1].At.Equal(at(time.Hour)) {
		t.Errorf("visits of h1: %+v", vs)
	}
	for _, c := range []struct {
		media, village string
		want           bool
	}{{"m1", "v1", true}, {"m1", "v2", false}, {"m2", "v1", false}} {
		if got, err := s.VisitHasPhoto(ctx, c.media, c.village); err != nil || got != c.want {
			t.Errorf("visit has photo %s in %s: %v %v, want %v", c.media, c.village, got, err, c.want)
		}
	}
	if _, err := s.ApplyRetention(ctx, storage.Retention{OrphansBefore: at(1000 * time.Hour)}); err != nil {
		t.Fatalf("retention: %v", err)
	}
	if _, err := s.MediaInfo(ctx, "m1"); err != nil {
		t.Errorf("a visit's photo after the orphan retention: %v", err)
	}
	if _, err := s.MediaInfo(ctx, "m9"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an orphan upload after the retention: %v, want ErrNotFound", err)
	}
	last, err := s.LastVisits(ctx, []string{"h1", "h2", "h3"})
	mustNoErr(t, err, "last visits")
	if len(last) != 2 || last["h1"].ID != "vi2" || last["h2"].ID != "vi3" {
		t.Errorf("last visits: %+v", last)
	}

	e := &storage.Emergency{ID: "e1", Name: "冰冻", From: at(0), To: at(72 * time.Hour), CreatedBy: "c1", CreatedAt: at(0)}
	mustNoErr(t, s.CreateEmergency(ctx, e), "emergency")
	got, err := s.GetEmergency(ctx, "e1")
	mustNoErr(t, err, "get emergency")
	if got.Name != "冰冻" || !got.To.Equal(at(72*time.Hour)) || got.CreatedBy != "c1" {
		t.Errorf("emergency: %+v", got)
	}
	if _, err := s.GetEmergency(ctx, "e2"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("missing emergency: %v", err)
	}
	if es, err := s.ListEmergencies(ctx); err != nil || len(es) != 1 {
		t.Errorf("list emergencies: %v %v", es, err)
	}

	createReport(t, s, "rep1", "r1", "v1", at(time.Hour))
	createReport(t, s, "rep2", "r1", "v1", at(100*time.Hour))
	createBulletin(t, s, "b1", "v1", at(time.Hour))
	createBulletin(t, s, "b2", "", at(time.Hour))
	mustNoErr(t, s.StartRound(ctx, &storage.Round{ID: "rd1", MemberID: "p1", VillageID: "v1", Kind: "fire", StartedAt: at(time.Hour)}, nil), "round")
	mustNoErr(t, s.StartRound(ctx, &storage.Round{ID: "rd2", MemberID: "p2", VillageID: "v2", Kind: "fire", StartedAt: at(30 * time.Hour)}, nil), "round")
	all, err := s.Tallies(ctx, at(0), at(72*time.Hour), nil)
	mustNoErr(t, err, "tallies")
	want := map[string]storage.Tally{"v1": {Reports: 1, Notices: 1, Rounds: 1, Visits: 2}, "v2": {Rounds: 1, Visits: 1}, "": {Notices: 1}}
	if len(all) != len(want) || all["v1"] != want["v1"] || all["v2"] != want["v2"] || all[""] != want[""] {
		t.Errorf("tallies: %+v, want %+v", all, want)
	}
	some, err := s.Tallies(ctx, at(0), at(72*time.Hour), []string{"v2"})
	mustNoErr(t, err, "tallies of v2")
	if len(some) != 1 || some["v2"] != want["v2"] {
		t.Errorf("tallies of v2: %+v", some)
	}
	// t0 is 08:00 UTC = 16:00 in China: +8h is the next day there.
	days, err := s.PatrolDays(ctx, at(0), at(72*time.Hour), nil)
	mustNoErr(t, err, "days")
	wantDays := []storage.DayCount{{Date: "2026-07-01", Rounds: 1, Visits: 2}, {Date: "2026-07-02", Rounds: 1}, {Date: "2026-07-03", Visits: 1}}
	if !slices.Equal(days, wantDays) {
		t.Errorf("days: %+v, want %+v", days, wantDays)
	}
}
