package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// Households (storage.Households, v1.6).

var _ storage.Households = (*Store)(nil)

const householdCols = `h.id, h.village_id, h.name, h.watch, h.created_by, h.created_at, h.updated_at`

func scanHousehold(sc interface{ Scan(...any) error }) (storage.Household, error) {
	var h storage.Household
	err := sc.Scan(&h.ID, &h.VillageID, &h.Name, &h.Watch, &h.CreatedBy, timeCol{&h.CreatedAt}, timeCol{&h.UpdatedAt})
	return h, err
}

// setHouseholdMembers replaces the members of household id inside tx.
func setHouseholdMembers(ctx context.Context, tx *sql.Tx, id string, memberIDs []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM household_members WHERE household_id = ?`, id); err != nil {
		return err
	}
	for _, m := range memberIDs {
		if _, err := tx.ExecContext(ctx, `INSERT INTO household_members (member_id, household_id) VALUES (?, ?)`,
			m, id); err != nil {
			return fmt.Errorf("member %s: %w", m, mapErr(err))
		}
	}
	return nil
}

// CreateHousehold stores a household with its members.
func (s *Store) CreateHousehold(ctx context.Context, h *storage.Household) (err error) {
	defer errd.Wrap(&err, "sqlite: create household")
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO households (id, village_id, name, watch, created_by, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, h.ID, h.VillageID, h.Name, h.Watch, h.CreatedBy, tv(h.CreatedAt), tv(h.UpdatedAt)); err != nil {
			return mapErr(err)
		}
		return setHouseholdMembers(ctx, tx, h.ID, h.MemberIDs)
	})
}

// GetHousehold returns a household with its members.
func (s *Store) GetHousehold(ctx context.Context, id string) (_ storage.Household, err error) {
	defer errd.Wrap(&err, "sqlite: get household")
	h, err := scanHousehold(s.readRow(ctx, `SELECT `+householdCols+` FROM households h WHERE h.id = ?`, id))
	if err != nil {
		return storage.Household{}, notFound(err, "household "+id)
	}
	out := []storage.Household{h}
	if err := s.attachHouseholdMembers(ctx, out); err != nil {
		return storage.Household{}, err
	}
	return out[0], nil
}

// ListHouseholds returns the households f selects, ordered by id.
func (s *Store) ListHouseholds(ctx context.Context, f storage.HouseholdFilter) (_ []storage.Household, err error) {
	defer errd.Wrap(&err, "sqlite: list households")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var where strings.Builder
	args := []any{f.After}
	where.WriteString(`h.id > ?`)
	if f.VillageID != "" {
		where.WriteString(` AND h.village_id = ?`)
		args = append(args, f.VillageID)
	}
	if f.Watch != "" {
		where.WriteString(` AND h.watch = ?`)
		args = append(args, f.Watch)
	}
	if f.Watched {
		where.WriteString(` AND h.watch <> ''`)
	}
	if f.MemberID != "" {
		where.WriteString(` AND h.id IN (SELECT household_id FROM household_members WHERE member_id = ?)`)
		args = append(args, f.MemberID)
	}
	args = append(args, f.Limit)
	rows, err := s.readRows(ctx, `SELECT `+householdCols+` FROM households h WHERE `+where.String()+
		` ORDER BY h.id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Household{}
	for rows.Next() {
		h, err := scanHousehold(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.attachHouseholdMembers(ctx, out)
}

// attachHouseholdMembers fills in the MemberIDs of hs.
func (s *Store) attachHouseholdMembers(ctx context.Context, hs []storage.Household) error {
	if len(hs) == 0 {
		return nil
	}
	ids := make([]string, len(hs))
	at := make(map[string]int, len(hs))
	for i := range hs {
		ids[i], at[hs[i].ID] = hs[i].ID, i
		hs[i].MemberIDs = []string{}
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	rows, err := s.readRows(ctx, `SELECT household_id, member_id FROM household_members
		WHERE household_id IN (SELECT value FROM json_each(?)) ORDER BY household_id, member_id`, string(idsJSON))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var h, m string
		if err := rows.Scan(&h, &m); err != nil {
			return err
		}
		hs[at[h]].MemberIDs = append(hs[at[h]].MemberIDs, m)
	}
	return rows.Err()
}

// UpdateHousehold applies u.
func (s *Store) UpdateHousehold(ctx context.Context, id string, u storage.HouseholdUpdate) (_ storage.Household, err error) {
	defer errd.Wrap(&err, "sqlite: update household")
	err = s.write(ctx, func(tx *sql.Tx) error {
		var name, watch any
		if u.Name != nil {
			name = *u.Name
		}
		if u.Watch != nil {
			watch = *u.Watch
		}
		res, err := tx.ExecContext(ctx, `UPDATE households SET name = COALESCE(?, name), watch = COALESCE(?, watch),
			updated_at = ? WHERE id = ?`, name, watch, tv(u.At), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("household %s: %w", id, storage.ErrNotFound)
		}
		if u.MemberIDs != nil {
			return setHouseholdMembers(ctx, tx, id, slices.Sorted(slices.Values(*u.MemberIDs)))
		}
		return nil
	})
	if err != nil {
		return storage.Household{}, err
	}
	return s.GetHousehold(ctx, id)
}
