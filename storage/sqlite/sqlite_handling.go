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

// Report handling (storage.Handling, v1.6).

var _ storage.Handling = (*Store)(nil)

// reportLevel stores "" as the village level.
func reportLevel(l string) string {
	if l == "" {
		return storage.LevelVillage
	}
	return l
}

// insertHistory appends history entries in tx.
func insertHistory(ctx context.Context, tx *sql.Tx, hs []storage.ReportHistory) error {
	for _, h := range hs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO report_history (report_id, at, actor, change, from_value, to_value)
			VALUES (?, ?, ?, ?, ?, ?)`, h.ReportID, tv(h.At), h.Actor, h.Change, h.From, h.To); err != nil {
			return fmt.Errorf("report history: %w", err)
		}
	}
	return nil
}

// ChangeReport writes a report's change, its history, messages and events
// in one transaction, if the report is still at c.FromSeq.
func (s *Store) ChangeReport(ctx context.Context, c *storage.ReportChange) (err error) {
	defer errd.Wrap(&err, "sqlite: change report")
	if len(c.Events) == 0 {
		return storage.ErrNotAddressed
	}
	r := c.Report
	evs := make([]storage.Event, len(c.Events))
	for i, ev := range c.Events {
		evs[i] = *ev
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		var seq int64
		if err := tx.QueryRowContext(ctx, `SELECT seq FROM reports WHERE id = ?`, r.ID).Scan(&seq); err != nil {
			return notFound(err, "report "+r.ID)
		}
		if seq != c.FromSeq {
			return fmt.Errorf("report %s changed (seq %d, not %d): %w", r.ID, seq, c.FromSeq, storage.ErrConflict)
		}
		if err := insertHistory(ctx, tx, c.History); err != nil {
			return err
		}
		if len(c.Messages) > 0 {
			if err := insertMessages(ctx, tx, c.Messages); err != nil {
				return err
			}
		}
		for i := range evs {
			if err := appendEvent(ctx, tx, &evs[i]); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE reports SET status = ?, feedback = ?, updated_at = ?,
			assignee_id = ?, level = ?, overdue = ?, reminded = ?, closed_at = ?, seq = ?, updated_by = ? WHERE id = ?`,
			r.Status, r.Feedback, tv(r.UpdatedAt), r.AssigneeID, reportLevel(r.Level), r.Overdue, r.Reminded,
			tv(r.ClosedAt), evs[len(evs)-1].Seq, r.UpdatedBy, r.ID)
		return err
	})
	if err != nil {
		return err
	}
	for i, ev := range c.Events {
		ev.Seq = evs[i].Seq
	}
	r.Seq = evs[len(evs)-1].Seq
	return nil
}

// ReportHistory lists a report's history in write order.
func (s *Store) ReportHistory(ctx context.Context, reportID string) (_ []storage.ReportHistory, err error) {
	defer errd.Wrap(&err, "sqlite: report history")
	rows, err := s.readRows(ctx, `SELECT id, report_id, at, actor, change, from_value, to_value
		FROM report_history WHERE report_id = ? ORDER BY id`, reportID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.ReportHistory{}
	for rows.Next() {
		var h storage.ReportHistory
		if err := rows.Scan(&h.ID, &h.ReportID, timeCol{&h.At}, &h.Actor, &h.Change, &h.From, &h.To); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// ReportFacts lists what the figures need of the reports made in [from, to).
func (s *Store) ReportFacts(ctx context.Context, from, to time.Time, villageIDs []string) (_ []storage.ReportFact, err error) {
	defer errd.Wrap(&err, "sqlite: report facts")
	q := `SELECT id, village_id, status, level, overdue, created_at, due_at, closed_at FROM reports
		WHERE created_at >= ? AND created_at < ?`
	args := []any{tv(from), tv(to)}
	if villageIDs != nil {
		ids, _ := json.Marshal(villageIDs)
		q += ` AND village_id IN (SELECT value FROM json_each(?))`
		args = append(args, string(ids))
	}
	rows, err := s.readRows(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.ReportFact{}
	for rows.Next() {
		var f storage.ReportFact
		if err := rows.Scan(&f.ID, &f.VillageID, &f.Status, &f.Level, &f.Overdue, timeCol{&f.CreatedAt},
			timeCol{&f.DueAt}, timeCol{&f.ClosedAt}); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
