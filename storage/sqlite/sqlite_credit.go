package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Inspections, boards and credit points (storage.Credit, v1.6).

var _ storage.Credit = (*Store)(nil)

// boardPublished reports whether a village's month is published, in tx.
func boardPublished(ctx context.Context, tx *sql.Tx, villageID, month string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT count(*) FROM board_publications WHERE village_id = ? AND month = ?`,
		villageID, month).Scan(&n)
	return n > 0, err
}

// PutInspection stores or replaces a household's inspection of a month.
func (s *Store) PutInspection(ctx context.Context, i *storage.Inspection) (err error) {
	defer errd.Wrap(&err, "sqlite: put inspection")
	scores, err := json.Marshal(i.Scores)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		if done, err := boardPublished(ctx, tx, i.VillageID, i.Month); err != nil {
			return err
		} else if done {
			return fmt.Errorf("the board of %s is published: %w", i.Month, storage.ErrConflict)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inspections (household_id, month, village_id, scores, total, recorded_by, recorded_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (household_id, month) DO UPDATE SET village_id = excluded.village_id, scores = excluded.scores,
				total = excluded.total, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at`,
			i.HouseholdID, i.Month, i.VillageID, string(scores), i.Total, i.RecordedBy, tv(i.RecordedAt))
		return mapErr(err)
	})
}

// ListInspections returns a village's inspections of a month.
func (s *Store) ListInspections(ctx context.Context, villageID, month string) (_ []storage.Inspection, err error) {
	defer errd.Wrap(&err, "sqlite: list inspections")
	rows, err := s.readRows(ctx, `SELECT household_id, month, village_id, scores, total, recorded_by, recorded_at
		FROM inspections WHERE village_id = ? AND month = ? ORDER BY household_id`, villageID, month)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Inspection{}
	for rows.Next() {
		var i storage.Inspection
		var scores string
		if err := rows.Scan(&i.HouseholdID, &i.Month, &i.VillageID, &scores, &i.Total, &i.RecordedBy,
			timeCol{&i.RecordedAt}); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(scores), &i.Scores); err != nil {
			return nil, err
		}
		out = append(out, i)
	}
	return out, rows.Err()
}

// keyArg is the column value of an entry's key: NULL when empty, so that
// entries without a key never collide.
func keyArg(k string) any {
	if k == "" {
		return nil
	}
	return k
}

// addCreditEntry inserts e in tx unless its key is taken.
func addCreditEntry(ctx context.Context, tx *sql.Tx, e *storage.CreditEntry) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO credit_entries (household_id, village_id, points, rule, reason, key, recorded_by, at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
		e.HouseholdID, e.VillageID, e.Points, e.Rule, e.Reason, keyArg(e.Key), e.RecordedBy, tv(e.At))
	if err != nil {
		return false, mapErr(err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return false, err
	}
	e.ID, err = res.LastInsertId()
	return err == nil, err
}

// PublishBoard records a publication with its awards and event.
func (s *Store) PublishBoard(ctx context.Context, pub storage.BoardPublication, d storage.InspectionsDigest, entries []storage.CreditEntry, ev *storage.Event) (added int, err error) {
	defer errd.Wrap(&err, "sqlite: publish board")
	if !ev.Addressed() {
		return 0, storage.ErrNotAddressed
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		added = 0
		if _, err := tx.ExecContext(ctx, `INSERT INTO board_publications (village_id, month, published_by, published_at)
			VALUES (?, ?, ?, ?)`, pub.VillageID, pub.Month, pub.PublishedBy, tv(pub.PublishedAt)); err != nil {
			return mapErr(err)
		}
		// One writer: no inspection of the month can be recorded between
		// this check and the commit.
		var now storage.InspectionsDigest
		if err := tx.QueryRowContext(ctx, `SELECT count(*), COALESCE(SUM(total), 0), MAX(recorded_at) FROM inspections
			WHERE village_id = ? AND month = ?`, pub.VillageID, pub.Month).Scan(&now.Count, &now.Sum, timeCol{&now.Last}); err != nil {
			return err
		}
		if now.Count != d.Count || now.Sum != d.Sum || !now.Last.Equal(d.Last) {
			return storage.ErrStale
		}
		for i := range entries {
			if entries[i].Key == "" {
				return errors.New("a board award without a key")
			}
			ok, err := addCreditEntry(ctx, tx, &entries[i])
			if err != nil {
				return err
			}
			if ok {
				added++
			}
		}
		return appendEvent(ctx, tx, ev)
	})
	return added, err
}

// BoardPublications returns a village's publications, latest month first.
func (s *Store) BoardPublications(ctx context.Context, villageID string) (_ []storage.BoardPublication, err error) {
	defer errd.Wrap(&err, "sqlite: board publications")
	rows, err := s.readRows(ctx, `SELECT village_id, month, published_by, published_at FROM board_publications
		WHERE village_id = ? ORDER BY month DESC`, villageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.BoardPublication{}
	for rows.Next() {
		var p storage.BoardPublication
		if err := rows.Scan(&p.VillageID, &p.Month, &p.PublishedBy, timeCol{&p.PublishedAt}); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// AddCreditEntry appends an entry unless its key is taken.
func (s *Store) AddCreditEntry(ctx context.Context, e *storage.CreditEntry) (added bool, err error) {
	defer errd.Wrap(&err, "sqlite: add credit entry")
	err = s.write(ctx, func(tx *sql.Tx) error {
		added, err = addCreditEntry(ctx, tx, e)
		return err
	})
	return added, err
}

// CreditEntries returns a household's entries, oldest first.
func (s *Store) CreditEntries(ctx context.Context, householdID string) (_ []storage.CreditEntry, err error) {
	defer errd.Wrap(&err, "sqlite: credit entries")
	rows, err := s.readRows(ctx, `SELECT id, household_id, village_id, points, rule, reason, COALESCE(key, ''), recorded_by, at
		FROM credit_entries WHERE household_id = ? ORDER BY id`, householdID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.CreditEntry{}
	for rows.Next() {
		var e storage.CreditEntry
		if err := rows.Scan(&e.ID, &e.HouseholdID, &e.VillageID, &e.Points, &e.Rule, &e.Reason, &e.Key,
			&e.RecordedBy, timeCol{&e.At}); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreditBalances returns the balances of a village's households.
func (s *Store) CreditBalances(ctx context.Context, villageID string) (_ []storage.CreditBalance, err error) {
	defer errd.Wrap(&err, "sqlite: credit balances")
	rows, err := s.readRows(ctx, `SELECT h.id, h.village_id, h.name, COALESCE(SUM(c.points), 0), COUNT(c.id)
		FROM households h LEFT JOIN credit_entries c ON c.household_id = h.id
		WHERE ? = '' OR h.village_id = ?
		GROUP BY h.id, h.village_id, h.name ORDER BY h.village_id, h.id`, villageID, villageID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.CreditBalance{}
	for rows.Next() {
		var b storage.CreditBalance
		if err := rows.Scan(&b.HouseholdID, &b.VillageID, &b.Name, &b.Balance, &b.Entries); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}
