package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// outboxCases exercise the outbox with SMS rows about alerts (what the hub
// writes today), and then with a second channel beside them.
var outboxCases = []testCase{
	{"EnqueueSMS", testEnqueueSMS},
	{"ClaimDueSMSOrder", testClaimDueSMSOrder},
	{"ClaimDueSMSCancels", testClaimDueSMSCancels},
	{"CompleteSMS", testCompleteSMS},
	{"ClaimedSMS", testClaimedSMS},
	{"UpdateSMSStatus", testUpdateSMSStatus},
	{"SecondChannel", testSecondChannel},
	{"CancelFencesClaimedMessages", testCancelFencesClaimedMessages},
	{"StartSending", testStartSending},
	{"AllClearFollowsAlertMessage", testAllClearFollowsAlertMessage},
}

// keyOf names an SMS row about an alert as alert/member/kind.
func keyOf(r storage.Message) string { return r.Ref.ID + "/" + r.MemberID + "/" + r.Kind }

// smsKey is the key of the SMS of this kind about an alert to a member.
func smsKey(alertID, memberID, kind string) storage.MessageKey {
	return storage.MessageKey{Channel: storage.ChannelSMS, Ref: storage.AlertRef(alertID), MemberID: memberID, Kind: kind}
}

// smsStatus is a status callback as the SMS channel reports it: Twilio's
// status word with the state it means (notify.TwilioSMSState).
func smsStatus(status, code string, at time.Time) storage.StatusUpdate {
	state := ""
	switch status {
	case "queued", "accepted", "sending", "sent":
		state = storage.MessageSent
	case "delivered":
		state = storage.MessageDelivered
	case "undelivered", "failed":
		state = storage.MessageFailed
	}
	return storage.StatusUpdate{State: state, Status: status, ErrorCode: code, At: at}
}

func keysOf(rs []storage.Message) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, keyOf(r))
	}
	return out
}

