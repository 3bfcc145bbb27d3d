package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// CreateVillage stores a new village; ErrConflict when the id is taken.
func (s *Store) CreateVillage(ctx context.Context, v *storage.Village) (err error) {
	defer wrapErr(&err, "create village")
	_, err = s.pool.Exec(ctx, `INSERT INTO villages
		(id, name, township, center_lat, center_lng, demo, created_at, code)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		v.ID, v.Name, v.Township, v.Center.Lat, v.Center.Lng, v.Demo, v.CreatedAt, v.Code)
	return err
}

const villageCols = `id, name, township, center_lat, center_lng, demo, created_at, code`

func scanVillage(row pgx.Row) (storage.Village, error) {
	var v storage.Village
	err := row.Scan(&v.ID, &v.Name, &v.Township, &v.Center.Lat, &v.Center.Lng, &v.Demo, &v.CreatedAt, &v.Code)
	return v, err
}

// GetVillage returns the village; ErrNotFound when there is none.
func (s *Store) GetVillage(ctx context.Context, id string) (_ storage.Village, err error) {
	defer wrapErr(&err, "get village")
	return scanVillage(s.pool.QueryRow(ctx, `SELECT `+villageCols+` FROM villages WHERE id = $1`, id))
}

// ListVillages returns every village ordered by id.
func (s *Store) ListVillages(ctx context.Context) (_ []storage.Village, err error) {
	defer wrapErr(&err, "list villages")
	rows, _ := s.pool.Query(ctx, `SELECT `+villageCols+` FROM villages ORDER BY id`)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Village, error) { return scanVillage(r) })
}

// CreateMembers stores the members and their tokens in one transaction, with
// COPY so that seeding a county is a few round trips. A taken id, phone or
// token is ErrConflict and nothing is written.
func (s *Store) CreateMembers(ctx context.Context, ms []storage.NewMember) (err error) {
	defer wrapErr(&err, "create members")
	if len(ms) == 0 {
		return nil
	}
	members := make([][]any, 0, len(ms))
	var tokens [][]any
	for _, nm := range ms {
		m := nm.Member
		var homeLat, homeLng *float64
		if m.Home != nil {
			homeLat, homeLng = &m.Home.Lat, &m.Home.Lng
		}
		var liveLat, liveLng, liveAcc *float64
		var liveAt any
		if m.Live != nil {
			liveLat, liveLng, liveAcc, liveAt = &m.Live.Lat, &m.Live.Lng, &m.Live.AccuracyM, m.Live.At
		}
		members = append(members, []any{m.ID, m.Name, m.Phone, string(m.Role), m.VillageID,
			homeLat, homeLng, m.Lang, m.Demo, m.CreatedAt, liveLat, liveLng, liveAcc, liveAt,
			m.Address, m.TravelMode})
		if len(nm.TokenHash) > 0 {
			t := nm.TokenMeta()
			tokens = append(tokens, []any{nm.TokenHash, m.ID, t.ID, t.Kind, t.CreatedAt, t.CreatedBy, nullTime(t.ExpiresAt)})
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"members"},
			[]string{"id", "name", "phone", "role", "village_id", "home_lat", "home_lng", "lang",
				"demo", "created_at", "live_lat", "live_lng", "live_accuracy_m", "live_at", "address",
				"travel_mode"},
			pgx.CopyFromRows(members)); err != nil {
			return err
		}
		if len(tokens) > 0 {
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tokens"},
				[]string{"hash", "member_id", "id", "kind", "created_at", "created_by", "expires_at"},
				pgx.CopyFromRows(tokens)); err != nil {
				return err
			}
		}
		return nil
	})
}

const memberCols = `m.id, m.name, m.phone, m.role, m.village_id, m.home_lat, m.home_lng, m.lang,
	m.demo, m.created_at, m.live_lat, m.live_lng, m.live_accuracy_m, m.live_at, m.address, m.travel_mode, m.inactive, m.township`

// memberScan holds the nullable columns of a member row while scanning.
type memberScan struct {
	m                         storage.Member
	role                      string
	homeLat, homeLng          *float64
	liveLat, liveLng, liveAcc *float64
	liveAt                    *time.Time
}

func (ms *memberScan) dest() []any {
	m := &ms.m
	return []any{&m.ID, &m.Name, &m.Phone, &ms.role, &m.VillageID, &ms.homeLat, &ms.homeLng,
		&m.Lang, &m.Demo, &m.CreatedAt, &ms.liveLat, &ms.liveLng, &ms.liveAcc, &ms.liveAt,
		&m.Address, &m.TravelMode, &m.Inactive, &m.Township}
}

func (ms *memberScan) member() storage.Member {
	m := ms.m
	m.Role = storage.Role(ms.role)
	m.Home = latLng(ms.homeLat, ms.homeLng)
	m.Live = position(ms.liveLat, ms.liveLng, ms.liveAcc, ms.liveAt)
	return m
}

func latLng(lat, lng *float64) *storage.LatLng {
	if lat == nil || lng == nil {
		return nil
	}
	return &storage.LatLng{Lat: *lat, Lng: *lng}
}

func position(lat, lng, acc *float64, at *time.Time) *storage.Position {
	if lat == nil || lng == nil || at == nil {
		return nil
	}
	p := &storage.Position{Lat: *lat, Lng: *lng, At: at.UTC()}
	if acc != nil {
		p.AccuracyM = *acc
	}
	return p
}

func scanMember(row pgx.Row) (storage.Member, error) {
	var ms memberScan
	if err := row.Scan(ms.dest()...); err != nil {
		return storage.Member{}, err
	}
	return ms.member(), nil
}

// GetMember returns the member; ErrNotFound when there is none.
func (s *Store) GetMember(ctx context.Context, id string) (_ storage.Member, err error) {
	defer wrapErr(&err, "get member")
	return scanMember(s.pool.QueryRow(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = $1 AND m.erased_at IS NULL`, id))
}

