package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// The roster (storage.Roster): imports go through a temporary table on the
// writer connection, filled by multi-row inserts in chunks, then matched,
// compared and applied by a few set-wise statements, all in the one write
// transaction (a dry run rolls it back).

// importMembersSteps match, compare and apply the rows of
// temp.import_members; see ImportMembers.
var importMembersSteps = []string{
	// Match by phone (members.phone is UNIQUE).
	`UPDATE temp.import_members SET id = (SELECT m.id FROM members m
		WHERE m.phone = import_members.phone AND m.erased_at IS NULL)
		WHERE phone IS NOT NULL`,
	// Else by (village, name, address) among the members without a phone.
	// INDEXED BY: left alone, the planner takes "phone IS NULL" for a
	// lookup on the UNIQUE phone index, which holds every member without
	// a phone under that one key (a scan of all of them per row).
	`UPDATE temp.import_members SET id = (SELECT min(m.id) FROM members m INDEXED BY members_village_name
		WHERE m.village_id = import_members.village_id AND m.name = import_members.name
		AND m.address = COALESCE(import_members.address, '') AND m.phone IS NULL AND m.erased_at IS NULL)
		WHERE id IS NULL AND by_key = 1`,
	// Updated (1) or unchanged (2); created rows stay 0.
	`UPDATE temp.import_members SET outcome = CASE WHEN EXISTS (SELECT 1 FROM members m
		WHERE m.id = import_members.id AND (
			m.name IS NOT import_members.name OR m.village_id IS NOT import_members.village_id
			OR (import_members.phone IS NOT NULL AND m.phone IS NOT import_members.phone)
			OR (import_members.role IS NOT NULL AND m.role IS NOT import_members.role)
			OR (import_members.address IS NOT NULL AND m.address IS NOT import_members.address)
			OR (import_members.lang IS NOT NULL AND m.lang IS NOT import_members.lang)
			OR (import_members.travel_mode IS NOT NULL AND m.travel_mode IS NOT import_members.travel_mode)
			OR (import_members.home_lat IS NOT NULL AND (m.home_lat IS NOT import_members.home_lat
				OR m.home_lng IS NOT import_members.home_lng)))) THEN 1 ELSE 2 END
		WHERE id IS NOT NULL`,
	`UPDATE members SET name = i.name, village_id = i.village_id,
		phone = COALESCE(i.phone, members.phone), role = COALESCE(i.role, members.role),
		address = COALESCE(i.address, members.address), lang = COALESCE(i.lang, members.lang),
		travel_mode = COALESCE(i.travel_mode, members.travel_mode),
		home_lat = COALESCE(i.home_lat, members.home_lat), home_lng = COALESCE(i.home_lng, members.home_lng)
		FROM temp.import_members i WHERE members.id = i.id AND i.outcome = 1`,
	`INSERT INTO members (id, name, phone, role, village_id, home_lat, home_lng, lang, demo, created_at,
		address, travel_mode)
		SELECT new_id, name, phone, COALESCE(role, 'resident'), village_id, home_lat, home_lng,
		COALESCE(lang, ''), 0, created_at, COALESCE(address, ''), COALESCE(travel_mode, '')
		FROM temp.import_members WHERE id IS NULL ORDER BY line`,
}

