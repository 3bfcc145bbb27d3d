package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

var smsCases = []testCase{
	{"EnqueueSMS", testEnqueueSMS},
	{"ClaimDueSMSOrder", testClaimDueSMSOrder},
	{"ClaimDueSMSCancels", testClaimDueSMSCancels},
	{"CompleteSMS", testCompleteSMS},
	{"ClaimedSMS", testClaimedSMS},
	{"UpdateSMSStatus", testUpdateSMSStatus},
}

func smsKey(r storage.SMS) string { return r.AlertID + "/" + r.MemberID + "/" + r.Kind }

func smsKeys(rs []storage.SMS) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, smsKey(r))
	}
	return out
}

func testEnqueueSMS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1", "m2")
	err := s.EnqueueSMS(ctx, []storage.SMS{
		{AlertID: "a1", MemberID: "m2", Kind: storage.SMSAlert, State: storage.SMSPending, Priority: 3, DueAt: at(time.Minute)},
		{AlertID: "a1", MemberID: "m1", Kind: storage.SMSAllClear, State: storage.SMSPending, Priority: 1, DueAt: at(time.Hour)},
		{AlertID: "a1", MemberID: "m1", Kind: storage.SMSAlert, State: storage.SMSPending, Priority: 3, DueAt: t0},
	})
	mustNoErr(t, err, "enqueue sms")
	// Existing rows are left alone.
	err = s.EnqueueSMS(ctx, []storage.SMS{
		{AlertID: "a1", MemberID: "m2", Kind: storage.SMSAlert, State: storage.SMSPending, Priority: 9, DueAt: at(time.Second)},
	})
	mustNoErr(t, err, "enqueue an existing sms")
	mustNoErr(t, s.EnqueueSMS(ctx, nil), "enqueue nothing")

	got, err := s.ListSMS(ctx, "a1")
	mustNoErr(t, err, "list sms")
	// Reading: ListSMS is ordered by member id, then kind.
	wantEqual(t, smsKeys(got), []string{"a1/m1/alert", "a1/m1/all_clear", "a1/m2/alert"}, "sms rows")
	if len(got) == 3 {
		m2 := got[2]
		if m2.Priority != 3 || m2.State != storage.SMSPending || m2.Attempts != 0 || m2.ClaimedBy != "" ||
			!m2.ClaimedAt.IsZero() || !m2.SentAt.IsZero() || m2.ProviderID != "" {
			t.Errorf("enqueued row: %+v", m2)
		}
		wantTime(t, m2.DueAt, at(time.Minute), "due_at (the first enqueue stays)")
	}
	none, err := s.ListSMS(ctx, "other")
	mustNoErr(t, err, "list sms of another alert")
	if len(none) != 0 {
		t.Errorf("sms of another alert: %+v", none)
	}
	// Reading: a row for a member or alert that does not exist is a missing
	// record.
	err = s.EnqueueSMS(ctx, []storage.SMS{{AlertID: "a1", MemberID: "ghost", Kind: storage.SMSAlert, DueAt: t0}})
	wantErrIs(t, err, storage.ErrNotFound, "enqueue sms of a missing member")
	err = s.EnqueueSMS(ctx, []storage.SMS{{AlertID: "ghost", MemberID: "m1", Kind: storage.SMSAllClear, DueAt: t0}})
	wantErrIs(t, err, storage.ErrNotFound, "enqueue sms of a missing alert")
}

