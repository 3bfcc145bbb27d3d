package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

var eventCases = []testCase{
	{"EventLogSeq", testEventLogSeq},
	{"EventsSinceAudience", testEventsSinceAudience},
	{"EventsSinceLimit", testEventsSinceLimit},
	{"ActiveAlertsFor", testActiveAlertsFor},
	{"AddressedEvents", testAddressedEvents},
}

// commander is an audience that every report reaches.
var commander = storage.Audience{MemberID: "cmd", Role: storage.RoleCommander}

func testEventLogSeq(t *testing.T, s storage.Store) {
	ctx := t.Context()
	seq, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq of an empty store")
	if seq != 0 {
		t.Errorf("latest seq of an empty store: %d, want 0", seq)
	}
	members(t, s, newMember("cmd", 1, storage.RoleCommander, ""), newMember("r1", 2, storage.RoleResident, "v1"))

	var got []int64
	b, bev := bulletinAt("b1", "", at(time.Second))
	mustNoErr(t, s.CreateBulletin(ctx, b, bev), "create bulletin")
	if b.Seq != bev.Seq {
		t.Errorf("bulletin seq %d, event seq %d", b.Seq, bev.Seq)
	}
	got = append(got, bev.Seq)

	r, rev := reportAt("rp1", "r1", "v1", at(2*time.Second))
	mustNoErr(t, s.CreateReport(ctx, r, rev), "create report")
	if r.Seq != rev.Seq {
		t.Errorf("report seq %d, event seq %d", r.Seq, rev.Seq)
	}
	got = append(got, rev.Seq)

	a, aev := alertAt("a1", at(3*time.Second))
	mustNoErr(t, s.CreateAlert(ctx, a, aev, targets("cmd")), "create alert")
	if a.Seq != aev.Seq {
		t.Errorf("alert seq %d, event seq %d", a.Seq, aev.Seq)
	}
	got = append(got, aev.Seq)

	cev := cancelEvent("a1", at(4*time.Second))
	ca, err := s.CancelAlert(ctx, "a1", at(4*time.Second), cev)
	mustNoErr(t, err, "cancel alert")
	if ca.CancelSeq != cev.Seq {
		t.Errorf("cancel seq %d, event seq %d", ca.CancelSeq, cev.Seq)
	}
	got = append(got, cev.Seq)

	r.Status, r.UpdatedAt = storage.ReportAccepted, at(5*time.Second)
	uev := &storage.Event{Type: storage.EventReport, VillageID: "v1", MemberID: "r1",
		Body: json.RawMessage(`{"id":"rp1","status":"accepted"}`), CreatedAt: r.UpdatedAt}
	mustNoErr(t, s.UpdateReport(ctx, r, storage.ReportNew, uev), "update report")
	if r.Seq != uev.Seq {
		t.Errorf("updated report seq %d, event seq %d", r.Seq, uev.Seq)
	}
	got = append(got, uev.Seq)

	for i := range got {
		if got[i] < 1 || (i > 0 && got[i] <= got[i-1]) {
			t.Fatalf("seqs of successive writes are not strictly increasing from 1: %v", got)
		}
	}
	latest, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	if latest != got[len(got)-1] {
		t.Errorf("latest seq %d, want %d", latest, got[len(got)-1])
	}

	evs, err := s.EventsSince(ctx, commander, 0, 100)
	mustNoErr(t, err, "events since 0")
	wantEqual(t, seqs(evs), got, "the commander's events")
	if len(evs) != len(got) {
		t.FailNow()
	}
	want := []*storage.Event{bev, rev, aev, cev, uev}
	for i, e := range evs {
		w := want[i]
		if e.Type != w.Type || e.AlertID != w.AlertID || e.VillageID != w.VillageID || e.MemberID != w.MemberID {
			t.Errorf("event %d: got %+v, want %+v", e.Seq, e, *w)
		}
		wantJSON(t, e.Body, w.Body, "event body")
		wantTime(t, e.CreatedAt, w.CreatedAt, "event created_at")
	}
	// The reporter and the commander read the same report events.
	evs, err = s.EventsSince(ctx, storage.Audience{MemberID: "r1", Role: storage.RoleResident, VillageID: "v1"}, 0, 100)
	mustNoErr(t, err, "events since 0 for the reporter")
	wantEqual(t, seqs(evs), []int64{bev.Seq, rev.Seq, uev.Seq}, "the reporter's events")
}

