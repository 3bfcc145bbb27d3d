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

// Invitations, login codes and answer links (storage.Invites).

var _ storage.Invites = (*Store)(nil)

// loginCodeKeep is how long login codes (and the requests for unknown
// numbers) are kept: past every rate window and expiry.
const loginCodeKeep = 24 * time.Hour

// SettingOrInsert returns the setting, storing value first when absent.
func (s *Store) SettingOrInsert(ctx context.Context, name string, value []byte) (_ []byte, err error) {
	defer errd.Wrap(&err, "sqlite: setting")
	var out []byte
	err = s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING`, name, value); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = ?`, name).Scan(&out)
	})
	return out, err
}

// insertMessages queues outbox rows in tx (existing keys are left alone).
func insertMessages(ctx context.Context, tx *sql.Tx, rows []storage.Message) error {
	st, err := tx.PrepareContext(ctx, `INSERT INTO outbox (channel, ref_type, ref_id, member_id, kind,
		state, priority, due_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		state := r.State
		if state == "" {
			state = storage.MessagePending
		}
		if _, err := st.ExecContext(ctx, r.Channel, r.Ref.Type, r.Ref.ID, r.MemberID, r.Kind, state, r.Priority, tv(r.DueAt)); err != nil {
			return fmt.Errorf("message %s: %w", r.Key(), mapErr(err))
		}
	}
	return nil
}

// CreateInvitations stores invitations, revokes their members' open ones
// and queues their messages, in one transaction (prepared statements: a
// village's thousands of rows).
func (s *Store) CreateInvitations(ctx context.Context, invs []storage.Invitation, msgs []storage.Message) (err error) {
	defer errd.Wrap(&err, "sqlite: create invitations")
	return s.write(ctx, func(tx *sql.Tx) error {
		revoke, err := tx.PrepareContext(ctx, `UPDATE invitations SET revoked_at = ?
			WHERE member_id = ? AND used_at IS NULL AND revoked_at IS NULL`)
		if err != nil {
			return err
		}
		defer revoke.Close()
		insert, err := tx.PrepareContext(ctx, `INSERT INTO invitations (id, member_id, hash, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer insert.Close()
		for i := range invs {
			in := &invs[i]
			if _, err := revoke.ExecContext(ctx, tv(in.CreatedAt), in.MemberID); err != nil {
				return err
			}
			if _, err := insert.ExecContext(ctx, in.ID, in.MemberID, in.Hash, in.CreatedBy, tv(in.CreatedAt), tv(in.ExpiresAt)); err != nil {
				return fmt.Errorf("invitation of %s: %w", in.MemberID, mapErr(err))
			}
		}
		return insertMessages(ctx, tx, msgs)
	})
}

const invitationCols = `id, member_id, hash, created_by, created_at, expires_at, used_at, revoked_at, token_id`

func invitationDests(in *storage.Invitation) []any {
	return []any{&in.ID, &in.MemberID, &in.Hash, &in.CreatedBy, timeCol{&in.CreatedAt}, timeCol{&in.ExpiresAt},
		timeCol{&in.UsedAt}, timeCol{&in.RevokedAt}, &in.TokenID}
}

// GetInvitation reads one invitation.
func (s *Store) GetInvitation(ctx context.Context, id string) (_ storage.Invitation, err error) {
	defer errd.Wrap(&err, "sqlite: get invitation")
	var in storage.Invitation
	err = s.readRow(ctx, `SELECT `+invitationCols+` FROM invitations WHERE id = ?`, id).Scan(invitationDests(&in)...)
	return in, notFound(err, "invitation "+id)
}

