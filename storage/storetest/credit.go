package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunCredit runs the inspection, board and credit tests (v1.6).
func RunCredit(t *testing.T, newStore func(t *testing.T) storage.Store) {
	t.Run("Inspections", func(t *testing.T) { t.Parallel(); testInspections(t, newStore(t)) })
	t.Run("PublishBoard", func(t *testing.T) { t.Parallel(); testPublishBoard(t, newStore(t)) })
	t.Run("Entries", func(t *testing.T) { t.Parallel(); testCreditEntries(t, newStore(t)) })
	t.Run("PublishRace", func(t *testing.T) { t.Parallel(); testPublishRace(t, newStore(t)) })
}

// testPublishRace: an inspection recorded while the month is published is
// either in the published board (the publish saw it: stale, refused) or
// refused itself; never stored in a published month behind the board's back.
func testPublishRace(t *testing.T, s storage.Store) {
	ctx := t.Context()
	creditHomes(t, s)
	for round := range 20 {
		month := fmt.Sprintf("2025-%02d", round%12+1)
		if round >= 12 {
			month = fmt.Sprintf("2024-%02d", round%12+1)
		}
		put := func(h string, v int) error {
			return s.PutInspection(ctx, &storage.Inspection{HouseholdID: h, VillageID: "v1", Month: month,
				Scores: map[string]int{"a": v}, Total: v, RecordedAt: at(time.Duration(round) * time.Second)})
		}
		mustNoErr(t, put("h1", 5), "put h1")
		got, err := s.ListInspections(ctx, "v1", month)
		mustNoErr(t, err, "list")
		d := storage.Digest(got)
		var wg sync.WaitGroup
		var putErr, pubErr error
		wg.Go(func() { putErr = put("h2", 7) })
		wg.Go(func() {
			_, pubErr = s.PublishBoard(ctx, storage.BoardPublication{VillageID: "v1", Month: month, PublishedAt: at(0)}, d, nil,
				&storage.Event{Type: storage.EventCreditBoard, VillageID: "v1", ToVillage: true, CreatedAt: at(0)})
		})
		wg.Wait()
		switch {
		case pubErr == nil && errors.Is(putErr, storage.ErrConflict):
		case errors.Is(pubErr, storage.ErrStale) && putErr == nil:
		default:
			t.Fatalf("round %d: publish %v, inspection %v; want exactly one to win", round, pubErr, putErr)
		}
		if pubErr == nil {
			if now, _ := s.ListInspections(ctx, "v1", month); storage.Digest(now) != d {
				t.Fatalf("round %d: the published month's inspections changed: %+v", round, now)
			}
		}
	}
}

// creditHomes creates households h1, h2 of v1 and h3 of v2.
func creditHomes(t *testing.T, s storage.Store) {
	t.Helper()
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("r3", 3, storage.RoleResident, "v2"))
	for _, h := range []*storage.Household{
		{ID: "h1", VillageID: "v1", Name: "王家", MemberIDs: []string{"r1"}, CreatedAt: at(0), UpdatedAt: at(0)},
		{ID: "h2", VillageID: "v1", Name: "李家", CreatedAt: at(0), UpdatedAt: at(0)},
		{ID: "h3", VillageID: "v2", Name: "张家", MemberIDs: []string{"r3"}, CreatedAt: at(0), UpdatedAt: at(0)},
	} {
		mustNoErr(t, s.CreateHousehold(t.Context(), h), "create "+h.ID)
	}
}

