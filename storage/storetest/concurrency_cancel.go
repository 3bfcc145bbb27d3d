package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// testCancelRacesStartSending (issue 12): a sender starts an alert's
// claimed messages one by one while the alert is cancelled. Each message
// is on one side of the cancel: started (sending) and followed by an
// all-clear, or fenced (cancelled, its StartSending refused) and without
// one. A cancel whose all-clears were read from a snapshot taken before it
// waited for a StartSending would leave a started message without one.
func testCancelRacesStartSending(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n, rounds = 30, 8
	var ts []storage.Target
	for i := range n {
		id := fmt.Sprintf("m%02d", i)
		members(t, s, newMember(id, i+1, storage.RoleResident, ""))
		ts = append(ts, storage.Target{MemberID: id, SMSDueAt: t0, SMSPriority: 3})
	}
	for round := range rounds {
		alertID := fmt.Sprintf("a%d", round)
		a, ev := alertAt(alertID, t0)
		mustNoErr(t, s.CreateAlert(ctx, a, ev, ts), "create alert")
		claimed, err := s.ClaimDueMessages(ctx, storage.ChannelSMS, at(time.Second), n, "node-a")
		mustNoErr(t, err, "claim")
		if len(claimed) != n {
			t.Fatalf("round %d: claimed %d, want %d", round, len(claimed), n)
		}
		started := map[string]bool{}
		start := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			<-start
			for _, r := range claimed {
				switch err := s.StartSending(ctx, r.Key(), "node-a", at(2*time.Second)); {
				case err == nil:
					started[r.MemberID] = true
				case !errors.Is(err, storage.ErrConflict):
					t.Errorf("round %d: start sending %s: %v", round, r.MemberID, err)
				}
			}
		})
		wg.Go(func() {
			<-start
			time.Sleep(time.Duration(round) * 500 * time.Microsecond)
			if _, err := s.CancelAlert(ctx, alertID, at(time.Minute), cancelEvent(alertID, at(time.Minute))); err != nil {
				t.Errorf("round %d: cancel: %v", round, err)
			}
		})
		close(start)
		wg.Wait()

		rows, err := s.ListMessages(ctx, storage.AlertRef(alertID))
		mustNoErr(t, err, "list messages")
		state, allClear := map[string]string{}, map[string]bool{}
		for _, r := range rows {
			if r.Kind == storage.MessageAllClear {
				allClear[r.MemberID] = true
			} else {
				state[r.MemberID] = r.State
			}
		}
		for _, r := range claimed {
			m := r.MemberID
			switch {
			case started[m] && (state[m] != storage.MessageSending || !allClear[m]):
				t.Errorf("round %d: %s started: %s, all-clear %v; want sending with an all-clear", round, m, state[m], allClear[m])
			case !started[m] && (state[m] != storage.MessageCancelled || allClear[m]):
				t.Errorf("round %d: %s refused: %s, all-clear %v; want cancelled without an all-clear", round, m, state[m], allClear[m])
			}
		}
		t.Logf("round %d: %d of %d started before the cancel", round, len(started), n)
	}
}
