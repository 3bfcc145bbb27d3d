package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunLetters: the villager mailbox (storage/letters.go; service/letters):
// a letter with its readers and event, its steps checked against the
// state read, the thread, the listings, the reminder SMS cancelled.
func RunLetters(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, letterCases, newStore)
}

var letterCases = []testCase{
	{"Letters", testLetters},
}

func testLetters(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("w", 1, storage.RoleResident, "v1"), newMember("c1", 2, storage.RoleCadre, "v1"),
		newMember("tc", 3, storage.RoleCadre, "v2"), newMember("w2", 4, storage.RoleResident, "v1"))
	l := storage.Letter{ID: "l1", VillageID: "v1", WriterID: "w", To: "village", Level: "village",
		Status: storage.LetterOpen, Subject: "路灯", Body: "三组路灯坏了", CreatedAt: at(0), UpdatedAt: at(0)}
	ev := &storage.Event{Type: storage.EventLetter, VillageID: "v1", MemberID: "w", To: []string{"w", "c1"},
		Body: []byte(`{"id":"l1"}`), CreatedAt: at(0)}
	if err := s.CreateLetter(ctx, &l, nil, &storage.Event{Type: storage.EventLetter}); !errors.Is(err, storage.ErrNotAddressed) {
		t.Fatalf("create with an unaddressed event: %v", err)
	}
	mustNoErr(t, s.CreateLetter(ctx, &l, []storage.LetterReader{{MemberID: "c1", Reason: storage.ReadAddressed, At: at(0)}}, ev), "create")
	if ev.Seq <= 0 || l.CreatedSeq != ev.Seq || l.Seq != ev.Seq {
		t.Fatalf("seqs: event %d, letter %d/%d", ev.Seq, l.CreatedSeq, l.Seq)
	}
	got, err := s.GetLetter(ctx, "l1")
	mustNoErr(t, err, "get")
	wantEqual(t, got, l, "letter as stored")
	if _, err := s.GetLetter(ctx, "nope"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("get a missing letter: %v", err)
	}
	// A second letter of another writer, no readers yet.
	l2 := storage.Letter{ID: "l2", VillageID: "v1", WriterID: "w2", To: "township", Level: "township",
		Status: storage.LetterOpen, Subject: "s", Body: "b", CreatedAt: at(time.Second), UpdatedAt: at(time.Second)}
	mustNoErr(t, s.CreateLetter(ctx, &l2, nil, &storage.Event{Type: storage.EventLetter, To: []string{"w2"}, CreatedAt: at(time.Second)}), "create l2")

	ids := func(f storage.LetterFilter) []string {
		t.Helper()
		ls, err := s.ListLetters(ctx, f)
		mustNoErr(t, err, "list")
		var out []string
		for _, l := range ls {
			out = append(out, l.ID)
		}
		return out
	}
	yes := true
	for _, c := range []struct {
		name string
		f    storage.LetterFilter
		want []string
	}{
		{"writer", storage.LetterFilter{Reader: "w"}, []string{"l1"}},
		{"reader", storage.LetterFilter{Reader: "c1"}, []string{"l1"}},
		{"stranger", storage.LetterFilter{Reader: "tc"}, nil},
		{"open, newest first", storage.LetterFilter{Open: true}, []string{"l2", "l1"}},
		{"open, paged", storage.LetterFilter{Open: true, Before: l2.CreatedSeq}, []string{"l1"}},
		{"level", storage.LetterFilter{Open: true, Level: "township"}, []string{"l2"}},
		{"overdue", storage.LetterFilter{Reader: "w", Overdue: &yes}, nil},
	} {
		if got := ids(c.f); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}

	// Escalate l1: a reader added, an SMS queued, two events.
	set := l
	set.Level, set.Overdue, set.UpdatedAt = "township", true, at(time.Hour)
	e1 := &storage.Event{Type: storage.EventLetter, To: []string{"w", "c1", "tc"}, CreatedAt: at(time.Hour)}
	e2 := &storage.Event{Type: storage.EventNotice, To: []string{"tc"}, CreatedAt: at(time.Hour)}
	msg := storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefLetter, ID: "l1"},
		MemberID: "tc", Kind: storage.MessageLetterTownship, DueAt: at(2 * time.Hour)}
	stale := storage.LetterChange{ID: "l1", ExpectStatus: storage.LetterOpen, ExpectLevel: "village", ExpectOverdue: true, Set: set,
		Events: []*storage.Event{{Type: storage.EventLetter, To: []string{"w"}, CreatedAt: at(time.Hour)}}}
	if _, err := s.ChangeLetter(ctx, &stale); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("a step expecting overdue: %v, want ErrConflict", err)
	}
	ch := &storage.LetterChange{ID: "l1", ExpectStatus: storage.LetterOpen, ExpectLevel: "village", Set: set,
		Entry:    &storage.LetterEntry{Kind: storage.EntryEscalate, Level: "township", At: at(time.Hour)},
		Readers:  []storage.LetterReader{{MemberID: "tc", Reason: storage.ReadEscalated, At: at(time.Hour)}, {MemberID: "c1", Reason: storage.ReadShared, At: at(time.Hour)}},
		Events:   []*storage.Event{e1, e2},
		Messages: []storage.Message{msg}}
	got, err = s.ChangeLetter(ctx, ch)
	mustNoErr(t, err, "escalate")
	if got.Level != "township" || !got.Overdue || got.Seq != e2.Seq || e1.Seq <= l2.Seq || e2.Seq != e1.Seq+1 {
		t.Errorf("escalated: %+v, events %d %d", got, e1.Seq, e2.Seq)
	}
	// The same step again (the state it expects is gone): nothing written.
	ch2 := *ch
	ch2.Events = []*storage.Event{{Type: storage.EventLetter, To: []string{"w"}, CreatedAt: at(time.Hour)}}
	if _, err := s.ChangeLetter(ctx, &ch2); !errors.Is(err, storage.ErrConflict) {
		t.Errorf("escalate twice: %v, want ErrConflict", err)
	}
	if _, err := s.ChangeLetter(ctx, &storage.LetterChange{ID: "nope", Events: ch2.Events}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("change a missing letter: %v, want ErrNotFound", err)
	}
	latest, err := s.LatestSeq(ctx)
	mustNoErr(t, err, "latest seq")
	wantEqual(t, latest, e2.Seq, "no event of the refused steps")
	if ok, err := s.IsLetterReader(ctx, "l1", "tc"); err != nil || !ok {
		t.Errorf("tc reads l1: %v %v", ok, err)
	}
	if ok, err := s.IsLetterReader(ctx, "l1", "w2"); err != nil || ok {
		t.Errorf("w2 reads l1: %v %v", ok, err)
	}
	evs, err := s.EventsSince(ctx, storage.Audience{MemberID: "tc", Role: storage.RoleCadre, VillageID: "v2"}, 0, 0)
	mustNoErr(t, err, "events of tc")
	if len(evs) != 2 || evs[0].Seq != e1.Seq || evs[1].Type != storage.EventNotice {
		t.Errorf("tc's events: %+v", evs)
	}

	// Answer: the pending SMS is cancelled.
	set = got
	set.Status, set.AnsweredAt, set.UpdatedAt = storage.LetterAnswered, at(90*time.Minute), at(90*time.Minute)
	got, err = s.ChangeLetter(ctx, &storage.LetterChange{ID: "l1", ExpectStatus: storage.LetterOpen, ExpectLevel: "township", ExpectOverdue: true,
		Set: set, Entry: &storage.LetterEntry{Kind: storage.EntryReply, ActorID: "tc", Body: "已修", Level: "township", At: at(90 * time.Minute)},
		Events: []*storage.Event{{Type: storage.EventLetter, To: []string{"w", "c1", "tc"}, CreatedAt: at(90 * time.Minute)}}, CancelMessages: true})
	mustNoErr(t, err, "answer")
	if got.Status != storage.LetterAnswered || !got.AnsweredAt.Equal(at(90*time.Minute)) {
		t.Errorf("answered: %+v", got)
	}
	msgs, err := s.ListMessages(ctx, storage.Ref{Type: storage.RefLetter, ID: "l1"})
	mustNoErr(t, err, "messages")
	if len(msgs) != 1 || msgs[0].State != storage.MessageCancelled {
		t.Errorf("reminder SMS after the answer: %+v", msgs)
	}
	es, rs, err := s.LetterThread(ctx, "l1")
	mustNoErr(t, err, "thread")
	var kinds []string
	for i, e := range es {
		kinds = append(kinds, e.Kind)
		if e.N != i+1 {
			t.Errorf("entry %d numbered %d", i, e.N)
		}
	}
	wantEqual(t, kinds, []string{storage.EntryLetter, storage.EntryEscalate, storage.EntryReply}, "thread kinds")
	if es[2].Body != "已修" || es[2].ActorID != "tc" || !es[0].At.Equal(at(0)) {
		t.Errorf("thread: %+v", es)
	}
	if len(rs) != 2 || rs[0].MemberID != "c1" || rs[0].Reason != storage.ReadAddressed || rs[1].MemberID != "tc" {
		t.Errorf("readers (c1 kept as addressed): %+v", rs)
	}
	wantEqual(t, ids(storage.LetterFilter{Open: true}), []string{"l2"}, "open after the answer")
	wantEqual(t, ids(storage.LetterFilter{Reader: "w", Overdue: &yes}), []string{"l1"}, "overdue of w")
}
