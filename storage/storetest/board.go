package storetest

import (
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunBoard: the village board (storage/board.go; service/board): public
// reports and their board events, reactions once per member, good deeds,
// rectification photos, the board's page and tally, and its photos.
func RunBoard(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, boardCases, newStore)
}

var boardCases = []testCase{
	{"PublicReport", testBoardPublicReport},
	{"ReactOnce", testBoardReactOnce},
	{"Deeds", testBoardDeeds},
	{"ItemsAndTally", testBoardItems},
	{"ErasureAndRetention", testBoardErasure},
}

func boardEvent(v string, c time.Time) *storage.Event {
	return &storage.Event{Type: storage.EventBoard, VillageID: v, ToVillage: true, Body: []byte(`{"b":1}`), CreatedAt: c}
}

// eventTypes lists the types of the events addressed to a.
func eventTypes(t *testing.T, s storage.Store, a storage.Audience) []string {
	t.Helper()
	evs, err := s.EventsSince(t.Context(), a, 0, 0)
	mustNoErr(t, err, "events since")
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// testBoardPublicReport: visibility is stored and read back (private by
// default), the board event of a new public report is appended in its
// transaction and reaches the village, an unaddressed extra event writes
// nothing.
func testBoardPublicReport(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v1"),
		newMember("m3", 3, storage.RoleResident, "v2"))
	priv := createReport(t, s, "r1", "m1", "v1", t0)
	if priv.Visibility != storage.VisibilityPrivate {
		t.Errorf("default visibility %q", priv.Visibility)
	}
	r, ev := reportAt("r2", "m1", "v1", at(time.Second))
	r.Visibility = storage.VisibilityPublic
	bev := boardEvent("v1", at(time.Second))
	mustNoErr(t, s.CreateReport(ctx, r, ev, bev), "create public report")
	if bev.Seq != ev.Seq+1 {
		t.Errorf("board event seq %d, report event %d", bev.Seq, ev.Seq)
	}
	got, err := s.GetReport(ctx, "r2")
	mustNoErr(t, err, "get")
	wantReport(t, got, *r)
	if got.Visibility != storage.VisibilityPublic || got.RectificationPhotos == nil || got.Likes != 0 {
		t.Errorf("public report read back %+v", got)
	}
	wantEqual(t, eventTypes(t, s, storage.Audience{MemberID: "m2", Role: storage.RoleResident, VillageID: "v1"}),
		[]string{storage.EventBoard}, "events of a neighbour")
	wantEqual(t, eventTypes(t, s, storage.Audience{MemberID: "m3", Role: storage.RoleResident, VillageID: "v2"}),
		[]string(nil), "events of another village")

	// An extra event that is not addressed: nothing is written.
	r3, ev3 := reportAt("r3", "m1", "v1", at(2*time.Second))
	err = s.CreateReport(ctx, r3, ev3, &storage.Event{Type: storage.EventBoard, VillageID: "v1"})
	wantErrIs(t, err, storage.ErrNotAddressed, "an unaddressed extra event")
	_, err = s.GetReport(ctx, "r3")
	wantErrIs(t, err, storage.ErrNotFound, "the report of a failed create")

	// UpdateReport appends its extra events too.
	u := got
	u.Status, u.Feedback, u.UpdatedAt = storage.ReportResolved, "已清理", at(time.Minute)
	uev := &storage.Event{Type: storage.EventReport, VillageID: "v1", MemberID: "m1", CreatedAt: at(time.Minute)}
	ubev := boardEvent("v1", at(time.Minute))
	mustNoErr(t, s.UpdateReport(ctx, &u, storage.ReportNew, uev, ubev), "update")
	if ubev.Seq != uev.Seq+1 {
		t.Errorf("update's board event seq %d, report event %d", ubev.Seq, uev.Seq)
	}

	// Rectification photos: stored, attached, with their event.
	mustNoErr(t, s.PutMedia(ctx, media("after1", "c1", t0), []byte("jpeg")), "put")
	rev := boardEvent("v1", at(2*time.Minute))
	rr, err := s.SetRectification(ctx, "r2", []string{"after1"}, func(r *storage.Report) *storage.Event {
		if !slices.Equal(r.RectificationPhotos, []string{"after1"}) {
			t.Errorf("rectification callback sees %v", r.RectificationPhotos)
		}
		return rev
	})
	mustNoErr(t, err, "set rectification")
	if !slices.Equal(rr.RectificationPhotos, []string{"after1"}) || rev.Seq <= ubev.Seq || rr.Status != storage.ReportResolved {
		t.Errorf("rectified %+v, event seq %d", rr, rev.Seq)
	}
	_, err = s.SetRectification(ctx, "nope", nil, nil)
	wantErrIs(t, err, storage.ErrNotFound, "rectify a missing report")
	ok, err := s.OnBoard(ctx, "v1", "after1")
	mustNoErr(t, err, "on board")
	if !ok {
		t.Error("a rectification photo of a public report is not on the board")
	}
	ok, err = s.OnBoard(ctx, "v2", "after1")
	mustNoErr(t, err, "on board of v2")
	if ok {
		t.Error("a photo of v1's board is on v2's")
	}
}

