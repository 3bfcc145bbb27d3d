package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/longyou/hub/internal/errd"
	"github.com/longyou/hub/storage"
)

// tokenCols are a token's metadata columns (not its hash), qualified
// with prefix ("t." in joins, "" where SQLite wants bare names, as in
// RETURNING).
func tokenCols(prefix string) string {
	cols := []string{"id", "member_id", "kind", "created_at", "created_by", "expires_at", "last_used_at", "revoked_at"}
	for i := range cols {
		cols[i] = prefix + cols[i]
	}
	return strings.Join(cols, ", ")
}

var (
	tokenColsT    = tokenCols("t.")
	tokenColsBare = tokenCols("")
)

// tokenDests are the scan destinations of tokenCols for t.
func tokenDests(t *storage.Token) []any {
	return []any{&t.ID, &t.MemberID, &t.Kind, timeCol{&t.CreatedAt}, &t.CreatedBy,
		timeCol{&t.ExpiresAt}, timeCol{&t.LastUsedAt}, timeCol{&t.RevokedAt}}
}

func scanTokens(rows *sql.Rows) ([]storage.Token, error) {
	defer rows.Close()
	out := []storage.Token{}
	for rows.Next() {
		var t storage.Token
		if err := rows.Scan(tokenDests(&t)...); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// TokenByHash returns the token with this hash, in whatever state, with
// its hash and its member; storage.ErrNotFound when none.
func (s *Store) TokenByHash(ctx context.Context, tokenHash []byte) (_ storage.Token, _ storage.Member, err error) {
	defer errd.Wrap(&err, "sqlite: token by hash")
	var t storage.Token
	var m storage.Member
	var ms memberScan
	dests := append(tokenDests(&t), &t.Hash)
	err = s.readRow(ctx, `SELECT `+tokenColsT+`, t.hash, `+memberCols+`
		FROM tokens t JOIN members m ON m.id = t.member_id WHERE t.hash = ?`, tokenHash).
		Scan(append(dests, ms.dests(&m)...)...)
	if err != nil {
		return storage.Token{}, storage.Member{}, notFound(err, "token")
	}
	ms.finish(&m)
	return t, m, nil
}

// GetToken returns the token with this id; storage.ErrNotFound when none.
func (s *Store) GetToken(ctx context.Context, id string) (_ storage.Token, err error) {
	defer errd.Wrap(&err, "sqlite: get token")
	var t storage.Token
	err = s.readRow(ctx, `SELECT `+tokenColsT+` FROM tokens t WHERE t.id = ?`, id).Scan(tokenDests(&t)...)
	return t, notFound(err, "token "+id)
}

// GetTokens reads the tokens of ids in one query (a node checks its
// connections' tokens with it); ids with no token are left out.
func (s *Store) GetTokens(ctx context.Context, ids []string) (_ []storage.Token, err error) {
	defer errd.Wrap(&err, "sqlite: get tokens")
	if len(ids) == 0 {
		return []storage.Token{}, nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.readRows(ctx, `SELECT `+tokenColsT+` FROM json_each(?) AS j
		JOIN tokens t ON t.id = j.value`, string(idsJSON))
	if err != nil {
		return nil, err
	}
	return scanTokens(rows)
}

// ListTokens lists tokens per f, ordered by created_at then id. The query
// text depends on which filters are set (each shape is cached), so that
// each uses its index.
func (s *Store) ListTokens(ctx context.Context, f storage.TokenFilter) (_ []storage.Token, err error) {
	defer errd.Wrap(&err, "sqlite: list tokens")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	if f.MemberID != "" {
		where = append(where, "t.member_id = ?")
		args = append(args, f.MemberID)
	}
	if !f.ActiveAt.IsZero() {
		where = append(where, "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)")
		args = append(args, tv(f.ActiveAt))
	}
	if f.After != "" {
		where = append(where, "(t.created_at, t.id) > (SELECT a.created_at, a.id FROM tokens a WHERE a.id = ?)")
		args = append(args, f.After)
	}
	q := `SELECT ` + tokenColsT + ` FROM tokens t`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY t.created_at, t.id LIMIT ?`
	rows, err := s.readRows(ctx, q, append(args, limit)...)
	if err != nil {
		return nil, err
	}
	return scanTokens(rows)
}

// insertToken writes one new token row; an unknown member is
// storage.ErrNotFound, a taken hash or id storage.ErrConflict.
func insertToken(ctx context.Context, tx *sql.Tx, t *storage.Token) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO tokens
		(hash, member_id, id, kind, created_at, created_by, expires_at, last_used_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.MemberID, t.ID, t.Kind, tv(t.CreatedAt), t.CreatedBy, tv(t.ExpiresAt), tv(t.LastUsedAt), tv(t.RevokedAt))
	if err != nil {
		return fmt.Errorf("member %s: %w", t.MemberID, mapErr(err))
	}
	return nil
}

// IssueToken stores t and revokes what revoke selects, in one transaction
// (storage.Store).
func (s *Store) IssueToken(ctx context.Context, t *storage.Token, revoke storage.TokenSelect) (_ []storage.Token, err error) {
	defer errd.Wrap(&err, "sqlite: issue token")
	if len(t.Hash) == 0 || t.MemberID == "" || t.Kind == "" {
		return nil, errors.New("a token needs a hash, a member and a kind")
	}
	at := t.CreatedAt
	nt := *t
	if nt.ID == "" {
		nt.ID = storage.NewTokenID()
	}
	var revoked []storage.Token
	err = s.write(ctx, func(tx *sql.Tx) error {
		var old storage.Token
		err := tx.QueryRowContext(ctx, `SELECT `+tokenColsBare+` FROM tokens WHERE hash = ?`, nt.Hash).Scan(tokenDests(&old)...)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := insertToken(ctx, tx, &nt); err != nil {
				return err
			}
		case err != nil:
			return err
		case old.MemberID != nt.MemberID:
			return fmt.Errorf("token held by another member: %w", storage.ErrConflict)
		case !old.RevokedAt.IsZero():
			return fmt.Errorf("token %s was revoked: %w", old.ID, storage.ErrConflict)
		default: // adopt the member's own token
			if _, err := tx.ExecContext(ctx, `UPDATE tokens SET kind = ?, expires_at = ? WHERE id = ?`,
				nt.Kind, tv(nt.ExpiresAt), old.ID); err != nil {
				return err
			}
			old.Kind, old.ExpiresAt, old.Hash = nt.Kind, nt.ExpiresAt, nt.Hash
			nt = old
		}
		if revoke.Empty() {
			return nil
		}
		revoked, err = revokeTx(ctx, tx, revoke, nt.ID, at)
		if err == nil && revoke.ID != "" && len(revoked) == 0 {
			return fmt.Errorf("token %s is not active: %w", revoke.ID, storage.ErrConflict)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	*t = nt
	return revoked, nil
}

// RevokeTokens revokes at at the tokens sel selects that are not revoked
// yet, and returns them.
func (s *Store) RevokeTokens(ctx context.Context, sel storage.TokenSelect, at time.Time) (_ []storage.Token, err error) {
	defer errd.Wrap(&err, "sqlite: revoke tokens")
	if sel.Empty() {
		return nil, errors.New("the select names no token")
	}
	var out []storage.Token
	err = s.write(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = revokeTx(ctx, tx, sel, "", at)
		return err
	})
	return out, err
}

// revokeTx revokes in tx the tokens sel selects that are not revoked yet,
// except the token keep ("" for none), and returns them.
func revokeTx(ctx context.Context, tx *sql.Tx, sel storage.TokenSelect, keep string, at time.Time) ([]storage.Token, error) {
	q := `UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL`
	args := []any{tv(at)}
	add := func(cond, v string) {
		if v != "" {
			q += " AND " + cond
			args = append(args, v)
		}
	}
	add("id = ?", sel.ID)
	add("member_id = ?", sel.MemberID)
	add("kind = ?", sel.Kind)
	add("id <> ?", sel.Except)
	add("id <> ?", keep)
	rows, err := tx.QueryContext(ctx, q+` RETURNING `+tokenColsBare, args...)
	if err != nil {
		return nil, err
	}
	return scanTokens(rows)
}

// TouchTokens records a use at at of the tokens of ids (one statement),
// leaving those used later alone.
func (s *Store) TouchTokens(ctx context.Context, ids []string, at time.Time) (err error) {
	defer errd.Wrap(&err, "sqlite: touch tokens")
	if len(ids) == 0 {
		return nil
	}
	idsJSON, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE tokens SET last_used_at = ?1
			WHERE id IN (SELECT value FROM json_each(?2)) AND (last_used_at IS NULL OR last_used_at < ?1)`,
			tv(at), string(idsJSON))
		return err
	})
}
