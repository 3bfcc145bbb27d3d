package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

var alertCases = []testCase{
	{"CreateAlertRoundTrip", testCreateAlertRoundTrip},
	{"CreateAlertConflict", testCreateAlertConflict},
	{"CreateAlertUnknownMember", testCreateAlertUnknownMember},
	{"CreateAlertDuplicateTargets", testCreateAlertDuplicateTargets},
	{"CancelAlert", testCancelAlert},
	{"CancelAlertExpired", testCancelAlertExpired},
	{"ListAlerts", testListAlerts},
	{"AddTargets", testAddTargets},
	{"AddTargetsEndedAlert", testAddTargetsEndedAlert},
	{"MarkDelivered", testMarkDelivered},
	{"RecordAcksLatestWins", testRecordAcksLatestWins},
	{"RecordAcksCancelsPendingSMS", testRecordAcksCancelsPendingSMS},
	{"RecordAcksIdempotent", testRecordAcksIdempotent},
	{"RecordAcksHistoryBounded", testRecordAcksHistoryBounded},
	{"AlertProgress", testAlertProgress},
	{"ListRecipients", testListRecipients},
}

// wantAlert compares two alerts field by field, times as instants and Area
// as JSON.
func wantAlert(t testing.TB, got, want storage.Alert) {
	t.Helper()
	wantJSON(t, got.Area, want.Area, want.ID+" area")
	wantTime(t, got.CreatedAt, want.CreatedAt, want.ID+" created_at")
	wantTime(t, got.ExpiresAt, want.ExpiresAt, want.ID+" expires_at")
	wantTimePtr(t, got.CancelledAt, want.CancelledAt, want.ID+" cancelled_at")
	got.Area, got.CreatedAt, got.ExpiresAt, got.CancelledAt = want.Area, want.CreatedAt, want.ExpiresAt, want.CancelledAt
	wantEqual(t, got, want, "alert")
}

func testCreateAlertRoundTrip(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, "v1"), newMember("m2", 2, storage.RolePatrol, "v2"),
		newMember("m3", 3, storage.RoleResident, "v1"))

	a, ev := alertAt("full", t0)
	a.Villages = []string{"v1", "v2"}
	a.Roles = []storage.Role{storage.RoleResident, storage.RolePatrol}
	a.Area = json.RawMessage(`{"villages": ["v1", "v2"]}`)
	due := at(time.Minute)
	err := s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: due, SMSPriority: 3}, {MemberID: "m2", SMSPriority: 3}, {MemberID: "m3", SMSDueAt: t0, SMSPriority: 5},
	})
	mustNoErr(t, err, "create alert")
	if ev.Seq < 1 || a.Seq != ev.Seq {
		t.Fatalf("after CreateAlert: ev.Seq %d, a.Seq %d", ev.Seq, a.Seq)
	}
	got, err := s.GetAlert(ctx, "full")
	mustNoErr(t, err, "get alert")
	wantAlert(t, got, *a)

	// An alert without any optional field reads back with nils.
	b, bev := alertAt("bare", at(time.Second))
	b.SMSFallbackAfterS = nil
	mustNoErr(t, s.CreateAlert(ctx, b, bev, nil), "create alert without targets")
	got, err = s.GetAlert(ctx, "bare")
	mustNoErr(t, err, "get alert")
	wantAlert(t, got, *b)
	if got.Villages != nil || got.Roles != nil || got.SMSFallbackAfterS != nil || got.CancelledAt != nil || got.CancelSeq != 0 {
		t.Errorf("optional fields of a bare alert: %+v", got)
	}
	if b.Seq <= a.Seq {
		t.Errorf("second alert seq %d not after %d", b.Seq, a.Seq)
	}

	_, err = s.GetAlert(ctx, "missing")
	wantErrIs(t, err, storage.ErrNotFound, "get missing alert")

	for _, tc := range []struct {
		alert, member string
		want          bool
	}{{"full", "m1", true}, {"full", "m2", true}, {"bare", "m1", false}, {"full", "nobody", false}, {"missing", "m1", false}} {
		ok, err := s.IsTargeted(ctx, tc.alert, tc.member)
		mustNoErr(t, err, "is targeted")
		if ok != tc.want {
			t.Errorf("IsTargeted(%s, %s) = %v, want %v", tc.alert, tc.member, ok, tc.want)
		}
	}

	// SMS rows: one per target with an SMSDueAt, kind alert, pending.
	sms, err := s.ListMessages(ctx, storage.AlertRef("full"))
	mustNoErr(t, err, "list sms")
	if len(sms) != 2 {
		t.Fatalf("sms rows: %+v, want m1 and m3", sms)
	}
	for i, want := range []struct {
		member   string
		due      time.Time
		priority int
	}{{"m1", due, 3}, {"m3", t0, 5}} {
		r := sms[i]
		if r.Channel != storage.ChannelSMS || r.Ref != storage.AlertRef("full") || r.MemberID != want.member || r.Kind != storage.MessageAlert || r.State != storage.MessagePending ||
			r.Attempts != 0 || r.Priority != want.priority {
			t.Errorf("sms row %d: %+v", i, r)
		}
		wantTime(t, r.DueAt, want.due, "sms due_at")
	}
	p, err := s.AlertProgress(ctx, "full")
	mustNoErr(t, err, "progress")
	wantEqual(t, p, storage.Progress{Targeted: 3, Acked: allAcked(), SMS: storage.SMSCounts{Queued: 2}}, "progress of a new alert")
}