// testBoardReactOnce: a member's like counts once, however often and
// however concurrently it is sent; only the first appends its event.
func testBoardReactOnce(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v1"))
	r, ev := reportAt("r1", "m1", "v1", t0)
	r.Visibility = storage.VisibilityPublic
	mustNoErr(t, s.CreateReport(ctx, r, ev), "create")
	var mu sync.Mutex
	var events int
	mk := func(c storage.Counts) *storage.Event {
		mu.Lock()
		events++
		mu.Unlock()
		return boardEvent("v1", at(time.Second))
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			_, _, err := s.React(ctx, storage.Reaction{Item: storage.ItemReport, ItemID: "r1", MemberID: "m2",
				Kind: storage.ReactLike, At: at(time.Second)}, mk)
			if err != nil {
				t.Errorf("react: %v", err)
			}
		})
	}
	wg.Wait()
	if events != 1 {
		t.Errorf("%d events for one member's likes, want 1", events)
	}
	c, added, err := s.React(ctx, storage.Reaction{Item: storage.ItemReport, ItemID: "r1", MemberID: "m1",
		Kind: storage.ReactUrge, At: at(2 * time.Second)}, mk)
	mustNoErr(t, err, "urge")
	if !added || c != (storage.Counts{Likes: 1, Urges: 1}) {
		t.Errorf("urge: %+v added %v", c, added)
	}
	c, added, err = s.React(ctx, storage.Reaction{Item: storage.ItemReport, ItemID: "r1", MemberID: "m1",
		Kind: storage.ReactUrge, At: at(3 * time.Second)}, mk)
	mustNoErr(t, err, "urge again")
	if added || c != (storage.Counts{Likes: 1, Urges: 1}) {
		t.Errorf("urge again: %+v added %v", c, added)
	}
	got, err := s.GetReport(ctx, "r1")
	mustNoErr(t, err, "get")
	if got.Likes != 1 || got.Urges != 1 {
		t.Errorf("report counts %d likes %d urges", got.Likes, got.Urges)
	}
	wantEqual(t, len(eventTypes(t, s, storage.Audience{MemberID: "m2", Role: storage.RoleResident, VillageID: "v1"})),
		2, "board events (a like, an urge)")
	mine, err := s.Reacted(ctx, "m1", storage.ItemReport, []string{"r1", "r9"})
	mustNoErr(t, err, "reacted")
	wantEqual(t, mine, map[string][]string{"r1": {storage.ReactUrge}}, "m1's reactions")
	_, _, err = s.React(ctx, storage.Reaction{Item: storage.ItemReport, ItemID: "r9", MemberID: "m1",
		Kind: storage.ReactLike, At: at(time.Second)}, mk)
	wantErrIs(t, err, storage.ErrNotFound, "like a missing report")
}

