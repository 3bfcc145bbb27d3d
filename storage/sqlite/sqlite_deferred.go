package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/longyou/hub/storage"
)

// Deferred targets.
//
// Writing one delivery row (and maybe one SMS row) per target is most of
// the cost of a big alert: about 3 µs per delivery and 8 µs per target with
// an SMS on this machine, so ~30-80 ms for 10,000 targets, all of it before
// the 201 and before the first recipient hears of the alert. A big alert
// therefore commits in two steps:
//
//  1. CreateAlert's transaction writes the event, the alert, and its whole
//     target list as one row of pending_targets (a JSON array: one B-tree
//     insert instead of tens of thousands), after checking that every
//     target is a member. When it commits (synchronous=FULL), the alert and
//     everyone it is addressed to are durable: CreateAlert returns.
//  2. The store's materializer expands that row into the delivery and SMS
//     rows, and deletes it, in a second transaction: deferGrace later, or
//     at once when a reader needs them.
//
// Nothing outside the store can tell: every method that reads or writes
// delivery or SMS rows first waits (settle) until the alerts it touches are
// materialized, so it sees exactly what one transaction would have left. A
// crash between the two steps leaves the pending row on disk, and Open
// materializes it before it returns.
//
// This is sound here because a SQLite store is used by one process: the
// pending set the methods wait on is in memory, and Open recovers anything
// a previous process left.

// deferTargetsMin is the number of targets from which CreateAlert defers
// the delivery and SMS rows: below it, writing them inline costs less than
// the second transaction.
const deferTargetsMin = 500

// pendingTarget is one target in a pending_targets row. Its JSON tags are
// the column's on-disk format (a crash-interrupted expansion is finished
// from them on the next open): never change them.
type pendingTarget struct {
	M string `json:"m"`           // member id
	D int64  `json:"d,omitempty"` // SMS due, unix µs; 0: no SMS
	P int    `json:"p,omitempty"` // SMS priority
	V int64  `json:"v,omitempty"` // call due, unix µs; 0: no call (issue 12)
}

// deferred tracks the alerts whose rows are not materialized yet.
type deferred struct {
	mu      sync.Mutex
	pending map[string]chan struct{} // closed when the alert's rows are written
	gen     uint64                   // reservations so far
	queue   []queued                 // in commit order
	wake    chan struct{}            // cap 1
	urgent  chan struct{}            // cap 1: a reader is waiting, skip the grace (a stale signal only cuts a later grace short)
	stop    chan struct{}            // closed by Close
	done    chan struct{}            // closed when the materializer exits
}

type queued struct {
	id    string
	at    time.Time     // when its first transaction committed
	grace time.Duration // how long its fan-out may have the CPU (storage.FanoutGrace)
}

