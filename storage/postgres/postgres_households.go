package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Households (storage.Households, v1.6).

var _ storage.Households = (*Store)(nil)

const householdCols = `h.id, h.village_id, h.name, h.watch, h.created_by, h.created_at, h.updated_at`

func scanHousehold(row pgx.Row) (storage.Household, error) {
	var h storage.Household
	err := row.Scan(&h.ID, &h.VillageID, &h.Name, &h.Watch, &h.CreatedBy, &h.CreatedAt, &h.UpdatedAt)
	h.CreatedAt, h.UpdatedAt = h.CreatedAt.UTC(), h.UpdatedAt.UTC()
	return h, err
}

// setHouseholdMembers replaces the members of household id inside tx.
func setHouseholdMembers(ctx context.Context, tx pgx.Tx, id string, memberIDs []string) error {
	if _, err := tx.Exec(ctx, `DELETE FROM household_members WHERE household_id = $1`, id); err != nil {
		return err
	}
	if len(memberIDs) == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO household_members (member_id, household_id)
		SELECT m, $2 FROM unnest($1::text[]) AS m`, memberIDs, id)
	return err
}

// CreateHousehold stores a household with its members.
func (s *Store) CreateHousehold(ctx context.Context, h *storage.Household) (err error) {
	defer wrapErr(&err, "create household")
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO households (id, village_id, name, watch, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, h.ID, h.VillageID, h.Name, h.Watch, h.CreatedBy, h.CreatedAt, h.UpdatedAt); err != nil {
			return err
		}
		return setHouseholdMembers(ctx, tx, h.ID, h.MemberIDs)
	})
}

// GetHousehold returns a household with its members.
func (s *Store) GetHousehold(ctx context.Context, id string) (_ storage.Household, err error) {
	defer wrapErr(&err, "get household")
	h, err := scanHousehold(s.pool.QueryRow(ctx, `SELECT `+householdCols+` FROM households h WHERE h.id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Household{}, errNotFound("household", id)
	}
	if err != nil {
		return storage.Household{}, err
	}
	out := []storage.Household{h}
	if err := s.attachHouseholdMembers(ctx, out); err != nil {
		return storage.Household{}, err
	}
	return out[0], nil
}

// ListHouseholds returns the households f selects, ordered by id.
func (s *Store) ListHouseholds(ctx context.Context, f storage.HouseholdFilter) (_ []storage.Household, err error) {
	defer wrapErr(&err, "list households")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args := []any{f.After}
	where := []string{`h.id > $1`}
	cond := func(format string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(format, len(args)))
	}
	if f.VillageID != "" {
		cond("h.village_id = $%d", f.VillageID)
	}
	if f.Watch != "" {
		cond("h.watch = $%d", f.Watch)
	}
	if f.Watched {
		where = append(where, `h.watch <> ''`)
	}
	if f.MemberID != "" {
		cond("h.id IN (SELECT household_id FROM household_members WHERE member_id = $%d)", f.MemberID)
	}
	args = append(args, f.Limit)
	rows, _ := s.pool.Query(ctx, `SELECT `+householdCols+` FROM households h WHERE `+strings.Join(where, " AND ")+
		fmt.Sprintf(` ORDER BY h.id LIMIT $%d`, len(args)), args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Household, error) { return scanHousehold(r) })
	if err != nil {
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
	rows, _ := s.pool.Query(ctx, `SELECT household_id, member_id FROM household_members
		WHERE household_id = ANY($1::text[]) ORDER BY household_id, member_id`, ids)
	var h, m string
	_, err := pgx.ForEachRow(rows, []any{&h, &m}, func() error {
		hs[at[h]].MemberIDs = append(hs[at[h]].MemberIDs, m)
		return nil
	})
	return err
}

// UpdateHousehold applies u.
func (s *Store) UpdateHousehold(ctx context.Context, id string, u storage.HouseholdUpdate) (_ storage.Household, err error) {
	defer wrapErr(&err, "update household")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE households SET name = coalesce($1, name), watch = coalesce($2, watch),
			updated_at = $3 WHERE id = $4`, u.Name, u.Watch, u.At, id)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return errNotFound("household", id)
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
