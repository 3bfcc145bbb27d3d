package hub

import (
	"context"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// bulletinEvent stores a county-wide bulletin straight in the store and
// returns its event (seq set), without publishing it.
func (e *testEnv) bulletinEvent(id string) *storage.Event {
	e.t.Helper()
	st, ok := e.store.(interface {
		CreateBulletin(ctx context.Context, b *storage.Bulletin, ev *storage.Event) error
	})
	if !ok {
		e.t.Fatal("the test store cannot create bulletins")
	}
	now := time.Now().UTC()
	b := &storage.Bulletin{ID: id, Category: "notice", Title: id, Body: "b", AuthorID: "x", PublishedAt: now}
	ev := &storage.Event{Type: storage.EventBulletin, Body: []byte(`{"id":"` + id + `"}`), CreatedAt: now}
	if err := st.CreateBulletin(context.Background(), b, ev); err != nil {
		e.t.Fatalf("CreateBulletin: %v", err)
	}
	return ev
}

// everyone is the audience of a county-wide bulletin.
func everyone(*storage.Event) Audience { return Audience{AnyRoles: AllRoles} }

// eventSeqs reads n event frames and returns their seqs.
func eventSeqs(w *wsClient, n int) []int64 {
	var out []int64
	for len(out) < n {
		f := w.next()
		if f["type"] == "bulletin" {
			out = append(out, num(f["seq"]))
		}
	}
	return out
}

// TestSequencerOrdersOutOfOrderPublishes: envelopes published out of seq
// order reach a connection in seq order.
func TestSequencerOrdersOutOfOrderPublishes(t *testing.T) {
	e := newEnv(t)
	e.h.SetHooks(Hooks{Commands: pingHandler{}, Audience: everyone})
	_, tok := e.member(storage.RoleResident, 0, inside)
	w := e.dial(tok)
	w.welcome()
	ev1, ev2, ev3 := e.bulletinEvent("b1"), e.bulletinEvent("b2"), e.bulletinEvent("b3")
	ctx := context.Background()
	for _, ev := range []*storage.Event{ev3, ev1, ev2} {
		e.h.PublishEvent(ctx, ev, Audience{AnyRoles: AllRoles})
	}
	got := eventSeqs(w, 3)
	want := []int64{ev1.Seq, ev2.Seq, ev3.Seq}
	if got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("seqs %v, want %v", got, want)
	}
}

// TestSequencerFillsGapFromStore: an event whose envelope never comes (its
// node died after the commit, the broker lost it) is read from the store
// and delivered before the next one, within moments.
func TestSequencerFillsGapFromStore(t *testing.T) {
	e := newEnv(t)
	e.h.SetHooks(Hooks{Commands: pingHandler{}, Audience: everyone})
	_, tok := e.member(storage.RoleResident, 0, inside)
	w := e.dial(tok)
	w.welcome()
	lost := e.bulletinEvent("lost")
	next := e.bulletinEvent("next")
	start := time.Now()
	e.h.PublishEvent(context.Background(), next, Audience{AnyRoles: AllRoles})
	got := eventSeqs(w, 2)
	if got[0] != lost.Seq || got[1] != next.Seq {
		t.Fatalf("seqs %v, want %d (from the store) then %d", got, lost.Seq, next.Seq)
	}
	t.Logf("gap filled from the store in %v", time.Since(start))
}

// TestSequencerCatchesUpWithoutAnnouncement: an event nobody announces at
// all reaches the connection from the store (the poll), and an envelope
// for it arriving later is not delivered twice.
func TestSequencerCatchesUpWithoutAnnouncement(t *testing.T) {
	e := newEnv(t)
	e.h.SetHooks(Hooks{Commands: pingHandler{}, Audience: everyone})
	_, tok := e.member(storage.RoleResident, 0, inside)
	w := e.dial(tok)
	w.welcome()
	silent := e.bulletinEvent("silent")
	if got := eventSeqs(w, 1); got[0] != silent.Seq {
		t.Fatalf("seq %v, want %d", got, silent.Seq)
	}
	e.h.PublishEvent(context.Background(), silent, Audience{AnyRoles: AllRoles}) // late: a duplicate
	later := e.bulletinEvent("later")
	e.h.PublishEvent(context.Background(), later, Audience{AnyRoles: AllRoles})
	if got := eventSeqs(w, 1); got[0] != later.Seq {
		t.Fatalf("after the late duplicate got seq %v, want %d", got, later.Seq)
	}
}
