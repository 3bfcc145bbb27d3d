package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Personal data (storage/privacy.go): media quotas, the write probe, a
// member's export and erasure, retention.

// mediaQuotaLock is the advisory lock key that serializes quota-checked
// uploads across every node ("hubmedia" in ASCII): two uploads of one
// owner, or two that would each fit the total alone, cannot both pass.
// An upload holds it for the few milliseconds of its insert.
const mediaQuotaLock int64 = 0x6875626d65646961

// PutMediaWithin stores an upload unless it passes q (a
// *storage.QuotaError), under mediaQuotaLock when q has a limit.
func (s *Store) PutMediaWithin(ctx context.Context, m storage.Media, data []byte, q storage.MediaQuota) (err error) {
	defer wrapErr(&err, "put media")
	if data == nil {
		data = []byte{}
	}
	size := int64(len(data))
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if q.OwnerBytes > 0 || q.OwnerFiles > 0 || q.TotalBytes > 0 {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, mediaQuotaLock); err != nil {
				return err
			}
		}
		if q.OwnerBytes > 0 || q.OwnerFiles > 0 {
			var used, files int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0), count(*) FROM media
				WHERE owner_id = $1 AND created_at >= $2`, m.OwnerID, q.Since).Scan(&used, &files); err != nil {
				return err
			}
			switch {
			case q.OwnerFiles > 0 && files+1 > int64(q.OwnerFiles):
				return &storage.QuotaError{Limit: storage.QuotaOwnerFiles, Used: files, Max: int64(q.OwnerFiles)}
			case q.OwnerBytes > 0 && used+size > q.OwnerBytes:
				return &storage.QuotaError{Limit: storage.QuotaOwnerBytes, Used: used, Max: q.OwnerBytes}
			}
		}
		if q.TotalBytes > 0 {
			var total int64
			if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM media`).Scan(&total); err != nil {
				return err
			}
			if total+size > q.TotalBytes {
				return &storage.QuotaError{Limit: storage.QuotaTotalBytes, Used: total, Max: q.TotalBytes}
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO media (id, content_type, size, owner_id, created_at, data)
			VALUES ($1, $2, $3, $4, $5, $6)`, m.ID, m.ContentType, size, m.OwnerID, m.CreatedAt, data)
		return err
	})
}

// ProbeWrite updates the heartbeat row: it fails when the database cannot
// write (disk full, read-only, a standby after a failover).
func (s *Store) ProbeWrite(ctx context.Context) (err error) {
	defer wrapErr(&err, "probe write")
	_, err = s.pool.Exec(ctx, `UPDATE heartbeat SET at = now() WHERE id`)
	return err
}

// ExportMember reads everything held about a member in one snapshot
// (a repeatable-read, read-only transaction).
func (s *Store) ExportMember(ctx context.Context, id string) (_ storage.MemberData, err error) {
	defer wrapErr(&err, "export member")
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return storage.MemberData{}, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	m, err := scanMember(tx.QueryRow(ctx, `SELECT `+memberCols+` FROM members m
		WHERE m.id = $1 AND m.erased_at IS NULL`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.MemberData{}, errNotFound("member", id)
	}
	if err != nil {
		return storage.MemberData{}, err
	}
	d := storage.MemberData{Member: m}
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM tokens WHERE member_id = $1`, id).Scan(&d.Tokens); err != nil {
		return storage.MemberData{}, err
	}
	rows, _ := tx.Query(ctx, `SELECT alert_id, targeted_at, delivered_at, response, responded_at, eta_min, note
		FROM deliveries WHERE member_id = $1 ORDER BY targeted_at, alert_id`, id)
	if d.Deliveries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.MemberDelivery, error) {
		var x storage.MemberDelivery
		err := r.Scan(&x.AlertID, &x.TargetedAt, &x.DeliveredAt, &x.Response, &x.RespondedAt, &x.EtaMin, &x.Note)
		x.DeliveredAt, x.RespondedAt = utcPtr(x.DeliveredAt), utcPtr(x.RespondedAt)
		return x, err
	}); err != nil {
		return storage.MemberData{}, fmt.Errorf("deliveries: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT alert_id, member_id, response, eta_min, note, at FROM acks
		WHERE member_id = $1 ORDER BY at, id`, id)
	if d.Acks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Ack, error) {
		var a storage.Ack
		err := r.Scan(&a.AlertID, &a.MemberID, &a.Response, &a.EtaMin, &a.Note, &a.At)
		return a, err
	}); err != nil {
		return storage.MemberData{}, fmt.Errorf("acks: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT `+reportCols+` FROM reports r WHERE r.member_id = $1
		ORDER BY r.created_at DESC, r.id DESC`, id)
	if d.Reports, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Report, error) { return scanReport(r) }); err != nil {
		return storage.MemberData{}, fmt.Errorf("reports: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT id, content_type, size, owner_id, created_at FROM media
		WHERE owner_id = $1 ORDER BY created_at, id`, id)
	if d.Media, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Media, error) {
		var m storage.Media
		err := r.Scan(&m.ID, &m.ContentType, &m.Size, &m.OwnerID, &m.CreatedAt)
		return m, err
	}); err != nil {
		return storage.MemberData{}, fmt.Errorf("media: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT `+outboxCols+` FROM outbox o WHERE o.member_id = $1
		ORDER BY o.due_at, o.ref_type, o.ref_id, o.kind, o.channel`, id)
	if d.Messages, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Message, error) {
		var sc messageScan
		err := r.Scan(sc.dest()...)
		return sc.message(), err
	}); err != nil {
		return storage.MemberData{}, fmt.Errorf("outbox: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT id FROM alerts WHERE created_by = $1 ORDER BY created_at, id`, id)
	if d.AlertsCreated, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return storage.MemberData{}, fmt.Errorf("alerts: %w", err)
	}
	rows, _ = tx.Query(ctx, `SELECT id FROM bulletins WHERE author_id = $1 ORDER BY published_at, id`, id)
	if d.BulletinsAuthored, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
		return storage.MemberData{}, fmt.Errorf("bulletins: %w", err)
	}
	return d, nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// redactReportBody is the SQL expression of a report event's body without
