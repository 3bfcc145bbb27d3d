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

// compareKeys orders message keys as the outbox's primary key does.
func compareKeys(x, y storage.MessageKey) int {
	return cmp.Or(cmp.Compare(x.Ref.Type, y.Ref.Type), cmp.Compare(x.Ref.ID, y.Ref.ID),
		cmp.Compare(x.MemberID, y.MemberID), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Channel, y.Channel))
}

// EnqueueMessages inserts, in one statement, the rows whose (channel, ref,
// member, kind) key is not taken yet, leaving existing rows alone. Only the
// key, State (empty means pending), Priority and DueAt are taken from a row.
// ErrNotFound when the member, or the alert of a row about an alert, does
// not exist.
func (s *Store) EnqueueMessages(ctx context.Context, rows []storage.Message) (err error) {
	defer wrapErr(&err, "enqueue messages")
	if len(rows) == 0 {
		return nil
	}
	// Key order, so that concurrent batches over the same keys wait on each
	// other instead of deadlocking.
	sorted := slices.Clone(rows)
	slices.SortStableFunc(sorted, func(x, y storage.Message) int { return compareKeys(x.Key(), y.Key()) })
	n := len(sorted)
	channels, refTypes, refIDs := make([]string, n), make([]string, n), make([]string, n)
	members, kinds, states := make([]string, n), make([]string, n), make([]string, n)
	prios, dues := make([]int32, n), make([]time.Time, n)
	for i, r := range sorted {
		channels[i], refTypes[i], refIDs[i], members[i], kinds[i] = r.Channel, r.Ref.Type, r.Ref.ID, r.MemberID, r.Kind
		prios[i], dues[i] = int32(r.Priority), r.DueAt
		states[i] = cmp.Or(r.State, storage.MessagePending)
	}
	// One statement checks the references (outbox has no foreign keys, see
	// migration/00003_outbox.sql) and inserts only when all exist.
	var badAlert, badMember *string
	err = s.pool.QueryRow(ctx, `WITH u AS (
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
				$7::int[], $8::timestamptz[])
				AS u(channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
		), bad AS (
			SELECT
				(SELECT u.ref_id FROM u WHERE u.ref_type = 'alert' AND NOT EXISTS (
					SELECT 1 FROM alerts a WHERE a.id = u.ref_id) LIMIT 1) AS alert_id,
				(SELECT u.member_id FROM u WHERE NOT EXISTS (
					SELECT 1 FROM members m WHERE m.id = u.member_id) LIMIT 1) AS member_id
		), ins AS (
			INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
			SELECT u.* FROM u, bad WHERE bad.alert_id IS NULL AND bad.member_id IS NULL
			ON CONFLICT DO NOTHING
		)
		SELECT alert_id, member_id FROM bad`,
		channels, refTypes, refIDs, members, kinds, states, prios, dues).Scan(&badAlert, &badMember)
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

const outboxCols = `o.channel, o.ref_type, o.ref_id, o.member_id, o.kind, o.state, o.priority, o.due_at,
	o.attempts, o.claimed_at, o.claimed_by, o.sent_at, o.provider_id, o.status, o.error_code, o.segments`

// messageScan holds the nullable columns of an outbox row while scanning.
type messageScan struct {
	r                 storage.Message
	claimedAt, sentAt *time.Time
}

func (sc *messageScan) dest(extra ...any) []any {
	r := &sc.r
	return append([]any{&r.Channel, &r.Ref.Type, &r.Ref.ID, &r.MemberID, &r.Kind, &r.State, &r.Priority,
		&r.DueAt, &r.Attempts, &sc.claimedAt, &r.ClaimedBy, &sc.sentAt, &r.ProviderID, &r.Status,
		&r.ErrorCode, &r.Segments}, extra...)
}

func (sc *messageScan) message() storage.Message {
	r := sc.r
	r.ClaimedAt, r.SentAt = derefTime(sc.claimedAt), derefTime(sc.sentAt)
	return r
}

// keyWhere selects one row by its key, given as $1 to $5 (keyArgs).
const keyWhere = `channel = $1 AND ref_type = $2 AND ref_id = $3 AND member_id = $4 AND kind = $5`

func keyArgs(k storage.MessageKey, more ...any) []any {
	return append([]any{k.Channel, k.Ref.Type, k.Ref.ID, k.MemberID, k.Kind}, more...)
}

// ClaimDueMessages takes up to limit pending rows of the channel due at
// now, highest priority then earliest due first, and marks them claimed by
// claimer (Attempts counts the claim). On the way it cancels, instead of
// claiming, the rows of kind alert about an alert whose member has answered
// it or which is no longer active at now, and it judges each all-clear by
// its alert message (storage.Store.ClaimDueMessages): it waits (due
// storage.AllClearWait later), is cancelled, or is claimed; rows not
// claimed do not count toward limit. The returned rows, in claim order,
// carry the member's phone and language.
//
// Several nodes may call it at once: each statement locks the rows it takes
// with FOR UPDATE SKIP LOCKED, so a row another claimer holds is skipped
// rather than waited for, and a row is claimed once (the lock re-checks
// state = 'pending' on the newest row version).
func (s *Store) ClaimDueMessages(ctx context.Context, channel string, now time.Time, limit int,
	claimer string) (_ []storage.Message, err error) {
	defer wrapErr(&err, "claim due messages")
	out := []storage.Message{}
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
			rows, err := tx.Query(ctx, claimSQL, now, want, claimer, channel, now.Add(storage.AllClearWait))
			if err != nil {
				return err
			}
			taken := 0
			var claimed []storage.Message
			for rows.Next() {
				var sc messageScan
				var verdict string
				if err := rows.Scan(sc.dest(&sc.r.Phone, &sc.r.Lang, &verdict)...); err != nil {
					rows.Close()
					return err
				}
				taken++
				if verdict == storage.MessageClaimed {
					claimed = append(claimed, sc.message())
				}
			}
			if err := rows.Err(); err != nil {
				return err
			}
			// RETURNING has no order; put the round back in claim order.
			slices.SortFunc(claimed, func(x, y storage.Message) int {
				return cmp.Or(cmp.Compare(y.Priority, x.Priority), x.DueAt.Compare(y.DueAt),
					cmp.Compare(x.Ref.Type, y.Ref.Type), cmp.Compare(x.Ref.ID, y.Ref.ID),
					cmp.Compare(x.MemberID, y.MemberID), cmp.Compare(x.Kind, y.Kind))
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

// claimSQL takes up to $2 pending rows of channel $4 due at $1 and claims
// them for $3, cancels the dead ones, or makes the all-clears that must
// wait for their alert message due at $5; it returns the rows (outboxCols),
// the member's phone and language, and the verdict: claimed, cancelled or
// wait.
//
// due is a plain queue pop on outbox alone (FOR UPDATE SKIP LOCKED under the
// LIMIT, in claim order, which is the order of the index outbox_due), and
// everything about the few rows it took (is the alert still active, has the
// member answered, the state of an all-clear's alert message, phone and
// language) is a primary-key lookup per row. A join of the outbox with
// alerts, deliveries and members would leave the plan to estimates that are
// worst exactly when a new big alert has just filled the outbox (see
// alertProgressSQL). An all-clear judged by a stale read of its alert
// message only waits once more.
const claimSQL = `WITH due AS (
	SELECT o.channel, o.ref_type, o.ref_id, o.member_id, o.kind FROM outbox o
	WHERE o.channel = $4 AND o.state = 'pending' AND o.due_at <= $1
	ORDER BY o.priority DESC, o.due_at, o.ref_type, o.ref_id, o.member_id, o.kind
	LIMIT $2
	FOR UPDATE SKIP LOCKED
), judged AS MATERIALIZED (
	SELECT due.*,
		CASE
		-- deactivated (v1.5): nothing is sent to it
		WHEN EXISTS (SELECT 1 FROM members m WHERE m.id = due.member_id AND m.inactive) THEN 'cancelled'
		WHEN due.ref_type = 'alert' AND due.kind = 'alert' AND (
			EXISTS (SELECT 1 FROM deliveries d
				WHERE d.alert_id = due.ref_id AND d.member_id = due.member_id AND d.response <> '')
			OR NOT EXISTS (SELECT 1 FROM alerts a
				WHERE a.id = due.ref_id AND a.status = 'active' AND a.expires_at > $1)
		) THEN 'cancelled'
		WHEN due.ref_type = 'alert' AND due.kind = 'all_clear' THEN
			CASE (SELECT x.state FROM outbox x WHERE x.ref_type = 'alert' AND x.ref_id = due.ref_id
				AND x.member_id = due.member_id AND x.kind = 'alert' AND x.channel = due.channel)
			WHEN 'pending' THEN 'wait' WHEN 'claimed' THEN 'wait' WHEN 'sending' THEN 'wait'
			WHEN 'cancelled' THEN 'cancelled' WHEN 'failed' THEN 'cancelled'
			ELSE 'claimed' END
		ELSE 'claimed'
		END AS verdict
	FROM due
)
UPDATE outbox o SET
	state = CASE WHEN j.verdict = 'wait' THEN o.state ELSE j.verdict END,
	due_at = CASE WHEN j.verdict = 'wait' THEN $5 ELSE o.due_at END,
	claimed_at = CASE WHEN j.verdict = 'claimed' THEN $1 ELSE o.claimed_at END,
	claimed_by = CASE WHEN j.verdict = 'claimed' THEN $3 ELSE o.claimed_by END,
	attempts = CASE WHEN j.verdict = 'claimed' THEN o.attempts + 1 ELSE o.attempts END
FROM judged j
WHERE o.ref_type = j.ref_type AND o.ref_id = j.ref_id AND o.member_id = j.member_id
	AND o.kind = j.kind AND o.channel = j.channel
RETURNING ` + outboxCols + `,
	coalesce((SELECT m.phone FROM members m WHERE m.id = o.member_id), ''),
	coalesce((SELECT m.lang FROM members m WHERE m.id = o.member_id), ''),
	j.verdict`

// StartSending marks a row claimed by claimer as sending (claimed_at
// becomes now, when its send started), or cancels it when it is an alert
// message no longer wanted at now (the alert ended, the member answered).
// ErrConflict when it is not claimed by claimer any more or was cancelled
// here; ErrNotFound when there is none.
//
// It is one UPDATE of the row with "state = 'claimed'" in its WHERE: a
// cancel's fence (CancelAlert) that locked the row first is waited for, and
// the row is judged again as the cancel left it (cancelled: nothing is
// updated). The alert and answer checks read the statement's snapshot; the
// fence, not they, is what orders a send against a cancel.
func (s *Store) StartSending(ctx context.Context, key storage.MessageKey, claimer string, now time.Time) (err error) {
	defer wrapErr(&err, "start sending")
	var after, before *string
	err = s.pool.QueryRow(ctx, `WITH u AS (
			UPDATE outbox o SET
				state = CASE WHEN j.dead THEN 'cancelled' ELSE 'sending' END,
				claimed_at = CASE WHEN j.dead THEN o.claimed_at ELSE $7 END
			FROM (SELECT $2::text = 'alert' AND $5::text = 'alert' AND (
					EXISTS (SELECT 1 FROM deliveries d WHERE d.alert_id = $3 AND d.member_id = $4 AND d.response <> '')
					OR NOT EXISTS (SELECT 1 FROM alerts a WHERE a.id = $3 AND a.status = 'active' AND a.expires_at > $7)
				) AS dead) j
			WHERE o.channel = $1 AND o.ref_type = $2 AND o.ref_id = $3 AND o.member_id = $4 AND o.kind = $5
				AND o.state = 'claimed' AND o.claimed_by = $6
			RETURNING o.state
		)
		SELECT (SELECT state FROM u), (SELECT state FROM outbox WHERE `+keyWhere+`)`,
		keyArgs(key, claimer, now)...).Scan(&after, &before)
	switch {
	case err != nil:
		return err
	case after != nil && *after == storage.MessageSending:
		return nil
	case after != nil:
		return fmt.Errorf("message %s cancelled: its alert ended or its member answered: %w", key, storage.ErrConflict)
	case before == nil:
		return fmt.Errorf("message %s: %w", key, storage.ErrNotFound)
	}
	return fmt.Errorf("message %s is %s, not claimed by %q: %w", key, *before, claimer, storage.ErrConflict)
}

// CompleteMessage records the outcome of sending a claimed or sending row:
// MessageSent or MessageFailed with the provider's id, status, error code
// and segments (sent at res.At), or MessagePending to try again at
// res.RetryAt. ErrNotFound for an unknown row, ErrConflict when the row is
// neither claimed nor sending.
func (s *Store) CompleteMessage(ctx context.Context, key storage.MessageKey, res storage.MessageResult) (err error) {
	defer wrapErr(&err, "complete message")
	var tag pgconn.CommandTag
	switch res.State {
	case storage.MessagePending:
		tag, err = s.pool.Exec(ctx, `UPDATE outbox SET state = 'pending', due_at = $6, claimed_at = NULL,
			claimed_by = '', provider_id = CASE WHEN $7 <> '' THEN $7 ELSE provider_id END,
			status = $8, error_code = $9
			WHERE `+keyWhere+` AND state IN ('claimed', 'sending')`,
			keyArgs(key, res.RetryAt, res.ProviderID, res.Status, res.ErrorCode)...)
	case storage.MessageSent, storage.MessageFailed:
		tag, err = s.pool.Exec(ctx, `UPDATE outbox SET state = $6, sent_at = $7, provider_id = $8,
			status = $9, error_code = $10, segments = $11
			WHERE `+keyWhere+` AND state IN ('claimed', 'sending')`,
			keyArgs(key, res.State, nullTime(res.At), res.ProviderID, res.Status, res.ErrorCode, res.Segments)...)
	default:
		return fmt.Errorf("invalid result state %q", res.State)
	}
	if err != nil || tag.RowsAffected() > 0 {
		return err
	}
	var state string
	if err := s.pool.QueryRow(ctx, `SELECT state FROM outbox WHERE `+keyWhere, keyArgs(key)...).Scan(&state); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("message %s: %w", key, storage.ErrNotFound)
		}
		return err
	}
	return fmt.Errorf("message %s is %s, not claimed: %w", key, state, storage.ErrConflict)
}

// ClaimedMessages lists the channel's rows left claimed or sending by
// claimer (anyone for "") with claimed_at before the given time, oldest
// first, with the member's phone and language.
func (s *Store) ClaimedMessages(ctx context.Context, channel, claimer string, before time.Time) (_ []storage.Message, err error) {
	defer wrapErr(&err, "claimed messages")
	rows, _ := s.pool.Query(ctx, `SELECT `+outboxCols+`, coalesce(m.phone, ''), coalesce(m.lang, '')
		FROM outbox o LEFT JOIN members m ON m.id = o.member_id
		WHERE o.channel = $3 AND o.state IN ('claimed', 'sending') AND o.claimed_at < $1 AND ($2 = '' OR o.claimed_by = $2)
		ORDER BY o.claimed_at, o.ref_type, o.ref_id, o.member_id, o.kind`, before, claimer, channel)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Message, error) {
		var sc messageScan
		err := row.Scan(sc.dest(&sc.r.Phone, &sc.r.Lang)...)
		return sc.message(), err
	})
}

