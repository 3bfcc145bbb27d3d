package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/longyou/hub/storage"
)

// dedupTargets drops repeated members (the first one counts).
func dedupTargets(targets []storage.Target) []storage.Target {
	seen := make(map[string]struct{}, len(targets))
	out := make([]storage.Target, 0, len(targets))
	for _, t := range targets {
		if _, ok := seen[t.MemberID]; ok {
			continue
		}
		seen[t.MemberID] = struct{}{}
		out = append(out, t)
	}
	return out
}

// CreateAlert stores the alert, one delivery row per target and the SMS rows
// the targets ask for (priority Target.SMSPriority) with COPY (50,000 targets are a handful of round trips,
// not 50,000), then appends ev as the transaction's last statement (see
// eventCTE). ErrConflict when the id is taken, ErrNotFound when a target is
// not a member.
func (s *Store) CreateAlert(ctx context.Context, a *storage.Alert, ev *storage.Event, targets []storage.Target) (err error) {
	defer wrapErr(&err, "create alert")
	status := a.Status
	if status == "" {
		status = storage.AlertActive
	}
	targets = dedupTargets(targets)
	memberIDs := make([]string, len(targets))
	var withSMS, withVoice []storage.Target
	for i, t := range targets {
		memberIDs[i] = t.MemberID
		if !t.SMSDueAt.IsZero() {
			withSMS = append(withSMS, t)
		}
		if !t.VoiceDueAt.IsZero() {
			withVoice = append(withVoice, t)
		}
	}
	// COPY rows are encoded as they are read, so one row buffer is reused,
	// and the values every row shares are boxed once.
	alertID, createdAt := any(a.ID), any(a.CreatedAt)
	channel, refType := any(storage.ChannelSMS), any(storage.RefAlert)
	kind, pending := any(storage.MessageAlert), any(storage.MessagePending)
	drow, srow := make([]any, 3), make([]any, 8)
	deliveryRow := func(i int) ([]any, error) {
		drow[0], drow[1], drow[2] = alertID, targets[i].MemberID, createdAt
		return drow, nil
	}
	smsRow := func(i int) ([]any, error) {
		t := &withSMS[i]
		srow[0], srow[1], srow[2], srow[3], srow[4], srow[5], srow[6], srow[7] = channel, refType, alertID,
			t.MemberID, kind, pending, int32(t.SMSPriority), t.SMSDueAt
		return srow, nil
	}
	voiceChannel := any(storage.ChannelVoice)
	voiceRow := func(i int) ([]any, error) {
		t := &withVoice[i]
		srow[0], srow[1], srow[2], srow[3], srow[4], srow[5], srow[6], srow[7] = voiceChannel, refType, alertID,
			t.MemberID, kind, pending, int32(t.SMSPriority), t.VoiceDueAt
		return srow, nil
	}
	var seq int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := missingMember(ctx, tx, memberIDs); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO alerts (id, kind, severity, title, body, area,
			villages, roles, created_by, created_at, expires_at, status, cancelled_at,
			sms_fallback_after_s, voice_after_s, exercise, meta)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
			a.ID, a.Kind, a.Severity, a.Title, a.Body, jsonArg(a.Area), textArray(a.Villages),
			textArray(a.Roles), a.CreatedBy, a.CreatedAt, a.ExpiresAt, status, a.CancelledAt,
			a.SMSFallbackAfterS, a.VoiceAfterS, a.Exercise, jsonArg(a.Meta)); err != nil {
			return err
		}
		if err := recordImport(ctx, tx, a.Import, a.ID); err != nil { // v1.6 (postgres_capimport.go)
			return err
		}
		if len(targets) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"deliveries"},
				[]string{"alert_id", "member_id", "targeted_at"},
				pgx.CopyFromSlice(len(targets), deliveryRow)); err != nil {
				return err
			}
		}
		if len(withSMS) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"},
				[]string{"channel", "ref_type", "ref_id", "member_id", "kind", "state", "priority", "due_at"},
				pgx.CopyFromSlice(len(withSMS), smsRow)); err != nil {
				return err
			}
		}
		if len(withVoice) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"outbox"},
				[]string{"channel", "ref_type", "ref_id", "member_id", "kind", "state", "priority", "due_at"},
				pgx.CopyFromSlice(len(withVoice), voiceRow)); err != nil {
				return err
			}
		}
		return tx.QueryRow(ctx, eventCTE+`UPDATE alerts a SET seq = e.seq FROM e
			WHERE a.id = $7 RETURNING e.seq`, append(eventArgs(ev), a.ID)...).Scan(&seq)
	})
	if err != nil {
		return err
	}
	a.Status, a.Seq, ev.Seq = status, seq, seq
	return nil
}