// testBoardDeeds: a deed is recorded pending, listed, confirmed once
// (with its event, which gives it its place) or rejected (without).
func testBoardDeeds(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("c1", 2, storage.RoleCadre, "v1"))
	mustNoErr(t, s.PutMedia(ctx, media("dp1", "m1", t0), []byte("jpeg")), "put")
	d1 := &storage.Deed{ID: "d1", VillageID: "v1", Title: "扶老人过河", Text: "雨天", Photos: []string{"dp1"},
		About: "王大伯", HouseholdID: "h1", AuthorID: "m1", Status: storage.DeedPending, CreatedAt: t0}
	mustNoErr(t, s.CreateDeed(ctx, d1), "create d1")
	d2 := &storage.Deed{ID: "d2", VillageID: "v1", Title: "修路", AuthorID: "m1", Status: storage.DeedPending, CreatedAt: at(time.Second)}
	mustNoErr(t, s.CreateDeed(ctx, d2), "create d2")
	wantErrIs(t, s.CreateDeed(ctx, &storage.Deed{ID: "d1", VillageID: "v1", Title: "x", AuthorID: "m1",
		Status: storage.DeedPending, CreatedAt: t0}), storage.ErrConflict, "a taken id")
	got, err := s.GetDeed(ctx, "d1")
	mustNoErr(t, err, "get")
	wantTime(t, got.CreatedAt, t0, "created_at")
	if got.Title != d1.Title || !slices.Equal(got.Photos, []string{"dp1"}) || got.About != "王大伯" ||
		got.HouseholdID != "h1" || got.Status != storage.DeedPending || !got.DecidedAt.IsZero() || got.N != d1.N {
		t.Errorf("deed read back %+v", got)
	}
	list, err := s.ListDeeds(ctx, storage.DeedFilter{VillageID: "v1", Status: storage.DeedPending})
	mustNoErr(t, err, "list")
	if len(list) != 2 || list[0].ID != "d2" || list[1].ID != "d1" {
		t.Fatalf("pending deeds %+v", list)
	}
	page, err := s.ListDeeds(ctx, storage.DeedFilter{AuthorID: "m1", After: list[0].N, Limit: 5})
	mustNoErr(t, err, "list after")
	if len(page) != 1 || page[0].ID != "d1" {
		t.Errorf("deeds after d2: %+v", page)
	}
	if ok, err := s.OnBoard(ctx, "v1", "dp1"); err != nil || ok {
		t.Errorf("a pending deed's photo on the board: %v %v", ok, err)
	}
	ev := boardEvent("v1", at(time.Minute))
	conf, err := s.DecideDeed(ctx, "d1", storage.DeedConfirmed, "c1", at(time.Minute), func(d *storage.Deed) *storage.Event {
		if d.Status != storage.DeedConfirmed {
			t.Errorf("callback sees %s", d.Status)
		}
		return ev
	})
	mustNoErr(t, err, "confirm")
	if conf.Seq != ev.Seq || conf.Seq == 0 || conf.DecidedBy != "c1" {
		t.Errorf("confirmed %+v, event seq %d", conf, ev.Seq)
	}
	got, err = s.GetDeed(ctx, "d1")
	mustNoErr(t, err, "get confirmed")
	wantTime(t, got.DecidedAt, at(time.Minute), "decided_at")
	if got.Status != storage.DeedConfirmed || got.Seq != ev.Seq {
		t.Errorf("confirmed read back %+v", got)
	}
	_, err = s.DecideDeed(ctx, "d1", storage.DeedRejected, "c1", at(time.Hour), nil)
	wantErrIs(t, err, storage.ErrConflict, "decide a confirmed deed")
	_, err = s.DecideDeed(ctx, "d9", storage.DeedConfirmed, "c1", at(time.Hour), nil)
	wantErrIs(t, err, storage.ErrNotFound, "decide a missing deed")
	rej, err := s.DecideDeed(ctx, "d2", storage.DeedRejected, "c1", at(time.Hour), func(*storage.Deed) *storage.Event { return nil })
	mustNoErr(t, err, "reject")
	if rej.Status != storage.DeedRejected || rej.Seq != 0 {
		t.Errorf("rejected %+v", rej)
	}
	if ok, err := s.OnBoard(ctx, "v1", "dp1"); err != nil || !ok {
		t.Errorf("a confirmed deed's photo not on the board: %v %v", ok, err)
	}
	c, added, err := s.React(ctx, storage.Reaction{Item: storage.ItemDeed, ItemID: "d1", MemberID: "m1",
		Kind: storage.ReactLike, At: at(time.Hour)}, func(storage.Counts) *storage.Event { return boardEvent("v1", at(time.Hour)) })
	mustNoErr(t, err, "like a deed")
	if !added || c.Likes != 1 {
		t.Errorf("deed like %+v %v", c, added)
	}
	_, _, err = s.React(ctx, storage.Reaction{Item: storage.ItemDeed, ItemID: "d1", MemberID: "m1",
		Kind: storage.ReactUrge, At: at(time.Hour)}, nil)
	wantErrIs(t, err, storage.ErrNotFound, "urge a deed")
}