func testEnqueueSMS(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1", "m2")
	err := s.EnqueueMessages(ctx, []storage.Message{
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "m2", Kind: storage.MessageAlert, State: storage.MessagePending, Priority: 3, DueAt: at(time.Minute)},
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "m1", Kind: storage.MessageAllClear, State: storage.MessagePending, Priority: 1, DueAt: at(time.Hour)},
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "m1", Kind: storage.MessageAlert, State: storage.MessagePending, Priority: 3, DueAt: t0},
	})
	mustNoErr(t, err, "enqueue sms")
	// Existing rows are left alone.
	err = s.EnqueueMessages(ctx, []storage.Message{
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "m2", Kind: storage.MessageAlert, State: storage.MessagePending, Priority: 9, DueAt: at(time.Second)},
	})
	mustNoErr(t, err, "enqueue an existing sms")
	mustNoErr(t, s.EnqueueMessages(ctx, nil), "enqueue nothing")

	got, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	// Reading: ListMessages is ordered by member id, then kind.
	wantEqual(t, keysOf(got), []string{"a1/m1/alert", "a1/m1/all_clear", "a1/m2/alert"}, "sms rows")
	if len(got) == 3 {
		m2 := got[2]
		if m2.Priority != 3 || m2.State != storage.MessagePending || m2.Attempts != 0 || m2.ClaimedBy != "" ||
			!m2.ClaimedAt.IsZero() || !m2.SentAt.IsZero() || m2.ProviderID != "" {
			t.Errorf("enqueued row: %+v", m2)
		}
		wantTime(t, m2.DueAt, at(time.Minute), "due_at (the first enqueue stays)")
	}
	none, err := s.ListMessages(ctx, storage.AlertRef("other"))
	mustNoErr(t, err, "list sms of another alert")
	if len(none) != 0 {
		t.Errorf("sms of another alert: %+v", none)
	}
	// Reading: a row for a member or alert that does not exist is a missing
	// record.
	err = s.EnqueueMessages(ctx, []storage.Message{{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: "ghost", Kind: storage.MessageAlert, DueAt: t0}})
	wantErrIs(t, err, storage.ErrNotFound, "enqueue sms of a missing member")
	err = s.EnqueueMessages(ctx, []storage.Message{{Channel: storage.ChannelSMS, Ref: storage.AlertRef("ghost"), MemberID: "m1", Kind: storage.MessageAllClear, DueAt: t0}})
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
		rows, err := s.ListMessages(ctx, storage.AlertRef(id))
		mustNoErr(t, err, "list sms")
		for _, r := range rows {
			if r.Priority != want {
				t.Errorf("sms %s: priority %d, want the target's %d", keyOf(r), r.Priority, want)
			}
		}
	}

	now := at(time.Minute)
	got, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 2, "sender-a")
	mustNoErr(t, err, "claim")
	// Highest priority first, then earliest due.
	wantEqual(t, keysOf(got), []string{"extreme/m4/alert", "extreme/m3/alert"}, "first claim")
	for _, r := range got {
		if r.State != storage.MessageClaimed || r.ClaimedBy != "sender-a" || r.Attempts != 1 || r.Phone == "" {
			t.Errorf("claimed row: %+v", r)
		}
		wantTime(t, r.ClaimedAt, now, "claimed_at")
	}
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 5, "sender-b")
	mustNoErr(t, err, "claim")
	wantEqual(t, keysOf(got), []string{"moderate/m5/alert", "minor/m1/alert"}, "second claim (not due rows stay)")
	if len(got) == 2 {
		if got[1].Phone != phoneOf(1) || got[1].Lang != "en" {
			t.Errorf("claimed row carries phone %q lang %q, want %q en", got[1].Phone, got[1].Lang, phoneOf(1))
		}
	}
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 5, "sender-b")
	mustNoErr(t, err, "claim")
	if len(got) != 0 {
		t.Errorf("third claim: %v, want nothing", keysOf(got))
	}
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, at(5*time.Hour), 0, "sender-b")
	mustNoErr(t, err, "claim with limit 0")
	if len(got) != 0 {
		t.Errorf("claim with limit 0: %v", keysOf(got))
	}
	// Due exactly at now is due.
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Hour), 5, "sender-c")
	mustNoErr(t, err, "claim")
	wantEqual(t, keysOf(got), []string{"minor/m2/alert"}, "claim at the due time")
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
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("live"), MemberID: "m6", Kind: storage.MessageAlert, Priority: 3, DueAt: t0},
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("cancelled"), MemberID: "m5", Kind: storage.MessageAlert, Priority: 3, DueAt: t0},
		{Channel: storage.ChannelSMS, Ref: storage.AlertRef("cancelled"), MemberID: "m3", Kind: storage.MessageAllClear, Priority: 3, DueAt: at(time.Hour)},
	}), "enqueue")

	got, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(2*time.Hour), 10, "sender")
	mustNoErr(t, err, "claim")
	// Claimed: m2 (live alert, no answer). Cancelled: m1 (answered, by
	// RecordAcks), m6 (answered, by the claim), m3's and m5's alert SMS
	// (alert cancelled), m4's (alert expired), and m3's all-clear: its
	// alert SMS was never sent (testAllClearFollowsAlertMessage).
	keys := keysOf(got)
	slices.Sort(keys)
	wantEqual(t, keys, []string{"live/m2/alert"}, "claimed")
	want := map[string]string{
		"live/m1/alert": storage.MessageCancelled, "live/m2/alert": storage.MessageClaimed,
		"live/m6/alert": storage.MessageCancelled, "cancelled/m3/alert": storage.MessageCancelled,
		"cancelled/m5/alert": storage.MessageCancelled, "cancelled/m3/all_clear": storage.MessageCancelled,
		"expiring/m4/alert": storage.MessageCancelled,
	}
	n := 0
	for _, id := range []string{"live", "cancelled", "expiring"} {
		rows, err := s.ListMessages(ctx, storage.AlertRef(id))
		mustNoErr(t, err, "list sms")
		for _, r := range rows {
			n++
			if r.State != want[keyOf(r)] {
				t.Errorf("sms %s: %s, want %s", keyOf(r), r.State, want[keyOf(r)])
			}
		}
	}
	if n != len(want) {
		t.Errorf("%d sms rows, want %d", n, len(want))
	}
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, at(3*time.Hour), 10, "sender")
	mustNoErr(t, err, "claim again")
	if len(got) != 0 {
		t.Errorf("second claim: %v", keysOf(got))
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
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != 3 {
		t.Fatalf("claimed %d rows, want 3", len(claimed))
	}
	sentAt := at(2 * time.Second)
	mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", "m1", storage.MessageAlert), storage.MessageResult{
		State: storage.MessageSent, ProviderID: "SM1", Status: "queued", Segments: 2, At: sentAt,
	}), "complete sent")
	mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", "m2", storage.MessageAlert), storage.MessageResult{
		State: storage.MessageFailed, Status: "failed", ErrorCode: "21211", At: sentAt,
	}), "complete failed")
	mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", "m3", storage.MessageAlert), storage.MessageResult{
		State: storage.MessagePending, RetryAt: at(10 * time.Minute), ErrorCode: "20429", At: sentAt,
	}), "complete retry")

	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	if len(rows) != 4 {
		t.Fatalf("rows: %+v", rows)
	}
	r1, r2, r3 := rows[0], rows[1], rows[2]
	if r1.State != storage.MessageSent || r1.ProviderID != "SM1" || r1.Status != "queued" || r1.Segments != 2 || r1.Attempts != 1 {
		t.Errorf("sent row: %+v", r1)
	}
	wantTime(t, r1.SentAt, sentAt, "sent_at")
	if r2.State != storage.MessageFailed || r2.ErrorCode != "21211" || r2.Status != "failed" {
		t.Errorf("failed row: %+v", r2)
	}
	if r3.State != storage.MessagePending {
		t.Errorf("retried row: %+v", r3)
	}
	wantTime(t, r3.DueAt, at(10*time.Minute), "retry due_at")

	// The retried row is claimed again once due, and counts a second attempt.
	got, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(5*time.Minute), 10, "sender")
	mustNoErr(t, err, "claim before the retry")
	if len(got) != 0 {
		t.Errorf("claimed before the retry time: %v", keysOf(got))
	}
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, at(10*time.Minute), 10, "sender")
	mustNoErr(t, err, "claim at the retry")
	if len(got) != 1 || got[0].MemberID != "m3" || got[0].Attempts != 2 {
		t.Errorf("claim at the retry time: %+v, want m3 with 2 attempts", got)
	}

	err = s.CompleteMessage(ctx, smsKey("a1", "ghost", storage.MessageAlert), storage.MessageResult{State: storage.MessageSent, At: sentAt})
	wantErrIs(t, err, storage.ErrNotFound, "complete a missing row")
	// Reading: only a claimed row can be completed; a pending one (never
	// handed to a sender) or a sent one (already completed) conflicts.
	err = s.CompleteMessage(ctx, smsKey("a1", "m4", storage.MessageAlert), storage.MessageResult{State: storage.MessageSent, At: sentAt})
	wantErrIs(t, err, storage.ErrConflict, "complete a pending row")
	err = s.CompleteMessage(ctx, smsKey("a1", "m1", storage.MessageAlert), storage.MessageResult{State: storage.MessageFailed, At: sentAt})
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
	_, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "a") // m1 at +1s by a
	mustNoErr(t, err, "claim")
	_, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, at(2*time.Minute), 10, "b") // m2 at +2m by b
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
		got, err := s.ClaimedMessages(ctx, storage.ChannelSMS, tc.claimer, tc.before)
		mustNoErr(t, err, "claimed sms")
		wantEqual(t, keysOf(got), tc.want, fmt.Sprintf("claimed by %q before %v", tc.claimer, tc.before.Sub(t0)))
		for _, r := range got {
			if r.State != storage.MessageClaimed || r.ClaimedBy == "" {
				t.Errorf("claimed row: %+v", r)
			}
		}
	}
	mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", "m1", storage.MessageAlert), storage.MessageResult{State: storage.MessageSent, ProviderID: "SM1", At: at(time.Hour)}), "complete")
	got, err := s.ClaimedMessages(ctx, storage.ChannelSMS, "", at(time.Hour))
	mustNoErr(t, err, "claimed sms")
	wantEqual(t, keysOf(got), []string{"a1/m2/alert"}, "claimed after completing m1")
}