func newDeferred() *deferred {
	return &deferred{pending: map[string]chan struct{}{}, wake: make(chan struct{}, 1),
		urgent: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// The materializer lets an accepted alert's fan-out have the CPU before it
// writes the alert's rows (~80 ms of CPU for 10,000 targets), for
// storage.FanoutGrace of its targets, unless a reader someone waits on
// (recipients, an answer, a resume) needs them sooner. Delivery first,
// bookkeeping after: on 2 cores, expanding the rows at once took a third of
// the CPU the fan-out of the same alert needed.

// reserve marks an alert pending before its transaction starts, so that no
// reader can slip between the commit and queue; queue hands it to the
// materializer after the commit, drop forgets it when the commit failed.
func (d *deferred) reserve(id string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, taken := d.pending[id]; taken {
		return false // the id is taken: CreateAlert fails with ErrConflict
	}
	d.pending[id] = make(chan struct{})
	d.gen++
	return true
}

func (d *deferred) queueUp(id string, targets int) {
	d.mu.Lock()
	d.queue = append(d.queue, queued{id, time.Now(), storage.FanoutGrace(targets)})
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *deferred) drop(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.releaseLocked(id)
}

// releaseLocked wakes the alert's waiters and forgets it.
func (d *deferred) releaseLocked(id string) {
	if ch, ok := d.pending[id]; ok {
		close(ch)
		delete(d.pending, id)
	}
}

func (d *deferred) next() (queued, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) == 0 {
		return queued{}, false
	}
	return d.queue[0], true
}

func (d *deferred) finish(id string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.releaseLocked(id)
	if len(d.queue) > 0 && d.queue[0].id == id {
		d.queue = d.queue[1:]
	}
}

// settle waits until the rows of the given alerts are materialized (and
// asks the materializer to skip its grace). It costs a mutex when none is
// pending, which is nearly always.
func (s *Store) settle(ctx context.Context, alertIDs ...string) error {
	return s.settleSome(ctx, false, true, alertIDs)
}

// settlePatient is settle for bookkeeping nobody waits on (delivered
// marks, the SMS dispatcher): it does not cut the materializer's grace.
func (s *Store) settlePatient(ctx context.Context, alertIDs ...string) error {
	return s.settleSome(ctx, false, false, alertIDs)
}

func (s *Store) settlePatientAll(ctx context.Context) error {
	return s.settleSome(ctx, true, false, nil)
}

// quiesce waits until no alert is pending and returns the number of
// reservations made so far.
func (s *Store) quiesce(ctx context.Context) (uint64, error) {
	d := s.deferred
	for {
		d.mu.Lock()
		if len(d.pending) == 0 {
			g := d.gen
			d.mu.Unlock()
			return g, nil
		}
		d.mu.Unlock()
		if err := s.settleSome(ctx, true, true, nil); err != nil {
			return 0, err
		}
	}
}

// consistentRead runs read so that it sees no alert without its delivery
// rows, for readers that find alerts through a member's delivery rows
// (EventsSince, ActiveAlertsFor). A big alert committed between a settle
// and read's snapshot would be invisible to such a read while later events
// are not, and a resume would skip it; so read runs again if any alert was
// reserved (which happens before its transaction starts) since the store
// was last quiet. That is rare: big alerts are minutes apart.
func (s *Store) consistentRead(ctx context.Context, read func() error) error {
	for {
		g, err := s.quiesce(ctx)
		if err != nil {
			return err
		}
		if err := read(); err != nil {
			return err
		}
		s.deferred.mu.Lock()
		same := s.deferred.gen == g
		s.deferred.mu.Unlock()
		if same {
			return nil
		}
	}
}

func (s *Store) settleSome(ctx context.Context, all, urgent bool, alertIDs []string) error {
	d := s.deferred
	d.mu.Lock()
	if len(d.pending) == 0 {
		d.mu.Unlock()
		return nil
	}
	var wait []chan struct{}
	if all {
		for _, ch := range d.pending {
			wait = append(wait, ch)
		}
	} else {
		for _, id := range alertIDs {
			if ch, ok := d.pending[id]; ok {
				wait = append(wait, ch)
			}
		}
	}
	d.mu.Unlock()
	if len(wait) > 0 && urgent {
		select {
		case d.urgent <- struct{}{}:
		default:
		}
	}
	for _, ch := range wait {
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for an alert's delivery rows: %w", ctx.Err())
		case <-d.done:
			select {
			case <-ch: // written in Close's drain
			default:
				return errors.New("store closed before an alert's delivery rows were written; they are written when it is opened again")
			}
		}
	}
	return nil
}

