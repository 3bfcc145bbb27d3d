package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// CreateVillage stores a village; storage.ErrConflict when the id is taken.
func (s *Store) CreateVillage(ctx context.Context, v *storage.Village) (err error) {
	defer errd.Wrap(&err, "sqlite: create village")
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO villages
			(id, name, township, lat, lng, demo, created_at, code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ID, v.Name, v.Township, v.Center.Lat, v.Center.Lng, v.Demo, tv(v.CreatedAt), nullStr(v.Code))
		return mapErr(err)
	})
}

const villageCols = `id, name, township, lat, lng, demo, created_at, code`

func scanVillage(sc interface{ Scan(...any) error }) (storage.Village, error) {
	var v storage.Village
	err := sc.Scan(&v.ID, &v.Name, &v.Township, &v.Center.Lat, &v.Center.Lng, &v.Demo, timeCol{&v.CreatedAt}, strCol{&v.Code})
	return v, err
}

// GetVillage returns a village or storage.ErrNotFound.
func (s *Store) GetVillage(ctx context.Context, id string) (_ storage.Village, err error) {
	defer errd.Wrap(&err, "sqlite: get village")
	v, err := scanVillage(s.readRow(ctx, `SELECT `+villageCols+` FROM villages WHERE id = ?`, id))
	return v, notFound(err, "village "+id)
}

// ListVillages returns every village ordered by id.
func (s *Store) ListVillages(ctx context.Context) (_ []storage.Village, err error) {
	defer errd.Wrap(&err, "sqlite: list villages")
	rows, err := s.readRows(ctx, `SELECT `+villageCols+` FROM villages ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vs := []storage.Village{}
	for rows.Next() {
		v, err := scanVillage(rows)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, rows.Err()
}

// CreateMembers stores the members and their tokens in one transaction
// (multi-row inserts, so a bulk import of thousands is fast): all of them
// or, on any error, none. A phone number or token that is taken
// (by another member or within ms) is storage.ErrConflict.
func (s *Store) CreateMembers(ctx context.Context, ms []storage.NewMember) (err error) {
	defer errd.Wrap(&err, "sqlite: create members")
	if len(ms) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		err := insertRows(ctx, tx, `INSERT INTO members
			(id, name, phone, role, village_id, home_lat, home_lng, lang, demo, created_at,
			 live_lat, live_lng, live_accuracy_m, live_at, address, travel_mode)
			VALUES `, "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "",
			len(ms), func(i int, args []any) []any {
				m := &ms[i].Member
				var homeLat, homeLng, liveLat, liveLng, liveAcc, liveAt any
				if m.Home != nil {
					homeLat, homeLng = m.Home.Lat, m.Home.Lng
				}
				if m.Live != nil {
					liveLat, liveLng, liveAcc, liveAt = m.Live.Lat, m.Live.Lng, m.Live.AccuracyM, tv(m.Live.At)
				}
				return append(args, m.ID, m.Name, nullStr(m.Phone), string(m.Role), m.VillageID,
					homeLat, homeLng, m.Lang, m.Demo, tv(m.CreatedAt), liveLat, liveLng, liveAcc, liveAt,
					m.Address, m.TravelMode)
			})
		if err != nil {
			return fmt.Errorf("members: %w", mapErr(err))
		}
		var toks []int
		for i := range ms {
			if len(ms[i].TokenHash) > 0 {
				toks = append(toks, i)
			}
		}
		err = insertRows(ctx, tx, `INSERT INTO tokens
			(hash, member_id, id, kind, created_at, created_by, expires_at) VALUES `, "(?, ?, ?, ?, ?, ?, ?)", "",
			len(toks), func(i int, args []any) []any {
				nm := &ms[toks[i]]
				t := nm.TokenMeta()
				return append(args, nm.TokenHash, nm.Member.ID, t.ID, t.Kind, tv(t.CreatedAt), t.CreatedBy, tv(t.ExpiresAt))
			})
		if err != nil {
			return fmt.Errorf("tokens: %w", mapErr(err))
		}
		return nil
	})
}

const memberCols = `m.id, m.name, m.phone, m.role, m.village_id, m.home_lat, m.home_lng, m.lang, m.demo,
	m.created_at, m.live_lat, m.live_lng, m.live_accuracy_m, m.live_at, m.address, m.travel_mode, m.inactive, m.township`

// memberScan holds the nullable columns of a member row while scanning.
type memberScan struct {
	homeLat, homeLng, liveLat, liveLng, liveAcc sql.NullFloat64
	liveAt                                      time.Time
}

// dests returns the scan destinations of memberCols for m.
func (ms *memberScan) dests(m *storage.Member) []any {
	return []any{&m.ID, &m.Name, strCol{&m.Phone}, (*string)(&m.Role), &m.VillageID,
		&ms.homeLat, &ms.homeLng, &m.Lang, &m.Demo, timeCol{&m.CreatedAt},
		&ms.liveLat, &ms.liveLng, &ms.liveAcc, timeCol{&ms.liveAt}, &m.Address, &m.TravelMode, &m.Inactive, &m.Township}
}

// finish sets the optional parts of m once the row is scanned.
func (ms *memberScan) finish(m *storage.Member) {
	m.Home, m.Live = nil, nil
	if ms.homeLat.Valid && ms.homeLng.Valid {
		m.Home = &storage.LatLng{Lat: ms.homeLat.Float64, Lng: ms.homeLng.Float64}
	}
	if ms.liveLat.Valid && ms.liveLng.Valid {
		m.Live = &storage.Position{Lat: ms.liveLat.Float64, Lng: ms.liveLng.Float64,
			AccuracyM: ms.liveAcc.Float64, At: ms.liveAt}
	}
}

func scanMember(sc interface{ Scan(...any) error }) (storage.Member, error) {
	var m storage.Member
	var ms memberScan
	if err := sc.Scan(ms.dests(&m)...); err != nil {
		return storage.Member{}, err
	}
	ms.finish(&m)
	return m, nil
}

// GetMember returns a member or storage.ErrNotFound.
func (s *Store) GetMember(ctx context.Context, id string) (_ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: get member")
	m, err := scanMember(s.readRow(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = ? AND m.erased_at IS NULL`, id))
	return m, notFound(err, "member "+id)
}