// missingMember returns ErrNotFound naming the first of ids that is not a
// member, in one statement: the check the foreign keys the bulk tables do
// not have would make (see migration/00001_init.sql).
func missingMember(ctx context.Context, q querier, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	var missing string
	err := q.QueryRow(ctx, `SELECT u.id FROM unnest($1::text[]) AS u(id)
		WHERE NOT EXISTS (SELECT 1 FROM members m WHERE m.id = u.id) LIMIT 1`, ids).Scan(&missing)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return errNotFound("member", missing)
}

// textArray is the text[] value of a list, NULL when it is empty (nil and
// empty mean the same for Villages and Roles).
func textArray[T ~string](v []T) []string {
	if len(v) == 0 {
		return nil
	}
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = string(x)
	}
	return out
}

const alertCols = `a.id, a.kind, a.severity, a.title, a.body, a.area, a.villages, a.roles,
	a.created_by, a.created_at, a.expires_at, a.status, a.cancelled_at, a.sms_fallback_after_s,
	a.seq, a.cancel_seq, a.voice_after_s, a.exercise, a.meta, a.updated_by, a.updated_at, a.update_seq,
	a.cancelled_by`

func scanAlert(row pgx.Row) (storage.Alert, error) {
	var a storage.Alert
	var area, meta []byte
	var roles []string
	var fallback, voice *int32
	err := row.Scan(&a.ID, &a.Kind, &a.Severity, &a.Title, &a.Body, &area, &a.Villages, &roles,
		&a.CreatedBy, &a.CreatedAt, &a.ExpiresAt, &a.Status, &a.CancelledAt, &fallback,
		&a.Seq, &a.CancelSeq, &voice, &a.Exercise, &meta, &a.UpdatedBy, &a.UpdatedAt, &a.UpdateSeq,
		&a.CancelledBy)
	if err != nil {
		return storage.Alert{}, err
	}
	if len(area) > 0 {
		a.Area = area
	}
	if len(meta) > 0 {
		a.Meta = meta
	}
	if len(a.Villages) == 0 {
		a.Villages = nil
	}
	for _, r := range roles {
		a.Roles = append(a.Roles, storage.Role(r))
	}
	if fallback != nil {
		n := int(*fallback)
		a.SMSFallbackAfterS = &n
	}
	if voice != nil {
		n := int(*voice)
		a.VoiceAfterS = &n
	}
	return a, nil
}

// CancelAlert marks an active alert cancelled at at, cancels its messages
// of kind alert whose send has not started (pending or claimed: a claimed
// one's StartSending then fails), queues an all-clear for each one whose
// send had started (sending, sent, delivered; SMS only: no all-clear
// call), and appends ev (its seq becomes the alert's CancelSeq); ErrConflict when the alert is cancelled
// or expired at at, ErrNotFound when there is none. An all_clear message
// already queued is left alone.
//
// Under READ COMMITTED each statement reads its own snapshot, and the
// steps are separate statements on purpose:
//
//  1. The alert's update takes its row lock: an AddTargets holding the
//     row FOR SHARE commits first (its targets are then in the cancel's
//     audience), and one that comes later finds the alert cancelled.
//  2. The fence locks every alert message still pending or claimed. A
//     StartSending (or a claim) holding one is waited for, and the row is
//     judged again as it committed: sending is left alone; a new claim is
//     fenced all the same.
//  3. The all-clears are read from a snapshot taken after step 2, so every
//     StartSending that beat the fence is seen. In one statement with
//     step 2 (a data-modifying CTE) the insert would read the snapshot
//     from before the fence waited, and miss the message that won.
func (s *Store) CancelAlert(ctx context.Context, id string, at time.Time, ev *storage.Event) (_ storage.Alert, err error) {
	defer wrapErr(&err, "cancel alert")
	return s.cancelAlert(ctx, id, at, ev.By, nil, ev)
}

