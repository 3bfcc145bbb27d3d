package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// EnqueueMessages inserts the rows whose (channel, ref, member, kind) key is
// not taken yet, leaving existing rows alone. Only the key, State (empty
// means pending), Priority and DueAt are taken from a row. An unknown member,
// or an unknown alert for a row about an alert, is storage.ErrNotFound.
func (s *Store) EnqueueMessages(ctx context.Context, rows []storage.Message) (err error) {
	defer errd.Wrap(&err, "sqlite: enqueue messages")
	if err := s.settlePatientAll(ctx); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		// The member is a foreign key; the alert is checked here (see the
		// outbox table in migration/00005_outbox.sql).
		checked := map[storage.Ref]bool{}
		for _, r := range rows {
			if r.Ref.Type != storage.RefAlert || checked[r.Ref] {
				continue
			}
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM alerts WHERE id = ?`, r.Ref.ID).Scan(&one); err != nil {
				return notFound(err, "alert "+r.Ref.ID)
			}
			checked[r.Ref] = true
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind,
			state, priority, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rows {
			state := r.State
			if state == "" {
				state = storage.MessagePending
			}
			if _, err := st.ExecContext(ctx, r.Channel, r.Ref.Type, r.Ref.ID, r.MemberID, r.Kind, state,
				r.Priority, tv(r.DueAt)); err != nil {
				return fmt.Errorf("message %s: %w", r.Key(), mapErr(err))
			}
		}
		return nil
	})
}

const outboxCols = `o.channel, o.ref_type, o.ref_id, o.member_id, o.kind, o.state, o.priority, o.due_at,
	o.attempts, o.claimed_at, o.claimed_by, o.sent_at, o.provider_id, o.status, o.error_code, o.segments`

func outboxDests(r *storage.Message) []any {
	return []any{&r.Channel, &r.Ref.Type, &r.Ref.ID, &r.MemberID, &r.Kind, &r.State, &r.Priority,
		timeCol{&r.DueAt}, &r.Attempts, timeCol{&r.ClaimedAt}, &r.ClaimedBy, timeCol{&r.SentAt},
		strCol{&r.ProviderID}, &r.Status, &r.ErrorCode, &r.Segments}
}

// keyWhere selects one row by its key (keyArgs).
const keyWhere = `channel = ? AND ref_type = ? AND ref_id = ? AND member_id = ? AND kind = ?`

func keyArgs(k storage.MessageKey) []any {
	return []any{k.Channel, k.Ref.Type, k.Ref.ID, k.MemberID, k.Kind}
}

// ClaimDueMessages takes up to limit pending rows of the channel due at
// now, highest priority then earliest due first, and marks them claimed by
// claimer (Attempts counts the claim). On the way it cancels, instead of
// claiming, the rows of kind alert about an alert whose member has answered
// it or which is no longer active at now, and it judges each all-clear by
// its alert message (storage.Store.ClaimDueMessages): it waits (due
// storage.AllClearWait later), is cancelled, or is claimed. The returned
// rows carry the member's phone and language. The whole claim is one write
// transaction, so a row is claimed once even with several callers (or
// processes: it begins IMMEDIATE).
func (s *Store) ClaimDueMessages(ctx context.Context, channel string, now time.Time, limit int,
	claimer string) (_ []storage.Message, err error) {
	defer errd.Wrap(&err, "sqlite: claim due messages")
	if err := s.settlePatientAll(ctx); err != nil {
		return nil, err
	}
	out := []storage.Message{}
	if limit <= 0 {
		return out, nil
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		cancel, err := tx.PrepareContext(ctx, `UPDATE outbox SET state = 'cancelled' WHERE `+keyWhere)
		if err != nil {
			return err
		}
		defer cancel.Close()
		wait, err := tx.PrepareContext(ctx, `UPDATE outbox SET due_at = ? WHERE `+keyWhere)
		if err != nil {
			return err
		}
		defer wait.Close()
		claim, err := tx.PrepareContext(ctx, `UPDATE outbox
			SET state = 'claimed', claimed_at = ?, claimed_by = ?, attempts = attempts + 1
			WHERE `+keyWhere)
		if err != nil {
			return err
		}
		defer claim.Close()
		// Rows changed by an iteration are no longer pending, so the next
		// one reads the rows after them; a short page means the queue is
		// drained.
		for len(out) < limit {
			page, verdicts, err := duePage(ctx, tx, channel, now, limit)
			if err != nil {
				return err
			}
			for i := range page {
				r := &page[i]
				switch verdicts[i] {
				case verdictCancel:
					if _, err := cancel.ExecContext(ctx, keyArgs(r.Key())...); err != nil {
						return err
					}
					continue
				case verdictWait:
					// No longer due, so the next page reads past it.
					if _, err := wait.ExecContext(ctx, append([]any{tv(now.Add(storage.AllClearWait))}, keyArgs(r.Key())...)...); err != nil {
						return err
					}
					continue
				}
				if len(out) == limit {
					break
				}
				if _, err := claim.ExecContext(ctx, append([]any{tv(now), claimer}, keyArgs(r.Key())...)...); err != nil {
					return err
				}
				r.State, r.ClaimedAt, r.ClaimedBy = storage.MessageClaimed, now.UTC(), claimer
				r.Attempts++
				out = append(out, *r)
			}
			if len(page) < limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// What ClaimDueMessages does with a due row (duePage).
const (
	verdictClaim  = 0
	verdictCancel = 1 // an alert message that is no longer wanted, an all-clear of one never sent
	verdictWait   = 2 // an all-clear whose alert message may still be on its way
)

// duePage reads up to n pending rows of the channel due at now in claim
// order, and for each what to do with it (verdictClaim, verdictCancel,
// verdictWait). An all-clear's alert message is a primary-key lookup.
func duePage(ctx context.Context, tx *sql.Tx, channel string, now time.Time, n int) ([]storage.Message, []int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+outboxCols+`, COALESCE(m.phone, ''), COALESCE(m.lang, ''),
			CASE
			WHEN m.inactive = 1 THEN 1 -- deactivated (v1.5): nothing is sent to it
			WHEN o.ref_type = 'alert' AND o.kind = 'alert' AND (COALESCE(d.response, '') <> ''
				OR a.status IS NULL OR a.status <> 'active' OR a.expires_at <= :now) THEN 1
			WHEN o.ref_type = 'alert' AND o.kind = 'all_clear' THEN
				CASE (SELECT x.state FROM outbox x WHERE x.ref_type = 'alert' AND x.ref_id = o.ref_id
					AND x.member_id = o.member_id AND x.kind = 'alert' AND x.channel = o.channel)
				WHEN 'pending' THEN 2 WHEN 'claimed' THEN 2 WHEN 'sending' THEN 2
				WHEN 'cancelled' THEN 1 WHEN 'failed' THEN 1
				ELSE 0 END
			ELSE 0 END
		FROM outbox o
		LEFT JOIN members m ON m.id = o.member_id
		LEFT JOIN alerts a ON o.ref_type = 'alert' AND a.id = o.ref_id
		LEFT JOIN deliveries d ON o.ref_type = 'alert' AND d.alert_id = o.ref_id AND d.member_id = o.member_id
		WHERE o.channel = :channel AND o.state = 'pending' AND o.due_at <= :now
		ORDER BY o.priority DESC, o.due_at, o.ref_type, o.ref_id, o.member_id, o.kind
		LIMIT :n`, sql.Named("channel", channel), sql.Named("now", now.UnixMicro()), sql.Named("n", n))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var page []storage.Message
	var verdicts []int
	for rows.Next() {
		var r storage.Message
		var v int
		if err := rows.Scan(append(outboxDests(&r), &r.Phone, &r.Lang, &v)...); err != nil {
			return nil, nil, err
		}
		page = append(page, r)
		verdicts = append(verdicts, v)
	}
	return page, verdicts, rows.Err()
}

// StartSending marks a row claimed by claimer as sending (claimed_at
// becomes now, when its send started), or cancels it when it is an alert
// message no longer wanted at now (the alert ended, the member answered).
// storage.ErrConflict when it is not claimed by claimer any more (a cancel
// fenced it) or was cancelled here; storage.ErrNotFound when there is none.
// One write transaction: a cancel is wholly before or after it.
func (s *Store) StartSending(ctx context.Context, key storage.MessageKey, claimer string, now time.Time) (err error) {
	defer errd.Wrap(&err, "sqlite: start sending")
	var stopped error
	err = s.write(ctx, func(tx *sql.Tx) error {
		stopped = nil
		var state, by string
		var dead bool
		err := tx.QueryRowContext(ctx, `SELECT o.state, o.claimed_by,
				o.ref_type = 'alert' AND o.kind = 'alert' AND (COALESCE(d.response, '') <> ''
					OR a.status IS NULL OR a.status <> 'active' OR a.expires_at <= ?)
			FROM outbox o
			LEFT JOIN alerts a ON o.ref_type = 'alert' AND a.id = o.ref_id
			LEFT JOIN deliveries d ON o.ref_type = 'alert' AND d.alert_id = o.ref_id AND d.member_id = o.member_id
			WHERE o.channel = ? AND o.ref_type = ? AND o.ref_id = ? AND o.member_id = ? AND o.kind = ?`,
			append([]any{now.UnixMicro()}, keyArgs(key)...)...).Scan(&state, &by, &dead)
		if err != nil {
			return notFound(err, "message "+key.String())
		}
		switch {
		case state != storage.MessageClaimed || by != claimer:
			stopped = fmt.Errorf("message %s is %s by %q, not claimed by %q: %w", key, state, by, claimer, storage.ErrConflict)
			return nil
		case dead:
			stopped = fmt.Errorf("message %s cancelled: its alert ended or its member answered: %w", key, storage.ErrConflict)
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'cancelled' WHERE `+keyWhere, keyArgs(key)...)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'sending', claimed_at = ? WHERE `+keyWhere,
			append([]any{tv(now)}, keyArgs(key)...)...)
		return err
	})
	if err != nil {
		return err
	}
	return stopped
}

// CompleteMessage records the outcome of sending a claimed or sending row:
// MessageSent or MessageFailed with the provider's id, status, error code
// and segments (sent at res.At), or MessagePending to try again at
// res.RetryAt. storage.ErrNotFound for an unknown row, storage.ErrConflict
// when the row is neither claimed nor sending.
func (s *Store) CompleteMessage(ctx context.Context, key storage.MessageKey, res storage.MessageResult) (err error) {
	defer errd.Wrap(&err, "sqlite: complete message")
	switch res.State {
	case storage.MessageSent, storage.MessageFailed, storage.MessagePending:
	default:
		return fmt.Errorf("invalid result state %q", res.State)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM outbox WHERE `+keyWhere, keyArgs(key)...).Scan(&state)
		if err != nil {
			return notFound(err, "message "+key.String())
		}
		if state != storage.MessageClaimed && state != storage.MessageSending {
			return fmt.Errorf("message %s is %s, not claimed: %w", key, state, storage.ErrConflict)
		}
		if res.State == storage.MessagePending {
			// A zero RetryAt retries at once (at res.At, else at the old due time).
			retry := res.RetryAt
			if retry.IsZero() {
				retry = res.At
			}
			_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', due_at = COALESCE(?, due_at),
				claimed_at = NULL, claimed_by = '', provider_id = ?, status = ?, error_code = ?
				WHERE `+keyWhere,
				append([]any{tv(retry), nullStr(res.ProviderID), res.Status, res.ErrorCode}, keyArgs(key)...)...)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = ?, sent_at = ?, provider_id = ?, status = ?,
			error_code = ?, segments = ? WHERE `+keyWhere,
			append([]any{res.State, tv(res.At), nullStr(res.ProviderID), res.Status, res.ErrorCode, res.Segments},
				keyArgs(key)...)...)
		return err
	})
}