func testClaimDueSMSOrder(t *testing.T, s storage.Store) {
	ctx := t.Context()
	m1 := newMember("m1", 1, storage.RoleResident, "")
	m1.Lang = "en"
	members(t, s, m1)
	for i := 2; i <= 6; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	// Each target's SMSPriority is its row's priority (the hub gives the
	// alert's severity rank): extreme before moderate before minor.
	minor, ev := alertAt("minor", t0)
	minor.Severity = "minor"
	mustNoErr(t, s.CreateAlert(ctx, minor, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0, SMSPriority: 1}, {MemberID: "m2", SMSDueAt: at(time.Hour), SMSPriority: 1},
	}), "create minor alert")
	extreme, ev := alertAt("extreme", at(time.Second))
	extreme.Severity = "extreme"
	mustNoErr(t, s.CreateAlert(ctx, extreme, ev, []storage.Target{
		{MemberID: "m3", SMSDueAt: at(2 * time.Second), SMSPriority: 4}, {MemberID: "m4", SMSDueAt: at(time.Second), SMSPriority: 4},
	}), "create extreme alert")
	moderate, ev := alertAt("moderate", at(time.Second))
	moderate.Severity = "moderate"
	mustNoErr(t, s.CreateAlert(ctx, moderate, ev, []storage.Target{
		{MemberID: "m5", SMSDueAt: at(time.Second), SMSPriority: 2}, {MemberID: "m6", SMSDueAt: at(3 * time.Hour), SMSPriority: 2},
	}), "create moderate alert")
	for id, want := range map[string]int{"extreme": 4, "moderate": 2, "minor": 1} {
		rows, err := s.ListSMS(ctx, id)
		mustNoErr(t, err, "list sms")
		for _, r := range rows {
			if r.Priority != want {
				t.Errorf("sms %s: priority %d, want the target's %d", smsKey(r), r.Priority, want)
			}
		}
	}

	now := at(time.Minute)
	got, err := s.ClaimDueSMS(ctx, now, 2, "sender-a")
	mustNoErr(t, err, "claim")
	// Highest priority first, then earliest due.
	wantEqual(t, smsKeys(got), []string{"extreme/m4/alert", "extreme/m3/alert"}, "first claim")
	for _, r := range got {
		if r.State != storage.SMSClaimed || r.ClaimedBy != "sender-a" || r.Attempts != 1 || r.Phone == "" {
			t.Errorf("claimed row: %+v", r)
		}
		wantTime(t, r.ClaimedAt, now, "claimed_at")
	}
	got, err = s.ClaimDueSMS(ctx, now, 5, "sender-b")
	mustNoErr(t, err, "claim")
	wantEqual(t, smsKeys(got), []string{"moderate/m5/alert", "minor/m1/alert"}, "second claim (not due rows stay)")
	if len(got) == 2 {
		if got[1].Phone != phoneOf(1) || got[1].Lang != "en" {
			t.Errorf("claimed row carries phone %q lang %q, want %q en", got[1].Phone, got[1].Lang, phoneOf(1))
		}
	}
	got, err = s.ClaimDueSMS(ctx, now, 5, "sender-b")
	mustNoErr(t, err, "claim")
	if len(got) != 0 {
		t.Errorf("third claim: %v, want nothing", smsKeys(got))
	}
	got, err = s.ClaimDueSMS(ctx, at(5*time.Hour), 0, "sender-b")
	mustNoErr(t, err, "claim with limit 0")
	if len(got) != 0 {
		t.Errorf("claim with limit 0: %v", smsKeys(got))
	}
	// Due exactly at now is due.
	got, err = s.ClaimDueSMS(ctx, at(time.Hour), 5, "sender-c")
	mustNoErr(t, err, "claim")
	wantEqual(t, smsKeys(got), []string{"minor/m2/alert"}, "claim at the due time")
}

