package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// testCancelRacesAddTargets (issue 13): members are added to an alert, one
// call each from two goroutines, while it is cancelled. Every member a
// call reports added is a target as soon as the cancel has returned (so in
// the audience the cancel's caller reads then), and a call made after the
// cancel returned adds nothing.
func testCancelRacesAddTargets(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n, rounds = 20, 8
	var ids []string
	for i := range n {
		id := fmt.Sprintf("m%02d", i)
		members(t, s, newMember(id, i+1, storage.RoleResident, ""))
		ids = append(ids, id)
	}
	for round := range rounds {
		alertID := fmt.Sprintf("a%d", round)
		createAlert(t, s, alertID, t0)
		var (
			mu        sync.Mutex
			added     []string
			afterDone []string // added by a call made after the cancel returned
			audience  []string // the targets read right after the cancel returned
			cancelled = make(chan struct{})
		)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 2 {
			wg.Go(func() {
				<-start
				for i := g; i < n; i += 2 {
					var late bool
					select {
					case <-cancelled:
						late = true
					default:
					}
					got, err := s.AddTargets(ctx, alertID, []storage.Target{{MemberID: ids[i], SMSDueAt: at(time.Second)}}, at(time.Second))
					if err != nil {
						t.Errorf("round %d: add %s: %v", round, ids[i], err)
						return
					}
					mu.Lock()
					added = append(added, got...)
					if late {
						afterDone = append(afterDone, got...)
					}
					mu.Unlock()
				}
			})
		}
		wg.Go(func() {
			<-start
			time.Sleep(time.Duration(round) * 500 * time.Microsecond)
			if _, err := s.CancelAlert(ctx, alertID, at(time.Minute), cancelEvent(alertID, at(time.Minute))); err != nil {
				t.Errorf("round %d: cancel: %v", round, err)
			}
			close(cancelled)
			rs, err := s.ListRecipients(ctx, alertID, storage.RecipientFilter{})
			if err != nil {
				t.Errorf("round %d: recipients: %v", round, err)
			}
			for _, r := range rs {
				audience = append(audience, r.MemberID)
			}
		})
		close(start)
		wg.Wait()

		if len(afterDone) > 0 {
			t.Errorf("round %d: added after the cancel returned: %v", round, afterDone)
		}
		for _, m := range added {
			if !slices.Contains(audience, m) {
				t.Errorf("round %d: %s was added but is not a target when the cancel returns", round, m)
			}
		}
		rs, err := s.ListRecipients(ctx, alertID, storage.RecipientFilter{})
		mustNoErr(t, err, "recipients")
		if len(rs) != len(added) {
			t.Errorf("round %d: %d targets, %d reported added", round, len(rs), len(added))
		}
		sms, err := s.ListMessages(ctx, storage.AlertRef(alertID))
		mustNoErr(t, err, "list messages")
		for _, r := range sms {
			if r.State != storage.MessageCancelled {
				t.Errorf("round %d: %s's alert SMS is %s after the cancel", round, r.MemberID, r.State)
			}
		}
		t.Logf("round %d: %d of %d added before the cancel", round, len(added), n)
	}
}