func testUpdateSMSStatus(t *testing.T, s storage.Store) {
	ctx := t.Context()
	words := []struct {
		status, code, want string
	}{
		{"queued", "", storage.MessageSent},
		{"accepted", "", storage.MessageSent},
		{"sending", "", storage.MessageSent},
		{"sent", "", storage.MessageSent},
		{"delivered", "", storage.MessageDelivered},
		{"undelivered", "30003", storage.MessageFailed},
		{"failed", "30008", storage.MessageFailed},
	}
	var ts []storage.Target
	for i := range words {
		id := fmt.Sprintf("m%d", i)
		members(t, s, newMember(id, i+1, storage.RoleResident, ""))
		ts = append(ts, storage.Target{MemberID: id, SMSDueAt: t0})
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 100, "sender")
	mustNoErr(t, err, "claim")
	if len(claimed) != len(words) {
		t.Fatalf("claimed %d rows", len(claimed))
	}
	for i := range words {
		mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", fmt.Sprintf("m%d", i), storage.MessageAlert), storage.MessageResult{
			State: storage.MessageSent, ProviderID: fmt.Sprintf("SM%d", i), Status: "queued", Segments: 1, At: at(time.Second),
		}), "complete")
	}
	for i, w := range words {
		mustNoErr(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, fmt.Sprintf("SM%d", i), smsStatus(w.status, w.code, at(time.Minute))), "update status "+w.status)
	}
	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
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
	mustNoErr(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, "SM4", smsStatus("sent", "", at(2*time.Minute))), "late sent")
	mustNoErr(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, "SM0", smsStatus("delivered", "", at(2*time.Minute))), "delivered after queued")
	rows, err = s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list sms")
	if rows[4].State != storage.MessageDelivered || rows[4].Status != "delivered" {
		t.Errorf("delivered row after a late sent: %+v", rows[4])
	}
	if rows[0].State != storage.MessageDelivered {
		t.Errorf("queued row after delivered: %+v", rows[0])
	}

	wantErrIs(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, "SM-unknown", smsStatus("delivered", "", at(time.Minute))), storage.ErrNotFound,
		"update status of an unknown provider id")
}

