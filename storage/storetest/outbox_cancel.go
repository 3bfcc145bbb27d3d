package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// What a cancel does to an alert's messages (issue 12): no alert message
// starts after the cancel, and every member whose alert message had
// started gets the all-clear, once, after it.

// stateOf lists an alert's messages as key -> state (keyOf keys).
func stateOf(t *testing.T, s storage.Store, alertID string) map[string]string {
	t.Helper()
	rows, err := s.ListMessages(t.Context(), storage.AlertRef(alertID))
	mustNoErr(t, err, "list messages")
	out := map[string]string{}
	for _, r := range rows {
		out[keyOf(r)] = r.State
	}
	return out
}

// testCancelFencesClaimedMessages: the cancel stops the alert messages
// claimed by a sender that has not started them, as well as the pending
// ones; it leaves the ones whose send started (sending, sent) and queues
// their all-clear, due at the cancel, with the alert message's priority.
// The all-clear of a message still in flight waits for its outcome.
func testCancelFencesClaimedMessages(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i := 1; i <= 6; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	a, ev := alertAt("a1", t0)
	var ts []storage.Target
	for i := 1; i <= 5; i++ {
		ts = append(ts, storage.Target{MemberID: fmt.Sprintf("m%d", i), SMSDueAt: t0, SMSPriority: 4})
	}
	ts = append(ts, storage.Target{MemberID: "m6", SMSDueAt: at(time.Hour), SMSPriority: 4})
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")
	// Another alert's message, claimed: the cancel of a1 leaves it alone.
	createAlert(t, s, "other", t0)
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{{Channel: storage.ChannelSMS, Ref: storage.AlertRef("other"),
		MemberID: "m1", Kind: storage.MessageAlert, Priority: 1, DueAt: t0}}), "enqueue")

	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "node-a")
	mustNoErr(t, err, "claim")
	if len(claimed) != 6 {
		t.Fatalf("claimed %v, want m1..m5 of a1 and m1 of other", keysOf(claimed))
	}
	key := func(m, kind string) storage.MessageKey { return smsKey("a1", m, kind) }
	// m1 is in flight, m2 was sent, m3 failed at once; m4 and m5 wait for
	// the rate, claimed.
	for _, m := range []string{"m1", "m2", "m3"} {
		mustNoErr(t, s.StartSending(ctx, key(m, storage.MessageAlert), "node-a", at(2*time.Second)), "start sending "+m)
	}
	mustNoErr(t, s.CompleteMessage(ctx, key("m2", storage.MessageAlert), storage.MessageResult{
		State: storage.MessageSent, ProviderID: "SM2", Status: "queued", Segments: 1, At: at(3 * time.Second)}), "complete m2")
	mustNoErr(t, s.CompleteMessage(ctx, key("m3", storage.MessageAlert), storage.MessageResult{
		State: storage.MessageFailed, Status: "failed", ErrorCode: "21211", At: at(3 * time.Second)}), "complete m3")
	doubt, err := s.ClaimedMessages(ctx, storage.ChannelSMS, "node-a", at(time.Hour))
	mustNoErr(t, err, "claimed messages")
	// Reading: oldest claimed_at first; a sending row's is when its send
	// started.
	wantEqual(t, keysOf(doubt), []string{"a1/m4/alert", "a1/m5/alert", "other/m1/alert", "a1/m1/alert"}, "claimed or sending")
	for _, r := range doubt {
		want := storage.MessageClaimed
		if r.MemberID == "m1" && r.Ref.ID == "a1" {
			want = storage.MessageSending
			wantTime(t, r.ClaimedAt, at(2*time.Second), "claimed_at of a sending row (its send's start)")
		}
		if r.State != want || r.ClaimedBy != "node-a" || r.Phone == "" {
			t.Errorf("claimed or sending row: %+v, want %s by node-a", r, want)
		}
	}

	cancelAt := at(time.Minute)
	_, err = s.CancelAlert(ctx, "a1", cancelAt, cancelEvent("a1", cancelAt))
	mustNoErr(t, err, "cancel")
	wantEqual(t, stateOf(t, s, "a1"), map[string]string{
		"a1/m1/alert": storage.MessageSending, "a1/m1/all_clear": storage.MessagePending,
		"a1/m2/alert": storage.MessageSent, "a1/m2/all_clear": storage.MessagePending,
		"a1/m3/alert": storage.MessageFailed,
		"a1/m4/alert": storage.MessageCancelled, "a1/m5/alert": storage.MessageCancelled,
		"a1/m6/alert": storage.MessageCancelled,
	}, "messages after the cancel")
	wantEqual(t, stateOf(t, s, "other"), map[string]string{"other/m1/alert": storage.MessageClaimed}, "another alert's message")
	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	for _, r := range rows {
		if r.Kind == storage.MessageAllClear {
			if r.Priority != 4 || r.Attempts != 0 || r.ClaimedBy != "" {
				t.Errorf("all-clear: %+v, want priority 4, never claimed", r)
			}
			wantTime(t, r.DueAt, cancelAt, "all-clear due")
		}
	}

	// The fenced rows cannot start, nor be completed.
	for _, m := range []string{"m4", "m5"} {
		wantErrIs(t, s.StartSending(ctx, key(m, storage.MessageAlert), "node-a", at(61*time.Second)), storage.ErrConflict,
			"start sending a fenced message")
		wantErrIs(t, s.CompleteMessage(ctx, key(m, storage.MessageAlert), storage.MessageResult{State: storage.MessageSent, At: at(61 * time.Second)}),
			storage.ErrConflict, "complete a fenced message")
	}

	// m2's all-clear goes; m1's waits while its alert SMS is in flight.
	now := at(61 * time.Second)
	got, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 10, "node-b")
	mustNoErr(t, err, "claim")
	wantEqual(t, keysOf(got), []string{"a1/m2/all_clear"}, "all-clears claimed while m1's alert SMS is in flight")
	rows, err = s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	for _, r := range rows {
		if keyOf(r) == "a1/m1/all_clear" {
			if r.State != storage.MessagePending || r.Attempts != 0 {
				t.Errorf("waiting all-clear: %+v", r)
			}
			wantTime(t, r.DueAt, now.Add(storage.AllClearWait), "waiting all-clear due")
		}
	}
	// An all-clear starts whatever its alert's state.
	mustNoErr(t, s.StartSending(ctx, key("m2", storage.MessageAllClear), "node-b", now), "start sending the all-clear")

	// m1's alert SMS was accepted: its all-clear follows.
	mustNoErr(t, s.CompleteMessage(ctx, key("m1", storage.MessageAlert), storage.MessageResult{
		State: storage.MessageSent, ProviderID: "SM1", Status: "queued", Segments: 1, At: now}), "complete m1")
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, now.Add(time.Second), 10, "node-b")
	mustNoErr(t, err, "claim")
	if len(got) != 0 {
		t.Errorf("claimed %v before the wait is over", keysOf(got))
	}
	got, err = s.ClaimDueMessages(ctx, storage.ChannelSMS, now.Add(storage.AllClearWait), 10, "node-b")
	mustNoErr(t, err, "claim")
	wantEqual(t, keysOf(got), []string{"a1/m1/all_clear"}, "m1's all-clear after its alert SMS was sent")

	// A second cancel is refused and queues nothing.
	_, err = s.CancelAlert(ctx, "a1", at(2*time.Minute), cancelEvent("a1", at(2*time.Minute)))
	wantErrIs(t, err, storage.ErrConflict, "cancel again")
	if n := len(stateOf(t, s, "a1")); n != 8 {
		t.Errorf("%d messages after a second cancel, want 8", n)
	}
}

