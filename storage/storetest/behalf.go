package storetest

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunBehalf: answers recorded on someone's behalf (Ack.By: the latest
// answer's AnsweredBy, the history, progress' OnBehalf), recipients of one
// village, and the queue counts behind the SMS ETA (storage.Queue), issue
// 12.
func RunBehalf(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, behalfCases, newStore)
}

var behalfCases = []testCase{
	{"AnswerOnBehalf", testAnswerOnBehalf},
	{"RecipientsOfVillage", testRecipientsOfVillage},
	{"QueueCounts", testQueueCounts},
}

// testAnswerOnBehalf: an answer a patrol records for a resident is the
// resident's answer (progress, recipients) with the patrol as AnsweredBy
// and By in the history, and cancels the resident's pending SMS; the
// patrol recording the same again changes nothing; the resident's own
// later answer wins, even saying the same, and clears AnsweredBy.
func testAnswerOnBehalf(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	members(t, s, newMember("r1", 1, storage.RoleResident, "v1"), newMember("r2", 2, storage.RoleResident, "v1"),
		newMember("p1", 3, storage.RolePatrol, "v1"))
	a, ev := alertAt("a1", t0)
	mustNoErr(t, s.CreateAlert(ctx, a, ev, []storage.Target{
		{MemberID: "r1", SMSDueAt: at(time.Minute), SMSPriority: 3}, {MemberID: "r2"}, {MemberID: "p1"},
	}), "create alert")

	ok, err := s.RecordAcks(ctx, []storage.Ack{{AlertID: "a1", MemberID: "r1", Response: storage.RespSafe, At: at(time.Second), By: "p1"}})
	mustNoErr(t, err, "record on behalf")
	wantEqual(t, ok, []bool{true}, "ok")
	p, err := s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	if p.OnBehalf != 1 || p.Acked[storage.RespSafe] != 1 {
		t.Errorf("progress after an answer on behalf: %+v", p)
	}
	rs, err := s.ListRecipients(ctx, "a1", storage.RecipientFilter{})
	mustNoErr(t, err, "recipients")
	for _, r := range rs {
		want := ""
		if r.MemberID == "r1" {
			want = "p1"
		}
		if r.AnsweredBy != want {
			t.Errorf("recipient %s answered by %q, want %q", r.MemberID, r.AnsweredBy, want)
		}
	}
	msgs, err := s.ListMessages(ctx, storage.AlertRef("a1"))
	mustNoErr(t, err, "messages")
	if len(msgs) != 1 || msgs[0].State != storage.MessageCancelled {
		t.Errorf("the resident's SMS after an answer on its behalf: %+v", msgs)
	}

	// The same answer by the same hand again: nothing new.
	_, err = s.RecordAcks(ctx, []storage.Ack{{AlertID: "a1", MemberID: "r1", Response: storage.RespSafe, At: at(2 * time.Second), By: "p1"}})
	mustNoErr(t, err, "record again")
	hist, err := s.AckHistory(ctx, "a1", "r1")
	mustNoErr(t, err, "history")
	if len(hist) != 1 || hist[0].By != "p1" {
		t.Fatalf("history after a repeated answer on behalf: %+v", hist)
	}

	// The resident confirms itself: a new answer, its own.
	_, err = s.RecordAcks(ctx, []storage.Ack{{AlertID: "a1", MemberID: "r1", Response: storage.RespSafe, At: at(3 * time.Second)}})
	mustNoErr(t, err, "own answer")
	hist, err = s.AckHistory(ctx, "a1", "r1")
	mustNoErr(t, err, "history")
	if len(hist) != 2 || hist[0].By != "p1" || hist[1].By != "" {
		t.Fatalf("history after the member's own answer: %+v", hist)
	}
	p, err = s.AlertProgress(ctx, "a1")
	mustNoErr(t, err, "progress")
	if p.OnBehalf != 0 || p.Acked[storage.RespSafe] != 1 {
		t.Errorf("progress after the member's own answer: %+v", p)
	}
	rs, err = s.ListRecipients(ctx, "a1", storage.RecipientFilter{Response: storage.RespSafe})
	mustNoErr(t, err, "recipients")
	if len(rs) != 1 || rs[0].MemberID != "r1" || rs[0].AnsweredBy != "" {
		t.Errorf("recipients after the member's own answer: %+v", rs)
	}

	// An answer on behalf older than the member's own does not replace it
	// (latest wins by At), and goes to the history.
	_, err = s.RecordAcks(ctx, []storage.Ack{{AlertID: "a1", MemberID: "r1", Response: storage.RespNeedHelp, At: at(2500 * time.Millisecond), By: "p1"}})
	mustNoErr(t, err, "late answer on behalf")
	rs, err = s.ListRecipients(ctx, "a1", storage.RecipientFilter{Response: storage.RespSafe})
	mustNoErr(t, err, "recipients")
	if len(rs) != 1 || rs[0].AnsweredBy != "" {
		t.Errorf("an older answer on behalf replaced the member's own: %+v", rs)
	}
}