func testCreateAlertConflict(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1")
	before, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")

	a, ev := alertAt("a1", at(time.Minute))
	a.Title = "second"
	err = s.CreateAlert(ctx, a, ev, []storage.Target{{MemberID: "m2", SMSDueAt: t0}})
	wantErrIs(t, err, storage.ErrConflict, "create alert with a taken id")
	after, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	if after != before {
		t.Errorf("a failed CreateAlert moved the latest seq from %d to %d", before, after)
	}
	ok, err := s.IsTargeted(ctx, "a1", "m2")
	mustNoErr(t, err, "is targeted")
	if ok {
		t.Error("a failed CreateAlert added its targets")
	}
	got, err := s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get alert")
	if got.Title == "second" {
		t.Error("a failed CreateAlert overwrote the alert")
	}
	sms, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	if len(sms) != 0 {
		t.Errorf("a failed CreateAlert queued sms: %+v", sms)
	}
}

// Reading: a target that is not a member is a missing record, so
// ErrNotFound, and the transaction writes nothing.
func testCreateAlertUnknownMember(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	a, ev := alertAt("a1", t0)
	err := s.CreateAlert(ctx, a, ev, targets("m1", "ghost"))
	wantErrIs(t, err, storage.ErrNotFound, "create alert targeting a missing member")
	_, err = s.GetAlert(ctx, "a1")
	wantErrIs(t, err, storage.ErrNotFound, "alert of a failed CreateAlert")
	seq, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	if seq != 0 {
		t.Errorf("a failed CreateAlert left event seq %d", seq)
	}
}

// Reading: a member listed twice among the targets is targeted once.
func testCreateAlertDuplicateTargets(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	a, ev := alertAt("a1", t0)
	err := s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2"}, {MemberID: "m1", SMSDueAt: t0},
	})
	mustNoErr(t, err, "create alert with a duplicate target")
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	if p.Targeted != 2 || p.SMS.Queued != 1 {
		t.Errorf("progress: %+v, want 2 targeted and 1 sms queued", p)
	}
}