func testInspections(t *testing.T, s storage.Store) {
	ctx := t.Context()
	creditHomes(t, s)
	put := func(h, v, month string, a, b int, by string, d time.Duration) error {
		return s.PutInspection(ctx, &storage.Inspection{HouseholdID: h, VillageID: v, Month: month,
			Scores: map[string]int{"a": a, "b": b}, Total: a + b, RecordedBy: by, RecordedAt: at(d)})
	}
	mustNoErr(t, put("h2", "v1", "2026-11", 10, 20, "c1", 0), "put h2")
	mustNoErr(t, put("h1", "v1", "2026-11", 1, 2, "c1", time.Second), "put h1")
	mustNoErr(t, put("h1", "v1", "2026-10", 5, 5, "c1", 2*time.Second), "put h1 october")
	mustNoErr(t, put("h3", "v2", "2026-11", 7, 7, "c2", 3*time.Second), "put h3")
	// Recording again replaces, with who and when.
	mustNoErr(t, put("h1", "v1", "2026-11", 40, 3, "c9", 4*time.Second), "replace h1")
	if err := put("nope", "v1", "2026-11", 1, 1, "c1", 0); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an inspection of a missing household: %v, want ErrNotFound", err)
	}
	got, err := s.ListInspections(ctx, "v1", "2026-11")
	mustNoErr(t, err, "list")
	if len(got) != 2 || got[0].HouseholdID != "h1" || got[1].HouseholdID != "h2" {
		t.Fatalf("v1 2026-11: %+v", got)
	}
	if i := got[0]; i.Total != 43 || i.Scores["a"] != 40 || i.Scores["b"] != 3 || i.RecordedBy != "c9" ||
		!i.RecordedAt.Equal(at(4*time.Second)) || i.Month != "2026-11" || i.VillageID != "v1" {
		t.Errorf("h1 replaced: %+v", i)
	}
	if got, _ := s.ListInspections(ctx, "v1", "2026-12"); len(got) != 0 || got == nil {
		t.Errorf("an empty month: %#v, want empty", got)
	}

	// A published month is frozen; other months and villages are not.
	ev := &storage.Event{Type: storage.EventCreditBoard, VillageID: "v1", ToVillage: true, Body: []byte(`{}`), CreatedAt: at(time.Hour)}
	pub := storage.BoardPublication{VillageID: "v1", Month: "2026-11", PublishedBy: "c1", PublishedAt: at(time.Hour)}
	// A board computed before an inspection changed is stale: nothing is
	// published.
	stale := storage.Digest(got)
	mustNoErr(t, put("h2", "v1", "2026-11", 10, 21, "c1", 5*time.Second), "change h2")
	if _, err := s.PublishBoard(ctx, pub, stale, nil, ev); !errors.Is(err, storage.ErrStale) {
		t.Fatalf("publish a stale board: %v, want ErrStale", err)
	}
	if pubs, _ := s.BoardPublications(ctx, "v1"); len(pubs) != 0 {
		t.Fatalf("a stale publish was recorded: %+v", pubs)
	}
	if evs, _ := s.EventsAfter(ctx, 0, 0); len(evs) != 0 {
		t.Fatalf("a stale publish appended an event: %+v", evs)
	}
	got, err = s.ListInspections(ctx, "v1", "2026-11")
	mustNoErr(t, err, "list again")
	if d := storage.Digest(got); d.Count != 2 || d.Sum != 74 || !d.Last.Equal(at(5*time.Second)) {
		t.Errorf("digest: %+v", d)
	}
	if _, err := s.PublishBoard(ctx, pub, storage.Digest(got), nil, ev); err != nil {
		t.Fatalf("publish: %v", err)
	}
	if err := put("h2", "v1", "2026-11", 0, 0, "c1", 2*time.Hour); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("an inspection of a published month: %v, want ErrConflict", err)
	}
	mustNoErr(t, put("h2", "v1", "2026-12", 1, 1, "c1", 2*time.Hour), "next month")
	mustNoErr(t, put("h3", "v2", "2026-11", 1, 1, "c1", 2*time.Hour), "another village")
	if got, _ := s.ListInspections(ctx, "v1", "2026-11"); len(got) != 2 || got[1].Total != 31 {
		t.Errorf("the refused inspection changed the month: %+v", got)
	}
}