// its text, photos and client id. The body goes through jsonb, so its keys
// may come back in another order (clients read it as JSON).
const redactReportBody = `((body::jsonb || '{"text":"","photos":[]}'::jsonb) - 'client_id')::json`

// EraseMember erases a member in one transaction (storage.Erasure).
func (s *Store) EraseMember(ctx context.Context, id string, at time.Time) (_ storage.Erasure, err error) {
	defer wrapErr(&err, "erase member")
	var e storage.Erasure
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		e = storage.Erasure{}
		tag, err := tx.Exec(ctx, `UPDATE members SET name = $2, phone = '', home_lat = NULL, home_lng = NULL,
			live_lat = NULL, live_lng = NULL, live_accuracy_m = NULL, live_at = NULL, lang = '',
			address = '', travel_mode = '', erased_at = $3 WHERE id = $1 AND erased_at IS NULL`,
			id, storage.ErasedName, at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNotFound("member", id)
		}
		steps := []struct {
			dst   *int
			query string
		}{
			{&e.Tokens, `DELETE FROM tokens WHERE member_id = $1`},
			{&e.Notes, `UPDATE deliveries SET note = '' WHERE member_id = $1 AND note <> ''`},
			{&e.Notes, `UPDATE acks SET note = '' WHERE member_id = $1 AND note <> ''`},
			{&e.Reports, `UPDATE reports SET text = '', photos = '{}', client_id = NULL
				WHERE member_id = $1 AND (text <> '' OR photos <> '{}' OR client_id IS NOT NULL)`},
			{&e.Events, `UPDATE events SET body = ` + redactReportBody + ` WHERE type IN ('report', 'report_update') AND member_id = $1`},
			{&e.Media, `DELETE FROM media WHERE owner_id = $1`},
			{&e.Messages, `UPDATE outbox SET state = 'cancelled' WHERE member_id = $1 AND state = 'pending'`},
		}
		for _, st := range steps {
			tag, err := tx.Exec(ctx, st.query, id)
			if err != nil {
				return err
			}
			*st.dst += int(tag.RowsAffected())
		}
		return eraseBoard(ctx, tx, id, &e) // postgres_board.go
	})
	if err != nil {
		return storage.Erasure{}, err
	}
	return e, nil
}

