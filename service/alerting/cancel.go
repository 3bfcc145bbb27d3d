package alerting

import (
	"context"
	"hash/fnv"
	"sync"

	"github.com/longyou/hub/hub"
	"github.com/longyou/hub/storage"
)

// A cancel and a member moving into the alert's area can race. The store
// decides who wins: AddTargets adds nothing to an alert that is no longer
// active, in one transaction with its check, and CancelAlert is wholly
// before or after it (storage.Store.AddTargets). So a member is either
// never addressed (the move-in is refused and pushes nothing) or addressed
// before the cancel commits, and then in the cancel's audience, which is
// read from the targets after the commit.
//
// What the store cannot order is the two pushes on this node: the move-in
// pushes the alert to the member as a replay, at once, while the cancel
// goes through the sequencer; a member added just before the cancel could
// get the alert_cancel first and the alert after it, and keep the alert
// on its screen. The alert's order lock makes a move-in (read, from before
// its store write to its push) and a cancel (write, from before its store
// write to its fan-out) take turns on this node: the alert is queued on the
// member's connections before the cancel is read from the store. It also
// keeps a delivery row's targeted_at before the cancel's cancelled_at, both
// being read from this node's clock under it. A move-in on another node of
// a cluster is ordered by the store alone (see README "A cluster of
// nodes").

// alertLocks stripes the order locks of alerts: 64 are plenty for the few
// alerts active at once, and a collision only makes two alerts' move-ins
// and cancels take turns.
type alertLocks [64]sync.RWMutex

// of returns the order lock of an alert.
func (l *alertLocks) of(alertID string) *sync.RWMutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(alertID))
	return &l[h.Sum32()%uint32(len(l))]
}

// Cancel cancels an active alert, tells every member it was addressed to,
// and wakes the SMS dispatcher: the store stopped the alert's SMS not yet
// being sent and queued the all-clear for the members whose SMS had started
// (storage.Store.CancelAlert), in the cancel's transaction.
func (s *Service) Cancel(ctx context.Context, id string) (storage.Alert, error) {
	return s.CancelBy(ctx, id, "", nil)
}

// CancelBy is Cancel recording who cancelled (v1.6) and, when imp is not
// nil, the CAP Cancel message, in the cancel's transaction.
func (s *Service) CancelBy(ctx context.Context, id, by string, imp *storage.CAPImport) (storage.Alert, error) {
	lock := s.order.of(id)
	lock.Lock()
	defer lock.Unlock()
	now := s.now()
	ev := &storage.Event{Type: storage.EventAlertCancel, AlertID: id, CreatedAt: now}
	a, err := s.store.CancelAlertBy(ctx, id, now, by, imp, ev)
	if err != nil {
		return storage.Alert{}, err
	}
	s.metrics.Stored.WithLabelValues(ev.Type).Inc()
	s.alerts.remove(id)
	s.sms.Wake()
	rs, err := s.store.ListRecipients(ctx, id, storage.RecipientFilter{})
	if err != nil {
		// Stored, not announced: each node's sequencer finds the event in
		// the store within about a second and asks the store whom it is
		// for.
		return storage.Alert{}, err
	}
	ids := make([]string, len(rs))
	for i := range rs {
		ids[i] = rs[i].MemberID
	}
	s.node.PublishEvent(ctx, ev, hub.Audience{Members: ids, Alert: id})
	s.progress.touch(id)
	return a, nil
}

// moveIn addresses an active alert to a member that it now covers and
// pushes the alert to the member's connections, unless the store refused
// (the alert was cancelled or expired meanwhile, or another call added the
// member first).
func (s *Service) moveIn(ctx context.Context, aa *activeAlert, memberID string) {
	online := s.node.Online(ctx, []string{memberID})[0]
	lock := s.order.of(aa.alert.ID)
	lock.RLock()
	defer lock.RUnlock()
	now := s.now()
	t := storage.Target{MemberID: memberID, SMSDueAt: s.smsDue(&aa.alert, memberID, online, now),
		SMSPriority: s.pol.Now().SeverityRank(aa.alert.Severity)}
	t.VoiceDueAt = voiceDue(&aa.alert, t.SMSDueAt)
	added, err := s.store.AddTargets(ctx, aa.alert.ID, []storage.Target{t}, now)
	if err != nil {
		s.log.ErrorContext(ctx, "address alert to member who moved in", "alert", aa.alert.ID, "member", memberID, "err", err)
		return
	}
	if len(added) == 0 {
		return
	}
	s.node.Publish(ctx, &hub.Envelope{Type: storage.EventAlert, Seq: aa.alert.Seq, Receipt: aa.alert.ID,
		At: now, Frame: aa.frame, Replay: true, Audience: hub.Audience{Members: added}})
	s.progress.touch(aa.alert.ID)
	if !t.SMSDueAt.IsZero() {
		s.sms.Wake()
	}
}