// testRecipientsOfVillage: RecipientFilter.VillageID keeps the members
// of that village, with the other filters.
func testRecipientsOfVillage(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	village(t, s, "v2")
	members(t, s, newMember("a", 1, storage.RoleResident, "v1"), newMember("b", 2, storage.RoleResident, "v2"),
		newMember("c", 3, storage.RoleResident, "v1"))
	createAlert(t, s, "a1", t0, "a", "b", "c")
	_, err := s.RecordAcks(ctx, []storage.Ack{{AlertID: "a1", MemberID: "c", Response: storage.RespNeedHelp, At: at(time.Second)}})
	mustNoErr(t, err, "ack")
	ids := func(f storage.RecipientFilter) []string {
		rs, err := s.ListRecipients(ctx, "a1", f)
		mustNoErr(t, err, "recipients")
		out := []string{}
		for _, r := range rs {
			out = append(out, r.MemberID)
		}
		return out
	}
	wantEqual(t, ids(storage.RecipientFilter{VillageID: "v1"}), []string{"a", "c"}, "village v1")
	wantEqual(t, ids(storage.RecipientFilter{VillageID: "v2"}), []string{"b"}, "village v2")
	wantEqual(t, ids(storage.RecipientFilter{VillageID: "v1", Response: "none"}), []string{"a"}, "v1 without answer")
	wantEqual(t, ids(storage.RecipientFilter{VillageID: "nowhere"}), []string{}, "unknown village")
}