func testClaimDueSMSCancels(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i := 1; i <= 6; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	a, ev := alertAt("live", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2", SMSDueAt: t0}, {MemberID: "m6"},
	}), "create live alert")
	c, ev := alertAt("cancelled", t0)
	mustNoErr(t, s.CreateAlert(ctx, c, ev, []storage.Target{
		{MemberID: "m3", SMSDueAt: at(time.Hour)}, {MemberID: "m5"},
	}), "create alert")
	x, ev := alertAt("expiring", t0)
	x.ExpiresAt = at(30 * time.Minute)
	mustNoErr(t, s.CreateAlert(ctx, x, ev, []storage.Target{{MemberID: "m4", SMSDueAt: t0}}), "create alert")

	// m1 and m6 answer; m6's SMS is queued only after its answer (as a
	// late enqueue would), so it is pending when the sender claims.
	_, err := s.RecordAcks(ctx, []storage.Ack{
		ack("live", "m1", storage.RespSafe, at(time.Second)), ack("live", "m6", storage.RespReceived, at(time.Second)),
	})
	mustNoErr(t, err, "record acks")
	_, err = s.CancelAlert(ctx, "cancelled", at(time.Minute), cancelEvent("cancelled", at(time.Minute)))
	mustNoErr(t, err, "cancel")
	// m5's alert SMS is queued after the cancel, and an all-clear for m3.
	mustNoErr(t, s.EnqueueSMS(ctx, []storage.SMS{
		{AlertID: "live", MemberID: "m6", Kind: storage.SMSAlert, Priority: 3, DueAt: t0},
		{AlertID: "cancelled", MemberID: "m5", Kind: storage.SMSAlert, Priority: 3, DueAt: t0},
		{AlertID: "cancelled", MemberID: "m3", Kind: storage.SMSAllClear, Priority: 3, DueAt: at(time.Hour)},
	}), "enqueue")

	got, err := s.ClaimDueSMS(ctx, at(2*time.Hour), 10, "sender")
	mustNoErr(t, err, "claim")
	// Claimed: m2 (live alert, no answer) and the all-clear of the
	// cancelled alert (Reading: the "(kind alert)" of ClaimDueSMS's comment
	// covers both rules; an all-clear goes out whatever the alert's state).
	// Cancelled: m1 (answered, by RecordAcks), m6 (answered, by the claim),
	// m3's and m5's alert SMS (alert cancelled), m4's (alert expired).
	keys := smsKeys(got)
	slices.Sort(keys)
	wantEqual(t, keys, []string{"cancelled/m3/all_clear", "live/m2/alert"}, "claimed")
	want := map[string]string{
		"live/m1/alert": storage.SMSCancelled, "live/m2/alert": storage.SMSClaimed,
		"live/m6/alert": storage.SMSCancelled, "cancelled/m3/alert": storage.SMSCancelled,
		"cancelled/m5/alert": storage.SMSCancelled, "cancelled/m3/all_clear": storage.SMSClaimed,
		"expiring/m4/alert": storage.SMSCancelled,
	}
	n := 0
	for _, id := range []string{"live", "cancelled", "expiring"} {
		rows, err := s.ListSMS(ctx, id)
		mustNoErr(t, err, "list sms")
		for _, r := range rows {
			n++
			if r.State != want[smsKey(r)] {
				t.Errorf("sms %s: %s, want %s", smsKey(r), r.State, want[smsKey(r)])
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d sms rows, want %d", n, len(want))
	}
	got, err = s.ClaimDueSMS(ctx, at(3*time.Hour), 10, "sender")
	mustNoErr(t, err, "claim again")
	if len(got) != 0 {
		t.Errorf("second claim: %v", smsKeys(got))
	}
}

func testCompleteSMS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i := 1; i <= 4; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2", SMSDueAt: t0}, {MemberID: "m3", SMSDueAt: t0},
		{MemberID: "m4", SMSDueAt: at(time.Hour)},
	}), "create alert")
	claimed, err := s.ClaimDueSMS(ctx, at(time.Second), 10, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != 3 {
		t.Fatalf("claimed %d rows, want 3", len(claimed))
	}
	sentAt := at(2 * time.Second)
	mustNoErr(t, s.CompleteSMS(ctx, "a1", "m1", storage.SMSAlert, storage.SMSResult{
		State: storage.SMSSent, ProviderID: "SM1", Status: "queued", Segments: 2, At: sentAt,
	}), "complete sent")
	mustNoErr(t, s.CompleteSMS(ctx, "a1", "m2", storage.SMSAlert, storage.SMSResult{
		State: storage.SMSFailed, Status: "failed", ErrorCode: "21211", At: sentAt,
	}), "complete failed")
	mustNoErr(t, s.CompleteSMS(ctx, "a1", "m3", storage.SMSAlert, storage.SMSResult{
		State: storage.SMSPending, RetryAt: at(10 * time.Minute), ErrorCode: "20429", At: sentAt,
	}), "complete retry")

	rows, err := s.ListSMS(ctx, "a1")
	mustNoErr(t, err, "list sms")
	if len(rows) != 4 {
		t.Fatalf("rows: %+v", rows)
	}
	r1, r2, r3 := rows[0], rows[1], rows[2]
	if r1.State != storage.SMSSent || r1.ProviderID != "SM1" || r1.Status != "queued" || r1.Segments != 2 || r1.Attempts != 1 {
		t.Errorf("sent row: %+v", r1)
	}
	wantTime(t, r1.SentAt, sentAt, "sent_at")
	if r2.State != storage.SMSFailed || r2.ErrorCode != "21211" || r2.Status != "failed" {
		t.Errorf("failed row: %+v", r2)
	}
	if r3.State != storage.SMSPending {
		t.Errorf("retried row: %+v", r3)
	}
	wantTime(t, r3.DueAt, at(10*time.Minute), "retry due_at")

	// The retried row is claimed again once due, and counts a second attempt.
	got, err := s.ClaimDueSMS(ctx, at(5*time.Minute), 10, "sender")
	mustNoErr(t, err, "claim before the retry")
	if len(got) != 0 {
		t.Errorf("claimed before the retry time: %v", smsKeys(got))
	}
	got, err = s.ClaimDueSMS(ctx, at(10*time.Minute), 10, "sender")
	mustNoErr(t, err, "claim at the retry")
	if len(got) != 1 || got[0].MemberID != "m3" || got[0].Attempts != 2 {
		t.Errorf("claim at the retry time: %+v, want m3 with 2 attempts", got)
	}

	err = s.CompleteSMS(ctx, "a1", "ghost", storage.SMSAlert, storage.SMSResult{State: storage.SMSSent, At: sentAt})
	wantErrIs(t, err, storage.ErrNotFound, "complete a missing row")
	// Reading: only a claimed row can be completed; a pending one (never
	// handed to a sender) or a sent one (already completed) conflicts.
	err = s.CompleteSMS(ctx, "a1", "m4", storage.SMSAlert, storage.SMSResult{State: storage.SMSSent, At: sentAt})
	wantErrIs(t, err, storage.ErrConflict, "complete a pending row")
	err = s.CompleteSMS(ctx, "a1", "m1", storage.SMSAlert, storage.SMSResult{State: storage.SMSFailed, At: sentAt})
	wantErrIs(t, err, storage.ErrConflict, "complete a sent row again")
}

