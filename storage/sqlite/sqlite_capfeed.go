package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Pending CAP messages of the feeds (storage.CAPFeeds).

const pendingCols = `id, feed, sender, identifier, doc, headline, severity, reason, received_at, status,
	decided_by, decided_at, alert_id`

func scanPending(sc interface{ Scan(...any) error }) (storage.PendingCAP, error) {
	var p storage.PendingCAP
	err := sc.Scan(&p.ID, &p.Feed, &p.Sender, &p.Identifier, &p.Doc, &p.Headline, &p.Severity, &p.Reason,
		timeCol{&p.ReceivedAt}, &p.Status, &p.DecidedBy, timePtrCol{&p.DecidedAt}, &p.AlertID)
	return p, err
}

// AddPendingCAP stores a pending message.
func (s *Store) AddPendingCAP(ctx context.Context, p *storage.PendingCAP) (err error) {
	defer errd.Wrap(&err, "sqlite: add pending cap")
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO cap_pending (`+pendingCols+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', '', NULL, '')`,
			p.ID, p.Feed, p.Sender, p.Identifier, p.Doc, p.Headline, p.Severity, p.Reason, tv(p.ReceivedAt))
		if err != nil {
			return fmt.Errorf("pending cap %s %s: %w", p.Sender, p.Identifier, mapErr(err))
		}
		p.Status = storage.CAPPending
		return nil
	})
}

// GetPendingCAP reads one pending message.
func (s *Store) GetPendingCAP(ctx context.Context, id string) (_ storage.PendingCAP, err error) {
	defer errd.Wrap(&err, "sqlite: get pending cap")
	p, err := scanPending(s.readRow(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE id = ?`, id))
	return p, notFound(err, "pending cap "+id)
}

// PendingCAPByMessage reads the pending message of sender+identifier.
func (s *Store) PendingCAPByMessage(ctx context.Context, sender, identifier string) (_ storage.PendingCAP, err error) {
	defer errd.Wrap(&err, "sqlite: pending cap by message")
	p, err := scanPending(s.readRow(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE sender = ? AND identifier = ?`,
		sender, identifier))
	return p, notFound(err, "pending cap "+sender+" "+identifier)
}

// ListPendingCAP lists pending messages of a status ("" all), newest first.
func (s *Store) ListPendingCAP(ctx context.Context, status string, limit int) (_ []storage.PendingCAP, err error) {
	defer errd.Wrap(&err, "sqlite: list pending cap")
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.readRows(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE ? = '' OR status = ?
		ORDER BY received_at DESC, id DESC LIMIT ?`, status, status, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.PendingCAP{}
	for rows.Next() {
		p, err := scanPending(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DecidePendingCAP approves or discards a pending message.
func (s *Store) DecidePendingCAP(ctx context.Context, id, status, by string, at time.Time, alertID string) (_ storage.PendingCAP, err error) {
	defer errd.Wrap(&err, "sqlite: decide pending cap")
	var p storage.PendingCAP
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE cap_pending SET status = ?, decided_by = ?, decided_at = ?, alert_id = ?
			WHERE id = ? AND status = 'pending'`, status, by, tv(at), alertID, id)
		if err != nil {
			return err
		}
		p, err = scanPending(tx.QueryRowContext(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE id = ?`, id))
		if err != nil {
			return notFound(err, "pending cap "+id)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("pending cap %s is %s: %w", id, p.Status, storage.ErrConflict)
		}
		return nil
	})
	return p, err
}