// voice is the second channel of testSecondChannel: any name other than sms.
const voice = "voice"

// testSecondChannel: rows of another channel about the same alert and
// members live beside the SMS rows without touching them: each channel
// claims, lists in doubt, completes and takes status reports of its own
// rows only; the alert-message rules (cancelled when the member answers or
// the alert ends) hold for every channel; the alert's SMS counts and
// recipients' sms_state count SMS only. Rows about another kind of ref are
// neither checked against alerts nor judged by them.
func testSecondChannel(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i := 1; i <= 4; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0, SMSPriority: 3}, {MemberID: "m2", SMSDueAt: t0, SMSPriority: 3},
		{MemberID: "m3", SMSDueAt: t0, SMSPriority: 3}, {MemberID: "m4"},
	}), "create alert")
	call := func(member string, prio int, due time.Time) storage.Message {
		return storage.Message{Channel: voice, Ref: storage.AlertRef("a1"), MemberID: member,
			Kind: storage.MessageAlert, Priority: prio, DueAt: due}
	}
	// A call to each SMS member, with a higher priority than the SMS, and a
	// message about something that is not an alert.
	other := storage.Ref{Type: "invitation", ID: "inv1"}
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{
		call("m1", 9, t0), call("m2", 9, t0), call("m3", 9, at(time.Hour)),
		{Channel: voice, Ref: other, MemberID: "m4", Kind: "invitation", DueAt: t0},
	}), "enqueue calls")
	// The same key in another channel is another row; enqueueing it again
	// leaves it alone.
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{call("m1", 1, at(time.Minute))}), "enqueue a call again")
	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	var keys []string
	for _, r := range rows {
		keys = append(keys, r.Key().String())
	}
	// Reading: ListMessages orders by member, kind, then channel.
	wantEqual(t, keys, []string{
		"sms/alert/a1/m1/alert", "voice/alert/a1/m1/alert", "sms/alert/a1/m2/alert", "voice/alert/a1/m2/alert",
		"sms/alert/a1/m3/alert", "voice/alert/a1/m3/alert",
	}, "messages about the alert")
	if len(rows) == 6 {
		wantTime(t, rows[1].DueAt, t0, "the call's due time (the first enqueue stays)")
	}
	inv, err := s.ListMessages(ctx, other)
	mustNoErr(t, err, "list messages about the invitation")
	if len(inv) != 1 || inv[0].Kind != "invitation" || inv[0].State != storage.MessagePending {
		t.Errorf("messages about the invitation: %+v", inv)
	}
	err = s.EnqueueMessages(ctx, []storage.Message{{Channel: voice, Ref: storage.AlertRef("ghost"), MemberID: "m1",
		Kind: storage.MessageAlert, DueAt: t0}})
	wantErrIs(t, err, storage.ErrNotFound, "enqueue a call about a missing alert")

	// m2 answers: both its SMS and its call are cancelled.
	_, err = s.RecordAcks(ctx, []storage.Ack{ack("a1", "m2", storage.RespSafe, at(time.Second))})
	mustNoErr(t, err, "record acks")

	// Each channel claims its own rows only.
	now := at(time.Minute)
	calls, err := s.ClaimDueMessages(ctx, voice, now, 10, "node")
	mustNoErr(t, err, "claim calls")
	var got []string
	for _, r := range calls {
		got = append(got, r.Key().String())
		if r.Channel != voice || r.State != storage.MessageClaimed || r.Attempts != 1 || r.Phone == "" {
			t.Errorf("claimed call: %+v", r)
		}
	}
	// The invitation (priority 0) comes after the alert call (priority 9).
	wantEqual(t, got, []string{"voice/alert/a1/m1/alert", "voice/invitation/inv1/m4/invitation"}, "claimed calls")
	sms, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 1, "node")
	mustNoErr(t, err, "claim sms")
	wantEqual(t, keysOf(sms), []string{"a1/m1/alert"}, "claimed sms")

	// In doubt: per channel.
	doubt, err := s.ClaimedMessages(ctx, voice, "", at(time.Hour))
	mustNoErr(t, err, "claimed calls")
	if len(doubt) != 2 || doubt[0].Channel != voice || doubt[1].Channel != voice {
		t.Errorf("calls in doubt: %+v", doubt)
	}
	doubt, err = s.ClaimedMessages(ctx, storage.ChannelSMS, "", at(time.Hour))
	mustNoErr(t, err, "claimed sms")
	wantEqual(t, keysOf(doubt), []string{"a1/m1/alert"}, "sms in doubt")

	// Completing the call and a status report with the same provider id in
	// the other channel leave the SMS alone.
	callKey := storage.MessageKey{Channel: voice, Ref: storage.AlertRef("a1"), MemberID: "m1", Kind: storage.MessageAlert}
	mustNoErr(t, s.CompleteMessage(ctx, callKey, storage.MessageResult{
		State: storage.MessageSent, ProviderID: "X1", Status: "queued", At: now}), "complete the call")
	mustNoErr(t, s.CompleteMessage(ctx, smsKey("a1", "m1", storage.MessageAlert), storage.MessageResult{
		State: storage.MessageSent, ProviderID: "X1", Status: "queued", Segments: 1, At: now}), "complete the sms")
	mustNoErr(t, s.UpdateMessageStatus(ctx, voice, "X1", storage.StatusUpdate{
		State: storage.MessageDelivered, Status: "completed", At: now}), "call status")
	wantErrIs(t, s.UpdateMessageStatus(ctx, voice, "SM-only", storage.StatusUpdate{Status: "completed", At: now}),
		storage.ErrNotFound, "a call status for a provider id only an SMS has")

	// The alert is cancelled: m3's pending call is cancelled with its SMS,
	// and m1, reached by both, gets the all-clear by SMS only, with the
	// SMS's priority (no all-clear call, issue 12).
	_, err = s.CancelAlert(ctx, "a1", at(2*time.Minute), cancelEvent("a1", at(2*time.Minute)))
	mustNoErr(t, err, "cancel")
	rows, err = s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	want := map[string]string{
		"sms/alert/a1/m1/alert":     storage.MessageSent,
		"voice/alert/a1/m1/alert":   storage.MessageDelivered,
		"sms/alert/a1/m1/all_clear": storage.MessagePending,
		// No all-clear call (issue 12): the SMS one tells m1.
		"sms/alert/a1/m2/alert":   storage.MessageCancelled,
		"voice/alert/a1/m2/alert": storage.MessageCancelled,
		"sms/alert/a1/m3/alert":   storage.MessageCancelled,
		"voice/alert/a1/m3/alert": storage.MessageCancelled,
	}
	prio := map[string]int{"sms/alert/a1/m1/all_clear": 3}
	for _, r := range rows {
		k := r.Key().String()
		if r.State != want[k] {
			t.Errorf("%s: %s, want %s", k, r.State, want[k])
		}
		if p, ok := prio[k]; ok && r.Priority != p {
			t.Errorf("%s: priority %d, want %d", k, r.Priority, p)
		}
	}
	if len(rows) != len(want) {
		t.Errorf("%d messages after the cancel, want %d", len(rows), len(want))
	}
	if len(rows) == 7 && (rows[0].Status != "queued" || rows[1].Status != "completed") {
		t.Errorf("status words: sms %q, call %q; want queued, completed", rows[0].Status, rows[1].Status)
	}
	// Progress and recipients count the SMS only.
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.SMS, storage.SMSCounts{Sent: 1, Segments: 1}, "sms counts")
	if p.Delivered != 1 {
		t.Errorf("delivered %d, want 1 (m2 answered; a delivered call is not an SMS delivery)", p.Delivered)
	}
	rs, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	states := map[string]string{}
	for _, r := range rs {
		states[r.MemberID] = r.SMSState
	}
	wantEqual(t, states, map[string]string{"m1": storage.MessageSent, "m2": storage.MessageCancelled,
		"m3": storage.MessageCancelled, "m4": ""}, "recipients' sms_state")
	// The SMS channel claims its all-clear, and nothing else; the voice
	// channel nothing (no all-clear call, issue 12).
	clear, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(3*time.Hour), 10, "node")
	mustNoErr(t, err, "claim sms")
	if len(clear) != 1 || clear[0].Channel != storage.ChannelSMS || clear[0].MemberID != "m1" || clear[0].Kind != storage.MessageAllClear {
		t.Errorf("claimed sms after the cancel: %+v, want m1's all-clear", clear)
	}
	clear, err = s.ClaimDueMessages(ctx, voice, at(3*time.Hour), 10, "node")
	mustNoErr(t, err, "claim voice")
	if len(clear) != 0 {
		t.Errorf("claimed voice after the cancel: %+v, want nothing", clear)
	}
}
