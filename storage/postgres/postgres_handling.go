package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/longyou/hub/storage"
)

// Report handling (storage.Handling, v1.6).

var _ storage.Handling = (*Store)(nil)

// reportLevel stores "" as the village level.
func reportLevel(l string) string {
	if l == "" {
		return storage.LevelVillage
	}
	return l
}

// timeOrZero scans a nullable timestamptz into a time, zero for NULL.
type timeOrZero struct{ t *time.Time }

func (c timeOrZero) ScanTimestamptz(v pgtype.Timestamptz) error {
	if !v.Valid {
		*c.t = time.Time{}
		return nil
	}
	*c.t = v.Time.UTC()
	return nil
}

// ChangeReport writes a report's change, its history, messages and events
// in one transaction, if the report is still at c.FromSeq; the events come
// last (the seq counter's rule, eventCTE), the report's own event in the
// statement that sets its seq.
func (s *Store) ChangeReport(ctx context.Context, c *storage.ReportChange) (err error) {
	defer wrapErr(&err, "change report")
	if len(c.Events) == 0 {
		return storage.ErrNotAddressed
	}
	r := c.Report
	seqs := make([]int64, len(c.Events))
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE reports SET status = $2, feedback = $3, updated_at = $4,
			assignee_id = $5, level = $6, overdue = $7, reminded = $8, closed_at = $9, updated_by = $11
			WHERE id = $1 AND seq = $10`, r.ID, r.Status, r.Feedback, r.UpdatedAt, r.AssigneeID,
			reportLevel(r.Level), r.Overdue, r.Reminded, nullTime(r.ClosedAt), c.FromSeq, r.UpdatedBy)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var seq int64
			if err := tx.QueryRow(ctx, `SELECT seq FROM reports WHERE id = $1`, r.ID).Scan(&seq); err != nil {
				return err
			}
			return fmt.Errorf("report %q changed (seq %d, not %d): %w", r.ID, seq, c.FromSeq, storage.ErrConflict)
		}
		for _, h := range c.History {
			if _, err := tx.Exec(ctx, `INSERT INTO report_history (report_id, at, actor, change, from_value, to_value)
				VALUES ($1, $2, $3, $4, $5, $6)`, h.ReportID, h.At, h.Actor, h.Change, h.From, h.To); err != nil {
				return err
			}
		}
		if err := insertMessages(ctx, tx, c.Messages); err != nil {
			return err
		}
		last := len(c.Events) - 1
		for i, ev := range c.Events[:last] {
			e := *ev
			if err := appendAnyEvent(ctx, tx, &e); err != nil {
				return err
			}
			seqs[i] = e.Seq
		}
		ev := c.Events[last]
		if ev.Addressed() {
			return tx.QueryRow(ctx, addressedEventCTE+`UPDATE reports r SET seq = e.seq FROM e
				WHERE r.id = $9 RETURNING e.seq`, append(addressedEventArgs(ev), r.ID)...).Scan(&seqs[last])
		}
		return tx.QueryRow(ctx, eventCTE+`UPDATE reports r SET seq = e.seq FROM e
			WHERE r.id = $7 RETURNING e.seq`, append(eventArgs(ev), r.ID)...).Scan(&seqs[last])
	})
	if err != nil {
		return err
	}
	for i, ev := range c.Events {
		ev.Seq = seqs[i]
	}
	r.Seq = seqs[len(seqs)-1]
	return nil
}

// appendAnyEvent appends an event, addressed or not, inside tx.
func appendAnyEvent(ctx context.Context, tx pgx.Tx, ev *storage.Event) error {
	if ev.Addressed() {
		return appendAddressedEvent(ctx, tx, ev)
	}
	return tx.QueryRow(ctx, eventCTE+`SELECT seq FROM e`, eventArgs(ev)...).Scan(&ev.Seq)
}

// ReportHistory lists a report's history in write order.
func (s *Store) ReportHistory(ctx context.Context, reportID string) (_ []storage.ReportHistory, err error) {
	defer wrapErr(&err, "report history")
	rows, _ := s.pool.Query(ctx, `SELECT id, report_id, at, actor, change, from_value, to_value
		FROM report_history WHERE report_id = $1 ORDER BY id`, reportID)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.ReportHistory, error) {
		var h storage.ReportHistory
		err := row.Scan(&h.ID, &h.ReportID, &h.At, &h.Actor, &h.Change, &h.From, &h.To)
		h.At = h.At.UTC()
		return h, err
	})
	if out == nil && err == nil {
		out = []storage.ReportHistory{}
	}
	return out, err
}

// ReportFacts lists what the figures need of the reports made in [from, to).
func (s *Store) ReportFacts(ctx context.Context, from, to time.Time, villageIDs []string) (_ []storage.ReportFact, err error) {
	defer wrapErr(&err, "report facts")
	q := `SELECT id, village_id, status, level, overdue, created_at, due_at, closed_at FROM reports
		WHERE created_at >= $1 AND created_at < $2`
	args := []any{from, to}
	if villageIDs != nil {
		q += ` AND village_id = ANY($3)`
		args = append(args, villageIDs)
	}
	rows, _ := s.pool.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (storage.ReportFact, error) {
		var f storage.ReportFact
		err := row.Scan(&f.ID, &f.VillageID, &f.Status, &f.Level, &f.Overdue, &f.CreatedAt, &f.DueAt,
			timeOrZero{&f.ClosedAt})
		return f, err
	})
	if out == nil && err == nil {
		out = []storage.ReportFact{}
	}
	return out, err
}