// testStartSending: the sender's last step before the provider. Only the
// claimer of a claimed row may start it; an alert message no longer wanted
// is cancelled instead; a row about something else than an alert starts
// as it is.
func testStartSending(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for i := 1; i <= 5; i++ {
		members(t, s, newMember(fmt.Sprintf("m%d", i), i, storage.RoleResident, ""))
	}
	a, ev := alertAt("a1", t0)
	a.ExpiresAt = at(time.Hour)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "m1", SMSDueAt: t0}, {MemberID: "m2", SMSDueAt: t0}, {MemberID: "m3", SMSDueAt: t0},
		{MemberID: "m4", SMSDueAt: at(time.Hour)},
	}), "create alert")
	inv := storage.Ref{Type: "invitation", ID: "inv1"}
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{{Channel: storage.ChannelSMS, Ref: inv, MemberID: "m5",
		Kind: "invitation", DueAt: t0}}), "enqueue an invitation")
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "node-a")
	mustNoErr(t, err, "claim")
	if len(claimed) != 4 {
		t.Fatalf("claimed %v", keysOf(claimed))
	}
	// m2 answers after its SMS was claimed.
	_, err = s.RecordAcks(ctx, []storage.Ack{ack("a1", "m2", storage.RespSafe, at(2*time.Second))})
	mustNoErr(t, err, "record acks")

	key := func(m string) storage.MessageKey { return smsKey("a1", m, storage.MessageAlert) }
	wantErrIs(t, s.StartSending(ctx, key("m1"), "node-b", at(3*time.Second)), storage.ErrConflict, "start another node's claim")
	wantErrIs(t, s.StartSending(ctx, key("m4"), "node-a", at(3*time.Second)), storage.ErrConflict, "start a pending row")
	wantErrIs(t, s.StartSending(ctx, key("ghost"), "node-a", at(3*time.Second)), storage.ErrNotFound, "start a missing row")
	mustNoErr(t, s.StartSending(ctx, key("m1"), "node-a", at(3*time.Second)), "start m1")
	wantErrIs(t, s.StartSending(ctx, key("m1"), "node-a", at(3*time.Second)), storage.ErrConflict, "start m1 again")
	wantErrIs(t, s.StartSending(ctx, key("m2"), "node-a", at(3*time.Second)), storage.ErrConflict, "start the SMS of a member who answered")
	wantErrIs(t, s.StartSending(ctx, key("m3"), "node-a", at(time.Hour)), storage.ErrConflict, "start the SMS of an expired alert")
	mustNoErr(t, s.StartSending(ctx, storage.MessageKey{Channel: storage.ChannelSMS, Ref: inv, MemberID: "m5", Kind: "invitation"},
		"node-a", at(time.Hour)), "start the invitation")
	wantEqual(t, stateOf(t, s, "a1"), map[string]string{
		"a1/m1/alert": storage.MessageSending, "a1/m2/alert": storage.MessageCancelled,
		"a1/m3/alert": storage.MessageCancelled, "a1/m4/alert": storage.MessagePending,
	}, "after starting")
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.SMS, storage.SMSCounts{Queued: 2}, "sms counts (sending counts as queued)")
	rs, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	if len(rs) == 4 && rs[0].SMSState != storage.MessageSending {
		t.Errorf("recipient m1's sms_state %q, want sending", rs[0].SMSState)
	}
	// A sending row completes as a claimed one does.
	mustNoErr(t, s.CompleteMessage(ctx, key("m1"), storage.MessageResult{State: storage.MessagePending,
		RetryAt: at(time.Minute), ErrorCode: "20429", At: at(4 * time.Second)}), "complete a sending row for a retry")
}