func testCancelAlert(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""),
		newMember("m3", 3, storage.RoleResident, ""), newMember("out", 4, storage.RoleResident, ""))
	a, ev := alertAt("a1", t0)
	err := s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2", SMSDueAt: at(time.Hour)}, {MemberID: "m3", SMSDueAt: t0},
	})
	mustNoErr(t, err, "create alert")
	// m1's SMS is taken by a sender before the cancel; m3's is also due
	// now but the limit leaves it pending.
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 1, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != 1 {
		t.Fatalf("claimed %d rows, want 1", len(claimed))
	}
	claimedMember := claimed[0].MemberID
	allClear := storage.Message{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "m1", Kind: storage.MessageAllClear, Priority: 1, DueAt: at(time.Hour)}
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{allClear}), "enqueue all-clear sms")

	cev := cancelEvent("a1", at(time.Minute))
	got, err := s.CancelAlert(ctx, "a1", at(time.Minute), cev)
	mustNoErr(t, err, "cancel alert")
	if got.Status != storage.AlertCancelled || got.CancelSeq != cev.Seq || cev.Seq <= a.Seq {
		t.Errorf("cancelled alert: status %q, cancel seq %d (event %d, alert %d)", got.Status, got.CancelSeq, cev.Seq, a.Seq)
	}
	if got.CancelledAt == nil {
		t.Fatal("cancelled alert has no CancelledAt")
	}
	wantTime(t, *got.CancelledAt, at(time.Minute), "cancelled_at")
	want := *a
	want.Status, want.CancelSeq, want.CancelledAt = storage.AlertCancelled, cev.Seq, got.CancelledAt
	wantAlert(t, got, want)
	stored, err := s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get alert")
	wantAlert(t, stored, want)

	// Pending alert SMS are cancelled, and so is the claimed one, whose
	// send had not started: its sender cannot start it now. The all-clear
	// exists to be sent after the cancel (Reading: only kind alert is
	// cancelled); no other all-clear is queued, no alert SMS having started.
	sms, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	for _, r := range sms {
		want := storage.MessageCancelled
		if r.Kind == storage.MessageAllClear {
			want = storage.MessagePending
		}
		if r.State != want {
			t.Errorf("sms %s/%s after cancel: %s, want %s", r.MemberID, r.Kind, r.State, want)
		}
	}
	if len(sms) != 4 {
		t.Errorf("%d sms rows after the cancel, want the 3 alert SMS and m1's all-clear", len(sms))
	}
	wantErrIs(t, s.StartSending(ctx, smsKey("a1", claimedMember, storage.MessageAlert), "sender", at(time.Minute)),
		storage.ErrConflict, "start sending a claimed alert SMS after the cancel")

	// The cancel event reaches the targets only.
	for _, m := range []string{"m1", "m2", "m3", "out"} {
		evs, err := s.EventsSince(ctx, storage.Audience{MemberID: m, Role: storage.RoleResident}, a.Seq, 10)
		mustNoErr(t, err, "events since")
		var want []int64
		if m != "out" {
			want = []int64{cev.Seq}
		}
		if !slices.Equal(seqs(evs), want) {
			t.Errorf("events of %s after the alert: %v, want %v", m, seqs(evs), want)
		}
	}

	before, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	_, err = s.CancelAlert(ctx, "a1", at(2*time.Minute), cancelEvent("a1", at(2*time.Minute)))
	wantErrIs(t, err, storage.ErrConflict, "cancel a cancelled alert")
	after, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	if after != before {
		t.Errorf("a refused cancel appended an event (seq %d -> %d)", before, after)
	}
	_, err = s.CancelAlert(ctx, "missing", at(time.Minute), cancelEvent("missing", at(time.Minute)))
	wantErrIs(t, err, storage.ErrNotFound, "cancel a missing alert")
}

func testCancelAlertExpired(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	a, ev := alertAt("a1", t0)
	a.ExpiresAt = at(time.Hour)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{{MemberID: "m1", SMSDueAt: at(2 * time.Hour)}}), "create alert")
	_, err := s.CancelAlert(ctx, "a1", at(time.Hour), cancelEvent("a1", at(time.Hour)))
	wantErrIs(t, err, storage.ErrConflict, "cancel an alert at its expiry")
	_, err = s.CancelAlert(ctx, "a1", at(2*time.Hour), cancelEvent("a1", at(2*time.Hour)))
	wantErrIs(t, err, storage.ErrConflict, "cancel an expired alert")
	got, err := s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get alert")
	// Backends store "active"; readers compare ExpiresAt.
	if got.Status != storage.AlertActive || got.CancelledAt != nil || got.CancelSeq != 0 {
		t.Errorf("expired alert after a refused cancel: %+v", got)
	}
	// Cancelling before the expiry works.
	_, err = s.CancelAlert(ctx, "a1", at(59*time.Minute), cancelEvent("a1", at(59*time.Minute)))
	mustNoErr(t, err, "cancel before expiry")
}