// cancelAlert is CancelAlert that records who cancelled (v1.6) and the
// CAP Cancel message imp, when not nil.
func (s *Store) cancelAlert(ctx context.Context, id string, at time.Time, by string, imp *storage.CAPImport,
	ev *storage.Event) (storage.Alert, error) {
	var a storage.Alert
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE alerts SET status = 'cancelled', cancelled_at = $2, cancelled_by = $3
			WHERE id = $1 AND status = 'active' AND expires_at > $2`, id, at, by)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 { // missing (ErrNoRows: ErrNotFound), or no longer active
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM alerts WHERE id = $1`, id).Scan(&one); err != nil {
				return err
			}
			return fmt.Errorf("alert %q is not active at %v: %w", id, at, storage.ErrConflict)
		}
		if err := recordImport(ctx, tx, imp, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE outbox SET state = 'cancelled'
			WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND state IN ('pending', 'claimed')`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
			SELECT channel, ref_type, ref_id, member_id, 'all_clear', 'pending', priority, $2 FROM outbox
			WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND state IN ('sending', 'sent', 'delivered')
			AND channel = 'sms'
			ON CONFLICT DO NOTHING`, id, at); err != nil {
			return err
		}
		a, err = scanAlert(tx.QueryRow(ctx, eventCTE+`UPDATE alerts a SET cancel_seq = e.seq FROM e
			WHERE a.id = $7 RETURNING `+alertCols, append(eventArgs(ev), id)...))
		return err
	})
	if err != nil {
		return storage.Alert{}, err
	}
	ev.Seq = a.CancelSeq
	return a, nil
}

// GetAlert returns the alert; ErrNotFound when there is none.
func (s *Store) GetAlert(ctx context.Context, id string) (_ storage.Alert, err error) {
	defer wrapErr(&err, "get alert")
	return scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts a WHERE a.id = $1`, id))
}

// ListAlerts returns the alerts f selects, newest (by seq) first. Status
// "active" and "expired" compare ExpiresAt with f.Now.
func (s *Store) ListAlerts(ctx context.Context, f storage.AlertFilter) (_ []storage.Alert, err error) {
	defer wrapErr(&err, "list alerts")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	switch f.Status {
	case "":
	case storage.AlertActive:
		args = append(args, f.Now)
		where = append(where, `a.status = 'active' AND a.expires_at > $1`)
	case storage.AlertExpired:
		args = append(args, f.Now)
		where = append(where, `a.status = 'active' AND a.expires_at <= $1`)
	default:
		args = append(args, f.Status)
		where = append(where, fmt.Sprintf(`a.status = $%d`, len(args)))
	}
	if f.Village != "" {
		args = append(args, []string{f.Village})
		where = append(where, fmt.Sprintf(`a.villages @> $%d`, len(args)))
	}
	if !f.Since.IsZero() {
		args = append(args, f.Since)
		where = append(where, fmt.Sprintf(`a.created_at >= $%d`, len(args)))
	}
	if !f.Until.IsZero() {
		args = append(args, f.Until)
		where = append(where, fmt.Sprintf(`a.created_at < $%d`, len(args)))
	}
	if f.After > 0 {
		args = append(args, f.After)
		where = append(where, fmt.Sprintf(`a.seq < $%d`, len(args)))
	}
	args = append(args, limit)
	q := `SELECT ` + alertCols + ` FROM alerts a`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += fmt.Sprintf(` ORDER BY a.seq DESC LIMIT $%d`, len(args))
	rows, _ := s.pool.Query(ctx, q, args...)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Alert, error) { return scanAlert(r) })
}

// AddTargets addresses the alert to more members and queues the SMS they
// ask for (as CreateAlert does); it returns, in the order given, the members that were not
// targeted before. It adds nothing, and returns no member, when the alert
// is not active at at (cancelled or expired): it reads the alert FOR SHARE,
// which a cancel's update of the alert waits for (and which waits for a
// cancel under way, then reads the alert as the cancel left it), so a
// cancel is wholly before or after it. ErrNotFound when the alert or a
// member does not exist.
func (s *Store) AddTargets(ctx context.Context, alertID string, targets []storage.Target, at time.Time) (_ []string, err error) {
	defer wrapErr(&err, "add targets")
	targets = dedupTargets(targets)
	if len(targets) == 0 {
		return []string{}, nil
	}
	// Insert in member order so that two concurrent calls for overlapping
	// members wait on each other instead of deadlocking.
	sorted := slices.Clone(targets)
	slices.SortFunc(sorted, func(x, y storage.Target) int { return strings.Compare(x.MemberID, y.MemberID) })
	ids := make([]string, len(sorted))
	dues := make([]*time.Time, len(sorted))
	prios := make([]int32, len(sorted))
	voiceDues := make([]*time.Time, len(sorted))
	for i, t := range sorted {
		ids[i], dues[i], prios[i] = t.MemberID, nullTime(t.SMSDueAt), int32(t.SMSPriority)
		voiceDues[i] = nullTime(t.VoiceDueAt)
	}
	added := make(map[string]bool)
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		clear(added)
		var active bool
		if err := tx.QueryRow(ctx, `SELECT status = 'active' AND expires_at > $2 FROM alerts WHERE id = $1 FOR SHARE`,
			alertID, at).Scan(&active); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errNotFound("alert", alertID)
			}
			return err
		}
		if !active {
			return nil
		}
		if err := missingMember(ctx, tx, ids); err != nil {
			return err
		}
		rows, _ := tx.Query(ctx, addTargetsSQL, alertID, ids, dues, at, prios, voiceDues)
		newIDs, err := pgx.CollectRows(rows, pgx.RowTo[string])
		for _, id := range newIDs {
			added[id] = true
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, t := range targets {
		if added[t.MemberID] {
			out = append(out, t.MemberID)
		}
	}
	return out, nil
}

// IsTargeted tells whether the alert is addressed to the member.
func (s *Store) IsTargeted(ctx context.Context, alertID, memberID string) (ok bool, err error) {
	defer wrapErr(&err, "is targeted")
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM deliveries
		WHERE alert_id = $1 AND member_id = $2)`, alertID, memberID).Scan(&ok)
	return ok, err
}

