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

// EnqueueSMS inserts the rows whose (alert, member, kind) key is not taken
// yet, leaving existing rows alone. Only the key, State (empty means
// pending), Priority and DueAt are taken from a row. An unknown alert or
// member is storage.ErrNotFound.
func (s *Store) EnqueueSMS(ctx context.Context, rows []storage.SMS) (err error) {
	defer errd.Wrap(&err, "sqlite: enqueue sms")
	if err := s.settlePatientAll(ctx); err != nil {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		// The member is a foreign key; the alert is checked here (see the
		// sms table in migration/00001_init.sql).
		checked := map[string]bool{}
		for _, r := range rows {
			if checked[r.AlertID] {
				continue
			}
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM alerts WHERE id = ?`, r.AlertID).Scan(&one); err != nil {
				return notFound(err, "alert "+r.AlertID)
			}
			checked[r.AlertID] = true
		}
		st, err := tx.PrepareContext(ctx, `INSERT INTO sms (alert_id, member_id, kind, state, priority, due_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rows {
			state := r.State
			if state == "" {
				state = storage.SMSPending
			}
			if _, err := st.ExecContext(ctx, r.AlertID, r.MemberID, r.Kind, state, r.Priority, tv(r.DueAt)); err != nil {
				return fmt.Errorf("sms %s/%s/%s: %w", r.AlertID, r.MemberID, r.Kind, mapErr(err))
			}
		}
		return nil
	})
}

const smsCols = `s.alert_id, s.member_id, s.kind, s.state, s.priority, s.due_at, s.attempts, s.claimed_at,
	s.claimed_by, s.sent_at, s.provider_id, s.status, s.error_code, s.segments`

func smsDests(r *storage.SMS) []any {
	return []any{&r.AlertID, &r.MemberID, &r.Kind, &r.State, &r.Priority, timeCol{&r.DueAt}, &r.Attempts,
		timeCol{&r.ClaimedAt}, &r.ClaimedBy, timeCol{&r.SentAt}, strCol{&r.ProviderID}, &r.Status,
		&r.ErrorCode, &r.Segments}
}

// ClaimDueSMS takes up to limit pending rows due at now, highest priority
// then earliest due first, and marks them claimed by claimer (Attempts
// counts the claim). On the way it cancels, instead of claiming, the rows of
// kind alert whose member has answered the alert or whose alert is no
// longer active at now. The returned rows carry the member's phone and
// language. The whole claim is one write transaction, so a row is claimed
// once even with several callers (or processes: it begins IMMEDIATE).
func (s *Store) ClaimDueSMS(ctx context.Context, now time.Time, limit int, claimer string) (_ []storage.SMS, err error) {
	defer errd.Wrap(&err, "sqlite: claim due sms")
	if err := s.settlePatientAll(ctx); err != nil {
		return nil, err
	}
	out := []storage.SMS{}
	if limit <= 0 {
		return out, nil
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		cancel, err := tx.PrepareContext(ctx, `UPDATE sms SET state = 'cancelled'
			WHERE alert_id = ? AND member_id = ? AND kind = ?`)
		if err != nil {
			return err
		}
		defer cancel.Close()
		claim, err := tx.PrepareContext(ctx, `UPDATE sms
			SET state = 'claimed', claimed_at = ?, claimed_by = ?, attempts = attempts + 1
			WHERE alert_id = ? AND member_id = ? AND kind = ?`)
		if err != nil {
			return err
		}
		defer claim.Close()
		// Rows changed by an iteration are no longer pending, so the next
		// one reads the rows after them; a short page means the queue is
		// drained.
		for len(out) < limit {
			page, dead, err := duePage(ctx, tx, now, limit)
			if err != nil {
				return err
			}
			for i := range page {
				r := &page[i]
				if dead[i] {
					if _, err := cancel.ExecContext(ctx, r.AlertID, r.MemberID, r.Kind); err != nil {
						return err
					}
					continue
				}
				if len(out) == limit {
					break
				}
				if _, err := claim.ExecContext(ctx, tv(now), claimer, r.AlertID, r.MemberID, r.Kind); err != nil {
					return err
				}
				r.State, r.ClaimedAt, r.ClaimedBy = storage.SMSClaimed, now.UTC(), claimer
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

// duePage reads up to n pending rows due at now in claim order, and for
// each whether it is to be cancelled rather than claimed.
func duePage(ctx context.Context, tx *sql.Tx, now time.Time, n int) ([]storage.SMS, []bool, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+smsCols+`, COALESCE(m.phone, ''), COALESCE(m.lang, ''),
			s.kind = 'alert' AND (COALESCE(d.response, '') <> ''
				OR a.status IS NULL OR a.status <> 'active' OR a.expires_at <= :now)
		FROM sms s
		LEFT JOIN members m ON m.id = s.member_id
		LEFT JOIN alerts a ON a.id = s.alert_id
		LEFT JOIN deliveries d ON d.alert_id = s.alert_id AND d.member_id = s.member_id
		WHERE s.state = 'pending' AND s.due_at <= :now
		ORDER BY s.priority DESC, s.due_at, s.alert_id, s.member_id, s.kind
		LIMIT :n`, sql.Named("now", now.UnixMicro()), sql.Named("n", n))
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var page []storage.SMS
	var dead []bool
	for rows.Next() {
		var r storage.SMS
		var d bool
		if err := rows.Scan(append(smsDests(&r), &r.Phone, &r.Lang, &d)...); err != nil {
			return nil, nil, err
		}
		page = append(page, r)
		dead = append(dead, d)
	}
	return page, dead, rows.Err()
}

// CompleteSMS records the outcome of sending a claimed row: SMSSent or
// SMSFailed with the provider's id, status, error code and segments (sent
// at res.At), or SMSPending to try again at res.RetryAt.
// storage.ErrNotFound for an unknown row, storage.ErrConflict when the row
// is not claimed.
func (s *Store) CompleteSMS(ctx context.Context, alertID, memberID, kind string, res storage.SMSResult) (err error) {
	defer errd.Wrap(&err, "sqlite: complete sms")
	switch res.State {
	case storage.SMSSent, storage.SMSFailed, storage.SMSPending:
	default:
		return fmt.Errorf("invalid result state %q", res.State)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var state string
		err := tx.QueryRowContext(ctx, `SELECT state FROM sms WHERE alert_id = ? AND member_id = ? AND kind = ?`,
			alertID, memberID, kind).Scan(&state)
		if err != nil {
			return notFound(err, fmt.Sprintf("sms %s/%s/%s", alertID, memberID, kind))
		}
		if state != storage.SMSClaimed {
			return fmt.Errorf("sms %s/%s/%s is %s, not claimed: %w", alertID, memberID, kind, state, storage.ErrConflict)
		}
		if res.State == storage.SMSPending {
			// A zero RetryAt retries at once (at res.At, else at the old due time).
			retry := res.RetryAt
			if retry.IsZero() {
				retry = res.At
			}
			_, err = tx.ExecContext(ctx, `UPDATE sms SET state = 'pending', due_at = COALESCE(?, due_at),
				claimed_at = NULL, claimed_by = '', provider_id = ?, status = ?, error_code = ?
				WHERE alert_id = ? AND member_id = ? AND kind = ?`,
				tv(retry), nullStr(res.ProviderID), res.Status, res.ErrorCode, alertID, memberID, kind)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE sms SET state = ?, sent_at = ?, provider_id = ?, status = ?,
			error_code = ?, segments = ? WHERE alert_id = ? AND member_id = ? AND kind = ?`,
			res.State, tv(res.At), nullStr(res.ProviderID), res.Status, res.ErrorCode, res.Segments,
			alertID, memberID, kind)
		return err
	})
}

// ClaimedSMS lists the rows left claimed by claimer (anyone for "") before
// the given time, oldest claim first, with the member's phone and language.
func (s *Store) ClaimedSMS(ctx context.Context, claimer string, before time.Time) (_ []storage.SMS, err error) {
	defer errd.Wrap(&err, "sqlite: claimed sms")
	rows, err := s.readRows(ctx, `SELECT `+smsCols+`, COALESCE(m.phone, ''), COALESCE(m.lang, '')
		FROM sms s LEFT JOIN members m ON m.id = s.member_id
		WHERE s.state = 'claimed' AND s.claimed_at < :before AND (:claimer = '' OR s.claimed_by = :claimer)
		ORDER BY s.claimed_at, s.alert_id, s.member_id, s.kind`,
		sql.Named("before", before.UnixMicro()), sql.Named("claimer", claimer))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.SMS{}
	for rows.Next() {
		var r storage.SMS
		if err := rows.Scan(append(smsDests(&r), &r.Phone, &r.Lang)...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// UpdateSMSStatus applies a provider status callback to the row with this
// provider id: the status word and error code are kept, and a sent row's
// state follows storage.SMSStateOf. Callbacks can arrive out of order, so a row that is
// delivered or failed keeps its state and status (a late "sent" does not
// undo "delivered"). storage.ErrNotFound when no row has the provider id.
func (s *Store) UpdateSMSStatus(ctx context.Context, providerID, status, errorCode string, at time.Time) (err error) {
	defer errd.Wrap(&err, "sqlite: update sms status")
	if providerID == "" {
		return fmt.Errorf("empty provider id: %w", storage.ErrNotFound)
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT alert_id, member_id, kind, state FROM sms WHERE provider_id = ?`, providerID)
		if err != nil {
			return err
		}
		type key struct{ alert, member, kind, state string }
		var keys []key
		for rows.Next() {
			var k key
			if err := rows.Scan(&k.alert, &k.member, &k.kind, &k.state); err != nil {
				rows.Close()
				return err
			}
			keys = append(keys, k)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return err
		}
		if len(keys) == 0 {
			return fmt.Errorf("sms with provider id %s: %w", providerID, storage.ErrNotFound)
		}
		for _, k := range keys {
			if k.state == storage.SMSDelivered || k.state == storage.SMSFailed {
				continue
			}
			// Only a row the provider accepted (sent) moves with its
			// callbacks; one waiting for a retry keeps its state.
			state := storage.SMSStateOf(status)
			if state == "" || k.state != storage.SMSSent {
				state = k.state
			}
			if _, err := tx.ExecContext(ctx, `UPDATE sms SET state = ?, status = ?, error_code = ?, status_at = ?
				WHERE alert_id = ? AND member_id = ? AND kind = ?`,
				state, status, errorCode, tv(at), k.alert, k.member, k.kind); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListSMS lists an alert's SMS rows ordered by member id and kind.
func (s *Store) ListSMS(ctx context.Context, alertID string) (_ []storage.SMS, err error) {
	defer errd.Wrap(&err, "sqlite: list sms")
	if err := s.settle(ctx, alertID); err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT `+smsCols+` FROM sms s WHERE s.alert_id = ?
		ORDER BY s.member_id, s.kind`, alertID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.SMS{}
	for rows.Next() {
		var r storage.SMS
		if err := rows.Scan(smsDests(&r)...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}