// testBoardItems: the board pages public reports and confirmed deeds
// together, newest first, never a private report or a pending deed; the
// tally counts public reports by outcome.
func testBoardItems(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v2"))
	pub := func(id, v string, d time.Duration, status string) {
		r, ev := reportAt(id, "m1", v, at(d))
		r.Visibility, r.Status = storage.VisibilityPublic, status
		mustNoErr(t, s.CreateReport(ctx, r, ev), "create "+id)
	}
	pub("p1", "v1", 1, storage.ReportResolved)
	createReport(t, s, "priv", "m1", "v1", at(2))
	mustNoErr(t, s.CreateDeed(ctx, &storage.Deed{ID: "d1", VillageID: "v1", Title: "好事", AuthorID: "m1",
		Status: storage.DeedPending, CreatedAt: at(3)}), "deed")
	mustNoErr(t, s.CreateDeed(ctx, &storage.Deed{ID: "pending", VillageID: "v1", Title: "待定", AuthorID: "m1",
		Status: storage.DeedPending, CreatedAt: at(3)}), "pending deed")
	pub("p2", "v1", 4, storage.ReportRejected)
	_, err := s.DecideDeed(ctx, "d1", storage.DeedConfirmed, "c", at(5), func(*storage.Deed) *storage.Event { return boardEvent("v1", at(5)) })
	mustNoErr(t, err, "confirm")
	pub("p3", "v1", 6, storage.ReportNew)
	pub("other", "v2", 7, storage.ReportResolved)

	ids := func(es []storage.BoardEntry) []string {
		var out []string
		for _, e := range es {
			if e.Report != nil {
				out = append(out, e.Report.ID)
			} else {
				out = append(out, e.Deed.ID)
			}
		}
		return out
	}
	all, err := s.BoardItems(ctx, "v1", 0, 10)
	mustNoErr(t, err, "board")
	wantEqual(t, ids(all), []string{"p3", "d1", "p2", "p1"}, "v1's board")
	first, err := s.BoardItems(ctx, "v1", 0, 2)
	mustNoErr(t, err, "first page")
	wantEqual(t, ids(first), []string{"p3", "d1"}, "first page")
	rest, err := s.BoardItems(ctx, "v1", first[1].Seq, 2)
	mustNoErr(t, err, "next page")
	wantEqual(t, ids(rest), []string{"p2", "p1"}, "next page")
	empty, err := s.BoardItems(ctx, "v3", 0, 10)
	mustNoErr(t, err, "empty board")
	if empty == nil || len(empty) != 0 {
		t.Errorf("an empty board: %#v", empty)
	}
	tally, err := s.BoardTally(ctx, "v1")
	mustNoErr(t, err, "tally")
	wantEqual(t, tally, storage.BoardTally{Public: 3, Rejected: 1, Resolved: 1}, "v1's tally")
}

// boardBody is a board event body with a report or a deed item.
func boardBody(t *testing.T, typ string, obj map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"village_id": "v1", "item": map[string]any{"type": typ, typ: obj}})
	mustNoErr(t, err, "marshal")
	return b
}

