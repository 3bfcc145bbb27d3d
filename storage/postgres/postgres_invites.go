package postgres

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// Invitations, login codes and answer links (storage.Invites).

var _ storage.Invites = (*Store)(nil)

// loginCodeKeep is how long login codes (and the requests for unknown
// numbers) are kept: past every rate window and expiry.
const loginCodeKeep = 24 * time.Hour

// SettingOrInsert returns the setting, storing value first when absent:
// the first node to start on a database chooses it for all.
func (s *Store) SettingOrInsert(ctx context.Context, name string, value []byte) (_ []byte, err error) {
	defer wrapErr(&err, "setting")
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING`, name, value); err != nil {
		return nil, err
	}
	var out []byte
	err = s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&out)
	return out, err
}

// insertMessages queues outbox rows in tx (existing keys are left alone).
func insertMessages(ctx context.Context, q querier, rows []storage.Message) error {
	for _, r := range rows {
		state := r.State
		if state == "" {
			state = storage.MessagePending
		}
		if _, err := q.Exec(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
			SELECT $1, $2, $3, $4, $5, $6, $7, $8 WHERE EXISTS (SELECT 1 FROM members WHERE id = $4)
			ON CONFLICT DO NOTHING`,
			r.Channel, r.Ref.Type, r.Ref.ID, r.MemberID, r.Kind, state, r.Priority, r.DueAt); err != nil {
			return fmt.Errorf("message %s: %w", r.Key(), err)
		}
	}
	return nil
}

// CreateInvitations stores invitations, revokes their members' open ones
// and queues their messages, in one transaction of three statements
// (unnest: a village's thousands in as many round trips as one).
func (s *Store) CreateInvitations(ctx context.Context, invs []storage.Invitation, msgs []storage.Message) (err error) {
	defer wrapErr(&err, "create invitations")
	n := len(invs)
	ids, memberIDs, by := make([]string, n), make([]string, n), make([]string, n)
	hashes := make([][]byte, n)
	created, expires := make([]time.Time, n), make([]time.Time, n)
	for i, in := range invs {
		ids[i], memberIDs[i], by[i], hashes[i] = in.ID, in.MemberID, in.CreatedBy, in.Hash
		created[i], expires[i] = in.CreatedAt, in.ExpiresAt
	}
	m := len(msgs)
	channels, refTypes, refIDs, mMembers, kinds, states := make([]string, m), make([]string, m), make([]string, m),
		make([]string, m), make([]string, m), make([]string, m)
	prios, dues := make([]int32, m), make([]time.Time, m)
	for i, r := range msgs {
		channels[i], refTypes[i], refIDs[i], mMembers[i], kinds[i] = r.Channel, r.Ref.Type, r.Ref.ID, r.MemberID, r.Kind
		states[i] = r.State
		if states[i] == "" {
			states[i] = storage.MessagePending
		}
		prios[i], dues[i] = int32(r.Priority), r.DueAt
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE invitations i SET revoked_at = u.at
			FROM unnest($1::text[], $2::timestamptz[]) AS u(member_id, at)
			WHERE i.member_id = u.member_id AND i.used_at IS NULL AND i.revoked_at IS NULL`, memberIDs, created); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO invitations (id, member_id, hash, created_by, created_at, expires_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::timestamptz[], $6::timestamptz[])`,
			ids, memberIDs, hashes, by, created, expires); err != nil {
			return err
		}
		if m == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind, state, priority, due_at)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::timestamptz[])
			ON CONFLICT DO NOTHING`, channels, refTypes, refIDs, mMembers, kinds, states, prios, dues)
		return err
	})
}

const invitationCols = `id, member_id, hash, created_by, created_at, expires_at, used_at, revoked_at, token_id`

func scanInvitation(row pgx.Row) (storage.Invitation, error) {
	var in storage.Invitation
	var used, revoked *time.Time
	if err := row.Scan(&in.ID, &in.MemberID, &in.Hash, &in.CreatedBy, &in.CreatedAt, &in.ExpiresAt, &used, &revoked, &in.TokenID); err != nil {
		return storage.Invitation{}, err
	}
	in.CreatedAt, in.ExpiresAt = in.CreatedAt.UTC(), in.ExpiresAt.UTC()
	in.UsedAt, in.RevokedAt = derefTime(used), derefTime(revoked)
	return in, nil
}

// GetInvitation reads one invitation.
func (s *Store) GetInvitation(ctx context.Context, id string) (_ storage.Invitation, err error) {
	defer wrapErr(&err, "get invitation")
	return scanInvitation(s.pool.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations WHERE id = $1`, id))
}