func testEventsSinceAudience(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s,
		newMember("res1", 1, storage.RoleResident, "v1"),
		newMember("res1b", 2, storage.RoleResident, "v1"),
		newMember("res2", 3, storage.RoleResident, "v2"),
		newMember("cadre1", 4, storage.RoleCadre, "v1"),
		newMember("cadre2", 5, storage.RoleCadre, "v2"),
		newMember("cmd", 6, storage.RoleCommander, ""),
		newMember("adm", 7, storage.RoleAdmin, ""),
		newMember("nov", 8, storage.RoleResident, ""),
		newMember("patrol1", 9, storage.RolePatrol, "v1"),
	)
	c := func(n int) time.Time { return at(time.Duration(n) * time.Second) }
	a1 := createAlert(t, s, "A1", c(1), "res1", "cadre1").Seq
	b0 := createBulletin(t, s, "B0", "", c(2)).Seq
	b1 := createBulletin(t, s, "B1", "v1", c(3)).Seq
	b2 := createBulletin(t, s, "B2", "v2", c(4)).Seq
	r1 := createReport(t, s, "R1", "res1", "v1", c(5)).Seq
	r2 := createReport(t, s, "R2", "res2", "v2", c(6)).Seq
	cev := cancelEvent("A1", c(7))
	_, err := s.CancelAlert(ctx, "A1", c(7), cev)
	mustNoErr(t, err, "cancel A1")
	x1 := cev.Seq
	a2 := createAlert(t, s, "A2", c(8), "res2").Seq
	r, uev := reportAt("R1", "res1", "v1", c(9))
	r.Status = storage.ReportAccepted
	mustNoErr(t, s.UpdateReport(ctx, r, storage.ReportNew, uev), "update R1")
	u1 := uev.Seq
	r3 := createReport(t, s, "R3", "cadre2", "v2", c(10)).Seq // a cadre reporting

	cases := []struct {
		name string
		a    storage.Audience
		want []int64
	}{
		{"resident gets its alert, its cancel, county and village bulletins, its reports",
			storage.Audience{MemberID: "res1", Role: storage.RoleResident, VillageID: "v1"},
			[]int64{a1, b0, b1, r1, x1, u1}},
		{"resident does not get a neighbour's report",
			storage.Audience{MemberID: "res1b", Role: storage.RoleResident, VillageID: "v1"},
			[]int64{b0, b1}},
		{"patrol of the village does not get its reports either",
			storage.Audience{MemberID: "patrol1", Role: storage.RolePatrol, VillageID: "v1"},
			[]int64{b0, b1}},
		{"resident of another village",
			storage.Audience{MemberID: "res2", Role: storage.RoleResident, VillageID: "v2"},
			[]int64{b0, b2, r2, a2}},
		{"cadre gets its village's reports",
			storage.Audience{MemberID: "cadre1", Role: storage.RoleCadre, VillageID: "v1"},
			[]int64{a1, b0, b1, r1, x1, u1}},
		{"cadre of the other village, and its own report",
			storage.Audience{MemberID: "cadre2", Role: storage.RoleCadre, VillageID: "v2"},
			[]int64{b0, b2, r2, r3}},
		{"commander gets every report, no untargeted alert",
			storage.Audience{MemberID: "cmd", Role: storage.RoleCommander},
			[]int64{b0, r1, r2, u1, r3}},
		{"admin gets every report",
			storage.Audience{MemberID: "adm", Role: storage.RoleAdmin},
			[]int64{b0, r1, r2, u1, r3}},
		{"member without a village gets county-wide bulletins",
			storage.Audience{MemberID: "nov", Role: storage.RoleResident},
			[]int64{b0}},
		{"cadre without a village gets no village's reports",
			storage.Audience{MemberID: "nobody", Role: storage.RoleCadre},
			[]int64{b0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.EventsSince(ctx, tc.a, 0, 100)
			mustNoErr(t, err, "events since")
			wantEqual(t, seqs(got), tc.want, "seqs")
			// Resuming from the middle returns the tail.
			if len(tc.want) > 1 {
				mid := tc.want[0]
				got, err := s.EventsSince(ctx, tc.a, mid, 100)
				mustNoErr(t, err, "events since mid")
				wantEqual(t, seqs(got), tc.want[1:], "seqs after the first")
			}
		})
	}
}

