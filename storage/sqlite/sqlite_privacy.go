package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Personal data (storage/privacy.go): media quotas, the write probe, a
// member's export and erasure, retention.

// PutMediaWithin stores an upload unless it passes q (a
// *storage.QuotaError). Writes are serialized on the one writer
// connection, so the sums read in the transaction are exact.
func (s *Store) PutMediaWithin(ctx context.Context, m storage.Media, data []byte, q storage.MediaQuota) (err error) {
	defer errd.Wrap(&err, "sqlite: put media")
	if data == nil {
		data = []byte{}
	}
	size := int64(len(data))
	return s.write(ctx, func(tx *sql.Tx) error {
		if q.OwnerBytes > 0 || q.OwnerFiles > 0 {
			var used, files int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0), COUNT(*) FROM media
				WHERE owner_id = ? AND created_at >= ?`, m.OwnerID, tv(q.Since)).Scan(&used, &files); err != nil {
				return err
			}
			if err := quotaCheck(q, used, files, -1, size); err != nil {
				return err
			}
		}
		if q.TotalBytes > 0 {
			var total int64
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM media`).Scan(&total); err != nil {
				return err
			}
			if err := quotaCheck(q, 0, 0, total, size); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO media (id, content_type, size, owner_id, created_at, data)
			VALUES (?, ?, ?, ?, ?, ?)`, m.ID, m.ContentType, size, m.OwnerID, tv(m.CreatedAt), data)
		if err != nil {
			return fmt.Errorf("media %s: %w", m.ID, mapErr(err))
		}
		return nil
	})
}

// quotaCheck is the *storage.QuotaError of an upload of size bytes given
// the owner's window (used bytes, files) and the total (-1: not read).
func quotaCheck(q storage.MediaQuota, used, files, total, size int64) error {
	switch {
	case total < 0 && q.OwnerFiles > 0 && files+1 > int64(q.OwnerFiles):
		return &storage.QuotaError{Limit: storage.QuotaOwnerFiles, Used: files, Max: int64(q.OwnerFiles)}
	case total < 0 && q.OwnerBytes > 0 && used+size > q.OwnerBytes:
		return &storage.QuotaError{Limit: storage.QuotaOwnerBytes, Used: used, Max: q.OwnerBytes}
	case total >= 0 && q.TotalBytes > 0 && total+size > q.TotalBytes:
		return &storage.QuotaError{Limit: storage.QuotaTotalBytes, Used: total, Max: q.TotalBytes}
	}
	return nil
}

// ProbeWrite updates the heartbeat row through the writer connection: the
// write fails when the file or its folder is read-only, the disk is full
// or failing. It queues behind the writes in progress like any write, so
// the caller bounds it with a short deadline.
func (s *Store) ProbeWrite(ctx context.Context) (err error) {
	defer errd.Wrap(&err, "sqlite: probe write")
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE heartbeat SET at = ? WHERE id = 1`, time.Now().UnixMicro())
		return err
	})
}