func testListAlerts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	a1, ev := alertAt("a1", t0)
	a1.Villages = []string{"v1"}
	mustNoErr(t, s.CreateAlert(ctx, a1, ev, targets("m1")), "create a1")
	a2, ev := alertAt("a2", at(time.Minute))
	a2.ExpiresAt = at(time.Hour)
	mustNoErr(t, s.CreateAlert(ctx, a2, ev, nil), "create a2")
	createAlert(t, s, "a3", at(2*time.Minute))
	_, err := s.CancelAlert(ctx, "a3", at(3*time.Minute), cancelEvent("a3", at(3*time.Minute)))
	mustNoErr(t, err, "cancel a3")
	a4, ev := alertAt("a4", at(4*time.Minute))
	a4.Villages = []string{"v1", "v2"}
	mustNoErr(t, s.CreateAlert(ctx, a4, ev, nil), "create a4")

	now := at(2 * time.Hour)
	// Reading: alerts are listed newest first.
	for _, tc := range []struct {
		name string
		f    storage.AlertFilter
		want []string
	}{
		{"all", storage.AlertFilter{Now: now}, []string{"a4", "a3", "a2", "a1"}},
		{"active", storage.AlertFilter{Status: storage.AlertActive, Now: now}, []string{"a4", "a1"}},
		{"active before a2 expires", storage.AlertFilter{Status: storage.AlertActive, Now: at(30 * time.Minute)}, []string{"a4", "a2", "a1"}},
		{"expired", storage.AlertFilter{Status: storage.AlertExpired, Now: now}, []string{"a2"}},
		{"expired at the expiry", storage.AlertFilter{Status: storage.AlertExpired, Now: at(time.Hour)}, []string{"a2"}},
		{"cancelled", storage.AlertFilter{Status: storage.AlertCancelled, Now: now}, []string{"a3"}},
		{"village v1", storage.AlertFilter{Village: "v1", Now: now}, []string{"a4", "a1"}},
		{"village v2", storage.AlertFilter{Village: "v2", Now: now}, []string{"a4"}},
		{"village v3", storage.AlertFilter{Village: "v3", Now: now}, []string{}},
		{"active in v2", storage.AlertFilter{Status: storage.AlertActive, Village: "v2", Now: now}, []string{"a4"}},
		{"limit", storage.AlertFilter{Limit: 2, Now: now}, []string{"a4", "a3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListAlerts(ctx, tc.f)
			mustNoErr(t, err, "list alerts")
			wantEqual(t, alertIDsOf(got), tc.want, "alerts")
		})
	}
	got, err := s.ListAlerts(ctx, storage.AlertFilter{Status: storage.AlertExpired, Now: now})
	mustNoErr(t, err, "list expired")
	if len(got) == 1 {
		wantAlert(t, got[0], *a2)
	}
}

func testAddTargets(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""),
		newMember("m3", 3, storage.RoleResident, ""))
	a := createAlert(t, s, "a1", t0, "m1")

	added, err := s.AddTargets(ctx, "a1", []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2", SMSDueAt: at(time.Minute), SMSPriority: 2}, {MemberID: "m3"},
	}, at(10*time.Second))
	mustNoErr(t, err, "add targets")
	wantEqual(t, added, []string{"m2", "m3"}, "newly targeted")
	added, err = s.AddTargets(ctx, "a1", targets("m3", "m2"), at(20*time.Second))
	mustNoErr(t, err, "add targets again")
	if len(added) != 0 {
		t.Errorf("adding targeted members again returned %v", added)
	}
	for _, m := range []string{"m1", "m2", "m3"} {
		ok, err := s.IsTargeted(ctx, "a1", m)
		mustNoErr(t, err, "is targeted")
		if !ok {
			t.Errorf("%s not targeted after AddTargets", m)
		}
	}
	// Only the new target with an SMSDueAt gets an SMS (m1 was targeted
	// before, without one).
	sms, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	if len(sms) != 1 || sms[0].MemberID != "m2" || sms[0].State != storage.MessagePending || sms[0].Kind != storage.MessageAlert ||
		sms[0].Priority != 2 {
		t.Fatalf("sms after AddTargets: %+v, want m2's", sms)
	}
	wantTime(t, sms[0].DueAt, at(time.Minute), "sms due")

	// The new target is addressed by the alert's events from now on.
	evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "m2", Role: storage.RoleResident}, 0, 10)
	mustNoErr(t, err, "events since")
	wantEqual(t, seqs(evs), []int64{a.Seq}, "events of an added target")
	evs, err = s.ActiveAlertsFor(ctx, "m3", at(time.Minute))
	mustNoErr(t, err, "active alerts")
	wantEqual(t, seqs(evs), []int64{a.Seq}, "active alerts of an added target")
	_, err = s.AddTargets(ctx, "missing", targets("m1"), t0)
	wantErrIs(t, err, storage.ErrNotFound, "add targets to a missing alert")
	_, err = s.AddTargets(ctx, "a1", targets("ghost"), t0)
	wantErrIs(t, err, storage.ErrNotFound, "add a missing member")

	cev := cancelEvent("a1", at(time.Minute))
	_, err = s.CancelAlert(ctx, "a1", at(time.Minute), cev)
	mustNoErr(t, err, "cancel")
	evs, err = s.EventsSince(ctx, storage.Audience{MemberID: "m3", Role: storage.RoleResident}, a.Seq, 10)
	mustNoErr(t, err, "events since")
	wantEqual(t, seqs(evs), []int64{cev.Seq}, "cancel event of an added target")

	recips, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "list recipients")
	if len(recips) == 3 {
		wantTime(t, recips[0].TargetedAt, t0, "m1 targeted_at")
		wantTime(t, recips[1].TargetedAt, at(10*time.Second), "m2 targeted_at")
	}
}