// ApplyRetention clears what is due, a batch per statement (each its own
// transaction), so that no long transaction holds rows others write.
func (s *Store) ApplyRetention(ctx context.Context, r storage.Retention) (_ storage.RetentionResult, err error) {
	defer wrapErr(&err, "retention")
	batch := r.Batch
	if batch <= 0 {
		batch = 1000
	}
	var res storage.RetentionResult
	loop := func(dst *int, query string, args ...any) error {
		for {
			tag, err := s.pool.Exec(ctx, query, append(args, batch)...)
			if err != nil {
				return err
			}
			n := int(tag.RowsAffected())
			*dst += n
			if n < batch {
				return nil
			}
		}
	}
	if !r.LiveBefore.IsZero() {
		if err := loop(&res.Live, `UPDATE members SET live_lat = NULL, live_lng = NULL, live_accuracy_m = NULL,
			live_at = NULL WHERE id IN (SELECT id FROM members WHERE live_at IS NOT NULL AND live_at < $1 LIMIT $2)`,
			r.LiveBefore); err != nil {
			return res, fmt.Errorf("live positions: %w", err)
		}
	}
	if !r.NotesBefore.IsZero() {
		if err := loop(&res.Notes, `UPDATE deliveries SET note = '' WHERE (alert_id, member_id) IN
			(SELECT alert_id, member_id FROM deliveries WHERE note <> '' AND responded_at < $1 LIMIT $2)`,
			r.NotesBefore); err != nil {
			return res, fmt.Errorf("notes: %w", err)
		}
		if err := loop(&res.Notes, `UPDATE acks SET note = '' WHERE id IN
			(SELECT id FROM acks WHERE note <> '' AND at < $1 LIMIT $2)`, r.NotesBefore); err != nil {
			return res, fmt.Errorf("notes: %w", err)
		}
	}
	if !r.ReportsBefore.IsZero() && len(r.ClosedStatuses) > 0 {
		if err := s.redactReports(ctx, r, batch, &res); err != nil {
			return res, fmt.Errorf("reports: %w", err)
		}
	}
	if !r.OrphansBefore.IsZero() {
		if err := loop(&res.Media, `DELETE FROM media WHERE id IN
			(SELECT id FROM media WHERE report_id IS NULL AND created_at < $1 LIMIT $2)`, r.OrphansBefore); err != nil {
			return res, fmt.Errorf("orphan media: %w", err)
		}
	}
	if !r.OutboxBefore.IsZero() {
		if err := loop(&res.Outbox, `UPDATE outbox SET provider_id = ''
			WHERE (ref_type, ref_id, member_id, kind, channel) IN (SELECT ref_type, ref_id, member_id, kind, channel
				FROM outbox WHERE provider_id <> '' AND sent_at < $1 LIMIT $2)`, r.OutboxBefore); err != nil {
			return res, fmt.Errorf("outbox: %w", err)
		}
	}
	return res, nil
}

// redactReports removes the text and photos of closed reports last
// changed before r.ReportsBefore, with their uploads and the personal
// fields of their events' bodies: one statement (so one transaction) per
// batch of reports.
func (s *Store) redactReports(ctx context.Context, r storage.Retention, batch int, res *storage.RetentionResult) error {
	for {
		var n, media int
		err := s.pool.QueryRow(ctx, `WITH r AS (
				SELECT id, member_id, photos FROM reports
				WHERE (text <> '' OR photos <> '{}') AND updated_at < $1 AND status = ANY ($2)
				LIMIT $3 FOR UPDATE
			), m AS (
				DELETE FROM media WHERE report_id IN (SELECT id FROM r)
					OR id IN (SELECT unnest(photos) FROM r) RETURNING 1
			), ev AS (
				UPDATE events e SET body = ((e.body::jsonb || '{"text":"","photos":[]}'::jsonb))::json
				FROM r WHERE e.type IN ('report', 'report_update') AND e.member_id = r.member_id AND e.body::jsonb->>'id' = r.id
				RETURNING 1
			), bev AS (
				UPDATE events e SET body = `+redactBoardReportBody+`
				FROM r WHERE e.type = 'board' AND e.member_id = r.member_id AND e.body::jsonb#>>'{item,report,id}' = r.id
				RETURNING 1
			), u AS (
				UPDATE reports SET text = '', photos = '{}', rectification_photos = '{}' WHERE id IN (SELECT id FROM r) RETURNING 1
			)
			SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM m)`,
			r.ReportsBefore, r.ClosedStatuses, batch).Scan(&n, &media)
		if err != nil {
			return err
		}
		res.Reports += n
		res.Media += media
		if n < batch {
			return nil
		}
	}
}
