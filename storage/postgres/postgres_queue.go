package postgres

import (
	"context"
	"time"

	"github.com/longyou/hub/storage"
)

// QueueAhead counts the channel's rows sent before, or with, a row of this
// priority due at due (storage.Queue), from one snapshot. The pending part
// is a range of outbox_due (channel, state, priority DESC, due_at).
func (s *Store) QueueAhead(ctx context.Context, channel string, priority int, due, now time.Time) (_ int, err error) {
	defer wrapErr(&err, "queue ahead")
	if due.After(now) {
		due = now
	}
	var n int
	err = s.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM outbox WHERE channel = $1 AND state = 'pending' AND priority > $2 AND due_at <= $3)
		+ (SELECT count(*) FROM outbox WHERE channel = $1 AND state = 'pending' AND priority = $2 AND due_at <= $4)
		+ (SELECT count(*) FROM outbox WHERE channel = $1 AND state IN ('claimed', 'sending'))`,
		channel, priority, now, due).Scan(&n)
	return n, err
}

// QueuedFor counts the channel's rows of kind about ref still to be sent
// (storage.Queue), in one pass over the ref's rows.
func (s *Store) QueuedFor(ctx context.Context, channel string, ref storage.Ref, kind string, now time.Time) (due int, lastDue time.Time, later int, err error) {
	defer wrapErr(&err, "queued for")
	var last *time.Time
	err = s.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE state IN ('claimed', 'sending') OR (state = 'pending' AND due_at <= $5)),
			max(due_at) FILTER (WHERE state IN ('claimed', 'sending') OR (state = 'pending' AND due_at <= $5)),
			count(*) FILTER (WHERE state = 'pending' AND due_at > $5)
		FROM outbox WHERE ref_type = $1 AND ref_id = $2 AND kind = $3 AND channel = $4
			AND state IN ('pending', 'claimed', 'sending')`,
		ref.Type, ref.ID, kind, channel, now).Scan(&due, &last, &later)
	if last != nil {
		lastDue = last.UTC()
	}
	return due, lastDue, later, err
}