// testAddTargetsEndedAlert (issue 13): a member who moves into the area of
// an alert that is cancelled, or expired, at that moment is not addressed
// by it: nothing is written, no id is returned, and no event of the alert
// reaches the member.
func testAddTargetsEndedAlert(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""),
		newMember("m3", 3, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1")
	_, err := s.CancelAlert(ctx, "a1", at(time.Minute), cancelEvent("a1", at(time.Minute)))
	mustNoErr(t, err, "cancel")
	for _, when := range []time.Duration{2 * time.Minute, 30 * time.Second} {
		added, err := s.AddTargets(ctx, "a1", []storage.Target{{MemberID: "m2", SMSDueAt: at(when)}}, at(when))
		mustNoErr(t, err, "add targets to a cancelled alert")
		if len(added) != 0 {
			t.Errorf("add targets to a cancelled alert at +%v: %v, want none", when, added)
		}
	}
	ok, err := s.IsTargeted(ctx, "a1", "m2")
	mustNoErr(t, err, "is targeted")
	recips, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	sms, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "m2", Role: storage.RoleResident}, 0, 10)
	mustNoErr(t, err, "events since")
	if ok || len(recips) != 1 || len(sms) != 0 || len(evs) != 0 {
		t.Errorf("after adding m2 to a cancelled alert: targeted %v, %d recipients, sms %+v, events %v; want nothing of m2",
			ok, len(recips), sms, seqs(evs))
	}

	// Expired: nothing at or after the expiry, as before it.
	a, ev := alertAt("a2", t0)
	a.ExpiresAt = at(time.Hour)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, targets("m1")), "create alert")
	for _, when := range []time.Duration{time.Hour, 2 * time.Hour} {
		added, err := s.AddTargets(ctx, "a2", targets("m2"), at(when))
		mustNoErr(t, err, "add targets to an expired alert")
		if len(added) != 0 {
			t.Errorf("add targets at +%v to an alert expiring at +1h: %v, want none", when, added)
		}
	}
	added, err := s.AddTargets(ctx, "a2", targets("m3"), at(59*time.Minute))
	mustNoErr(t, err, "add targets before the expiry")
	wantEqual(t, added, []string{"m3"}, "added before the expiry")
	rs, err := s.TargetsAmong(ctx, "a2", []string{"m1", "m2", "m3"})
	mustNoErr(t, err, "targets among")
	slices.Sort(rs)
	wantEqual(t, rs, []string{"m1", "m3"}, "targets of the expiring alert")
}