// ExportMember reads everything held about a member in one snapshot.
func (s *Store) ExportMember(ctx context.Context, id string) (_ storage.MemberData, err error) {
	defer errd.Wrap(&err, "sqlite: export member")
	// Big alerts' delivery rows first (sqlite_deferred.go).
	if _, err := s.quiesce(ctx); err != nil {
		return storage.MemberData{}, err
	}
	var d storage.MemberData
	err = s.read(ctx, func(tx *sql.Tx) error {
		m, err := scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members m
			WHERE m.id = ? AND m.erased_at IS NULL`, id))
		if err != nil {
			return notFound(err, "member "+id)
		}
		d = storage.MemberData{Member: m, Deliveries: []storage.MemberDelivery{}, Acks: []storage.Ack{},
			Reports: []storage.Report{}, Media: []storage.Media{}, Messages: []storage.Message{},
			AlertsCreated: []string{}, BulletinsAuthored: []string{}}
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tokens WHERE member_id = ?`, id).Scan(&d.Tokens); err != nil {
			return err
		}
		if err := each(ctx, tx, func(sc scanner) error {
			var x storage.MemberDelivery
			err := sc.Scan(&x.AlertID, timeCol{&x.TargetedAt}, timePtrCol{&x.DeliveredAt}, &x.Response,
				timePtrCol{&x.RespondedAt}, intPtrCol{&x.EtaMin}, &x.Note)
			d.Deliveries = append(d.Deliveries, x)
			return err
		}, `SELECT alert_id, targeted_at, delivered_at, response, responded_at, eta_min, note
			FROM deliveries WHERE member_id = ? ORDER BY targeted_at, alert_id`, id); err != nil {
			return fmt.Errorf("deliveries: %w", err)
		}
		if err := each(ctx, tx, func(sc scanner) error {
			var a storage.Ack
			err := sc.Scan(&a.AlertID, &a.MemberID, &a.Response, intPtrCol{&a.EtaMin}, &a.Note, timeCol{&a.At})
			d.Acks = append(d.Acks, a)
			return err
		}, `SELECT alert_id, member_id, response, eta_min, note, at FROM acks
			WHERE member_id = ? ORDER BY at, id`, id); err != nil {
			return fmt.Errorf("acks: %w", err)
		}
		if err := each(ctx, tx, func(sc scanner) error {
			r, err := scanReport(sc)
			d.Reports = append(d.Reports, r)
			return err
		}, `SELECT `+reportCols+` FROM reports WHERE member_id = ? ORDER BY created_at DESC, id DESC`, id); err != nil {
			return fmt.Errorf("reports: %w", err)
		}
		if err := each(ctx, tx, func(sc scanner) error {
			var m storage.Media
			err := sc.Scan(&m.ID, &m.ContentType, &m.Size, &m.OwnerID, timeCol{&m.CreatedAt})
			d.Media = append(d.Media, m)
			return err
		}, `SELECT id, content_type, size, owner_id, created_at FROM media
			WHERE owner_id = ? ORDER BY created_at, id`, id); err != nil {
			return fmt.Errorf("media: %w", err)
		}
		if err := each(ctx, tx, func(sc scanner) error {
			var r storage.Message
			err := sc.Scan(outboxDests(&r)...)
			d.Messages = append(d.Messages, r)
			return err
		}, `SELECT `+outboxCols+` FROM outbox o WHERE o.member_id = ?
			ORDER BY o.due_at, o.ref_type, o.ref_id, o.kind, o.channel`, id); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		if err := each(ctx, tx, func(sc scanner) error {
			var x string
			err := sc.Scan(&x)
			d.AlertsCreated = append(d.AlertsCreated, x)
			return err
		}, `SELECT id FROM alerts WHERE created_by = ? ORDER BY created_at, id`, id); err != nil {
			return fmt.Errorf("alerts: %w", err)
		}
		return each(ctx, tx, func(sc scanner) error {
			var x string
			err := sc.Scan(&x)
			d.BulletinsAuthored = append(d.BulletinsAuthored, x)
			return err
		}, `SELECT id FROM bulletins WHERE author_id = ? ORDER BY published_at, id`, id)
	})
	if err != nil {
		return storage.MemberData{}, err
	}
	return d, nil
}

type scanner interface{ Scan(...any) error }

// each runs fn on every row of the query.
func each(ctx context.Context, tx *sql.Tx, fn func(scanner) error, query string, args ...any) error {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// redactReportBody is the SQL expression of a report event's body without
// its text and photos (and, with the client id removed, nothing the
// reporter typed or uploaded). SQLite's json functions take the BLOB as
// text; the result is stored back as a BLOB like every body.
const redactReportBody = `CAST(json_remove(json_set(CAST(body AS TEXT), '$.text', '', '$.photos', json('[]')),
	'$.client_id') AS BLOB)`

// EraseMember erases a member in one transaction (storage.Erasure).
func (s *Store) EraseMember(ctx context.Context, id string, at time.Time) (_ storage.Erasure, err error) {
	defer errd.Wrap(&err, "sqlite: erase member")
	// Big alerts' rows first, so none is written for the member after.
	if _, err := s.quiesce(ctx); err != nil {
		return storage.Erasure{}, err
	}
	var e storage.Erasure
	err = s.write(ctx, func(tx *sql.Tx) error {
		e = storage.Erasure{}
		n, err := execN(ctx, tx, `UPDATE members SET name = ?, phone = NULL, home_lat = NULL, home_lng = NULL,
			live_lat = NULL, live_lng = NULL, live_accuracy_m = NULL, live_at = NULL, lang = '',
			address = '', travel_mode = '', erased_at = ? WHERE id = ? AND erased_at IS NULL`,
			storage.ErasedName, tv(at), id)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("member %s: %w", id, storage.ErrNotFound)
		}
		steps := []struct {
			dst   *int
			query string
		}{
			{&e.Tokens, `DELETE FROM tokens WHERE member_id = ?`},
			{&e.Notes, `UPDATE deliveries SET note = '' WHERE member_id = ? AND note <> ''`},
			{&e.Notes, `UPDATE acks SET note = '' WHERE member_id = ? AND note <> ''`},
			{&e.Reports, `UPDATE reports SET text = '', photos = '[]', client_id = NULL
				WHERE member_id = ? AND (text <> '' OR photos <> '[]' OR client_id IS NOT NULL)`},
			{&e.Events, `UPDATE events SET body = ` + redactReportBody + ` WHERE type IN ('report', 'report_update') AND member_id = ?`},
			{&e.Media, `DELETE FROM media WHERE owner_id = ?`},
			{&e.Messages, `UPDATE outbox SET state = 'cancelled' WHERE member_id = ? AND state = 'pending'`},
		}
		for _, st := range steps {
			n, err := execN(ctx, tx, st.query, id)
			if err != nil {
				return err
			}
			*st.dst += n
		}
		return eraseBoard(ctx, tx, id, &e) // sqlite_board.go
	})
	if err != nil {
		return storage.Erasure{}, err
	}
	return e, nil
}