func testClaimedSMS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i := 1; i <= 3; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2", SMSDueAt: at(time.Minute)}, {MemberID: "m3", SMSDueAt: at(time.Hour)},
	}), "create alert")
	_, err := s.ClaimDueSMS(ctx, at(time.Second), 10, "a") // m1 at +1s by a
	mustNoErr(t, err, "claim")
	_, err = s.ClaimDueSMS(ctx, at(2*time.Minute), 10, "b") // m2 at +2m by b
	mustNoErr(t, err, "claim")

	for _, tc := range []struct {
		claimer string
		before  time.Time
		want    []string
	}{
		{"", at(time.Hour), []string{"a1/m1/alert", "a1/m2/alert"}},
		{"a", at(time.Hour), []string{"a1/m1/alert"}},
		{"b", at(time.Hour), []string{"a1/m2/alert"}},
		{"", at(time.Minute), []string{"a1/m1/alert"}},
		{"", at(time.Second), []string{}}, // claimed at +1s is not before +1s
		{"c", at(time.Hour), []string{}},
	} {
		got, err := s.ClaimedSMS(ctx, tc.claimer, tc.before)
		mustNoErr(t, err, "claimed sms")
		wantEqual(t, smsKeys(got), tc.want, fmt.Sprintf("claimed by %q before %v", tc.claimer, tc.before.Sub(t0)))
		for _, r := range got {
			if r.State != storage.SMSClaimed || r.ClaimedBy == "" {
				t.Errorf("claimed row: %+v", r)
			}
		}
	}
	mustNoErr(t, s.CompleteSMS(ctx, "a1", "m1", storage.SMSAlert, storage.SMSResult{State: storage.SMSSent, ProviderID: "SM1", At: at(time.Hour)}), "complete")
	got, err := s.ClaimedSMS(ctx, "", at(time.Hour))
	mustNoErr(t, err, "claimed sms")
	wantEqual(t, smsKeys(got), []string{"a1/m2/alert"}, "claimed after completing m1")
}