// AcceptInvitation marks a usable invitation used and stores its token.
// The row lock (FOR UPDATE) makes two accepts of one link take turns: the
// second finds it used.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, t *storage.Token, prepare func(*storage.Member, *storage.Token)) (_ storage.Invitation, _ storage.Member, err error) {
	defer wrapErr(&err, "accept invitation")
	at := t.CreatedAt
	var in storage.Invitation
	var m storage.Member
	var nt storage.Token
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		nt = *t
		if nt.ID == "" {
			nt.ID = storage.NewTokenID()
		}
		var err error
		in, err = scanInvitation(tx.QueryRow(ctx, `SELECT `+invitationCols+` FROM invitations WHERE hash = $1
			AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2 FOR UPDATE`, hash, at))
		if err != nil {
			return err
		}
		m, err = scanMember(tx.QueryRow(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = $1 AND m.erased_at IS NULL`, in.MemberID))
		if err != nil {
			return err
		}
		nt.MemberID = in.MemberID
		if prepare != nil {
			prepare(&m, &nt)
		}
		if err := insertToken(ctx, tx, &nt); err != nil {
			return err
		}
		in.UsedAt, in.TokenID = at, nt.ID
		_, err = tx.Exec(ctx, `UPDATE invitations SET used_at = $1, token_id = $2 WHERE id = $3`, at, nt.ID, in.ID)
		return err
	})
	if err != nil {
		return storage.Invitation{}, storage.Member{}, err
	}
	*t = nt
	return in, m, nil
}

// CreateLoginCode stores a login code within the phone's limits. A
// transaction-scoped advisory lock on the number makes the nodes of a
// cluster check and insert one at a time per number.
func (s *Store) CreateLoginCode(ctx context.Context, c *storage.LoginCode, lim storage.LoginLimits, msg *storage.Message) (err error) {
	defer wrapErr(&err, "create login code")
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('login:' || $1))`, c.Phone); err != nil {
			return err
		}
		var n int
		var newest *time.Time
		if err := tx.QueryRow(ctx, `SELECT COUNT(*), MAX(created_at) FROM login_codes WHERE phone = $1 AND created_at >= $2`,
			c.Phone, lim.WindowStart).Scan(&n, &newest); err != nil {
			return err
		}
		if n >= lim.PerWindow || (newest != nil && c.CreatedAt.Sub(*newest) < lim.MinGap) {
			return storage.ErrRateLimited
		}
		if _, err := tx.Exec(ctx, `DELETE FROM login_codes WHERE created_at < $1`, c.CreatedAt.Add(-loginCodeKeep)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO login_codes (id, phone, member_id, hash, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, c.ID, c.Phone, c.MemberID, c.Hash, c.CreatedAt, c.ExpiresAt); err != nil {
			return err
		}
		if msg == nil {
			return nil
		}
		return insertMessages(ctx, tx, []storage.Message{*msg})
	})
}