// createAlertDeferred is step 1: the alert, its event and its target list
// in one transaction.
func (s *Store) createAlertDeferred(ctx context.Context, tx *sql.Tx, alertID string, at time.Time, targets []storage.Target) error {
	pts := make([]pendingTarget, len(targets))
	for i, t := range targets {
		pts[i] = pendingTarget{M: t.MemberID, P: t.SMSPriority}
		if !t.SMSDueAt.IsZero() {
			pts[i].D = t.SMSDueAt.UnixMicro()
		}
		if !t.VoiceDueAt.IsZero() {
			pts[i].V = t.VoiceDueAt.UnixMicro()
		}
	}
	blob, err := json.Marshal(pts)
	if err != nil {
		return err
	}
	// The foreign key check the delivery rows would have made, as one
	// statement over the ids in key order, so consecutive lookups share
	// B-tree pages (a third of the time of probing in target order).
	ids := make([]string, len(targets))
	for i, t := range targets {
		ids[i] = t.MemberID
	}
	slices.Sort(ids)
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	var missing sql.NullString
	err = tx.QueryRowContext(ctx, `SELECT j.value FROM json_each(?) j
		WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = j.value) LIMIT 1`, idsJSON).Scan(&missing)
	switch {
	case err == nil:
		return fmt.Errorf("target %q is not a member: %w", missing.String, storage.ErrNotFound)
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO pending_targets (alert_id, targeted_at, targets) VALUES (?, ?, ?)`,
		alertID, tv(at), blob)
	return mapErr(err)
}

// materialize is step 2 for one alert: its delivery and SMS rows, written
// and the pending row deleted in one transaction. An alert without a
// pending row (already done) is a no-op.
func (s *Store) materialize(ctx context.Context, alertID string) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		var at sql.NullInt64
		var blob []byte
		err := tx.QueryRowContext(ctx, `SELECT targeted_at, targets FROM pending_targets WHERE alert_id = ?`, alertID).
			Scan(&at, &blob)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		var pts []pendingTarget
		if err := json.Unmarshal(blob, &pts); err != nil {
			return fmt.Errorf("pending targets of alert %s: %w", alertID, err)
		}
		targets := make([]storage.Target, len(pts))
		for i, p := range pts {
			targets[i] = storage.Target{MemberID: p.M, SMSPriority: p.P}
			if p.D != 0 {
				targets[i].SMSDueAt = time.UnixMicro(p.D).UTC()
			}
			if p.V != 0 {
				targets[i].VoiceDueAt = time.UnixMicro(p.V).UTC()
			}
		}
		var targetedAt time.Time
		if at.Valid {
			targetedAt = time.UnixMicro(at.Int64).UTC()
		}
		if _, err := insertTargets(ctx, tx, alertID, targetedAt, targets, true); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM pending_targets WHERE alert_id = ?`, alertID)
		return err
	})
}

// recoverDeferred materializes what a previous process left pending; Open
// calls it before the store is used.
func (s *Store) recoverDeferred(ctx context.Context) error {
	rows, err := s.w.QueryContext(ctx, `SELECT alert_id FROM pending_targets ORDER BY rowid`)
	if err != nil {
		return err
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return err
	}
	for _, id := range ids {
		if err := s.materialize(ctx, id); err != nil {
			return fmt.Errorf("write the delivery rows of alert %s: %w", id, err)
		}
		s.logger.Info("wrote the delivery rows of an alert accepted before a restart", slog.String("alert", id))
	}
	return nil
}

// materializer runs step 2 for each deferred alert, in commit order,
// retrying with backoff if a write fails (the waiters wait; the pending
// row stays on disk). On Close it finishes the queue, for at most
// closeDrain; what is left is written at the next Open.
func (s *Store) materializer() {
	d := s.deferred
	defer close(d.done)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopping := false
	backoff := 50 * time.Millisecond
	for {
		q, ok := d.next()
		if !ok {
			if stopping {
				return
			}
			select {
			case <-d.wake:
			case <-d.stop:
				stopping = true
				timer := time.AfterFunc(closeDrain, cancel)
				defer timer.Stop()
			}
			continue
		}
		id := q.id
		if wait := time.Until(q.at.Add(q.grace)); wait > 0 && !stopping {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-d.urgent:
			case <-d.stop:
				stopping = true
				timer := time.AfterFunc(closeDrain, cancel)
				defer timer.Stop()
			}
			t.Stop()
		}
		if s.beforeMaterialize != nil {
			s.beforeMaterialize(id)
		}
		if err := s.materialize(ctx, id); err != nil {
			if ctx.Err() != nil {
				s.logger.Warn("store closed before an alert's delivery rows were written; they are written at the next open",
					slog.String("alert", id))
				return
			}
			s.logger.Error("writing an alert's delivery rows failed; retrying", slog.String("alert", id), slog.Any("err", err))
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		d.finish(id)
	}
}

// closeDrain bounds how long Close waits for deferred rows.
const closeDrain = 30 * time.Second

func deliveryAlerts(ds []storage.Delivery) []string {
	return alertIDsOf(ds, func(d storage.Delivery) string { return d.AlertID })
}

func ackAlerts(acks []storage.Ack) []string {
	return alertIDsOf(acks, func(a storage.Ack) string { return a.AlertID })
}

// alertIDsOf lists the alert ids of xs, once per run of equal ids (batches
// come grouped by alert; a repeat only costs a map lookup in settle).
func alertIDsOf[T any](xs []T, id func(T) string) []string {
	ids := make([]string, 0, 1)
	for i, x := range xs {
		if a := id(x); i == 0 || a != ids[len(ids)-1] {
			ids = append(ids, a)
		}
	}
	return ids
}