// MarkDelivered sets delivered_at where it is not set yet, in one
// statement. Deliveries of members not targeted are ignored.
func (s *Store) MarkDelivered(ctx context.Context, ds []storage.Delivery) (err error) {
	defer wrapErr(&err, "mark delivered")
	if len(ds) == 0 {
		return nil
	}
	alerts := make([]string, len(ds))
	members := make([]string, len(ds))
	ats := make([]time.Time, len(ds))
	for i, d := range ds {
		alerts[i], members[i], ats[i] = d.AlertID, d.MemberID, d.At
	}
	// The rows are locked in key order first (the MATERIALIZED ... ORDER BY
	// ... FOR UPDATE), as RecordAcks does, so concurrent batches never
	// deadlock; a member listed twice keeps its first time, as if the
	// deliveries were applied one by one.
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `WITH u AS (
				SELECT DISTINCT ON (alert_id, member_id) alert_id, member_id, at
				FROM unnest($1::text[], $2::text[], $3::timestamptz[]) WITH ORDINALITY
					AS u(alert_id, member_id, at, ord)
				ORDER BY alert_id, member_id, ord
			), l AS MATERIALIZED (
				SELECT d.alert_id, d.member_id, u.at
				FROM deliveries d JOIN u ON d.alert_id = u.alert_id AND d.member_id = u.member_id
				WHERE d.delivered_at IS NULL
				ORDER BY d.alert_id, d.member_id
				FOR UPDATE OF d
			)
			UPDATE deliveries d SET delivered_at = l.at FROM l
			WHERE d.alert_id = l.alert_id AND d.member_id = l.member_id AND d.delivered_at IS NULL`,
			alerts, members, ats)
		return err
	})
}

