package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/longyou/hub/storage"
)

// EnqueueSMS inserts, in one statement, the rows whose (alert, member, kind)
// key is not taken yet, leaving existing rows alone. Only the key, State
// (empty means pending), Priority and DueAt are taken from a row.
// ErrNotFound when the alert or member does not exist.
func (s *Store) EnqueueSMS(ctx context.Context, rows []storage.SMS) (err error) {
	defer wrapErr(&err, "enqueue sms")
	if len(rows) == 0 {
		return nil
	}
	// Key order, so that concurrent batches over the same keys wait on each
	// other instead of deadlocking.
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(x, y storage.SMS) int {
		return cmp.Or(cmp.Compare(x.AlertID, y.AlertID), cmp.Compare(x.MemberID, y.MemberID),
			cmp.Compare(x.Kind, y.Kind))
	})
	n := len(sorted)
	alerts, members, kinds, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	prios, dues := make([]int32, n), make([]time.Time, n)
	for i, r := range sorted {
		alerts[i], members[i], kinds[i], prios[i], dues[i] = r.AlertID, r.MemberID, r.Kind, int32(r.Priority), r.DueAt
		states[i] = cmp.Or(r.State, storage.SMSPending)
	}
	// One statement checks the references (sms has no foreign keys, see
	// migration/00001_init.sql) and inserts only when all exist.
	var badAlert, badMember *string
	err = s.pool.QueryRow(ctx, `WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[],
				$6::timestamptz[]) AS u(alert_id, member_id, kind, state, priority, due_at)
		), bad AS (
			SELECT
				(SELECT u.alert_id FROM u WHERE NOT EXISTS (
					SELECT 1 FROM alerts a WHERE a.id = u.alert_id) LIMIT 1) AS alert_id,
				(SELECT u.member_id FROM u WHERE NOT EXISTS (
					SELECT 1 FROM members m WHERE m.id = u.member_id) LIMIT 1) AS member_id
		), ins AS (
			INSERT INTO sms (alert_id, member_id, kind, state, priority, due_at)
			SELECT u.* FROM u, bad WHERE bad.alert_id IS NULL AND bad.member_id IS NULL
			ON CONFLICT DO NOTHING
		)
		SELECT alert_id, member_id FROM bad`,
		alerts, members, kinds, states, prios, dues).Scan(&badAlert, &badMember)
	switch {
	case err != nil:
		return err
	case badAlert != nil:
		return errNotFound("alert", *badAlert)
	case badMember != nil:
		return errNotFound("member", *badMember)
	}
	return nil
}

const smsCols = `s.alert_id, s.member_id, s.kind, s.state, s.priority, s.due_at, s.attempts,
	s.claimed_at, s.claimed_by, s.sent_at, s.provider_id, s.status, s.error_code, s.segments`

// smsScan holds the nullable columns of an sms row while scanning.
type smsScan struct {
	r                 storage.SMS
	claimedAt, sentAt *time.Time
}

func (sc *smsScan) dest(extra ...any) []any {
	r := &sc.r
	return append([]any{&r.AlertID, &r.MemberID, &r.Kind, &r.State, &r.Priority, &r.DueAt,
		&r.Attempts, &sc.claimedAt, &r.ClaimedBy, &sc.sentAt, &r.ProviderID, &r.Status,
		&r.ErrorCode, &r.Segments}, extra...)
}

func (sc *smsScan) sms() storage.SMS {
	r := sc.r
	r.ClaimedAt, r.SentAt = derefTime(sc.claimedAt), derefTime(sc.sentAt)
	return r
}

