package storetest

import (
	"context"
	"slices"
	"testing"

	"github.com/longyou/hub/storage"
)

// clusterCases are what a node of a cluster reads to catch up and to find
// its own recipients of an alert accepted elsewhere.
var clusterCases = []testCase{
	{"EventsAfterEveryType", testEventsAfter},
	{"TargetsAmong", testTargetsAmong},
	{"TargetsAmongBigAlert", testTargetsAmongBig},
}

func testEventsAfter(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v1"))
	createAlert(t, s, "a1", at(0), "m1")
	createBulletin(t, s, "b1", "v1", at(1))
	createReport(t, s, "r1", "m2", "v1", at(2))
	_, err := s.CancelAlert(ctx, "a1", at(3), cancelEvent("a1", at(3)))
	mustNoErr(t, err, "cancel")

	all, err := s.EventsAfter(ctx, 0, 0)
	mustNoErr(t, err, "events after 0")
	var types []string
	for _, ev := range all {
		types = append(types, ev.Type)
	}
	wantEqual(t, types, []string{storage.EventAlert, storage.EventBulletin, storage.EventReport, storage.EventAlertCancel}, "types in seq order")
	if !slices.IsSorted(seqs(all)) {
		t.Errorf("seqs %v not in order", seqs(all))
	}
	wantEqual(t, all[0].AlertID, "a1", "alert event's alert id")
	wantEqual(t, all[1].VillageID, "v1", "bulletin's village")
	wantEqual(t, all[2].MemberID, "m2", "report's reporter")

	page, err := s.EventsAfter(ctx, all[0].Seq, 2)
	mustNoErr(t, err, "events after the first, limit 2")
	wantEqual(t, seqs(page), seqs(all[1:3]), "a page")
	none, err := s.EventsAfter(ctx, all[3].Seq, 10)
	mustNoErr(t, err, "events after the last")
	if len(none) != 0 {
		t.Errorf("events after the newest: %v", seqs(none))
	}
}

func testTargetsAmong(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RoleResident, "v1"),
		newMember("m3", 3, storage.RoleResident, "v1"))
	createAlert(t, s, "a1", at(0), "m1", "m3")
	got, err := s.TargetsAmong(ctx, "a1", []string{"m3", "m2", "nobody", "m3"})
	mustNoErr(t, err, "targets among")
	slices.Sort(got)
	wantEqual(t, got, []string{"m3"}, "targets among m3, m2, nobody")
	got, err = s.TargetsAmong(ctx, "a1", nil)
	mustNoErr(t, err, "targets among none")
	if len(got) != 0 {
		t.Errorf("targets among nobody = %v", got)
	}
	got, err = s.TargetsAmong(ctx, "no-such-alert", []string{"m1"})
	mustNoErr(t, err, "targets of an unknown alert")
	if len(got) != 0 {
		t.Errorf("targets of an unknown alert = %v", got)
	}
	// A member who moved in later is a target from then on.
	_, err = s.AddTargets(ctx, "a1", targets("m2"), at(1))
	mustNoErr(t, err, "add targets")
	got, err = s.TargetsAmong(ctx, "a1", []string{"m1", "m2", "m3"})
	mustNoErr(t, err, "targets among after the move-in")
	slices.Sort(got)
	wantEqual(t, got, []string{"m1", "m2", "m3"}, "targets after the move-in")
}

// A big alert (a backend may write its rows after the alert returns) is
// answered as completely as a small one, at once.
func testTargetsAmongBig(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	ids := manyMembers(t, s, "tb", 3000, "v1")
	createAlert(t, s, "big", at(0), ids[:2000]...)
	local := append(slices.Clone(ids[1500:2500]), "stranger")
	got, err := s.TargetsAmong(ctx, "big", local)
	mustNoErr(t, err, "targets among")
	slices.Sort(got)
	wantEqual(t, got, ids[1500:2000], "targets among 1,000 local members, 500 of them targeted")
}