// UpdateMessageStatus applies a provider status report to the channel's
// rows with this provider id: the status word, error code and time are
// kept, and the state becomes u.State when not empty. Reports can arrive out
// of order, so a row that is delivered or failed keeps its state and status
// (a late "sent" does not undo "delivered"). ErrNotFound when no row has the
// provider id.
func (s *Store) UpdateMessageStatus(ctx context.Context, channel, providerID string, u storage.StatusUpdate) (err error) {
	defer wrapErr(&err, "update message status")
	if providerID == "" {
		return fmt.Errorf("empty provider id: %w", storage.ErrNotFound)
	}
	var state *string
	if u.State != "" {
		state = &u.State
	}
	// "provider_id <> ''" lets a generic plan use the partial index outbox_provider.
	var found bool
	err = s.pool.QueryRow(ctx, `WITH u AS (
			UPDATE outbox SET state = coalesce($2::text, state), status = $3, error_code = $4, status_at = $5
			WHERE provider_id = $1 AND provider_id <> '' AND channel = $6 AND state NOT IN ('delivered', 'failed')
		)
		SELECT EXISTS (SELECT 1 FROM outbox WHERE provider_id = $1 AND provider_id <> '' AND channel = $6)`,
		providerID, state, u.Status, u.ErrorCode, nullTime(u.At), channel).Scan(&found)
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("message with provider id %s: %w", providerID, storage.ErrNotFound)
	}
	return nil
}

// ListMessages lists the rows about ref, of every channel, ordered by member
// id, kind and channel.
func (s *Store) ListMessages(ctx context.Context, ref storage.Ref) (_ []storage.Message, err error) {
	defer wrapErr(&err, "list messages")
	rows, _ := s.pool.Query(ctx, `SELECT `+outboxCols+` FROM outbox o WHERE o.ref_type = $1 AND o.ref_id = $2
		ORDER BY o.member_id, o.kind, o.channel`, ref.Type, ref.ID)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Message, error) {
		var sc messageScan
		err := row.Scan(sc.dest()...)
		return sc.message(), err
	})
}