// ClaimDueSMS takes up to limit pending rows due at now, highest priority
// then earliest due first, and marks them claimed by claimer (Attempts
// counts the claim). On the way it cancels, instead of claiming, the rows of
// kind alert whose member has answered the alert or whose alert is no
// longer active at now; cancelled rows do not count toward limit. The
// returned rows, in claim order, carry the member's phone and language.
//
// Several nodes may call it at once: each statement locks the rows it takes
// with FOR UPDATE SKIP LOCKED, so a row another claimer holds is skipped
// rather than waited for, and a row is claimed once (the lock re-checks
// state = 'pending' on the newest row version).
func (s *Store) ClaimDueSMS(ctx context.Context, now time.Time, limit int, claimer string) (_ []storage.SMS, err error) {
	defer wrapErr(&err, "claim due sms")
	out := []storage.SMS{}
	if limit <= 0 {
		return out, nil
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		out = out[:0]
		// Each round takes as many rows as are still wanted; the dead ones
		// among them are cancelled, so the next round reads past them. A
		// short round means nothing more is due (or unlocked).
		for len(out) < limit {
			want := limit - len(out)
			rows, err := tx.Query(ctx, claimSQL, now, want, claimer)
			if err != nil {
				return err
			}
			taken := 0
			var claimed []storage.SMS
			for rows.Next() {
				var sc smsScan
				var dead bool
				if err := rows.Scan(sc.dest(&sc.r.Phone, &sc.r.Lang, &dead)...); err != nil {
					rows.Close()
					return err
				}
				taken++
				if !dead {
					claimed = append(claimed, sc.sms())
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			// RETURNING has no order; put the round back in claim order.
			slices.SortFunc(claimed, func(x, y storage.SMS) int {
				return cmp.Or(cmp.Compare(y.Priority, x.Priority), x.DueAt.Compare(y.DueAt),
					cmp.Compare(x.AlertID, y.AlertID), cmp.Compare(x.MemberID, y.MemberID),
					cmp.Compare(x.Kind, y.Kind))
			})
			out = append(out, claimed...)
			if taken < want {
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

// claimSQL takes up to $2 pending rows due at $1 and claims them for $3, or
// cancels the dead ones; it returns the rows (smsCols), the member's phone
// and language, and whether the row was cancelled.
//
// due is a plain queue pop on sms alone (FOR UPDATE SKIP LOCKED under the
// LIMIT, in claim order), and everything about the few rows it took (is the
// alert still active, has the member answered, phone and language) is a
// primary-key lookup per row. A join of the outbox with alerts, deliveries
// and members would leave the plan to estimates that are worst exactly when
// a new big alert has just filled the outbox (see alertProgressSQL).
const claimSQL = `WITH due AS (
	SELECT s.alert_id, s.member_id, s.kind FROM sms s
	WHERE s.state = 'pending' AND s.due_at <= $1
	ORDER BY s.priority DESC, s.due_at, s.alert_id, s.member_id, s.kind
	LIMIT $2
	FOR UPDATE SKIP LOCKED
), judged AS MATERIALIZED (
	SELECT due.alert_id, due.member_id, due.kind,
		due.kind = 'alert' AND (
			EXISTS (SELECT 1 FROM deliveries d
				WHERE d.alert_id = due.alert_id AND d.member_id = due.member_id AND d.response <> '')
			OR NOT EXISTS (SELECT 1 FROM alerts a
				WHERE a.id = due.alert_id AND a.status = 'active' AND a.expires_at > $1)
		) AS dead
	FROM due
)
UPDATE sms s SET
	state = CASE WHEN j.dead THEN 'cancelled' ELSE 'claimed' END,
	claimed_at = CASE WHEN j.dead THEN s.claimed_at ELSE $1 END,
	claimed_by = CASE WHEN j.dead THEN s.claimed_by ELSE $3 END,
	attempts = CASE WHEN j.dead THEN s.attempts ELSE s.attempts + 1 END
FROM judged j
WHERE s.alert_id = j.alert_id AND s.member_id = j.member_id AND s.kind = j.kind
RETURNING ` + smsCols + `,
	coalesce((SELECT m.phone FROM members m WHERE m.id = s.member_id), ''),
	coalesce((SELECT m.lang FROM members m WHERE m.id = s.member_id), ''),
	j.dead`

// CompleteSMS records the outcome of sending a claimed row: SMSSent or
// SMSFailed with the provider's id, status, error code and segments (sent at
// res.At), or SMSPending to try again at res.RetryAt. ErrNotFound for an
// unknown row, ErrConflict when the row is not claimed.
func (s *Store) CompleteSMS(ctx context.Context, alertID, memberID, kind string, res storage.SMSResult) (err error) {
	defer wrapErr(&err, "complete sms")
	var tag pgconn.CommandTag
	switch res.State {
	case storage.SMSPending:
		tag, err = s.pool.Exec(ctx, `UPDATE sms SET state = 'pending', due_at = $4, claimed_at = NULL,
			claimed_by = '', provider_id = CASE WHEN $5 <> '' THEN $5 ELSE provider_id END,
			status = $6, error_code = $7
			WHERE alert_id = $1 AND member_id = $2 AND kind = $3 AND state = 'claimed'`,
			alertID, memberID, kind, res.RetryAt, res.ProviderID, res.Status, res.ErrorCode)
	case storage.SMSSent, storage.SMSFailed:
		tag, err = s.pool.Exec(ctx, `UPDATE sms SET state = $4, sent_at = $5, provider_id = $6,
			status = $7, error_code = $8, segments = $9
			WHERE alert_id = $1 AND member_id = $2 AND kind = $3 AND state = 'claimed'`,
			alertID, memberID, kind, res.State, nullTime(res.At), res.ProviderID, res.Status,
			res.ErrorCode, res.Segments)
	default:
		return fmt.Errorf("invalid result state %q", res.State)
	}
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	var state string
	if err := s.pool.QueryRow(ctx, `SELECT state FROM sms
		WHERE alert_id = $1 AND member_id = $2 AND kind = $3`, alertID, memberID, kind).Scan(&state); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("sms %s/%s/%s: %w", alertID, memberID, kind, storage.ErrNotFound)
		}
		return err
	}
	return fmt.Errorf("sms %s/%s/%s is %s, not claimed: %w", alertID, memberID, kind, state, storage.ErrConflict)
}

// ClaimedSMS lists the rows left claimed by claimer (anyone for "") before
// the given time, oldest claim first, with the member's phone and language.
func (s *Store) ClaimedSMS(ctx context.Context, claimer string, before time.Time) (_ []storage.SMS, err error) {
	defer wrapErr(&err, "claimed sms")
	rows, _ := s.pool.Query(ctx, `SELECT `+smsCols+`, coalesce(m.phone, ''), coalesce(m.lang, '')
		FROM sms s LEFT JOIN members m ON m.id = s.member_id
		WHERE s.state = 'claimed' AND s.claimed_at < $1 AND ($2 = '' OR s.claimed_by = $2)
		ORDER BY s.claimed_at, s.alert_id, s.member_id, s.kind`, before, claimer)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.SMS, error) {
		var sc smsScan
		err := row.Scan(sc.dest(&sc.r.Phone, &sc.r.Lang)...)
		return sc.sms(), err
	})
}

// UpdateSMSStatus applies a provider status callback to the rows with this
// provider id: the status word, error code and time are kept, and the state
// follows storage.SMSStateOf. Callbacks can arrive out of order, so a row that is
// delivered or failed keeps its state and status (a late "sent" does not
// undo "delivered"). ErrNotFound when no row has the provider id.
func (s *Store) UpdateSMSStatus(ctx context.Context, providerID, status, errorCode string, at time.Time) (err error) {
	defer wrapErr(&err, "update sms status")
	if providerID == "" {
		return fmt.Errorf("empty provider id: %w", storage.ErrNotFound)
	}
	var state *string
	if st := storage.SMSStateOf(status); st != "" {
		state = &st
	}
	// "provider_id <> ''" lets a generic plan use the partial index sms_provider.
	var found bool
	err = s.pool.QueryRow(ctx, `WITH u AS (
			UPDATE sms SET state = coalesce($2::text, state), status = $3, error_code = $4, status_at = $5
			WHERE provider_id = $1 AND provider_id <> '' AND state NOT IN ('delivered', 'failed')
		)
		SELECT EXISTS (SELECT 1 FROM sms WHERE provider_id = $1 AND provider_id <> '')`,
		providerID, state, status, errorCode, nullTime(at)).Scan(&found)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("sms with provider id %s: %w", providerID, storage.ErrNotFound)
	}
	return nil
}

// ListSMS lists an alert's SMS rows ordered by member id and kind.
func (s *Store) ListSMS(ctx context.Context, alertID string) (_ []storage.SMS, err error) {
	defer wrapErr(&err, "list sms")
	rows, _ := s.pool.Query(ctx, `SELECT `+smsCols+` FROM sms s WHERE s.alert_id = $1
		ORDER BY s.member_id, s.kind`, alertID)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.SMS, error) {
		var sc smsScan
		err := row.Scan(sc.dest()...)
		return sc.sms(), err
	})
}