// testBoardErasure: erasing a member removes what the board keeps of it
// (its items' text and photos in the board events, its deeds' text, its
// reactions; the counts stay); retention removes a redacted report's text
// and photos from its board events too, and its rectification photos.
func testBoardErasure(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v1"))
	ev := func(owner, typ string, obj map[string]any, c time.Time) *storage.Event {
		return &storage.Event{Type: storage.EventBoard, VillageID: "v1", MemberID: owner, ToVillage: true,
			Body: boardBody(t, typ, obj), CreatedAt: c}
	}
	// m1's public report, m2's public report (resolved), m1's deed.
	r1, e1 := reportAt("r1", "m1", "v1", t0)
	r1.Visibility = storage.VisibilityPublic
	mustNoErr(t, s.CreateReport(ctx, r1, e1, ev("m1", "report", map[string]any{"id": "r1", "text": "秘密文字一", "photos": []string{"p1"}, "reporter": "成*"}, t0)), "r1")
	r2, e2 := reportAt("r2", "m2", "v1", t0)
	r2.Visibility, r2.Status = storage.VisibilityPublic, storage.ReportResolved
	mustNoErr(t, s.CreateReport(ctx, r2, e2, ev("m2", "report", map[string]any{"id": "r2", "text": "秘密文字二", "photos": []string{"p2"}, "reporter": "成*"}, t0)), "r2")
	mustNoErr(t, s.PutMedia(ctx, media("after2", "c1", t0), []byte("jpeg")), "put")
	_, err := s.SetRectification(ctx, "r2", []string{"after2"}, func(*storage.Report) *storage.Event {
		return ev("m2", "report", map[string]any{"id": "r2", "text": "秘密文字二", "rectification_photos": []string{"after2"}}, t0)
	})
	mustNoErr(t, err, "rectify r2")
	mustNoErr(t, s.CreateDeed(ctx, &storage.Deed{ID: "d1", VillageID: "v1", Title: "秘密标题", Text: "秘密经过", About: "某人",
		AuthorID: "m1", Status: storage.DeedPending, CreatedAt: t0}), "deed")
	_, err = s.DecideDeed(ctx, "d1", storage.DeedConfirmed, "c1", at(time.Second), func(*storage.Deed) *storage.Event {
		return ev("m1", "deed", map[string]any{"id": "d1", "title": "秘密标题", "text": "秘密经过", "about": "某人", "author": "成*"}, at(time.Second))
	})
	mustNoErr(t, err, "confirm")
	_, _, err = s.React(ctx, storage.Reaction{Item: storage.ItemReport, ItemID: "r2", MemberID: "m1", Kind: storage.ReactLike, At: at(2 * time.Second)},
		func(storage.Counts) *storage.Event { return nil })
	mustNoErr(t, err, "m1 likes r2")

	bodies := func() string {
		evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "m2", Role: storage.RoleResident, VillageID: "v1"}, 0, 0)
		mustNoErr(t, err, "events")
		var b strings.Builder
		for _, e := range evs {
			if e.Type == storage.EventBoard {
				b.Write(e.Body)
			}
		}
		return b.String()
	}
	e, err := s.EraseMember(ctx, "m1", at(time.Hour))
	mustNoErr(t, err, "erase m1")
	if e.Deeds != 1 || e.Events < 2 {
		t.Errorf("erasure %+v", e)
	}
	all := bodies()
	for _, secret := range []string{"秘密文字一", "秘密标题", "秘密经过", "某人"} {
		if strings.Contains(all, secret) {
			t.Errorf("%s is still in the board events after the erasure: %s", secret, all)
		}
	}
	if !strings.Contains(all, "秘密文字二") {
		t.Errorf("another member's report was erased too: %s", all)
	}
	d, err := s.GetDeed(ctx, "d1")
	mustNoErr(t, err, "get deed")
	if d.Title != "" || d.Text != "" || d.About != "" || d.Status != storage.DeedConfirmed {
		t.Errorf("erased member's deed %+v", d)
	}
	mine, err := s.Reacted(ctx, "m1", storage.ItemReport, []string{"r2"})
	mustNoErr(t, err, "reacted")
	if len(mine) != 0 {
		t.Errorf("an erased member's reactions %v", mine)
	}
	if got, err := s.GetReport(ctx, "r2"); err != nil || got.Likes != 1 {
		t.Errorf("the count of an erased member's like: %+v %v", got, err)
	}

	// Retention redacts m2's resolved report, its board events and its
	// rectification photos.
	_, err = s.ApplyRetention(ctx, storage.Retention{ReportsBefore: at(24 * time.Hour),
		ClosedStatuses: []string{storage.ReportResolved, storage.ReportRejected}})
	mustNoErr(t, err, "retention")
	if all := bodies(); strings.Contains(all, "秘密文字二") || strings.Contains(all, "after2") {
		t.Errorf("a redacted report in its board events: %s", all)
	}
	got, err := s.GetReport(ctx, "r2")
	mustNoErr(t, err, "get r2")
	if len(got.RectificationPhotos) != 0 || got.Text != "" {
		t.Errorf("redacted report %+v", got)
	}
}