// ImportMembers writes a checked members sheet in one transaction
// (storage.Roster).
func (s *Store) ImportMembers(ctx context.Context, rows []storage.ImportMember, opt storage.ImportOptions) (res storage.ImportResult, err error) {
	defer errd.Wrap(&err, "sqlite: import members")
	err = s.write(ctx, func(tx *sql.Tx) error {
		res = storage.ImportResult{}
		for _, q := range []string{`DROP TABLE IF EXISTS temp.import_members`,
			`CREATE TEMP TABLE import_members (
				line INTEGER PRIMARY KEY, new_id TEXT NOT NULL, id TEXT, name TEXT NOT NULL, phone TEXT,
				role TEXT, village_id TEXT NOT NULL, home_lat REAL, home_lng REAL, lang TEXT, address TEXT,
				travel_mode TEXT, by_key INTEGER NOT NULL, created_at INTEGER, outcome INTEGER NOT NULL DEFAULT 0)`} {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		err := insertRows(ctx, tx, `INSERT INTO temp.import_members
			(line, new_id, name, phone, role, village_id, home_lat, home_lng, lang, address, travel_mode, by_key, created_at)
			VALUES `, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "", len(rows), func(i int, args []any) []any {
			r := &rows[i]
			m := &r.Member
			var lat, lng any
			if m.Home != nil {
				lat, lng = m.Home.Lat, m.Home.Lng
			}
			return append(args, r.Line, m.ID, m.Name, nullStr(m.Phone), nullStr(string(m.Role)), m.VillageID,
				lat, lng, nullStr(m.Lang), nullStr(m.Address), nullStr(m.TravelMode), r.ByKey || m.Phone == "",
				tv(m.CreatedAt))
		})
		if err != nil {
			return mapErr(err)
		}
		for i, q := range importMembersSteps {
			if i == 2 && len(opt.Protect) > 0 {
				lines, err := protectedLines(ctx, tx, opt.Protect)
				if err != nil {
					return err
				}
				if len(lines) > 0 {
					res.Protected = lines
					return storage.ErrDryRun
				}
			}
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("step %d: %w", i, mapErr(err))
			}
		}
		if err := importOutcome(ctx, tx, `SELECT COALESCE(id, new_id), outcome FROM temp.import_members`, &res); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE temp.import_members`); err != nil {
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

// protectedLines lists the lines of temp.import_members matched to a
// member whose role is among roles.
func protectedLines(ctx context.Context, tx *sql.Tx, roles []storage.Role) ([]int, error) {
	rj, err := json.Marshal(roles)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT i.line FROM temp.import_members i JOIN members m ON m.id = i.id
		WHERE m.role IN (SELECT value FROM json_each(?)) ORDER BY i.line`, string(rj))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var l int
		if err := rows.Scan(&l); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// importOutcome counts the rows of an import by outcome (0 created, 1
// updated, 2 unchanged) and lists the changed ids.
func importOutcome(ctx context.Context, tx *sql.Tx, q string, res *storage.ImportResult) error {
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var outcome int
		if err := rows.Scan(&id, &outcome); err != nil {
			return err
		}
		switch outcome {
		case 0:
			res.Created++
		case 1:
			res.Updated++
		default:
			res.Unchanged++
			continue
		}
		res.Changed = append(res.Changed, id)
	}
	return rows.Err()
}

// ImportVillages writes a checked villages sheet in one transaction
// (storage.Roster). Sheets of villages are small (a county has a few
// hundred), so rows are matched one by one.
func (s *Store) ImportVillages(ctx context.Context, rows []storage.Village, opt storage.ImportOptions) (res storage.ImportResult, err error) {
	defer errd.Wrap(&err, "sqlite: import villages")
	err = s.write(ctx, func(tx *sql.Tx) error {
		res = storage.ImportResult{}
		for i := range rows {
			v := &rows[i]
			var cur storage.Village
			var err error
			found := false
			if v.Code != "" {
				cur, err = scanVillage(tx.QueryRowContext(ctx, `SELECT `+villageCols+` FROM villages WHERE code = ?`, v.Code))
				found = err == nil
			}
			if !found {
				cur, err = scanVillage(tx.QueryRowContext(ctx, `SELECT `+villageCols+` FROM villages
					WHERE township = ? AND name = ? AND code IS NULL ORDER BY id LIMIT 1`, v.Township, v.Name))
				found = err == nil
			}
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if !found {
				if _, err := tx.ExecContext(ctx, `INSERT INTO villages (id, name, township, lat, lng, demo, created_at, code)
					VALUES (?, ?, ?, ?, ?, 0, ?, ?)`, v.ID, v.Name, v.Township, v.Center.Lat, v.Center.Lng,
					tv(v.CreatedAt), nullStr(v.Code)); err != nil {
					return fmt.Errorf("village %s: %w", v.ID, mapErr(err))
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
			if _, err := tx.ExecContext(ctx, `UPDATE villages SET name = ?, township = ?, lat = ?, lng = ?, code = ? WHERE id = ?`,
				v.Name, v.Township, v.Center.Lat, v.Center.Lng, nullStr(v.Code), cur.ID); err != nil {
				return mapErr(err)
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
	defer errd.Wrap(&err, "sqlite: edit member")
	if e.ClearHome && e.Home != nil {
		return storage.Member{}, errors.New("ClearHome with a Home")
	}
	str := func(p *string) any {
		if p == nil {
			return nil
		}
		return *p
	}
	var role, phone, homeLat, homeLng, active any
	if e.Role != nil {
		role = string(*e.Role)
	}
	if e.Phone != nil {
		phone = nullStr(*e.Phone)
	}
	if e.Home != nil {
		homeLat, homeLng = e.Home.Lat, e.Home.Lng
	}
	if e.Active != nil {
		active = !*e.Active
	}
	var m storage.Member
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE members SET
			name = COALESCE(?1, name),
			phone = CASE WHEN ?2 THEN ?3 ELSE phone END,
			role = COALESCE(?4, role),
			village_id = COALESCE(?5, village_id),
			lang = COALESCE(?6, lang),
			address = COALESCE(?7, address),
			travel_mode = COALESCE(?8, travel_mode),
			home_lat = CASE WHEN ?9 THEN NULL ELSE COALESCE(?10, home_lat) END,
			home_lng = CASE WHEN ?9 THEN NULL ELSE COALESCE(?11, home_lng) END,
			inactive = COALESCE(?12, inactive)
			WHERE id = ?13 AND erased_at IS NULL`,
			str(e.Name), e.Phone != nil, phone, role, str(e.VillageID), str(e.Lang), str(e.Address),
			str(e.TravelMode), e.ClearHome, homeLat, homeLng, active, id)
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("member %s: %w", id, storage.ErrNotFound)
		}
		if e.Active != nil && !*e.Active {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox SET state = 'cancelled'
				WHERE member_id = ? AND state IN ('pending', 'claimed')`, id); err != nil {
				return err
			}
		}
		m, err = scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = ?`, id))
		return err
	})
	if err != nil {
		return storage.Member{}, err
	}
	return m, nil
}

// FindMembers lists the members f selects, ordered by id (storage.Roster).
func (s *Store) FindMembers(ctx context.Context, f storage.MemberFilter) (_ []storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: find members")
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var where strings.Builder
	args := []any{f.After}
	where.WriteString(`m.id > ? AND m.erased_at IS NULL`)
	if f.Role != "" {
		where.WriteString(` AND m.role = ?`)
		args = append(args, string(f.Role))
	}
	if f.VillageID != "" {
		where.WriteString(` AND m.village_id = ?`)
		args = append(args, f.VillageID)
	}
	if f.Township != "" {
		where.WriteString(` AND m.township = ?`)
		args = append(args, f.Township)
	}
	if f.Active != nil {
		where.WriteString(` AND m.inactive = ?`)
		args = append(args, !*f.Active)
	}
	if f.Query != "" {
		where.WriteString(` AND (instr(m.name, ?) > 0 OR instr(COALESCE(m.phone, ''), ?) > 0)`)
		args = append(args, f.Query, f.Query)
	}
	args = append(args, f.Limit)
	rows, err := s.r.QueryContext(ctx, `SELECT `+memberCols+` FROM members m WHERE `+where.String()+
		` ORDER BY m.id LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []storage.Member{}
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}