// MemberByToken returns the member holding the token with this hash, or
// storage.ErrNotFound.
func (s *Store) MemberByToken(ctx context.Context, tokenHash []byte) (_ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: member by token")
	m, err := scanMember(s.readRow(ctx, `SELECT `+memberCols+`
		FROM tokens t JOIN members m ON m.id = t.member_id WHERE t.hash = ? AND t.revoked_at IS NULL AND m.erased_at IS NULL`, tokenHash))
	return m, notFound(err, "token")
}

// AddToken gives a member another token (kind member, no expiry). Adding
// a token the member already holds does nothing; a token held by another
// member, or revoked, is storage.ErrConflict; an unknown member is
// storage.ErrNotFound.
func (s *Store) AddToken(ctx context.Context, memberID string, tokenHash []byte) (err error) {
	defer errd.Wrap(&err, "sqlite: add token")
	if len(tokenHash) == 0 {
		return errors.New("empty token hash")
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		var owner string
		var revoked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT member_id, revoked_at FROM tokens WHERE hash = ?`, tokenHash).Scan(&owner, &revoked)
		switch {
		case err == nil && owner == memberID && !revoked.Valid:
			return nil
		case err == nil && owner == memberID:
			return fmt.Errorf("token was revoked: %w", storage.ErrConflict)
		case err == nil:
			return fmt.Errorf("token held by another member: %w", storage.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		return insertToken(ctx, tx, &storage.Token{Hash: tokenHash, MemberID: memberID, ID: storage.NewTokenID(),
			Kind: storage.TokenMember, CreatedAt: time.Now().UTC()})
	})
}

// GetMembers reads the members with these ids in one query, in the order
// of ids; ids with no member are left out.
func (s *Store) GetMembers(ctx context.Context, ids []string) (_ []storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: get members")
	out := []storage.Member{}
	if len(ids) == 0 {
		return out, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT `+memberCols+` FROM json_each(?) AS j
		JOIN members m ON m.id = j.value AND m.erased_at IS NULL ORDER BY j.key`, string(idsJSON))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		m, err := scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// ListMembers pages through the members ordered by id, after the given id.
// A limit of zero or less means 100.
func (s *Store) ListMembers(ctx context.Context, after string, limit int) (_ []storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: list members")
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.readRows(ctx, `SELECT `+memberCols+` FROM members m
		WHERE m.id > ? AND m.erased_at IS NULL ORDER BY m.id LIMIT ?`, after, limit)
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

// CountMembers counts the members of a role, or all of them for "".
func (s *Store) CountMembers(ctx context.Context, role storage.Role) (n int, err error) {
	defer errd.Wrap(&err, "sqlite: count members")
	if role == "" {
		err = s.readRow(ctx, `SELECT COUNT(*) FROM members WHERE erased_at IS NULL`).Scan(&n)
	} else {
		err = s.readRow(ctx, `SELECT COUNT(*) FROM members WHERE role = ? AND erased_at IS NULL`, string(role)).Scan(&n)
	}
	return n, err
}

// SetLivePosition records a member's live position; storage.ErrNotFound
// when the member does not exist.
func (s *Store) SetLivePosition(ctx context.Context, memberID string, p storage.Position) (err error) {
	defer errd.Wrap(&err, "sqlite: set live position")
	return s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE members
			SET live_lat = ?, live_lng = ?, live_accuracy_m = ?, live_at = ? WHERE id = ? AND erased_at IS NULL`,
			p.Lat, p.Lng, p.AccuracyM, tv(p.At), memberID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("member %s: %w", memberID, storage.ErrNotFound)
		}
		return nil
	})
}

// UpdateMember applies u to the member in one transaction and returns the
// member as stored afterwards; storage.ErrNotFound when there is none.
// ClearHome with a Home is an error and writes nothing.
func (s *Store) UpdateMember(ctx context.Context, id string, u storage.MemberUpdate) (_ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: update member")
	if u.ClearHome && u.Home != nil {
		return storage.Member{}, errors.New("ClearHome with a Home")
	}
	var address, travelMode, homeLat, homeLng, township any
	if u.Township != nil {
		township = *u.Township
	}
	if u.Address != nil {
		address = *u.Address
	}
	if u.TravelMode != nil {
		travelMode = *u.TravelMode
	}
	if u.Home != nil {
		homeLat, homeLng = u.Home.Lat, u.Home.Lng
	}
	var m storage.Member
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE members SET
			address = COALESCE(?1, address),
			travel_mode = COALESCE(?2, travel_mode),
			home_lat = CASE WHEN ?3 THEN NULL ELSE COALESCE(?4, home_lat) END,
			home_lng = CASE WHEN ?3 THEN NULL ELSE COALESCE(?5, home_lng) END,
			township = COALESCE(?7, township)
			WHERE id = ?6 AND erased_at IS NULL`, address, travelMode, u.ClearHome, homeLat, homeLng, id, township)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("member %s: %w", id, storage.ErrNotFound)
		}
		m, err = scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = ?`, id))
		return err
	})
	if err != nil {
		return storage.Member{}, err
	}
	return m, nil
}
