package storetest

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// voiceCases exercise calls (outbox rows of channel voice written with the
// alert) and the record of inbound SMS (storage.Voice).
var voiceCases = []testCase{
	{"VoiceRowsWithAlert", testVoiceRowsWithAlert},
	{"VoiceRowsOfBigAlert", testVoiceRowsOfBigAlert},
	{"VoiceRowsOfAddedTargets", testVoiceRowsOfAddedTargets},
	{"VoiceCancelledByAnswer", testVoiceCancelledByAnswer},
	{"VoiceCancelNoAllClearCall", testVoiceCancelNoAllClearCall},
	{"MemberByPhone", testMemberByPhone},
	{"InboundOnceAndOneHelp", testInboundOnceAndOneHelp},
}

// RunVoice: voice calls and SMS replies (issue 12).
func RunVoice(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, voiceCases, newStore)
}

func voiceKey(alertID, memberID string) storage.MessageKey {
	return storage.MessageKey{Channel: storage.ChannelVoice, Ref: storage.AlertRef(alertID), MemberID: memberID, Kind: storage.MessageAlert}
}

// voiceTargets addresses ids with an SMS due at t0 and a call due a
// minute later.
func voiceTargets(ids ...string) []storage.Target {
	ts := make([]storage.Target, len(ids))
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id, SMSDueAt: t0, SMSPriority: 4, VoiceDueAt: at(time.Minute)}
	}
	return ts
}

func createVoiceAlert(t *testing.T, s storage.Store, id string, ts []storage.Target) *storage.Alert {
	t.Helper()
	a, ev := alertAt(id, t0)
	after := 60
	a.VoiceAfterS = &after
	mustNoErr(t, s.CreateAlert(t.Context(), a, ev, ts), "create alert "+id)
	return a
}

func testVoiceRowsWithAlert(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	ts := voiceTargets("m1")
	ts = append(ts, storage.Target{MemberID: "m2", SMSDueAt: t0, SMSPriority: 4})
	createVoiceAlert(t, s, "a1", ts)
	got, err := s.GetAlert(ctx, "a1")
	mustNoErr(t, err, "get alert")
	if got.VoiceAfterS == nil || *got.VoiceAfterS != 60 {
		t.Errorf("VoiceAfterS = %v, want 60", got.VoiceAfterS)
	}
	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list messages")
	var calls []storage.Message
	for _, r := range rows {
		if r.Channel == storage.ChannelVoice {
			calls = append(calls, r)
		}
	}
	if len(calls) != 1 || calls[0].MemberID != "m1" || calls[0].Kind != storage.MessageAlert || calls[0].Priority != 4 {
		t.Fatalf("voice rows = %+v, want one for m1", calls)
	}
	wantTime(t, calls[0].DueAt, at(time.Minute), "call due")
	c, err := s.ChannelCounts(ctx, "a1", storage.ChannelVoice)
	mustNoErr(t, err, "channel counts")
	wantEqual(t, c, storage.SMSCounts{Queued: 1}, "voice counts")
	st, err := s.ChannelStates(ctx, "a1", storage.ChannelVoice)
	mustNoErr(t, err, "channel states")
	wantEqual(t, st, map[string]string{"m1": storage.MessagePending}, "voice states")
	_, err = s.ChannelCounts(ctx, "nope", storage.ChannelVoice)
	wantErrIs(t, err, storage.ErrNotFound, "counts of an unknown alert")

	// Not due before its time; claimed on the voice channel only.
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelVoice, at(30*time.Second), 10, "n1")
	mustNoErr(t, err, "claim early")
	wantEqual(t, len(claimed), 0, "calls claimed before due")
	claimed, err = s.ClaimDueMessages(ctx, storage.ChannelVoice, at(time.Minute), 10, "n1")
	mustNoErr(t, err, "claim")
	if len(claimed) != 1 || claimed[0].Phone != phoneOf(1) {
		t.Fatalf("claimed = %+v, want m1's call with its phone", claimed)
	}
}