// AcceptInvitation marks a usable invitation used and stores its token.
func (s *Store) AcceptInvitation(ctx context.Context, hash []byte, t *storage.Token, prepare func(*storage.Member, *storage.Token)) (_ storage.Invitation, _ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: accept invitation")
	at := t.CreatedAt
	var in storage.Invitation
	var m storage.Member
	nt := *t
	if nt.ID == "" {
		nt.ID = storage.NewTokenID()
	}
	err = s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `SELECT `+invitationCols+` FROM invitations WHERE hash = ?
			AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?`, hash, tv(at)).Scan(invitationDests(&in)...)
		if err != nil {
			return notFound(err, "invitation")
		}
		m, err = scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = ? AND m.erased_at IS NULL`, in.MemberID))
		if err != nil {
			return notFound(err, "member")
		}
		nt.MemberID = in.MemberID
		if prepare != nil {
			prepare(&m, &nt)
		}
		if err := insertToken(ctx, tx, &nt); err != nil {
			return err
		}
		in.UsedAt, in.TokenID = at, nt.ID
		_, err = tx.ExecContext(ctx, `UPDATE invitations SET used_at = ?, token_id = ? WHERE id = ?`, tv(at), nt.ID, in.ID)
		return err
	})
	if err != nil {
		return storage.Invitation{}, storage.Member{}, err
	}
	*t = nt
	return in, m, nil
}

// CreateLoginCode stores a login code within the phone's limits.
func (s *Store) CreateLoginCode(ctx context.Context, c *storage.LoginCode, lim storage.LoginLimits, msg *storage.Message) (err error) {
	defer errd.Wrap(&err, "sqlite: create login code")
	return s.write(ctx, func(tx *sql.Tx) error {
		var n int
		var newest sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), MAX(created_at) FROM login_codes WHERE phone = ? AND created_at >= ?`,
			c.Phone, tv(lim.WindowStart)).Scan(&n, &newest); err != nil {
			return err
		}
		if n >= lim.PerWindow || (newest.Valid && c.CreatedAt.Sub(time.UnixMicro(newest.Int64)) < lim.MinGap) {
			return storage.ErrRateLimited
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_codes WHERE created_at < ?`, tv(c.CreatedAt.Add(-loginCodeKeep))); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_codes (id, phone, member_id, hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.Phone, c.MemberID, c.Hash, tv(c.CreatedAt), tv(c.ExpiresAt)); err != nil {
			return mapErr(err)
		}
		if msg == nil {
			return nil
		}
		return insertMessages(ctx, tx, []storage.Message{*msg})
	})
}

// UseLoginCode checks the phone's newest code against hash.
func (s *Store) UseLoginCode(ctx context.Context, phone string, hash []byte, maxTries int, t *storage.Token, prepare func(*storage.Member, *storage.Token)) (_ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: use login code")
	at := t.CreatedAt
	nt := *t
	if nt.ID == "" {
		nt.ID = storage.NewTokenID()
	}
	var m storage.Member
	var wrong bool
	err = s.write(ctx, func(tx *sql.Tx) error {
		var c storage.LoginCode
		err := tx.QueryRowContext(ctx, `SELECT id, member_id, hash, tries, expires_at, used_at FROM login_codes
			WHERE phone = ? ORDER BY created_at DESC, id DESC LIMIT 1`, phone).
			Scan(&c.ID, &c.MemberID, &c.Hash, &c.Tries, timeCol{&c.ExpiresAt}, timeCol{&c.UsedAt})
		if err != nil {
			return notFound(err, "login code")
		}
		if !c.UsedAt.IsZero() || !c.ExpiresAt.After(at) || c.Tries >= maxTries {
			return fmt.Errorf("login code: %w", storage.ErrNotFound)
		}
		if c.MemberID == "" || !storage.HashEqual(c.Hash, hash) {
			wrong = true
			_, err := tx.ExecContext(ctx, `UPDATE login_codes SET tries = tries + 1 WHERE id = ?`, c.ID)
			return err
		}
		m, err = scanMember(tx.QueryRowContext(ctx, `SELECT `+memberCols+` FROM members m WHERE m.id = ? AND m.erased_at IS NULL`, c.MemberID))
		if err != nil {
			return notFound(err, "member")
		}
		nt.MemberID = c.MemberID
		if prepare != nil {
			prepare(&m, &nt)
		}
		if err := insertToken(ctx, tx, &nt); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE login_codes SET used_at = ? WHERE id = ?`, tv(at), c.ID)
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
func (s *Store) PruneLoginCodes(ctx context.Context, before time.Time) (n int, err error) {
	defer errd.Wrap(&err, "sqlite: prune login codes")
	err = s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_codes WHERE created_at < ?`, tv(before))
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n = int(k)
		return err
	})
	return n, err
}

// MemberByPhone finds the member with this phone.
func (s *Store) MemberByPhone(ctx context.Context, phone string) (_ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: member by phone")
	if phone == "" {
		return storage.Member{}, fmt.Errorf("member by phone: %w", storage.ErrNotFound)
	}
	m, err := scanMember(s.readRow(ctx, `SELECT `+memberCols+` FROM members m WHERE m.phone = ? AND m.erased_at IS NULL`, phone))
	return m, notFound(err, "member")
}

// SignedIn returns those of ids holding a token that was ever used.
func (s *Store) SignedIn(ctx context.Context, ids []string) (_ map[string]bool, err error) {
	defer errd.Wrap(&err, "sqlite: signed in")
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT j.value FROM json_each(?) AS j WHERE EXISTS (
		SELECT 1 FROM tokens t WHERE t.member_id = j.value AND t.last_used_at IS NOT NULL)`, string(idsJSON))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// InviteTargets lists members per f, by id.
func (s *Store) InviteTargets(ctx context.Context, f storage.InviteTargetFilter) (_ []storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: invite targets")
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT ` + memberCols + ` FROM members m WHERE m.id > ? AND m.erased_at IS NULL`
	args := []any{f.After}
	if f.VillageID != "" {
		q += ` AND m.village_id = ?`
		args = append(args, f.VillageID)
	}
	if f.NotSignedIn {
		q += ` AND NOT EXISTS (SELECT 1 FROM tokens t WHERE t.member_id = m.id AND t.last_used_at IS NOT NULL)`
	}
	q += ` ORDER BY m.id LIMIT ?`
	rows, err := s.readRows(ctx, q, append(args, limit)...)
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

// AlertBySeq reads the alert whose event has this seq.
func (s *Store) AlertBySeq(ctx context.Context, seq int64) (_ storage.Alert, err error) {
	defer errd.Wrap(&err, "sqlite: alert by seq")
	a, err := scanAlert(s.readRow(ctx, `SELECT `+alertCols+` FROM alerts a WHERE a.seq = ?`, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return storage.Alert{}, fmt.Errorf("alert of seq %d: %w", seq, storage.ErrNotFound)
	}
	return a, err
}