func testPublishBoard(t *testing.T, s storage.Store) {
	ctx := t.Context()
	creditHomes(t, s)
	award := func(h string, pts int) storage.CreditEntry {
		return storage.CreditEntry{HouseholdID: h, VillageID: "v1", Points: pts, Rule: "red_board", Reason: "红榜",
			Key: "board:v1:2026-11:red_board:" + h, RecordedBy: "c1", At: at(time.Hour)}
	}
	// A key used before (say, an earlier partial award) is skipped.
	pre := award("h2", 10)
	if ok, err := s.AddCreditEntry(ctx, &pre); err != nil || !ok {
		t.Fatalf("pre-award: %v %v", ok, err)
	}
	entries := []storage.CreditEntry{award("h1", 10), award("h2", 10)}
	ev := &storage.Event{Type: storage.EventCreditBoard, VillageID: "v1", ToVillage: true, To: []string{"c1"},
		Body: []byte(`{"month":"2026-11"}`), CreatedAt: at(time.Hour)}
	pub := storage.BoardPublication{VillageID: "v1", Month: "2026-11", PublishedBy: "c1", PublishedAt: at(time.Hour)}
	added, err := s.PublishBoard(ctx, pub, storage.InspectionsDigest{}, entries, ev)
	mustNoErr(t, err, "publish")
	if added != 1 || entries[0].ID == 0 || entries[1].ID != 0 || ev.Seq == 0 {
		t.Errorf("publish: added %d, ids %d %d, seq %d; want 1 added, the first only", added, entries[0].ID, entries[1].ID, ev.Seq)
	}
	// Published twice: a conflict that writes nothing (no entry, no event).
	again := []storage.CreditEntry{award("h1", 10), {HouseholdID: "h2", VillageID: "v1", Points: 5, Rule: "x",
		Key: "board:v1:2026-11:x:h2", At: at(2 * time.Hour)}}
	ev2 := &storage.Event{Type: storage.EventCreditBoard, VillageID: "v1", ToVillage: true, Body: []byte(`{}`), CreatedAt: at(2 * time.Hour)}
	if _, err := s.PublishBoard(ctx, pub, storage.InspectionsDigest{}, again, ev2); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("published twice: %v, want ErrConflict", err)
	}
	for h, want := range map[string]int{"h1": 1, "h2": 1} {
		es, err := s.CreditEntries(ctx, h)
		mustNoErr(t, err, "entries")
		if len(es) != want {
			t.Errorf("%s entries after two publishes: %+v", h, es)
		}
	}
	evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "r1", Role: storage.RoleResident, VillageID: "v1"}, 0, 0)
	mustNoErr(t, err, "events")
	if len(evs) != 1 || evs[0].Seq != ev.Seq || evs[0].Type != storage.EventCreditBoard || string(evs[0].Body) != `{"month":"2026-11"}` {
		t.Errorf("r1's events: %+v", evs)
	}
	if evs, _ := s.EventsSince(ctx, storage.Audience{MemberID: "r3", Role: storage.RoleResident, VillageID: "v2"}, 0, 0); len(evs) != 0 {
		t.Errorf("v2 sees v1's board: %+v", evs)
	}
	if _, err := s.PublishBoard(ctx, storage.BoardPublication{VillageID: "v1", Month: "2026-12", PublishedAt: at(0)}, storage.InspectionsDigest{}, nil,
		&storage.Event{Type: storage.EventCreditBoard, CreatedAt: at(0)}); !errors.Is(err, storage.ErrNotAddressed) {
		t.Errorf("an unaddressed board event: %v, want ErrNotAddressed", err)
	}
	pubs, err := s.BoardPublications(ctx, "v1")
	mustNoErr(t, err, "publications")
	if len(pubs) != 1 || pubs[0].Month != "2026-11" || pubs[0].PublishedBy != "c1" || !pubs[0].PublishedAt.Equal(at(time.Hour)) {
		t.Errorf("publications: %+v", pubs)
	}
	mustNoErr(t, func() error {
		_, err := s.PublishBoard(ctx, storage.BoardPublication{VillageID: "v1", Month: "2026-10", PublishedAt: at(3 * time.Hour)}, storage.InspectionsDigest{}, nil,
			&storage.Event{Type: storage.EventCreditBoard, VillageID: "v1", ToVillage: true, CreatedAt: at(3 * time.Hour)})
		return err
	}(), "publish october")
	if pubs, _ := s.BoardPublications(ctx, "v1"); len(pubs) != 2 || pubs[0].Month != "2026-11" || pubs[1].Month != "2026-10" {
		t.Errorf("publications, latest first: %+v", pubs)
	}
	if pubs, _ := s.BoardPublications(ctx, "v2"); pubs == nil || len(pubs) != 0 {
		t.Errorf("v2 publications: %#v", pubs)
	}

	// Concurrent publishes of one month: one wins, the other conflicts.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			es := []storage.CreditEntry{{HouseholdID: "h3", VillageID: "v2", Points: 10, Rule: "red_board",
				Key: "board:v2:2026-11:red_board:h3", At: at(0)}}
			_, errs[i] = s.PublishBoard(ctx, storage.BoardPublication{VillageID: "v2", Month: "2026-11", PublishedAt: at(0)}, storage.InspectionsDigest{}, es,
				&storage.Event{Type: storage.EventCreditBoard, VillageID: "v2", ToVillage: true, CreatedAt: at(0)})
		})
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else if !errors.Is(err, storage.ErrConflict) {
			t.Errorf("a concurrent publish: %v", err)
		}
	}
	if es, _ := s.CreditEntries(ctx, "h3"); won != 1 || len(es) != 1 {
		t.Errorf("concurrent publishes: %d won, h3 has %d entries; want 1 and 1", won, len(es))
	}
}

