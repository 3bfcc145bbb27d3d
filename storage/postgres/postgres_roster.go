package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// The roster (storage.Roster): an import COPYs its rows into a temporary
// table dropped at commit, then matches, compares and applies them with a
// few set-wise statements in the same transaction (a dry run rolls it
// back). Phones are '' when none in members; in the import table NULL is
// "none" for a phone and "keep" for the other optional fields.

var importMembersSteps = []string{
	`UPDATE import_members i SET id = m.id FROM members m
		WHERE m.phone = i.phone AND i.phone IS NOT NULL AND m.phone <> '' AND m.erased_at IS NULL`,
	`UPDATE import_members i SET id = (SELECT min(m.id) FROM members m
		WHERE m.village_id = i.village_id AND m.name = i.name AND m.address = coalesce(i.address, '')
		AND m.phone = '' AND m.erased_at IS NULL)
		WHERE i.id IS NULL AND i.by_key`,
	`UPDATE import_members i SET outcome = CASE WHEN
			m.name IS DISTINCT FROM i.name OR m.village_id IS DISTINCT FROM i.village_id
			OR (i.phone IS NOT NULL AND m.phone IS DISTINCT FROM i.phone)
			OR (i.role IS NOT NULL AND m.role IS DISTINCT FROM i.role)
			OR (i.address IS NOT NULL AND m.address IS DISTINCT FROM i.address)
			OR (i.lang IS NOT NULL AND m.lang IS DISTINCT FROM i.lang)
			OR (i.travel_mode IS NOT NULL AND m.travel_mode IS DISTINCT FROM i.travel_mode)
			OR (i.home_lat IS NOT NULL AND (m.home_lat IS DISTINCT FROM i.home_lat
				OR m.home_lng IS DISTINCT FROM i.home_lng)) THEN 1 ELSE 2 END
		FROM members m WHERE m.id = i.id`,
	`UPDATE members m SET name = i.name, village_id = i.village_id,
		phone = coalesce(i.phone, m.phone), role = coalesce(i.role, m.role),
		address = coalesce(i.address, m.address), lang = coalesce(i.lang, m.lang),
		travel_mode = coalesce(i.travel_mode, m.travel_mode),
		home_lat = coalesce(i.home_lat, m.home_lat), home_lng = coalesce(i.home_lng, m.home_lng)
		FROM import_members i WHERE m.id = i.id AND i.outcome = 1`,
	`INSERT INTO members (id, name, phone, role, village_id, home_lat, home_lng, lang, demo, created_at,
		address, travel_mode)
		SELECT new_id, name, coalesce(phone, ''), coalesce(role, 'resident'), village_id, home_lat, home_lng,
		coalesce(lang, ''), false, created_at, coalesce(address, ''), coalesce(travel_mode, '')
		FROM import_members WHERE id IS NULL ORDER BY line`,
}

