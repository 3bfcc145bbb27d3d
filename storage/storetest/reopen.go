package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunReopen checks that what a store wrote is there after it is closed and
// opened again, and that the seq goes on from where it was. Every call of
// open must return a store over the same data (the same file, the same
// database or schema) and register its cleanup; RunReopen closes each store
// before opening the next, so Close must be safe to call twice.
func RunReopen(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Helper()
	ctx := t.Context()

	s := open(t)
	village(t, s, "v1")
	m := newMember("m1", 1, storage.RoleResident, "v1")
	m.Home = &storage.LatLng{Lat: 29.1, Lng: 119.1}
	mustNoErr(t, s.CreateMembers(ctx, []storage.NewMember{{Member: m, TokenHash: tokenHash("tok")}}), "create member")
	members(t, s, newMember("m2", 2, storage.RoleCommander, ""))
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{{MemberID: "m1", SMSDueAt: at(time.Hour)}, {MemberID: "m2"}}), "create alert")
	_, err := s.RecordAcks(ctx, []storage.Ack{ack("a1", "m2", storage.RespComing, at(time.Minute))})
	mustNoErr(t, err, "record ack")
	createReport(t, s, "r1", "m1", "v1", at(2*time.Minute))
	createBulletin(t, s, "b1", "", at(3*time.Minute))
	mustNoErr(t, s.PutMedia(ctx, storage.Media{ID: "img", ContentType: "image/png", Size: 3, OwnerID: "m1", CreatedAt: t0},
		[]byte{1, 2, 3}), "put media")
	_, err = s.UpdateMember(ctx, "m1", storage.MemberUpdate{Address: ptr("3 组 12 号"), TravelMode: ptr("bike")})
	mustNoErr(t, err, "update member")
	net := networkOf("sha256:n1", t0)
	mustNoErr(t, s.PutNetwork(ctx, net), "put network")
	latest, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	mustNoErr(t, s.Close(), "close")

	check := func(s storage.Store, wantEvents int, wantNet *storage.Network) {
		t.Helper()
		got, err := s.MemberByToken(ctx, tokenHash("tok"))
		mustNoErr(t, err, "member by token after reopen")
		if got.ID != "m1" || got.Home == nil || got.Address != "3 组 12 号" || got.TravelMode != "bike" {
			t.Errorf("member after reopen: %+v", got)
		}
		cur, err := s.CurrentNetwork(ctx)
		mustNoErr(t, err, "current network after reopen")
		wantNetwork(t, cur, wantNet, true, true, "current network after reopen")
		ga, err := s.GetAlert(ctx, "a1")
		mustNoErr(t, err, "get alert after reopen")
		wantAlert(t, ga, *a)
		p, err := s.AlertProgress(ctx, "a1")
		mustNoErr(t, err, "progress after reopen")
		wantEqual(t, p, storage.Progress{Targeted: 2, Delivered: 1, Acked: allAcked(storage.RespComing, 1),
			SMS: storage.SMSCounts{Queued: 1}}, "progress after reopen")
		if _, err := s.GetReport(ctx, "r1"); err != nil {
			t.Errorf("report after reopen: %v", err)
		}
		if _, data, err := s.GetMedia(ctx, "img"); err != nil || !bytes.Equal(data, []byte{1, 2, 3}) {
			t.Errorf("media after reopen: %v %v", data, err)
		}
		evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "m1", Role: storage.RoleResident, VillageID: "v1"}, 0, 100)
		mustNoErr(t, err, "events after reopen")
		if len(evs) != wantEvents {
			t.Errorf("m1's events after reopen: %v, want %d: the alert, the report and the bulletins", seqs(evs), wantEvents)
		}
	}

	s = open(t)
	check(s, 3, net)
	got, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq after reopen")
	if got != latest {
		t.Errorf("latest seq after reopen: %d, want %d", got, latest)
	}
	b := createBulletin(t, s, "b2", "", at(4*time.Minute))
	if b.Seq <= latest {
		t.Errorf("seq after reopen %d does not follow %d", b.Seq, latest)
	}
	net2 := networkOf("sha256:n2", t0)
	mustNoErr(t, s.PutNetwork(ctx, net2), "put network after reopen")
	if net2.Seq <= net.Seq {
		t.Errorf("network seq after reopen %d does not follow %d", net2.Seq, net.Seq)
	}
	mustNoErr(t, s.Close(), "close")

	s = open(t)
	check(s, 4, net2)
	bs, err := s.ListBulletins(ctx, storage.BulletinFilter{})
	mustNoErr(t, err, "list bulletins")
	if len(bs) != 2 || bs[0].ID != "b2" || bs[0].Seq != b.Seq {
		t.Errorf("bulletins after the second reopen: %+v", bs)
	}
	mustNoErr(t, s.Close(), "close")
}