func testVoiceRowsOfBigAlert(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	ids := manyMembers(t, s, "big", 600, "v1")
	createVoiceAlert(t, s, "a1", voiceTargets(ids...))
	c, err := s.ChannelCounts(ctx, "a1", storage.ChannelVoice)
	mustNoErr(t, err, "channel counts")
	wantEqual(t, c.Queued, 600, "queued calls of a 600-target alert")
}

func testVoiceRowsOfAddedTargets(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createVoiceAlert(t, s, "a1", voiceTargets("m1"))
	added, err := s.AddTargets(ctx, "a1", voiceTargets("m1", "m2"), at(time.Second))
	mustNoErr(t, err, "add targets")
	wantEqual(t, added, []string{"m2"}, "added")
	st, err := s.ChannelStates(ctx, "a1", storage.ChannelVoice)
	mustNoErr(t, err, "channel states")
	wantEqual(t, st, map[string]string{"m1": storage.MessagePending, "m2": storage.MessagePending}, "voice states")
}

func testVoiceCancelledByAnswer(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createVoiceAlert(t, s, "a1", voiceTargets("m1", "m2"))
	// m2's call is claimed and waits for the rate when m2 answers.
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelVoice, at(time.Minute), 1, "n1")
	mustNoErr(t, err, "claim")
	wantEqual(t, len(claimed), 1, "claimed")
	_, err = s.RecordAcks(ctx, []storage.Ack{
		{AlertID: "a1", MemberID: "m1", Response: storage.RespSafe, At: at(10 * time.Second)},
		{AlertID: "a1", MemberID: "m2", Response: storage.RespSafe, At: at(10 * time.Second)},
	})
	mustNoErr(t, err, "record acks")
	wantErrIs(t, s.StartSending(ctx, claimed[0].Key(), "n1", at(time.Minute)), storage.ErrConflict, "start a call to a member who answered")
	more, err := s.ClaimDueMessages(ctx, storage.ChannelVoice, at(2*time.Minute), 10, "n1")
	mustNoErr(t, err, "claim after answers")
	wantEqual(t, len(more), 0, "calls claimed after everyone answered")
	st, err := s.ChannelStates(ctx, "a1", storage.ChannelVoice)
	mustNoErr(t, err, "channel states")
	wantEqual(t, st, map[string]string{"m1": storage.MessageCancelled, "m2": storage.MessageCancelled}, "voice states")
}

func testVoiceCancelNoAllClearCall(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createVoiceAlert(t, s, "a1", voiceTargets("m1", "m2"))
	// m1's SMS and call went out; m2's call is claimed, not started.
	sms, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, t0, 10, "n1")
	mustNoErr(t, err, "claim sms")
	for _, r := range sms {
		if r.MemberID != "m1" {
			continue
		}
		mustNoErr(t, s.StartSending(ctx, r.Key(), "n1", t0), "start sms")
		mustNoErr(t, s.CompleteMessage(ctx, r.Key(), storage.MessageResult{State: storage.MessageSent, ProviderID: "SM1", At: t0}), "sent")
	}
	calls, err := s.ClaimDueMessages(ctx, storage.ChannelVoice, at(time.Minute), 10, "n1")
	mustNoErr(t, err, "claim calls")
	wantEqual(t, len(calls), 2, "calls claimed")
	mustNoErr(t, s.StartSending(ctx, voiceKey("a1", "m1"), "n1", at(time.Minute)), "start m1's call")
	mustNoErr(t, s.CompleteMessage(ctx, voiceKey("a1", "m1"), storage.MessageResult{State: storage.MessageSent, ProviderID: "CA1", At: at(time.Minute)}), "call sent")

	_, err = s.CancelAlert(ctx, "a1", at(2*time.Minute), cancelEvent("a1", at(2*time.Minute)))
	mustNoErr(t, err, "cancel")
	wantErrIs(t, s.StartSending(ctx, voiceKey("a1", "m2"), "n1", at(2*time.Minute)), storage.ErrConflict, "start m2's call after the cancel")
	rows, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "list")
	var allClears []string
	for _, r := range rows {
		if r.Kind == storage.MessageAllClear {
			allClears = append(allClears, r.Channel+"/"+r.MemberID)
		}
	}
	wantEqual(t, allClears, []string{"sms/m1"}, "all-clears (SMS only, never a call)")
}