// testQueueCounts: QueueAhead counts in-flight rows, and pending rows due
// now of a higher priority, or of the same priority due by the given time;
// QueuedFor splits a ref's unsent rows into due now and later.
func testQueueCounts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	village(t, s, "v1")
	ids := manyMembers(t, s, "q", 12, "v1")
	now := at(time.Hour)
	row := func(alert, member string, prio int, due time.Time) storage.Message {
		return storage.Message{Channel: storage.ChannelSMS, Ref: storage.AlertRef(alert), MemberID: member,
			Kind: storage.MessageAlert, State: storage.MessagePending, Priority: prio, DueAt: due}
	}
	createAlert(t, s, "minor", t0, ids[:6]...)
	createAlert(t, s, "extreme", t0, ids[6:]...)
	mustNoErr(t, s.EnqueueMessages(ctx, []storage.Message{
		// minor (1): 4 due before now, 1 due later, 1 claimed below.
		row("minor", ids[0], 1, at(time.Minute)), row("minor", ids[1], 1, at(2*time.Minute)),
		row("minor", ids[2], 1, at(3*time.Minute)), row("minor", ids[3], 1, at(4*time.Minute)),
		row("minor", ids[4], 1, now.Add(time.Minute)), row("minor", ids[5], 1, at(time.Minute)),
		// extreme (4): 3 due, 1 later; one of another channel.
		row("extreme", ids[6], 4, at(30*time.Minute)), row("extreme", ids[7], 4, at(30*time.Minute)),
		row("extreme", ids[8], 4, now), row("extreme", ids[9], 4, now.Add(time.Second)),
		{Channel: "voice", Ref: storage.AlertRef("extreme"), MemberID: ids[10], Kind: storage.MessageAlert,
			State: storage.MessagePending, Priority: 4, DueAt: t0},
	}), "enqueue")
	// One minor row is claimed (in flight): it counts for every priority.
	claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Minute), 1, "node-1")
	mustNoErr(t, err, "claim")
	if len(claimed) != 1 || claimed[0].Ref.ID != "minor" {
		t.Fatalf("claimed %+v", claimed)
	}

	for _, c := range []struct {
		prio int
		due  time.Time
		want int
	}{
		{4, now, 1 + 3},                     // in flight + extreme due
		{4, at(30 * time.Minute), 1 + 2},    // the extreme ones due by then
		{1, now, 1 + 3 + 4},                 // in flight + extreme + minor due (not the later one)
		{1, at(2 * time.Minute), 1 + 3 + 2}, // minor pending due by 2 min: two (a third is claimed)
		{5, now, 1},                         // nothing above 4
		{1, now.Add(time.Hour), 1 + 3 + 4},  // due is taken no later than now
	} {
		n, err := s.QueueAhead(ctx, storage.ChannelSMS, c.prio, c.due, now)
		mustNoErr(t, err, "queue ahead")
		if n != c.want {
			t.Errorf("QueueAhead(priority %d, due %s) = %d, want %d", c.prio, c.due.Sub(t0), n, c.want)
		}
	}
	n, err := s.QueueAhead(ctx, "voice", 1, now, now)
	mustNoErr(t, err, "queue ahead voice")
	if n != 1 {
		t.Errorf("voice queue ahead = %d, want 1", n)
	}

	due, last, later, err := s.QueuedFor(ctx, storage.ChannelSMS, storage.AlertRef("extreme"), storage.MessageAlert, now)
	mustNoErr(t, err, "queued for extreme")
	if due != 3 || later != 1 {
		t.Errorf("QueuedFor(extreme) = %d due, %d later; want 3, 1", due, later)
	}
	wantTime(t, last, now, "extreme's last due")
	due, last, later, err = s.QueuedFor(ctx, storage.ChannelSMS, storage.AlertRef("minor"), storage.MessageAlert, now)
	mustNoErr(t, err, "queued for minor")
	if due != 5 || later != 1 {
		t.Errorf("QueuedFor(minor) = %d due, %d later; want 5, 1", due, later)
	}
	wantTime(t, last, at(4*time.Minute), "minor's last due")
	due, last, later, err = s.QueuedFor(ctx, storage.ChannelSMS, storage.AlertRef("nothing"), storage.MessageAlert, now)
	mustNoErr(t, err, "queued for nothing")
	if due != 0 || later != 0 || !last.IsZero() {
		t.Errorf("QueuedFor(nothing) = %d, %s, %d", due, last, later)
	}
}

// BenchQueue measures the reads behind the SMS ETA (storage.Queue) over a
// county-scale backlog: 200,000 pending SMS rows of one alert. The
// progress pusher reads both for each active alert with SMS queued, at
// most 4 times a second while its progress changes.
func BenchQueue(b *testing.B, newStore func(b *testing.B) storage.Store) {
	s := newStore(b)
	ctx := b.Context()
	const n = 200_000
	ids := manyMembers(b, s, "eta", n, "v1")
	ts := make([]storage.Target, n)
	for i, id := range ids {
		ts[i] = storage.Target{MemberID: id, SMSDueAt: t0, SMSPriority: 1}
	}
	a, ev := alertAt("county", t0)
	mustNoErr(b, s.CreateAlert(ctx, a, ev, ts), "create alert")
	now := at(time.Minute)
	b.Run("QueueAhead200k", func(b *testing.B) {
		for b.Loop() {
			if k, err := s.QueueAhead(ctx, storage.ChannelSMS, 1, now, now); err != nil || k != n {
				b.Fatalf("QueueAhead = %d, %v", k, err)
			}
		}
	})
	b.Run("QueuedFor200k", func(b *testing.B) {
		for b.Loop() {
			if due, _, _, err := s.QueuedFor(ctx, storage.ChannelSMS, storage.AlertRef("county"), storage.MessageAlert, now); err != nil || due != n {
				b.Fatalf("QueuedFor = %d, %v", due, err)
			}
		}
	})
}