func testEventsSinceLimit(t *testing.T, s storage.Store) {
	ctx := t.Context()
	var want []int64
	for i := range 25 {
		want = append(want, createBulletin(t, s, "b"+string(rune('a'+i)), "", at(time.Duration(i)*time.Second)).Seq)
	}
	a := storage.Audience{MemberID: "r", Role: storage.RoleResident}
	var got []int64
	since := int64(0)
	for range 10 {
		evs, err := s.EventsSince(ctx, a, since, 7)
		mustNoErr(t, err, "events since")
		if len(evs) > 7 {
			t.Fatalf("%d events with limit 7", len(evs))
		}
		if len(evs) == 0 {
			break
		}
		got = append(got, seqs(evs)...)
		since = evs[len(evs)-1].Seq
	}
	wantEqual(t, got, want, "paged events")
	latest, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	evs, err := s.EventsSince(ctx, a, latest, 7)
	mustNoErr(t, err, "events since the latest")
	if len(evs) != 0 {
		t.Errorf("events since the latest seq: %v", seqs(evs))
	}
}

func testActiveAlertsFor(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m", 1, storage.RoleResident, ""), newMember("o", 2, storage.RoleResident, ""))
	got, err := s.ActiveAlertsFor(ctx, "m", t0)
	mustNoErr(t, err, "active alerts of an empty store")
	if len(got) != 0 {
		t.Errorf("active alerts of an empty store: %v", got)
	}

	x := createAlert(t, s, "X", t0, "m", "o")
	y := createAlert(t, s, "Y", at(time.Second), "m")
	_, err = s.CancelAlert(ctx, "Y", at(2*time.Second), cancelEvent("Y", at(2*time.Second)))
	mustNoErr(t, err, "cancel Y")
	za, zev := alertAt("Z", at(3*time.Second))
	za.ExpiresAt = at(time.Hour)
	mustNoErr(t, s.CreateAlert(ctx, za, zev, targets("m")), "create Z")
	createAlert(t, s, "W", at(4*time.Second), "o")
	_ = y

	got, err = s.ActiveAlertsFor(ctx, "m", at(30*time.Minute))
	mustNoErr(t, err, "active alerts")
	wantEqual(t, seqs(got), []int64{x.Seq, za.Seq}, "active alerts of m at +30m")
	for _, e := range got {
		if e.Type != storage.EventAlert || (e.AlertID != "X" && e.AlertID != "Z") {
			t.Errorf("active alert event %+v", e)
		}
	}
	wantJSON(t, got[0].Body, json.RawMessage(`{"id":"X","title":"洪水预警 X"}`), "alert event body")

	// ExpiresAt is exclusive: at ExpiresAt the alert is expired.
	got, err = s.ActiveAlertsFor(ctx, "m", at(time.Hour))
	mustNoErr(t, err, "active alerts")
	wantEqual(t, seqs(got), []int64{x.Seq}, "active alerts of m when Z expires")

	got, err = s.ActiveAlertsFor(ctx, "o", at(time.Minute))
	mustNoErr(t, err, "active alerts")
	ids := []string{}
	for _, e := range got {
		ids = append(ids, e.AlertID)
	}
	if !slices.Equal(ids, []string{"X", "W"}) {
		t.Errorf("active alerts of o: %v, want [X W]", ids)
	}
	got, err = s.ActiveAlertsFor(ctx, "nobody", at(time.Minute))
	mustNoErr(t, err, "active alerts of an unknown member")
	if len(got) != 0 {
		t.Errorf("active alerts of an unknown member: %v", got)
	}
}