func testMemberByPhone(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	m, err := s.MemberByPhone(ctx, phoneOf(1))
	mustNoErr(t, err, "member by phone")
	wantEqual(t, m.ID, "m1", "member")
	_, err = s.MemberByPhone(ctx, phoneOf(2))
	wantErrIs(t, err, storage.ErrNotFound, "unknown phone")
	_, err = s.MemberByPhone(ctx, "")
	wantErrIs(t, err, storage.ErrNotFound, "empty phone")
	_, err = s.EraseMember(ctx, "m1", t0)
	mustNoErr(t, err, "erase")
	_, err = s.MemberByPhone(ctx, phoneOf(1))
	wantErrIs(t, err, storage.ErrNotFound, "erased member's phone")
}

func testInboundOnceAndOneHelp(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1")
	createAlert(t, s, "a2", t0, "m1")
	help := func(sid string) *storage.Message {
		return &storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefReply, ID: sid},
			MemberID: "m1", Kind: storage.MessageHelp, Priority: 4, DueAt: t0}
	}
	seen, err := s.InboundSeen(ctx, "SMa")
	mustNoErr(t, err, "seen")
	wantEqual(t, seen, false, "seen before")
	in := storage.Inbound{SID: "SMa", MemberID: "m1", AlertID: "a1", At: t0}
	dup, queued, err := s.RecordInbound(ctx, in, help("SMa"))
	mustNoErr(t, err, "record unreadable")
	wantEqual(t, [2]bool{dup, queued}, [2]bool{false, true}, "first unreadable: help queued")
	dup, queued, err = s.RecordInbound(ctx, in, help("SMa"))
	mustNoErr(t, err, "record retry")
	wantEqual(t, [2]bool{dup, queued}, [2]bool{true, false}, "retried sid")
	in.SID = "SMb"
	dup, queued, err = s.RecordInbound(ctx, in, help("SMb"))
	mustNoErr(t, err, "record second unreadable")
	wantEqual(t, [2]bool{dup, queued}, [2]bool{false, false}, "second unreadable of the alert: no help")
	in.SID, in.AlertID = "SMc", "a2"
	dup, queued, err = s.RecordInbound(ctx, in, help("SMc"))
	mustNoErr(t, err, "record unreadable for another alert")
	wantEqual(t, [2]bool{dup, queued}, [2]bool{false, true}, "another alert: help queued")
	in = storage.Inbound{SID: "SMd", MemberID: "m1", AlertID: "a2", Outcome: storage.InboundAnswer, Response: storage.RespSafe, At: t0}
	dup, queued, err = s.RecordInbound(ctx, in, nil)
	mustNoErr(t, err, "record answer")
	wantEqual(t, [2]bool{dup, queued}, [2]bool{false, false}, "answer")
	seen, err = s.InboundSeen(ctx, "SMd")
	mustNoErr(t, err, "seen")
	wantEqual(t, seen, true, "seen after")
	n := 0
	for _, sid := range []string{"SMa", "SMb", "SMc", "SMd"} {
		rows, err := s.ListMessages(ctx, storage.Ref{Type: storage.RefReply, ID: sid})
		mustNoErr(t, err, "list help")
		n += len(rows)
	}
	wantEqual(t, n, 2, "help messages")
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, t0, 10, "n1")
	mustNoErr(t, err, "claim help")
	wantEqual(t, len(claimed), 2, "help messages claimed")
}
