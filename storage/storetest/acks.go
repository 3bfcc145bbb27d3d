package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// Answers are idempotent and their history bounded (issue 13); the cases
// run with alertCases.

// historyOf is the kept answers of a member to an alert, as responses.
func historyOf(t testing.TB, s storage.Store, alertID, memberID string) []string {
	t.Helper()
	h, err := s.AckHistory(t.Context(), alertID, memberID)
	mustNoErr(t, err, "ack history")
	out := make([]string, len(h))
	for i, a := range h {
		out[i] = a.Response
		if a.EtaMin != nil {
			out[i] += fmt.Sprint("+", *a.EtaMin)
		}
		if a.Note != "" {
			out[i] += "/" + a.Note
		}
	}
	return out
}

// testRecordAcksIdempotent: an answer equal to the one before it (response,
// eta and note) is not stored again, within a batch or across batches,
// and its ok is true; a changed one is stored and wins; an answer changed
// back is stored again. The latest answer's time is that of its first
// sending.
func testRecordAcksIdempotent(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RolePatrol, ""))
	createAlert(t, s, "a1", t0, "m1", "m2")

	eta := 10
	coming := func(c time.Time, eta *int, note string) storage.Ack {
		a := ack("a1", "m2", storage.RespComing, c)
		a.EtaMin, a.Note = eta, note
		return a
	}
	ok, err := s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m1", storage.RespSafe, at(1*time.Second)),
		ack("a1", "m1", storage.RespSafe, at(2*time.Second)), // the same: not stored
		ack("a1", "m1", storage.RespSafe, at(3*time.Second)),
		coming(at(time.Second), &eta, "boat"),
		coming(at(2*time.Second), &eta, "boat"), // the same
		coming(at(3*time.Second), nil, "boat"),  // no eta now: changed
		coming(at(4*time.Second), nil, "boat"),
	})
	mustNoErr(t, err, "record acks")
	wantEqual(t, ok, []bool{true, true, true, true, true, true, true}, "ok")
	wantEqual(t, historyOf(t, s, "a1", "m1"), []string{"safe"}, "m1 history after one batch")
	wantEqual(t, historyOf(t, s, "a1", "m2"), []string{"coming+10/boat", "coming/boat"}, "m2 history after one batch")

	// A later batch repeating the latest answers stores nothing and leaves
	// the answer's time alone.
	ok, err = s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m1", storage.RespSafe, at(time.Minute)),
		coming(at(time.Minute), nil, "boat"),
	})
	mustNoErr(t, err, "record the same answers again")
	wantEqual(t, ok, []bool{true, true}, "ok of repeats")
	wantEqual(t, historyOf(t, s, "a1", "m1"), []string{"safe"}, "m1 history after a repeat")
	wantEqual(t, historyOf(t, s, "a1", "m2"), []string{"coming+10/boat", "coming/boat"}, "m2 history after a repeat")
	recips, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "list recipients")
	wantTimePtr(t, recips[0].RespondedAt, new(at(time.Second)), "m1 responded_at (its first safe)")
	wantTimePtr(t, recips[1].RespondedAt, new(at(3*time.Second)), "m2 responded_at (its first coming without eta)")

	// Changed, then changed back: both stored; the latest wins.
	_, err = s.RecordAcks(ctx, []storage.Ack{
		ack("a1", "m1", storage.RespNeedHelp, at(2*time.Minute)),
		ack("a1", "m1", storage.RespNeedHelp, at(2*time.Minute+time.Second)),
	})
	mustNoErr(t, err, "record a change")
	_, err = s.RecordAcks(ctx, []storage.Ack{ack("a1", "m1", storage.RespSafe, at(3*time.Minute))})
	mustNoErr(t, err, "record a change back")
	wantEqual(t, historyOf(t, s, "a1", "m1"), []string{"safe", "need_help", "safe"}, "m1 history after changes")
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	wantEqual(t, p.Acked, allAcked(storage.RespSafe, 1, storage.RespComing, 1), "acked")
}

// testRecordAcksHistoryBounded: a member flipping its answer keeps only
// the newest storage.AckHistoryMax answers in the history, whether the
// flips come in one batch or in many; the latest answer is the last one
// sent, and other members' histories are untouched.
func testRecordAcksHistoryBounded(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	createAlert(t, s, "a1", t0, "m1", "m2")
	resp := func(i int) string {
		if i%2 == 0 {
			return storage.RespSafe
		}
		return storage.RespNeedHelp
	}
	n := 3 * storage.AckHistoryMax
	var batch []storage.Ack
	for i := range n {
		batch = append(batch, ack("a1", "m1", resp(i), at(time.Duration(i)*time.Second)))
	}
	batch = append(batch, ack("a1", "m2", storage.RespSafe, at(time.Second)))
	_, err := s.RecordAcks(ctx, batch)
	mustNoErr(t, err, "record a flood in one batch")
	h := historyOf(t, s, "a1", "m1")
	if len(h) != storage.AckHistoryMax || h[len(h)-1] != resp(n-1) {
		t.Fatalf("history after one batch of %d: %d answers ending %q, want %d ending %q",
			n, len(h), h[len(h)-1], storage.AckHistoryMax, resp(n-1))
	}
	for i := range n {
		_, err := s.RecordAcks(ctx, []storage.Ack{ack("a1", "m1", resp(i+1), at(time.Hour+time.Duration(i)*time.Second))})
		mustNoErr(t, err, "record one of a flood")
	}
	h = historyOf(t, s, "a1", "m1")
	if len(h) != storage.AckHistoryMax || h[len(h)-1] != resp(n) {
		t.Fatalf("history after %d batches: %v, want %d answers ending %q", n, h, storage.AckHistoryMax, resp(n))
	}
	wantEqual(t, historyOf(t, s, "a1", "m2"), []string{"safe"}, "m2 history")
	recips, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "list recipients")
	if recips[0].Response != resp(n) {
		t.Errorf("m1's answer %q, want its last %q", recips[0].Response, resp(n))
	}
}