// MemberByToken returns the member holding the token with this hash;
// ErrNotFound when no one does.
func (s *Store) MemberByToken(ctx context.Context, tokenHash []byte) (_ storage.Member, err error) {
	defer wrapErr(&err, "member by token")
	return scanMember(s.pool.QueryRow(ctx, `SELECT `+memberCols+`
		FROM tokens t JOIN members m ON m.id = t.member_id WHERE t.hash = $1 AND t.revoked_at IS NULL AND m.erased_at IS NULL`, tokenHash))
}

// AddToken gives a member another token (kind member, no expiry). Adding
// a token the member already holds does nothing; ErrNotFound when the
// member does not exist, ErrConflict when another member holds the token
// or it was revoked.
func (s *Store) AddToken(ctx context.Context, memberID string, tokenHash []byte) (err error) {
	defer wrapErr(&err, "add token")
	if len(tokenHash) == 0 {
		return errors.New("empty token hash")
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO tokens (hash, member_id, id, kind, created_at)
		SELECT $2, id, $3, $4, $5 FROM members WHERE id = $1
		ON CONFLICT (hash) DO NOTHING`, memberID, tokenHash, storage.NewTokenID(), storage.TokenMember, time.Now().UTC())
	if err != nil || tag.RowsAffected() == 1 {
		return err
	}
	// Nothing inserted: the member is missing or the token exists.
	var owner *string
	var revoked, exists bool
	err = s.pool.QueryRow(ctx, `SELECT (SELECT member_id FROM tokens WHERE hash = $2),
		coalesce((SELECT revoked_at IS NOT NULL FROM tokens WHERE hash = $2), false),
		EXISTS (SELECT 1 FROM members WHERE id = $1)`, memberID, tokenHash).Scan(&owner, &revoked, &exists)
	switch {
	case err != nil:
		return err
	case !exists:
		return errNotFound("member", memberID)
	case owner != nil && *owner != memberID:
		return fmt.Errorf("token held by another member: %w", storage.ErrConflict)
	case revoked:
		return fmt.Errorf("token was revoked: %w", storage.ErrConflict)
	}
	return nil
}

// GetMembers reads the members with these ids in one query, in the order
// of ids; ids with no member are left out.
func (s *Store) GetMembers(ctx context.Context, ids []string) (_ []storage.Member, err error) {
	defer wrapErr(&err, "get members")
	if len(ids) == 0 {
		return []storage.Member{}, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+memberCols+` FROM unnest($1::text[]) WITH ORDINALITY AS j(id, n)
		JOIN members m ON m.id = j.id AND m.erased_at IS NULL ORDER BY j.n`, ids)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Member, error) { return scanMember(r) })
}

// ListMembers pages through the members ordered by id, after the given id.
// A limit of zero or less means 100.
func (s *Store) ListMembers(ctx context.Context, after string, limit int) (_ []storage.Member, err error) {
	defer wrapErr(&err, "list members")
	if limit <= 0 {
		limit = 100
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+memberCols+` FROM members m
		WHERE m.id > $1 AND m.erased_at IS NULL ORDER BY m.id LIMIT $2`, after, limit)
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Member, error) { return scanMember(r) })
}

// CountMembers counts the members of a role, or all of them for "".
func (s *Store) CountMembers(ctx context.Context, role storage.Role) (n int, err error) {
	defer wrapErr(&err, "count members")
	err = s.pool.QueryRow(ctx, `SELECT count(*) FROM members WHERE ($1 = '' OR role = $1) AND erased_at IS NULL`,
		string(role)).Scan(&n)
	return n, err
}

// SetLivePosition records the member's live position; ErrNotFound when the
// member does not exist.
func (s *Store) SetLivePosition(ctx context.Context, memberID string, p storage.Position) (err error) {
	defer wrapErr(&err, "set live position")
	tag, err := s.pool.Exec(ctx, `UPDATE members
		SET live_lat = $2, live_lng = $3, live_accuracy_m = $4, live_at = $5 WHERE id = $1 AND erased_at IS NULL`,
		memberID, p.Lat, p.Lng, p.AccuracyM, p.At)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return errNotFound("member", memberID)
	}
	return nil
}

// UpdateMember applies u to the member in one statement and returns the
// member as stored afterwards; ErrNotFound when there is none. ClearHome
// with a Home is an error and writes nothing.
func (s *Store) UpdateMember(ctx context.Context, id string, u storage.MemberUpdate) (_ storage.Member, err error) {
	defer wrapErr(&err, "update member")
	if u.ClearHome && u.Home != nil {
		return storage.Member{}, errors.New("ClearHome with a Home")
	}
	var homeLat, homeLng *float64
	if u.Home != nil {
		homeLat, homeLng = &u.Home.Lat, &u.Home.Lng
	}
	m, err := scanMember(s.pool.QueryRow(ctx, `UPDATE members m SET
			address = coalesce($2, m.address),
			travel_mode = coalesce($3, m.travel_mode),
			home_lat = CASE WHEN $4::boolean THEN NULL ELSE coalesce($5, m.home_lat) END,
			home_lng = CASE WHEN $4::boolean THEN NULL ELSE coalesce($6, m.home_lng) END,
			township = coalesce($7, m.township)
		WHERE m.id = $1 AND m.erased_at IS NULL
		RETURNING `+memberCols, id, u.Address, u.TravelMode, u.ClearHome, homeLat, homeLng, u.Township))
	if errors.Is(err, pgx.ErrNoRows) {
		return storage.Member{}, errNotFound("member", id)
	}
	return m, err
}

// errNotFound reports a missing record by kind and id.
func errNotFound(kind, id string) error {
	return fmt.Errorf("%s %q: %w", kind, id, storage.ErrNotFound)
}