func testUpdateSMSStatus(t *testing.T, s storage.Store) {
	ctx := t.Context()
	words := []struct {
		status, code, want string
	}{
		{"queued", "", storage.SMSSent},
		{"accepted", "", storage.SMSSent},
		{"sending", "", storage.SMSSent},
		{"sent", "", storage.SMSSent},
		{"delivered", "", storage.SMSDelivered},
		{"undelivered", "30003", storage.SMSFailed},
		{"failed", "30008", storage.SMSFailed},
	}
	var ts []storage.Target
	for i := range words {
		id := fmt.Sprintf("m%d", i)
		members(t, s, newMember(id, i+1, storage.RoleResident, ""))
		ts = append(ts, storage.Target{MemberID: id, SMSDueAt: t0})
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")
	claimed, err := s.ClaimDueSMS(ctx, at(time.Second), 100, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != len(words) {
		t.Fatalf("claimed %d rows", len(claimed))
	}
	for i := range words {
		mustNoErr(t, s.CompleteSMS(ctx, "a1", fmt.Sprintf("m%d", i), storage.SMSAlert, storage.SMSResult{
			State: storage.SMSSent, ProviderID: fmt.Sprintf("SM%d", i), Status: "queued", Segments: 1, At: at(time.Second),
		}), "complete")
	}
	for i, w := range words {
		mustNoErr(t, s.UpdateSMSStatus(ctx, fmt.Sprintf("SM%d", i), w.status, w.code, at(time.Minute)), "update status "+w.status)
	}
	rows, err := s.ListSMS(ctx, "a1")
	mustNoErr(t, err, "list sms")
	for i, w := range words {
		r := rows[i]
		if r.State != w.want || r.Status != w.status || r.ErrorCode != w.code {
			t.Errorf("after %q: state %q status %q code %q, want %q %q %q", w.status, r.State, r.Status, r.ErrorCode, w.want, w.status, w.code)
		}
	}
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.SMS, storage.SMSCounts{Sent: 4, Delivered: 1, Failed: 2, Segments: 7}, "sms counts")
	if p.Delivered != 1 {
		t.Errorf("delivered %d, want 1 (the delivered SMS)", p.Delivered)
	}

	// Reading: callbacks arrive out of order; a delivered or failed row is
	// final, so a late "sent" does not undo "delivered".
	mustNoErr(t, s.UpdateSMSStatus(ctx, "SM4", "sent", "", at(2*time.Minute)), "late sent")
	mustNoErr(t, s.UpdateSMSStatus(ctx, "SM0", "delivered", "", at(2*time.Minute)), "delivered after queued")
	rows, err = s.ListSMS(ctx, "a1")
	mustNoErr(t, err, "list sms")
	if rows[4].State != storage.SMSDelivered || rows[4].Status != "delivered" {
		t.Errorf("delivered row after a late sent: %+v", rows[4])
	}
	if rows[0].State != storage.SMSDelivered {
		t.Errorf("queued row after delivered: %+v", rows[0])
	}

	wantErrIs(t, s.UpdateSMSStatus(ctx, "SM-unknown", "delivered", "", at(time.Minute)), storage.ErrNotFound,
		"update status of an unknown provider id")
}