// ImportMembers writes a checked members sheet in one transaction
// (storage.Roster).
func (s *Store) ImportMembers(ctx context.Context, rows []storage.ImportMember, opt storage.ImportOptions) (res storage.ImportResult, err error) {
	defer wrapErr(&err, "import members")
	copyRows := make([][]any, len(rows))
	for i := range rows {
		r := &rows[i]
		m := &r.Member
		var lat, lng *float64
		if m.Home != nil {
			lat, lng = &m.Home.Lat, &m.Home.Lng
		}
		copyRows[i] = []any{int32(r.Line), m.ID, m.Name, nullText(m.Phone), nullText(string(m.Role)), m.VillageID,
			lat, lng, nullText(m.Lang), nullText(m.Address), nullText(m.TravelMode), r.ByKey || m.Phone == "",
			m.CreatedAt}
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		res = storage.ImportResult{}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE import_members (
				line integer PRIMARY KEY, new_id text COLLATE "C" NOT NULL, id text COLLATE "C", name text NOT NULL,
				phone text, role text, village_id text COLLATE "C" NOT NULL, home_lat double precision,
				home_lng double precision, lang text, address text, travel_mode text, by_key boolean NOT NULL,
				created_at timestamptz NOT NULL, outcome integer NOT NULL DEFAULT 0) ON COMMIT DROP`); err != nil {
			return err
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_members"},
			[]string{"line", "new_id", "name", "phone", "role", "village_id", "home_lat", "home_lng", "lang",
				"address", "travel_mode", "by_key", "created_at"}, pgx.CopyFromRows(copyRows)); err != nil {
			return err
		}
		for _, q := range []string{`CREATE INDEX ON import_members (phone)`, `ANALYZE import_members`} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		for i, q := range importMembersSteps {
			if i == 2 && len(opt.Protect) > 0 {
				roles := make([]string, len(opt.Protect))
				for j, r := range opt.Protect {
					roles[j] = string(r)
				}
				lines, err := collectInts(tx.Query(ctx, `SELECT i.line FROM import_members i JOIN members m ON m.id = i.id
					WHERE m.role = ANY ($1) ORDER BY i.line`, roles))
				if err != nil {
					return err
				}
				if len(lines) > 0 {
					res.Protected = lines
					return storage.ErrDryRun
				}
			}
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		out, err := tx.Query(ctx, `SELECT coalesce(id, new_id), outcome FROM import_members`)
		if err != nil {
			return err
		}
		var id string
		var outcome int32
		if _, err := pgx.ForEachRow(out, []any{&id, &outcome}, func() error {
			switch outcome {
			case 0:
				res.Created++
			case 1:
				res.Updated++
			default:
				res.Unchanged++
				return nil
			}
			res.Changed = append(res.Changed, id)
			return nil
		}); err != nil {
			return err
		}
		if opt.DryRun {
			return storage.ErrDryRun
		}
		return nil
	})
	if errors.Is(err, storage.ErrDryRun) {
		err = nil
	}
	return res, err
}

// nullText is NULL for "" (an import's "none" or "keep").
func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func collectInts(rows pgx.Rows, err error) ([]int, error) {
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (int, error) {
		var n int32
		err := r.Scan(&n)
		return int(n), err
	})
}

// ImportVillages writes a checked villages sheet in one transaction
// (storage.Roster), matching row by row (a county has a few hundred).
func (s *Store) ImportVillages(ctx context.Context, rows []storage.Village, opt storage.ImportOptions) (res storage.ImportResult, err error) {
	defer wrapErr(&err, "import villages")
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		res = storage.ImportResult{}
		for i := range rows {
			v := &rows[i]
			var cur storage.Village
			var err error
			found := false
			if v.Code != "" {
				cur, err = scanVillage(tx.QueryRow(ctx, `SELECT `+villageCols+` FROM villages WHERE code = $1`, v.Code))
				found = err == nil
			}
			if !found {
				cur, err = scanVillage(tx.QueryRow(ctx, `SELECT `+villageCols+` FROM villages
					WHERE township = $1 AND name = $2 AND code = '' ORDER BY id LIMIT 1`, v.Township, v.Name))
				found = err == nil
			}
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return err
			}
			if !found {
				if _, err := tx.Exec(ctx, `INSERT INTO villages (id, name, township, center_lat, center_lng, demo, created_at, code)
					VALUES ($1, $2, $3, $4, $5, false, $6, $7)`, v.ID, v.Name, v.Township, v.Center.Lat, v.Center.Lng,
					v.CreatedAt, v.Code); err != nil {
					return err
				}
				res.Created++
				res.Changed = append(res.Changed, v.ID)
				continue
			}
			v.ID = cur.ID
			if cur.Name == v.Name && cur.Township == v.Township && cur.Center == v.Center && (v.Code == "" || cur.Code == v.Code) {
				res.Unchanged++
				continue
			}
			if v.Code == "" {
				v.Code = cur.Code
			}
			if _, err := tx.Exec(ctx, `UPDATE villages SET name = $1, township = $2, center_lat = $3, center_lng = $4, code = $5
				WHERE id = $6`, v.Name, v.Township, v.Center.Lat, v.Center.Lng, v.Code, cur.ID); err != nil {
				return err
			}
			res.Updated++
			res.Changed = append(res.Changed, cur.ID)
		}
		if opt.DryRun {
			return storage.ErrDryRun
		}
		return nil
	})
	if errors.Is(err, storage.ErrDryRun) {
		err = nil
	}
	return res, err
}

// EditMember applies e to the member (storage.Roster).
func (s *Store) EditMember(ctx context.Context, id string, e storage.MemberEdit) (_ storage.Member, err error) {
	defer wrapErr(&err, "edit member")
	if e.ClearHome && e.Home != nil {
		return storage.Member{}, errors.New("ClearHome with a Home")
	}
	var role *string
	if e.Role != nil {
		r := string(*e.Role)
		role = &r
	}
	var homeLat, homeLng *float64
	if e.Home != nil {
		homeLat, homeLng = &e.Home.Lat, &e.Home.Lng
	}
	var inactive *bool
	if e.Active != nil {
		x := !*e.Active
		inactive = &x
	}
	var m storage.Member
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		m, err = scanMember(tx.QueryRow(ctx, `UPDATE members m SET
				name = coalesce($2, m.name),
				phone = coalesce($3, m.phone),
				role = coalesce($4, m.role),
				village_id = coalesce($5, m.village_id),
				lang = coalesce($6, m.lang),
				address = coalesce($7, m.address),
				travel_mode = coalesce($8, m.travel_mode),
				home_lat = CASE WHEN $9::boolean THEN NULL ELSE coalesce($10, m.home_lat) END,
				home_lng = CASE WHEN $9::boolean THEN NULL ELSE coalesce($11, m.home_lng) END,
				inactive = coalesce($12, m.inactive)
			WHERE m.id = $1 AND m.erased_at IS NULL
			RETURNING `+memberCols, id, e.Name, e.Phone, role, e.VillageID, e.Lang, e.Address, e.TravelMode,
			e.ClearHome, homeLat, homeLng, inactive))
		if errors.Is(err, pgx.ErrNoRows) {
			return errNotFound("member", id)
		}
		if err != nil {
			return err
		}
		if e.Active != nil && !*e.Active {
			_, err = tx.Exec(ctx, `UPDATE outbox SET state = 'cancelled'
				WHERE member_id = $1 AND state IN ('pending', 'claimed')`, id)
		}
		return err
	})
	if err != nil {
		return storage.Member{}, err
	}
	return m, nil
}

// FindMembers lists the members f selects, ordered by id (storage.Roster).
func (s *Store) FindMembers(ctx context.Context, f storage.MemberFilter) (_ []storage.Member, err error) {
	defer wrapErr(&err, "find members")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	args := []any{f.After}
	var where strings.Builder
	where.WriteString(`m.id > $1 AND m.erased_at IS NULL`)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Role != "" {
		where.WriteString(` AND m.role = ` + arg(string(f.Role)))
	}
	if f.VillageID != "" {
		where.WriteString(` AND m.village_id = ` + arg(f.VillageID))
	}
	if f.Township != "" {
		where.WriteString(` AND m.township = ` + arg(f.Township))
	}
	if f.Active != nil {
		where.WriteString(` AND m.inactive = ` + arg(!*f.Active))
	}
	if f.Query != "" {
		q := arg(f.Query)
		where.WriteString(` AND (strpos(m.name, ` + q + `) > 0 OR strpos(m.phone, ` + q + `) > 0)`)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+memberCols+` FROM members m WHERE `+where.String()+
		` ORDER BY m.id LIMIT `+arg(f.Limit), args...)
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Member, error) { return scanMember(r) })
	if out == nil {
		out = []storage.Member{}
	}
	return out, err
}
