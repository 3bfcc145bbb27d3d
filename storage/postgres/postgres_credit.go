package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Inspections, boards and credit points (storage.Credit, v1.6).

var _ storage.Credit = (*Store)(nil)

// PutInspection stores or replaces a household's inspection of a month.
func (s *Store) PutInspection(ctx context.Context, i *storage.Inspection) (err error) {
	defer wrapErr(&err, "put inspection")
	scores, err := json.Marshal(i.Scores)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockBoard(ctx, tx, i.VillageID, i.Month); err != nil {
			return err
		}
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM board_publications WHERE village_id = $1 AND month = $2)`,
			i.VillageID, i.Month).Scan(&done); err != nil {
			return err
		}
		if done {
			return fmt.Errorf("the board of %s is published: %w", i.Month, storage.ErrConflict)
		}
		_, err := tx.Exec(ctx, `INSERT INTO inspections (household_id, month, village_id, scores, total, recorded_by, recorded_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (household_id, month) DO UPDATE SET village_id = excluded.village_id, scores = excluded.scores,
				total = excluded.total, recorded_by = excluded.recorded_by, recorded_at = excluded.recorded_at`,
			i.HouseholdID, i.Month, i.VillageID, string(scores), i.Total, i.RecordedBy, i.RecordedAt)
		return err
	})
}

// lockBoard serializes, until tx ends, PutInspection and PublishBoard of
// one village's month (a transaction-scoped advisory lock): an inspection
// is committed before the publication reads the month, or sees it and is
// refused.
func lockBoard(ctx context.Context, tx pgx.Tx, villageID, month string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('board:' || $1 || ':' || $2))`, villageID, month)
	return err
}

// ListInspections returns a village's inspections of a month.
func (s *Store) ListInspections(ctx context.Context, villageID, month string) (_ []storage.Inspection, err error) {
	defer wrapErr(&err, "list inspections")
	rows, _ := s.pool.Query(ctx, `SELECT household_id, month, village_id, scores, total, recorded_by, recorded_at
		FROM inspections WHERE village_id = $1 AND month = $2 ORDER BY household_id`, villageID, month)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Inspection, error) {
		var i storage.Inspection
		var scores []byte
		if err := r.Scan(&i.HouseholdID, &i.Month, &i.VillageID, &scores, &i.Total, &i.RecordedBy, &i.RecordedAt); err != nil {
			return i, err
		}
		i.RecordedAt = i.RecordedAt.UTC()
		return i, json.Unmarshal(scores, &i.Scores)
	})
	if out == nil && err == nil {
		out = []storage.Inspection{}
	}
	return out, err
}

// keyArg is the column value of an entry's key: NULL when empty, so that
// entries without a key never collide.
func keyArg(k string) *string {
	if k == "" {
		return nil
	}
	return &k
}

// addCreditEntry inserts e in tx unless its key is taken, and returns its id
// (0 when skipped).
func addCreditEntry(ctx context.Context, tx pgx.Tx, e *storage.CreditEntry) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `INSERT INTO credit_entries (household_id, village_id, points, rule, reason, key, recorded_by, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING RETURNING id`,
		e.HouseholdID, e.VillageID, e.Points, e.Rule, e.Reason, keyArg(e.Key), e.RecordedBy, e.At).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// PublishBoard records a publication with its awards and event.
