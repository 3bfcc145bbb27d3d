package sqlite

import (
	"context"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// QueueAhead counts the channel's rows sent before, or with, a row of this
// priority due at due (storage.Queue). The pending part walks outbox_due
// (channel, state, priority DESC, due_at) from the top priority down to
// this one; the in-flight part is a batch or two.
func (s *Store) QueueAhead(ctx context.Context, channel string, priority int, due, now time.Time) (_ int, err error) {
	defer errd.Wrap(&err, "sqlite: queue ahead")
	if err := s.settlePatientAll(ctx); err != nil {
		return 0, err
	}
	if due.After(now) {
		due = now
	}
	var n int
	err = s.readRow(ctx, `SELECT
		(SELECT COUNT(*) FROM outbox WHERE channel = ?1 AND state = 'pending' AND priority > ?2 AND due_at <= ?3)
		+ (SELECT COUNT(*) FROM outbox WHERE channel = ?1 AND state = 'pending' AND priority = ?2 AND due_at <= ?4)
		+ (SELECT COUNT(*) FROM outbox WHERE channel = ?1 AND state IN ('claimed', 'sending'))`,
		channel, priority, now.UnixMicro(), due.UnixMicro()).Scan(&n)
	return n, err
}

// QueuedFor counts the channel's rows of kind about ref still to be sent
// (storage.Queue): one pass over the ref's rows (the primary key leads
// with the ref).
func (s *Store) QueuedFor(ctx context.Context, channel string, ref storage.Ref, kind string, now time.Time) (due int, lastDue time.Time, later int, err error) {
	defer errd.Wrap(&err, "sqlite: queued for")
	if ref.Type == storage.RefAlert {
		if err := s.settle(ctx, ref.ID); err != nil {
			return 0, time.Time{}, 0, err
		}
	}
	err = s.readRow(ctx, `SELECT
			COALESCE(SUM(state IN ('claimed', 'sending') OR (state = 'pending' AND due_at <= ?5)), 0),
			MAX(CASE WHEN state IN ('claimed', 'sending') OR (state = 'pending' AND due_at <= ?5) THEN due_at END),
			COALESCE(SUM(state = 'pending' AND due_at > ?5), 0)
		FROM outbox WHERE ref_type = ?1 AND ref_id = ?2 AND kind = ?3 AND channel = ?4
			AND state IN ('pending', 'claimed', 'sending')`,
		ref.Type, ref.ID, kind, channel, now.UnixMicro()).Scan(&due, timeCol{&lastDue}, &later)
	return due, lastDue, later, err
}