func testMarkDelivered(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1", "m2")
	mustNoErr(t, s.MarkDelivered(ctx, []storage.Delivery{
		{AlertID: "a1", MemberID: "m1", At: at(time.Second)},
		{AlertID: "a1", MemberID: "ghost", At: at(time.Second)}, // not targeted: ignored
		{AlertID: "missing", MemberID: "m1", At: at(time.Second)},
	}), "mark delivered")
	mustNoErr(t, s.MarkDelivered(ctx, []storage.Delivery{{AlertID: "a1", MemberID: "m1", At: at(time.Minute)}}),
		"mark delivered again")
	mustNoErr(t, s.MarkDelivered(ctx, nil), "mark nothing delivered")

	recips, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "list recipients")
	if len(recips) != 2 {
		t.Fatalf("recipients: %+v", recips)
	}
	wantTimePtr(t, recips[0].DeliveredAt, new(at(time.Second)), "m1 delivered_at (the first one stays)")
	wantTimePtr(t, recips[1].DeliveredAt, nil, "m2 delivered_at")
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	if p.Targeted != 2 || p.Delivered != 1 {
		t.Errorf("progress: %+v, want 2 targeted, 1 delivered", p)
	}
}

func testRecordAcksLatestWins(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""),
		newMember("m3", 3, storage.RolePatrol, ""), newMember("out", 4, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1", "m2", "m3")

	eta := 12
	ok, err := s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m1", storage.RespReceived, at(1*time.Minute)),
		ack("a1", "m1", storage.RespNeedHelp, at(3*time.Minute)),
		ack("a1", "m1", storage.RespSafe, at(2*time.Minute)), // older than need_help: history only
		ack("a1", "out", storage.RespSafe, at(time.Minute)),  // not addressed
		ack("missing", "m1", storage.RespSafe, at(time.Minute)),
		{AlertID: "a1", MemberID: "m3", Response: storage.RespComing, EtaMin: &eta, Note: "带上救生衣", At: at(time.Minute)},
		ack("a1", "m2", storage.RespSafe, at(time.Minute)),
	})
	mustNoErr(t, err, "record acks")
	wantEqual(t, ok, []bool{true, true, true, false, false, true, true}, "ok")
	if ok, err := s.IsTargeted(ctx, "a1", "out"); err != nil || ok {
		t.Errorf("an ack of a member not addressed targeted it (%v, %v)", ok, err)
	}

	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.Acked, allAcked(storage.RespNeedHelp, 1, storage.RespComing, 1, storage.RespSafe, 1), "acked")

	// A later batch: m1's newer answer wins, m2's older one does not.
	ok, err = s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m1", storage.RespSafe, at(4*time.Minute)),
		ack("a1", "m2", storage.RespNeedHelp, at(30*time.Second)),
	})
	mustNoErr(t, err, "record acks")
	wantEqual(t, ok, []bool{true, true}, "ok")
	p, err = s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.Acked, allAcked(storage.RespSafe, 2, storage.RespComing, 1), "acked after the second batch")
	if p.Delivered != 3 {
		t.Errorf("delivered %d, want 3 (every member who answered)", p.Delivered)
	}

	recips, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "list recipients")
	if len(recips) != 3 {
		t.Fatalf("recipients: %+v", recips)
	}
	m1, m2, m3 := recips[0], recips[1], recips[2]
	if m1.Response != storage.RespSafe || m2.Response != storage.RespSafe || m3.Response != storage.RespComing {
		t.Errorf("responses: %s %s %s", m1.Response, m2.Response, m3.Response)
	}
	wantTimePtr(t, m1.RespondedAt, new(at(4*time.Minute)), "m1 responded_at")
	wantTimePtr(t, m2.RespondedAt, new(at(time.Minute)), "m2 responded_at")
	if m3.EtaMin == nil || *m3.EtaMin != 12 || m3.Note != "带上救生衣" {
		t.Errorf("m3 eta/note: %v %q", m3.EtaMin, m3.Note)
	}
	if m1.EtaMin != nil || m1.Note != "" {
		t.Errorf("m1 eta/note are its latest answer's: %v %q", m1.EtaMin, m1.Note)
	}

	ok, err = s.RecordAcks(ctx, nil)
	mustNoErr(t, err, "record no acks")
	if len(ok) != 0 {
		t.Errorf("ok of no acks: %v", ok)
	}
}