func (s *Store) PublishBoard(ctx context.Context, pub storage.BoardPublication, d storage.InspectionsDigest, entries []storage.CreditEntry, ev *storage.Event) (added int, err error) {
	defer wrapErr(&err, "publish board")
	if !ev.Addressed() {
		return 0, storage.ErrNotAddressed
	}
	ids := make([]int64, len(entries))
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockBoard(ctx, tx, pub.VillageID, pub.Month); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO board_publications (village_id, month, published_by, published_at)
			VALUES ($1, $2, $3, $4)`, pub.VillageID, pub.Month, pub.PublishedBy, pub.PublishedAt); err != nil {
			return err
		}
		var now storage.InspectionsDigest
		var last *time.Time
		if err := tx.QueryRow(ctx, `SELECT count(*), coalesce(sum(total), 0)::bigint, max(recorded_at) FROM inspections
			WHERE village_id = $1 AND month = $2`, pub.VillageID, pub.Month).Scan(&now.Count, &now.Sum, &last); err != nil {
			return err
		}
		if now.Count != d.Count || now.Sum != d.Sum || !derefTime(last).Equal(d.Last) {
			return storage.ErrStale
		}
		for i := range entries {
			if entries[i].Key == "" {
				return errors.New("a board award without a key")
			}
			id, err := addCreditEntry(ctx, tx, &entries[i])
			if err != nil {
				return err
			}
			ids[i] = id
		}
		return appendAddressedEvent(ctx, tx, ev)
	})
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if id != 0 {
			entries[i].ID = id
			added++
		}
	}
	return added, nil
}

// BoardPublications returns a village's publications, latest month first.
func (s *Store) BoardPublications(ctx context.Context, villageID string) (_ []storage.BoardPublication, err error) {
	defer wrapErr(&err, "board publications")
	rows, _ := s.pool.Query(ctx, `SELECT village_id, month, published_by, published_at FROM board_publications
		WHERE village_id = $1 ORDER BY month DESC`, villageID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.BoardPublication, error) {
		var p storage.BoardPublication
		err := r.Scan(&p.VillageID, &p.Month, &p.PublishedBy, &p.PublishedAt)
		p.PublishedAt = p.PublishedAt.UTC()
		return p, err
	})
	if out == nil && err == nil {
		out = []storage.BoardPublication{}
	}
	return out, err
}

// AddCreditEntry appends an entry unless its key is taken.
func (s *Store) AddCreditEntry(ctx context.Context, e *storage.CreditEntry) (added bool, err error) {
	defer wrapErr(&err, "add credit entry")
	var id int64
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		id, err = addCreditEntry(ctx, tx, e)
		return err
	})
	if err != nil || id == 0 {
		return false, err
	}
	e.ID = id
	return true, nil
}

// CreditEntries returns a household's entries, oldest first.
func (s *Store) CreditEntries(ctx context.Context, householdID string) (_ []storage.CreditEntry, err error) {
	defer wrapErr(&err, "credit entries")
	rows, _ := s.pool.Query(ctx, `SELECT id, household_id, village_id, points, rule, reason, coalesce(key, ''), recorded_by, at
		FROM credit_entries WHERE household_id = $1 ORDER BY id`, householdID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.CreditEntry, error) {
		var e storage.CreditEntry
		err := r.Scan(&e.ID, &e.HouseholdID, &e.VillageID, &e.Points, &e.Rule, &e.Reason, &e.Key, &e.RecordedBy, &e.At)
		e.At = e.At.UTC()
		return e, err
	})
	if out == nil && err == nil {
		out = []storage.CreditEntry{}
	}
	return out, err
}

// CreditBalances returns the balances of a village's households.
func (s *Store) CreditBalances(ctx context.Context, villageID string) (_ []storage.CreditBalance, err error) {
	defer wrapErr(&err, "credit balances")
	rows, _ := s.pool.Query(ctx, `SELECT h.id, h.village_id, h.name, coalesce(sum(c.points), 0)::bigint, count(c.id)
		FROM households h LEFT JOIN credit_entries c ON c.household_id = h.id
		WHERE $1 = '' OR h.village_id = $1
		GROUP BY h.id, h.village_id, h.name ORDER BY h.village_id, h.id`, villageID)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.CreditBalance, error) {
		var b storage.CreditBalance
		var bal, n int64
		err := r.Scan(&b.HouseholdID, &b.VillageID, &b.Name, &bal, &n)
		b.Balance, b.Entries = int(bal), int(n)
		return b, err
	})
	if out == nil && err == nil {
		out = []storage.CreditBalance{}
	}
	return out, err
}