// ClaimedMessages lists the channel's rows left claimed or sending by
// claimer (anyone for "") with claimed_at before the given time, oldest
// first, with the member's phone and language.
func (s *Store) ClaimedMessages(ctx context.Context, channel, claimer string, before time.Time) (_ []storage.Message, err error) {
	defer errd.Wrap(&err, "sqlite: claimed messages")
	rows, err := s.readRows(ctx, `SELECT `+outboxCols+`, COALESCE(m.phone, ''), COALESCE(m.lang, '')
		FROM outbox o LEFT JOIN members m ON m.id = o.member_id
		WHERE o.channel = :channel AND o.state IN ('claimed', 'sending') AND o.claimed_at < :before
			AND (:claimer = '' OR o.claimed_by = :claimer)
		ORDER BY o.claimed_at, o.ref_type, o.ref_id, o.member_id, o.kind`,
		sql.Named("channel", channel), sql.Named("before", before.UnixMicro()), sql.Named("claimer", claimer))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Message{}
	for rows.Next() {
		var r storage.Message
		if err := rows.Scan(append(outboxDests(&r), &r.Phone, &r.Lang)...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateMessageStatus applies a provider status report to the channel's row
// with this provider id: the status word and error code are kept, and a sent
// row's state becomes u.State (when not empty). Reports can arrive out of
// order, so a row that is delivered or failed keeps its state and status (a
// late "sent" does not undo "delivered"). storage.ErrNotFound when no row
// has the provider id.
func (s *Store) UpdateMessageStatus(ctx context.Context, channel, providerID string, u storage.StatusUpdate) (err error) {
	defer errd.Wrap(&err, "sqlite: update message status")
	if providerID == "" {
		return fmt.Errorf("empty provider id: %w", storage.ErrNotFound)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT ref_type, ref_id, member_id, kind, state FROM outbox
			WHERE provider_id = ? AND channel = ?`, providerID, channel)
		if err != nil {
			return err
		}
		type row struct {
			key   storage.MessageKey
			state string
		}
		var found []row
		for rows.Next() {
			r := row{key: storage.MessageKey{Channel: channel}}
			if err := rows.Scan(&r.key.Ref.Type, &r.key.Ref.ID, &r.key.MemberID, &r.key.Kind, &r.state); err != nil {
				rows.Close()
				return err
			}
			found = append(found, r)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(found) == 0 {
			return fmt.Errorf("message with provider id %s: %w", providerID, storage.ErrNotFound)
		}
		for _, r := range found {
			if r.state == storage.MessageDelivered || r.state == storage.MessageFailed {
				continue
			}
			// Only a row the provider accepted (sent) moves with its
			// reports; one waiting for a retry keeps its state.
			state := u.State
			if state == "" || r.state != storage.MessageSent {
				state = r.state
			}
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = ?, status = ?, error_code = ?, status_at = ?
				WHERE `+keyWhere, append([]any{state, u.Status, u.ErrorCode, tv(u.At)}, keyArgs(r.key)...)...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListMessages lists the rows about ref, of every channel, ordered by
// member id, kind and channel.
func (s *Store) ListMessages(ctx context.Context, ref storage.Ref) (_ []storage.Message, err error) {
	defer errd.Wrap(&err, "sqlite: list messages")
	if ref.Type == storage.RefAlert {
		if err := s.settle(ctx, ref.ID); err != nil {
			return nil, err
		}
	}
	rows, err := s.readRows(ctx, `SELECT `+outboxCols+` FROM outbox o WHERE o.ref_type = ? AND o.ref_id = ?
		ORDER BY o.member_id, o.kind, o.channel`, ref.Type, ref.ID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Message{}
	for rows.Next() {
		var r storage.Message
		if err := rows.Scan(outboxDests(&r)...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