func execN(ctx context.Context, tx *sql.Tx, query string, args ...any) (int, error) {
	res, err := tx.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ApplyRetention clears what is due, a batch per transaction, so that
// other writers (answers in a flood) never wait behind a long one.
func (s *Store) ApplyRetention(ctx context.Context, r storage.Retention) (_ storage.RetentionResult, err error) {
	defer errd.Wrap(&err, "sqlite: retention")
	batch := r.Batch
	if batch <= 0 {
		batch = 1000
	}
	var res storage.RetentionResult
	// loop runs one batch statement until it changes fewer than batch rows.
	loop := func(dst *int, query string, args ...any) error {
		for {
			var n int
			err := s.write(ctx, func(tx *sql.Tx) error {
				var err error
				n, err = execN(ctx, tx, query, append(args, batch)...)
				return err
			})
			if err != nil {
				return err
			}
			*dst += n
			if n < batch {
				return nil
			}
		}
	}
	if !r.LiveBefore.IsZero() {
		if err := loop(&res.Live, `UPDATE members SET live_lat = NULL, live_lng = NULL, live_accuracy_m = NULL,
			live_at = NULL WHERE id IN (SELECT id FROM members WHERE live_at IS NOT NULL AND live_at < ? LIMIT ?)`,
			tv(r.LiveBefore)); err != nil {
			return res, fmt.Errorf("live positions: %w", err)
		}
	}
	if !r.NotesBefore.IsZero() {
		if err := loop(&res.Notes, `UPDATE deliveries SET note = '' WHERE (alert_id, member_id) IN
			(SELECT alert_id, member_id FROM deliveries WHERE note <> '' AND responded_at < ? LIMIT ?)`,
			tv(r.NotesBefore)); err != nil {
			return res, fmt.Errorf("notes: %w", err)
		}
		if err := loop(&res.Notes, `UPDATE acks SET note = '' WHERE id IN
			(SELECT id FROM acks WHERE note <> '' AND at < ? LIMIT ?)`, tv(r.NotesBefore)); err != nil {
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
			(SELECT id FROM media WHERE report_id IS NULL AND created_at < ? LIMIT ?)`, tv(r.OrphansBefore)); err != nil {
			return res, fmt.Errorf("orphan media: %w", err)
		}
	}
	if !r.OutboxBefore.IsZero() {
		if err := loop(&res.Outbox, `UPDATE outbox SET provider_id = NULL
			WHERE (ref_type, ref_id, member_id, kind, channel) IN (SELECT ref_type, ref_id, member_id, kind, channel
				FROM outbox WHERE provider_id IS NOT NULL AND sent_at < ? LIMIT ?)`, tv(r.OutboxBefore)); err != nil {
			return res, fmt.Errorf("outbox: %w", err)
		}
	}
	return res, nil
}

// redactReports removes the text and photos of closed reports last
// changed before r.ReportsBefore, with their uploads and the personal
// fields of their events' bodies, a batch of reports per transaction.
func (s *Store) redactReports(ctx context.Context, r storage.Retention, batch int, res *storage.RetentionResult) error {
	statuses, err := json.Marshal(r.ClosedStatuses)
	if err != nil {
		return err
	}
	for {
		var n int
		err := s.write(ctx, func(tx *sql.Tx) error {
			type rep struct{ id, member, photos string }
			var reps []rep
			if err := each(ctx, tx, func(sc scanner) error {
				var x rep
				err := sc.Scan(&x.id, &x.member, &x.photos)
				reps = append(reps, x)
				return err
			}, `SELECT id, member_id, photos FROM reports
				WHERE (text <> '' OR photos <> '[]') AND updated_at < ?
				AND status IN (SELECT value FROM json_each(?)) LIMIT ?`,
				tv(r.ReportsBefore), string(statuses), batch); err != nil {
				return err
			}
			n = len(reps)
			media := 0
			for _, x := range reps {
				m, err := execN(ctx, tx, `DELETE FROM media WHERE report_id = ?
					OR id IN (SELECT value FROM json_each(?))`, x.id, x.photos)
				if err != nil {
					return err
				}
				media += m
				if _, err := tx.ExecContext(ctx, `UPDATE reports SET text = '', photos = '[]' WHERE id = ?`, x.id); err != nil {
					return err
				}
				if _, err := tx.ExecContext(ctx, `UPDATE events SET body = CAST(json_set(CAST(body AS TEXT),
					'$.text', '', '$.photos', json('[]')) AS BLOB)
					WHERE type IN ('report', 'report_update') AND member_id = ? AND json_extract(CAST(body AS TEXT), '$.id') = ?`,
					x.member, x.id); err != nil {
					return err
				}
				if err := redactBoardReport(ctx, tx, x.member, x.id); err != nil { // sqlite_board.go
					return err
				}
			}
			res.Media += media
			return nil
		})
		if err != nil {
			return err
		}
		res.Reports += n
		if n < batch {
			return nil
		}
	}
}