func testRecordAcksCancelsPendingSMS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""),
		newMember("m3", 3, storage.RoleResident, ""))
	a, ev := alertAt("a1", t0)
	err := s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: at(time.Hour)}, {MemberID: "m2", SMSDueAt: at(time.Hour)},
		{MemberID: "m3", SMSDueAt: t0},
	})
	mustNoErr(t, err, "create alert")
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != 1 || claimed[0].MemberID != "m3" {
		t.Fatalf("claimed %+v, want m3's row", claimed)
	}
	_, err = s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m1", storage.RespReceived, at(time.Minute)),
		ack("a1", "m3", storage.RespSafe, at(time.Minute)),
	})
	mustNoErr(t, err, "record acks")
	sms, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	want := map[string]string{"m1": storage.MessageCancelled, "m2": storage.MessagePending, "m3": storage.MessageClaimed}
	for _, r := range sms {
		if r.State != want[r.MemberID] {
			t.Errorf("sms of %s: %s, want %s", r.MemberID, r.State, want[r.MemberID])
		}
	}
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	if p.SMS.Queued != 2 { // m2 pending, m3 claimed
		t.Errorf("sms queued %d, want 2", p.SMS.Queued)
	}
}

func testAlertProgress(t *testing.T, s storage.Store) {
	ctx := t.Context()
	ids := []string{"m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "m9"}
	for i, id := range ids {
		members(t, s, newMember(id, i+1, storage.RoleResident, ""))
	}
	_, err := s.AlertProgress(ctx, "a1")
	wantErrIs(t, err, storage.ErrNotFound, "progress of a missing alert")

	a, ev := alertAt("a1", t0)
	var ts []storage.Target
	for _, id := range ids {
		tg := storage.Target{MemberID: id}
		if id != "m1" && id != "m2" && id != "m4" && id != "m9" {
			tg.SMSDueAt = t0
		}
		ts = append(ts, tg)
	}
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p, storage.Progress{Targeted: 9, Acked: allAcked(), SMS: storage.SMSCounts{Queued: 5}}, "progress of a new alert")

	// m1: written to its WebSocket. m2: answered only. m4: both (counted
	// once). m3: its SMS was delivered. m5: SMS pending. m6: claimed. m7:
	// sent. m8: failed. m9: nothing.
	mustNoErr(t, s.MarkDelivered(ctx, []storage.Delivery{
		{AlertID: "a1", MemberID: "m1", At: at(time.Second)}, {AlertID: "a1", MemberID: "m4", At: at(time.Second)},
	}), "mark delivered")
	_, err = s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m2", storage.RespNeedHelp, at(time.Minute)), ack("a1", "m4", storage.RespSafe, at(time.Minute)),
	})
	mustNoErr(t, err, "record acks")
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != 5 {
		t.Fatalf("claimed %d rows, want m3 m5 m6 m7 m8", len(claimed))
	}
	complete := func(m, state, sid string, segs int) {
		t.Helper()
		mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", m, storage.MessageAlert), storage.MessageResult{
			State: state, ProviderID: sid, Status: "queued", Segments: segs, At: at(2 * time.Second),
		}), "complete sms of "+m)
	}
	complete("m3", storage.MessageSent, "SM3", 2)
	complete("m7", storage.MessageSent, "SM7", 2)
	complete("m8", storage.MessageFailed, "", 0)
	mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", "m5", storage.MessageAlert), storage.MessageResult{
		State: storage.MessagePending, RetryAt: at(time.Hour), At: at(2 * time.Second),
	}), "retry m5")
	mustNoErr(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, "SM3", smsStatus("delivered", "", at(time.Minute))), "sms delivered")
	// An all-clear SMS of the same alert is not one of its alert SMS.
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "m9", Kind: storage.MessageAllClear, DueAt: t0}}),
		"enqueue all-clear")

	p, err = s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	want := storage.Progress{
		Targeted:  9,
		Delivered: 4, // m1 m2 m3 m4
		Acked:     allAcked(storage.RespNeedHelp, 1, storage.RespSafe, 1),
		SMS:       storage.SMSCounts{Queued: 2, Sent: 1, Delivered: 1, Failed: 1, Segments: 4},
	}
	wantEqual(t, p, want, "progress")
	// m3, reached by SMS, now also gets it on its WebSocket: still one.
	mustNoErr(t, s.MarkDelivered(ctx, []storage.Delivery{{AlertID: "a1", MemberID: "m3", At: at(time.Hour)}}), "mark delivered")
	p, err = s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	if p.Delivered != 4 {
		t.Errorf("delivered %d after m3's second channel, want 4", p.Delivered)
	}
	if b, err := json.Marshal(p); err != nil || len(b) == 0 {
		t.Errorf("progress does not marshal: %v", err)
	}
}