// RecordAcks stores the answers in one transaction: every answer that
// says something new (see recordAcksSQL) goes to the acks history, the
// latest of those by At (the later one in acks on a tie) becomes the
// delivery's response, the member's pending SMS for the alert is
// cancelled, and the history of each pair that got an answer is cut to the
// newest storage.AckHistoryMax. ok[i] is false when acks[i]'s alert is not
// addressed to its member; nothing is written for it.
func (s *Store) RecordAcks(ctx context.Context, acks []storage.Ack) (_ []bool, err error) {
	defer wrapErr(&err, "record acks")
	ok := make([]bool, len(acks))
	if len(acks) == 0 {
		return ok, nil
	}
	var (
		alerts    = make([]string, len(acks))
		members   = make([]string, len(acks))
		responses = make([]string, len(acks))
		etas      = make([]pgtype.Int4, len(acks))
		notes     = make([]string, len(acks))
		ats       = make([]time.Time, len(acks))
		bys       = make([]string, len(acks))
	)
	for i, a := range acks {
		alerts[i], members[i], responses[i], notes[i], ats[i], bys[i] = a.AlertID, a.MemberID, a.Response, a.Note, a.At, a.By
		if a.EtaMin != nil {
			etas[i] = pgtype.Int4{Int32: int32(*a.EtaMin), Valid: true}
		}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		rows, _ := tx.Query(ctx, recordAcksSQL, alerts, members, responses, etas, notes, ats, bys)
		var trimAlerts, trimMembers []string
		var ord int64
		var fresh bool
		_, err := pgx.ForEachRow(rows, []any{&ord, &fresh}, func() error {
			ok[ord-1] = true
			if fresh {
				trimAlerts = append(trimAlerts, alerts[ord-1])
				trimMembers = append(trimMembers, members[ord-1])
			}
			return nil
		})
		if err != nil || len(trimAlerts) == 0 {
			return err
		}
		_, err = tx.Exec(ctx, trimAcksSQL, trimAlerts, trimMembers, storage.AckHistoryMax)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ok, nil
}

// recordAcksSQL is RecordAcks but the trim, in one statement. Its
// parameters are parallel arrays (alert, member, response, eta, note, at,
// by);
// it returns the 1-based positions of the addressed acks and whether each
// was stored (fresh). target locks the addressed delivery rows in key
// order before anything is written, so concurrent batches never deadlock
// (and a batch compares with the answer the one before it committed);
// every other part reaches a table by its full primary key from the
// (small) input.
//
// An answer equal to the one before it (response, eta and note; a pair's
// answers taken by at, then by position), the first compared with the
// answer the delivery row holds, is not stored (storage.SameAnswer): a run
// of equal answers counts once, since a dropped answer equals the one
// before it. The SQLite store does the same in Go (freshAcks).
const recordAcksSQL = `WITH i AS (
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[],
		$6::timestamptz[], $7::text[]) WITH ORDINALITY AS i(alert_id, member_id, response, eta_min, note, at, by_id, ord)
), target AS MATERIALIZED (
	SELECT d.alert_id, d.member_id, d.response, d.eta_min, d.note, d.answered_by FROM deliveries d
	WHERE (d.alert_id, d.member_id) IN (SELECT alert_id, member_id FROM i)
	ORDER BY d.alert_id, d.member_id
	FOR UPDATE OF d
), valid AS (
	SELECT i.*, t.response AS held_response, t.eta_min AS held_eta, t.note AS held_note, t.answered_by AS held_by
	FROM i JOIN target t ON t.alert_id = i.alert_id AND t.member_id = i.member_id
), ordered AS (
	SELECT v.*, row_number() OVER w AS n,
		lag(v.response) OVER w AS prev_response, lag(v.eta_min) OVER w AS prev_eta, lag(v.note) OVER w AS prev_note,
		lag(v.by_id) OVER w AS prev_by
	FROM valid v
	WINDOW w AS (PARTITION BY v.alert_id, v.member_id ORDER BY v.at, v.ord)
), fresh AS MATERIALIZED (
	SELECT alert_id, member_id, response, eta_min, note, at, by_id, ord FROM ordered
	WHERE NOT CASE WHEN n = 1
		THEN response = held_response AND eta_min IS NOT DISTINCT FROM held_eta AND note = held_note AND by_id = held_by
		ELSE response = prev_response AND eta_min IS NOT DISTINCT FROM prev_eta AND note = prev_note AND by_id = prev_by END
), hist AS (
	INSERT INTO acks (alert_id, member_id, response, eta_min, note, at, by_id)
	SELECT alert_id, member_id, response, eta_min, note, at, by_id FROM fresh ORDER BY ord
), latest AS (
	SELECT DISTINCT ON (alert_id, member_id) * FROM fresh
	ORDER BY alert_id, member_id, at DESC, ord DESC
), upd AS (
	UPDATE deliveries d
	SET response = l.response, responded_at = l.at, eta_min = l.eta_min, note = l.note, answered_by = l.by_id
	FROM latest l
	WHERE d.alert_id = l.alert_id AND d.member_id = l.member_id
		AND (d.responded_at IS NULL OR d.responded_at <= l.at)
), cancelled AS (
	UPDATE outbox o SET state = 'cancelled' FROM target t
	WHERE o.ref_type = 'alert' AND o.ref_id = t.alert_id AND o.member_id = t.member_id
		AND o.kind = 'alert' AND o.state = 'pending'
)
SELECT v.ord, EXISTS (SELECT 1 FROM fresh f WHERE f.ord = v.ord) FROM valid v`

// trimAcksSQL keeps the newest $3 answers (by id: the order they were
// recorded) of each (alert, member) of the parallel arrays $1, $2. It runs
// after recordAcksSQL, in its transaction: the parts of one statement all
// see the same snapshot, so the rows it inserts could not be counted in it.
const trimAcksSQL = `DELETE FROM acks WHERE id IN (
	SELECT x.id
	FROM (SELECT DISTINCT alert_id, member_id FROM unnest($1::text[], $2::text[]) AS p(alert_id, member_id)) p
	CROSS JOIN LATERAL (
		SELECT a.id FROM acks a WHERE a.alert_id = p.alert_id AND a.member_id = p.member_id
		ORDER BY a.id DESC OFFSET $3) x)`

// alertProgressSQL counts in one statement, so from one snapshot. It is
// written so that no plan can be quadratic whatever the statistics say: a
// brand-new alert's id is in no histogram, so the planner guesses a handful
// of rows for "alert_id = $1" and, offered a join of deliveries with outbox,
// picks a nested loop that rescans the alert's 50,000 SMS rows for each of
// its 50,000 deliveries. Instead the delivered count groups the union of
// both tables' rows by member (one linear pass, hashed or sorted), and the
// other counts are single-table aggregates.
const alertProgressSQL = `SELECT
	EXISTS (SELECT 1 FROM alerts WHERE id = $1),
	t.targeted, t.delivered,
	(SELECT json_object_agg(response, n) FROM (
		SELECT response, count(*) AS n FROM deliveries
		WHERE alert_id = $1 AND response <> '' GROUP BY response) r),
	m.queued, m.sent, m.delivered, m.failed, m.segments,
	(SELECT count(*) FROM deliveries WHERE alert_id = $1 AND response <> '' AND answered_by <> '')
FROM (
	SELECT count(*) FILTER (WHERE targeted) AS targeted,
		count(*) FILTER (WHERE targeted AND delivered) AS delivered
	FROM (
		SELECT bool_or(targeted) AS targeted, bool_or(delivered) AS delivered
		FROM (
			SELECT member_id, true AS targeted,
				delivered_at IS NOT NULL OR response <> '' AS delivered
			FROM deliveries WHERE alert_id = $1
			UNION ALL
			SELECT member_id, false, true
			FROM outbox WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND channel = 'sms'
				AND state = 'delivered'
		) u
		GROUP BY member_id
	) g
) t, (
	SELECT count(*) FILTER (WHERE state IN ('pending', 'claimed', 'sending')) AS queued,
		count(*) FILTER (WHERE state = 'sent') AS sent,
		count(*) FILTER (WHERE state = 'delivered') AS delivered,
		count(*) FILTER (WHERE state = 'failed') AS failed,
		coalesce(sum(segments), 0) AS segments
	FROM outbox WHERE ref_type = 'alert' AND ref_id = $1 AND kind = 'alert' AND channel = 'sms'
) m`

// AlertProgress counts the alert's targets, deliveries, answers (each member
// once, under its latest answer) and SMS (kind alert); ErrNotFound when
// there is no such alert. A member counts as delivered when the alert was
// written to its WebSocket, or it answered, or its alert SMS was delivered.
func (s *Store) AlertProgress(ctx context.Context, alertID string) (_ storage.Progress, err error) {
	defer wrapErr(&err, "alert progress")
	var p storage.Progress
	var acked map[string]int
	var exists bool
	err = s.pool.QueryRow(ctx, alertProgressSQL, alertID).Scan(&exists, &p.Targeted, &p.Delivered,
		&acked, &p.SMS.Queued, &p.SMS.Sent, &p.SMS.Delivered, &p.SMS.Failed, &p.SMS.Segments, &p.OnBehalf)
	if err != nil {
		return storage.Progress{}, err
	}
	if !exists {
		return storage.Progress{}, errNotFound("alert", alertID)
	}
	p.Acked = map[string]int{
		storage.RespReceived: 0, storage.RespSafe: 0, storage.RespNeedHelp: 0,
		storage.RespComing: 0, storage.RespUnavailable: 0,
	}
	for resp, n := range acked {
		p.Acked[resp] = n
	}
	return p, nil
}

// ListRecipients lists the members the alert is addressed to, ordered by
// member id, with their latest answer and SMS state (kind alert);
// ErrNotFound when there is no such alert. The SMS state is a correlated
// primary-key lookup rather than a join, for the reason given at
// alertProgressSQL.
func (s *Store) ListRecipients(ctx context.Context, alertID string, f storage.RecipientFilter) (_ []storage.Recipient, err error) {
	defer wrapErr(&err, "list recipients")
	var limit *int
	if f.Limit > 0 {
		limit = &f.Limit
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE id = $1)`, alertID).Scan(&exists); err != nil {
		return nil, err
	}
	if !exists {
		return nil, errNotFound("alert", alertID)
	}
	rows, _ := s.pool.Query(ctx, `SELECT d.member_id, m.name, m.phone, m.role, m.village_id,
			d.targeted_at, d.delivered_at, d.response, d.responded_at, d.eta_min, d.note,
			coalesce((SELECT o.state FROM outbox o WHERE o.ref_type = 'alert' AND o.ref_id = d.alert_id
				AND o.member_id = d.member_id AND o.kind = 'alert' AND o.channel = 'sms'), ''),
			m.live_lat, m.live_lng, m.live_accuracy_m, m.live_at, m.home_lat, m.home_lng, d.answered_by
		FROM deliveries d
		JOIN members m ON m.id = d.member_id
		WHERE d.alert_id = $1
			AND ($2 = '' OR ($2 = 'none' AND d.response = '') OR d.response = $2)
			AND ($4 = '' OR m.village_id = $4)
		ORDER BY d.member_id
		LIMIT $3`, alertID, f.Response, limit, f.VillageID)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.Recipient, error) {
		var r storage.Recipient
		var role string
		var eta *int32
		var liveLat, liveLng, liveAcc, homeLat, homeLng *float64
		var liveAt *time.Time
		err := row.Scan(&r.MemberID, &r.Name, &r.Phone, &role, &r.VillageID,
			&r.TargetedAt, &r.DeliveredAt, &r.Response, &r.RespondedAt, &eta, &r.Note,
			&r.SMSState, &liveLat, &liveLng, &liveAcc, &liveAt, &homeLat, &homeLng, &r.AnsweredBy)
		r.Role = storage.Role(role)
		if eta != nil {
			n := int(*eta)
			r.EtaMin = &n
		}
		r.Live = position(liveLat, liveLng, liveAcc, liveAt)
		r.Home = latLng(homeLat, homeLng)
		return r, err
	})
}

// addTargetsSQL addresses alert $1 to the members $2 at $4 and queues their
// SMS ($3: due, NULL for none; $5: priority) and calls ($6: due, NULL for
// none), skipping members it already addresses; it returns the members it
// added. AddTargets (a move-in) and an update in place (a larger area) use it.
const addTargetsSQL = `WITH t AS (
		SELECT * FROM unnest($2::text[], $3::timestamptz[], $5::int[], $6::timestamptz[]) WITH ORDINALITY
			AS t(member_id, due_at, priority, voice_due_at, ord)
	), ins AS (
		INSERT INTO deliveries (alert_id, member_id, targeted_at)
		SELECT $1, member_id, $4 FROM t ORDER BY ord
		ON CONFLICT DO NOTHING
		RETURNING member_id
	), sms AS (
		INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
		SELECT 'sms', 'alert', $1, t.member_id, 'alert', 'pending', t.priority, t.due_at
		FROM t JOIN ins ON ins.member_id = t.member_id
		WHERE t.due_at IS NOT NULL
		ON CONFLICT DO NOTHING
	), voice AS (
		INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
		SELECT 'voice', 'alert', $1, t.member_id, 'alert', 'pending', t.priority, t.voice_due_at
		FROM t JOIN ins ON ins.member_id = t.member_id
		WHERE t.voice_due_at IS NOT NULL
		ON CONFLICT DO NOTHING
	)
	SELECT member_id FROM ins`