// testAllClearFollowsAlertMessage: an all-clear is sent after the alert
// message of its channel and member reached the member, never before it
// and never without it: it waits while that message may still go (pending,
// claimed, sending), is cancelled when it never went (cancelled, failed),
// and goes when it was sent or delivered, or when there is none.
func testAllClearFollowsAlertMessage(t *testing.T, s storage.Store) {
	ctx := t.Context()
	states := []string{storage.MessagePending, storage.MessageClaimed, storage.MessageSending, storage.MessageSent,
		storage.MessageDelivered, storage.MessageFailed, storage.MessageCancelled, ""}
	var ts []storage.Target
	for i := range states {
		id := fmt.Sprintf("m%d", i)
		members(t, s, newMember(id, i+1, storage.RoleResident, ""))
		if states[i] != "" {
			ts = append(ts, storage.Target{MemberID: id, SMSDueAt: t0, SMSPriority: 2})
		} else {
			ts = append(ts, storage.Target{MemberID: id})
		}
	}
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")
	// Bring each alert SMS to its state (the pending one is claimed later:
	// it is due after the others are handled).
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), 10, "node")
	mustNoErr(t, err, "claim")
	if len(claimed) != len(states)-1 {
		t.Fatalf("claimed %v", keysOf(claimed))
	}
	key := func(i int, kind string) storage.MessageKey { return smsKey("a1", fmt.Sprintf("m%d", i), kind) }
	for i, st := range states {
		switch st {
		case storage.MessagePending:
			mustNoErr(t, s.CompleteMessage(ctx, key(i, storage.MessageAlert), storage.MessageResult{State: storage.MessagePending,
				RetryAt: at(time.Hour), ErrorCode: "20429", At: at(time.Second)}), "retry later")
		case storage.MessageSending, storage.MessageSent, storage.MessageDelivered:
			mustNoErr(t, s.StartSending(ctx, key(i, storage.MessageAlert), "node", at(time.Second)), "start sending")
			if st != storage.MessageSending {
				mustNoErr(t, s.CompleteMessage(ctx, key(i, storage.MessageAlert), storage.MessageResult{State: storage.MessageSent,
					ProviderID: fmt.Sprint("SM", i), Status: "queued", Segments: 1, At: at(time.Second)}), "complete")
			}
			if st == storage.MessageDelivered {
				mustNoErr(t, s.UpdateMessageStatus(ctx, storage.ChannelSMS, fmt.Sprint("SM", i), smsStatus("delivered", "", at(2*time.Second))),
					"delivered")
			}
		case storage.MessageFailed:
			mustNoErr(t, s.CompleteMessage(ctx, key(i, storage.MessageAlert), storage.MessageResult{State: storage.MessageFailed,
				Status: "failed", ErrorCode: "21211", At: at(time.Second)}), "fail")
		}
	}
	_, err = s.RecordAcks(ctx, []storage.Ack{ack("a1", fmt.Sprintf("m%d", slices.Index(states, storage.MessageCancelled)),
		storage.RespSafe, at(time.Second))})
	mustNoErr(t, err, "record acks")
	for i, st := range states {
		if st == storage.MessageCancelled {
			wantErrIs(t, s.StartSending(ctx, key(i, storage.MessageAlert), "node", at(time.Second)), storage.ErrConflict,
				"start the SMS of a member who answered")
		}
	}
	var acs []storage.Message
	for i := range states {
		acs = append(acs, storage.Message{Channel: storage.ChannelSMS, Ref: storage.AlertRef("a1"), MemberID: fmt.Sprintf("m%d", i),
			Kind: storage.MessageAllClear, Priority: 2, DueAt: at(time.Minute)})
	}
	mustNoErr(t, s.EnqueueMessages(ctx, acs), "enqueue all-clears")

	now := at(time.Minute)
	got, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, now, 20, "node")
	mustNoErr(t, err, "claim")
	keys := keysOf(got)
	slices.Sort(keys)
	// m3 sent, m4 delivered, m7 without an alert SMS.
	wantEqual(t, keys, []string{"a1/m3/all_clear", "a1/m4/all_clear", "a1/m7/all_clear"}, "all-clears claimed")
	wantAC := map[string]string{
		"a1/m0/all_clear": storage.MessagePending, "a1/m1/all_clear": storage.MessagePending,
		"a1/m2/all_clear": storage.MessagePending, "a1/m5/all_clear": storage.MessageCancelled,
		"a1/m6/all_clear": storage.MessageCancelled,
	}
	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	for _, r := range rows {
		want, ok := wantAC[keyOf(r)]
		if !ok {
			continue
		}
		if r.State != want {
			t.Errorf("%s: %s, want %s", keyOf(r), r.State, want)
		}
		if want == storage.MessagePending {
			wantTime(t, r.DueAt, now.Add(storage.AllClearWait), keyOf(r)+" due (waiting)")
		}
	}
}