func testCreditEntries(t *testing.T, s storage.Store) {
	ctx := t.Context()
	creditHomes(t, s)
	add := func(h, v string, pts int, rule, key string, d time.Duration) (storage.CreditEntry, bool) {
		t.Helper()
		e := storage.CreditEntry{HouseholdID: h, VillageID: v, Points: pts, Rule: rule, Reason: fmt.Sprint("r", pts),
			Key: key, RecordedBy: "c1", At: at(d)}
		ok, err := s.AddCreditEntry(ctx, &e)
		mustNoErr(t, err, "add entry")
		return e, ok
	}
	e1, _ := add("h1", "v1", 10, "good_deed", "", 0)
	e2, _ := add("h1", "v1", -3, "", "", time.Second)
	e3, ok := add("h1", "v1", 5, "report_helped", "report:r_1", 2*time.Second)
	if !ok || e1.ID == 0 || e2.ID <= e1.ID || e3.ID <= e2.ID {
		t.Errorf("ids %d %d %d: want growing", e1.ID, e2.ID, e3.ID)
	}
	if e, ok := add("h1", "v1", 5, "report_helped", "report:r_1", 3*time.Second); ok || e.ID != 0 {
		t.Errorf("a used key added again: %v %+v", ok, e)
	}
	add("h3", "v2", 7, "", "", 0)
	if _, err := s.AddCreditEntry(ctx, &storage.CreditEntry{HouseholdID: "nope", VillageID: "v1", Points: 1, At: at(0)}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("an entry of a missing household: %v, want ErrNotFound", err)
	}
	es, err := s.CreditEntries(ctx, "h1")
	mustNoErr(t, err, "entries")
	if len(es) != 3 || es[0].ID != e1.ID || es[2].Key != "report:r_1" || es[1].Rule != "" || es[1].Points != -3 ||
		es[0].Reason != "r10" || es[0].RecordedBy != "c1" || !es[2].At.Equal(at(2*time.Second)) || es[0].VillageID != "v1" {
		t.Errorf("h1 entries: %+v", es)
	}
	if es, _ := s.CreditEntries(ctx, "h2"); es == nil || len(es) != 0 {
		t.Errorf("h2 entries: %#v, want empty", es)
	}
	bal := func(v string) []storage.CreditBalance {
		t.Helper()
		bs, err := s.CreditBalances(ctx, v)
		mustNoErr(t, err, "balances")
		return bs
	}
	want := []storage.CreditBalance{{HouseholdID: "h1", VillageID: "v1", Name: "王家", Balance: 12, Entries: 3},
		{HouseholdID: "h2", VillageID: "v1", Name: "李家"}}
	if got := bal("v1"); !slices.Equal(got, want) {
		t.Errorf("v1 balances: %+v, want %+v", got, want)
	}
	if got := bal(""); len(got) != 3 || got[2] != (storage.CreditBalance{HouseholdID: "h3", VillageID: "v2", Name: "张家", Balance: 7, Entries: 1}) {
		t.Errorf("every balance: %+v", got)
	}
}