func testListRecipients(t *testing.T, s storage.Store) {
	ctx := t.Context()
	m1 := newMember("m1", 1, storage.RolePatrol, "v1")
	m1.Home = &storage.LatLng{Lat: 29.1, Lng: 119.1}
	m1.Live = &storage.Position{Lat: 29.2, Lng: 119.2, AccuracyM: 5, At: t0}
	m2 := newMember("m2", 2, storage.RoleResident, "v2")
	m2.Phone = ""
	m3 := newMember("m3", 3, storage.RoleResident, "v1")
	members(t, s, m3, m1, m2, newMember("out", 4, storage.RoleResident, "v1"))
	_, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	wantErrIs(t, err, storage.ErrNotFound, "recipients of a missing alert")

	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m3"}, {MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2"},
	}), "create alert")
	mustNoErr(t, s.MarkDelivered(ctx, []storage.Delivery{{AlertID: "a1", MemberID: "m3", At: at(time.Second)}}), "mark delivered")
	eta := 5
	_, err = s.RecordAcks(ctx, []storage.Ack{
		{AlertID: "a1", MemberID: "m1", Response: storage.RespComing, EtaMin: &eta, Note: "on my way", At: at(time.Minute)},
		ack("a1", "m3", storage.RespNeedHelp, at(2*time.Minute)),
	})
	mustNoErr(t, err, "record acks")

	all, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "list recipients")
	// Reading: recipients are ordered by member id.
	if len(all) != 3 || all[0].MemberID != "m1" || all[1].MemberID != "m2" || all[2].MemberID != "m3" {
		t.Fatalf("recipients: %+v, want m1 m2 m3", all)
	}
	r1 := all[0]
	if r1.Name != m1.Name || r1.Phone != m1.Phone || r1.Role != storage.RolePatrol || r1.VillageID != "v1" ||
		r1.Response != storage.RespComing || r1.EtaMin == nil || *r1.EtaMin != 5 || r1.Note != "on my way" ||
		r1.SMSState != storage.MessageCancelled {
		t.Errorf("recipient m1: %+v", r1)
	}
	wantEqual(t, r1.Home, m1.Home, "m1 home")
	if r1.Live == nil {
		t.Error("m1 live position missing")
	} else {
		wantTime(t, r1.Live.At, t0, "m1 live.at")
	}
	wantTime(t, r1.TargetedAt, t0, "targeted_at")
	wantTimePtr(t, r1.DeliveredAt, nil, "m1 delivered_at")
	wantTimePtr(t, r1.RespondedAt, new(at(time.Minute)), "m1 responded_at")
	r2 := all[1]
	if r2.Phone != "" || r2.Response != "" || r2.RespondedAt != nil || r2.SMSState != "" || r2.Home != nil || r2.Live != nil || r2.EtaMin != nil {
		t.Errorf("recipient m2: %+v", r2)
	}
	wantTimePtr(t, all[2].DeliveredAt, new(at(time.Second)), "m3 delivered_at")

	for _, tc := range []struct {
		f    storage.RecipientFilter
		want []string
	}{
		{storage.RecipientFilter{Response: storage.RespNeedHelp}, []string{"m3"}},
		{storage.RecipientFilter{Response: "none"}, []string{"m2"}},
		{storage.RecipientFilter{Response: storage.RespSafe}, []string{}},
		{storage.RecipientFilter{Limit: 2}, []string{"m1", "m2"}},
	} {
		got, err := s.ListRecipients(ctx, "a1", tc.f)
		mustNoErr(t, err, "list recipients")
		ids := []string{}
		for _, r := range got {
			ids = append(ids, r.MemberID)
		}
		wantEqual(t, ids, tc.want, "recipients with "+tc.f.Response)
	}
}