// UseLoginCode checks the phone's newest code against hash.
func (s *Store) UseLoginCode(ctx context.Context, phone string, hash []byte, maxTries int, t *storage.Token, prepare func(*storage.Member, *storage.Token)) (_ storage.Member, err error) {
	defer wrapErr(&err, "use login code")
	at := t.CreatedAt
	var m storage.Member
	var nt storage.Token
	var wrong bool
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		nt, wrong = *t, false
		if nt.ID == "" {
			nt.ID = storage.NewTokenID()
		}
		var c storage.LoginCode
		var used *time.Time
		err := tx.QueryRow(ctx, `SELECT id, member_id, hash, tries, expires_at, used_at FROM login_codes
			WHERE phone = $1 ORDER BY created_at DESC, id DESC LIMIT 1 FOR UPDATE`, phone).
			Scan(&c.ID, &c.MemberID, &c.Hash, &c.Tries, &c.ExpiresAt, &used)
		if err != nil {
			return err
		}
		if used != nil || !c.ExpiresAt.After(at) || c.Tries >= maxTries {
			return fmt.Errorf("login code: %w", storage.ErrNotFound)
		}
		if c.MemberID == "" || !storage.HashEqual(c.Hash, hash) {
			wrong = true
			_, err := tx.Exec(ctx, `UPDATE login_codes SET tries = tries + 1 WHERE id = $1`, c.ID)
			return err
		}
		m, err = scanMember(tx.QueryRow(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = $1 AND m.erased_at IS NULL`, c.MemberID))
		if err != nil {
			return err
		}
		nt.MemberID = c.MemberID
		if prepare != nil {
			prepare(&m, &nt)
		}
		if err := insertToken(ctx, tx, &nt); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE login_codes SET used_at = $1 WHERE id = $2`, at, c.ID)
		return err
	})
	if err == nil && wrong {
		err = fmt.Errorf("login code: %w", storage.ErrNotFound)
	}
	if err != nil {
		return storage.Member{}, err
	}
	*t = nt
	return m, nil
}

// PruneLoginCodes deletes the login codes made before before.
func (s *Store) PruneLoginCodes(ctx context.Context, before time.Time) (_ int, err error) {
	defer wrapErr(&err, "prune login codes")
	tag, err := s.pool.Exec(ctx, `DELETE FROM login_codes WHERE created_at < $1`, before)
	return int(tag.RowsAffected()), err
}

// MemberByPhone finds the member with this phone.
func (s *Store) MemberByPhone(ctx context.Context, phone string) (_ storage.Member, err error) {
	defer wrapErr(&err, "member by phone")
	if phone == "" {
		return storage.Member{}, storage.ErrNotFound
	}
	return scanMember(s.pool.QueryRow(ctx, `SELECT `+memberCols+` FROM members m WHERE m.phone = $1 AND m.erased_at IS NULL`, phone))
}

// SignedIn returns those of ids holding a token that was ever used.
func (s *Store) SignedIn(ctx context.Context, ids []string) (_ map[string]bool, err error) {
	defer wrapErr(&err, "signed in")
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT j.id FROM unnest($1::text[]) AS j(id) WHERE EXISTS (
		SELECT 1 FROM tokens t WHERE t.member_id = j.id AND t.last_used_at IS NOT NULL)`, ids)
	got, err := pgx.CollectRows(rows, pgx.RowTo[string])
	for _, id := range got {
		out[id] = true
	}
	return out, err
}

// InviteTargets lists members per f, by id.
func (s *Store) InviteTargets(ctx context.Context, f storage.InviteTargetFilter) (_ []storage.Member, err error) {
	defer wrapErr(&err, "invite targets")
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT ` + memberCols + ` FROM members m WHERE m.id > $1 AND m.erased_at IS NULL`
	args := []any{f.After}
	if f.VillageID != "" {
		args = append(args, f.VillageID)
		q += ` AND m.village_id = $` + strconv.Itoa(len(args))
	}
	if f.NotSignedIn {
		q += ` AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.member_id = m.id AND t.last_used_at IS NOT NULL)`
	}
	args = append(args, limit)
	q += ` ORDER BY m.id LIMIT $` + strconv.Itoa(len(args))
	rows, _ := s.pool.Query(ctx, q, args...)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Member, error) { return scanMember(r) })
	if out == nil && err == nil {
		out = []storage.Member{}
	}
	return out, err
}

// AlertBySeq reads the alert whose event has this seq.
func (s *Store) AlertBySeq(ctx context.Context, seq int64) (_ storage.Alert, err error) {
	defer wrapErr(&err, "alert by seq")
	return scanAlert(s.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts a WHERE a.seq = $1`, seq))
}
