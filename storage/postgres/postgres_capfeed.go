package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Pending CAP messages of the feeds (storage.CAPFeeds).

const pendingCols = `id, feed, sender, identifier, doc, headline, severity, reason, received_at, status,
	decided_by, decided_at, alert_id`

func scanPending(row pgx.Row) (storage.PendingCAP, error) {
	var p storage.PendingCAP
	err := row.Scan(&p.ID, &p.Feed, &p.Sender, &p.Identifier, &p.Doc, &p.Headline, &p.Severity, &p.Reason,
		&p.ReceivedAt, &p.Status, &p.DecidedBy, &p.DecidedAt, &p.AlertID)
	return p, err
}

// AddPendingCAP stores a pending message.
func (s *Store) AddPendingCAP(ctx context.Context, p *storage.PendingCAP) (err error) {
	defer wrapErr(&err, "add pending cap")
	_, err = s.pool.Exec(ctx, `INSERT INTO cap_pending (`+pendingCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', '', NULL, '')`,
		p.ID, p.Feed, p.Sender, p.Identifier, p.Doc, p.Headline, p.Severity, p.Reason, p.ReceivedAt)
	if err == nil {
		p.Status = storage.CAPPending
	}
	return err
}

// GetPendingCAP reads one pending message.
func (s *Store) GetPendingCAP(ctx context.Context, id string) (_ storage.PendingCAP, err error) {
	defer wrapErr(&err, "get pending cap")
	return scanPending(s.pool.QueryRow(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE id = $1`, id))
}

// PendingCAPByMessage reads the pending message of sender+identifier.
func (s *Store) PendingCAPByMessage(ctx context.Context, sender, identifier string) (_ storage.PendingCAP, err error) {
	defer wrapErr(&err, "pending cap by message")
	return scanPending(s.pool.QueryRow(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE sender = $1 AND identifier = $2`,
		sender, identifier))
}

// ListPendingCAP lists pending messages of a status ("" all), newest first.
func (s *Store) ListPendingCAP(ctx context.Context, status string, limit int) (_ []storage.PendingCAP, err error) {
	defer wrapErr(&err, "list pending cap")
	if limit <= 0 {
		limit = 100
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE $1 = '' OR status = $1
		ORDER BY received_at DESC, id DESC LIMIT $2`, status, limit)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.PendingCAP, error) { return scanPending(r) })
	if out == nil {
		out = []storage.PendingCAP{}
	}
	return out, err
}

// DecidePendingCAP approves or discards a pending message.
func (s *Store) DecidePendingCAP(ctx context.Context, id, status, by string, at time.Time, alertID string) (_ storage.PendingCAP, err error) {
	defer wrapErr(&err, "decide pending cap")
	p, err := scanPending(s.pool.QueryRow(ctx, `UPDATE cap_pending SET status = $2, decided_by = $3, decided_at = $4, alert_id = $5
		WHERE id = $1 AND status = 'pending' RETURNING `+pendingCols, id, status, by, at, alertID))
	if errors.Is(err, pgx.ErrNoRows) {
		cur, gerr := scanPending(s.pool.QueryRow(ctx, `SELECT `+pendingCols+` FROM cap_pending WHERE id = $1`, id))
		if gerr != nil {
			return storage.PendingCAP{}, gerr
		}
		return cur, fmt.Errorf("pending cap %s is %s: %w", id, cur.Status, storage.ErrConflict)
	}
	return p, err
}
