package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/longyou/hub/storage"
)

// tokenCols are a token's metadata columns (not its hash), qualified with
// prefix.
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

// tokenScan holds a token row's nullable columns while scanning.
type tokenScan struct {
	t                            storage.Token
	expires, lastUsed, revokedAt *time.Time
}

func (ts *tokenScan) dest() []any {
	t := &ts.t
	return []any{&t.ID, &t.MemberID, &t.Kind, &t.CreatedAt, &t.CreatedBy, &ts.expires, &ts.lastUsed, &ts.revokedAt}
}

func (ts *tokenScan) token() storage.Token {
	t := ts.t
	t.CreatedAt = t.CreatedAt.UTC()
	t.ExpiresAt, t.LastUsedAt, t.RevokedAt = derefTime(ts.expires), derefTime(ts.lastUsed), derefTime(ts.revokedAt)
	return t
}

func scanToken(row pgx.Row) (storage.Token, error) {
	var ts tokenScan
	if err := row.Scan(ts.dest()...); err != nil {
		return storage.Token{}, err
	}
	return ts.token(), nil
}

func collectTokens(rows pgx.Rows) ([]storage.Token, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (storage.Token, error) { return scanToken(r) })
	if out == nil && err == nil {
		out = []storage.Token{}
	}
	return out, err
}

// TokenByHash returns the token with this hash, in whatever state, with
// its hash and its member; ErrNotFound when none.
func (s *Store) TokenByHash(ctx context.Context, tokenHash []byte) (_ storage.Token, _ storage.Member, err error) {
	defer wrapErr(&err, "token by hash")
	var ts tokenScan
	var ms memberScan
	var hash []byte
	dest := append(append(ts.dest(), &hash), ms.dest()...)
	err = s.pool.QueryRow(ctx, `SELECT `+tokenColsT+`, t.hash, `+memberCols+`
		FROM tokens t JOIN members m ON m.id = t.member_id WHERE t.hash = $1`, tokenHash).Scan(dest...)
	if err != nil {
		return storage.Token{}, storage.Member{}, err
	}
	t := ts.token()
	t.Hash = hash
	return t, ms.member(), nil
}

// GetToken returns the token with this id; ErrNotFound when none.
func (s *Store) GetToken(ctx context.Context, id string) (_ storage.Token, err error) {
	defer wrapErr(&err, "get token")
	return scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColsT+` FROM tokens t WHERE t.id = $1`, id))
}

// GetTokens reads the tokens of ids in one query (a node checks its
// connections' tokens with it); ids with no token are left out.
func (s *Store) GetTokens(ctx context.Context, ids []string) (_ []storage.Token, err error) {
	defer wrapErr(&err, "get tokens")
	if len(ids) == 0 {
		return []storage.Token{}, nil
	}
	rows, _ := s.pool.Query(ctx, `SELECT `+tokenColsT+` FROM tokens t WHERE t.id = ANY($1::text[])`, ids)
	return collectTokens(rows)
}

// ListTokens lists tokens per f, ordered by created_at then id.
func (s *Store) ListTokens(ctx context.Context, f storage.TokenFilter) (_ []storage.Token, err error) {
	defer wrapErr(&err, "list tokens")
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var where []string
	var args []any
	param := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.MemberID != "" {
		where = append(where, "t.member_id = "+param(f.MemberID))
	}
	if !f.ActiveAt.IsZero() {
		where = append(where, "t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > "+param(f.ActiveAt)+")")
	}
	if f.After != "" {
		where = append(where, "(t.created_at, t.id) > (SELECT a.created_at, a.id FROM tokens a WHERE a.id = "+param(f.After)+")")
	}
	q := `SELECT ` + tokenColsT + ` FROM tokens t`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY t.created_at, t.id LIMIT ` + param(limit)
	rows, _ := s.pool.Query(ctx, q, args...)
	return collectTokens(rows)
}

// IssueToken stores t and revokes what revoke selects, in one transaction
// (storage.Store).
func (s *Store) IssueToken(ctx context.Context, t *storage.Token, revoke storage.TokenSelect) (_ []storage.Token, err error) {
	defer wrapErr(&err, "issue token")
	if len(t.Hash) == 0 || t.MemberID == "" || t.Kind == "" {
		return nil, errors.New("a token needs a hash, a member and a kind")
	}
	at := t.CreatedAt
	var nt storage.Token
	var revoked []storage.Token
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		nt = *t
		if nt.ID == "" {
			nt.ID = storage.NewTokenID()
		}
		// The row lock (FOR UPDATE) keeps a concurrent revocation of the
		// same token from slipping between the check and the adoption.
		old, err := scanToken(tx.QueryRow(ctx, `SELECT `+tokenColsBare+` FROM tokens WHERE hash = $1 FOR UPDATE`, nt.Hash))
		switch {
		case errors.Is(err, pgx.ErrNoRows):
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
			if _, err := tx.Exec(ctx, `UPDATE tokens SET kind = $2, expires_at = $3 WHERE id = $1`,
				old.ID, nt.Kind, nullTime(nt.ExpiresAt)); err != nil {
				return err
			}
			old.Kind, old.ExpiresAt, old.Hash = nt.Kind, nt.ExpiresAt, nt.Hash
			nt = old
		}
		revoked = nil
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

// insertToken writes one new token row; an unknown member is ErrNotFound,
// a taken hash or id ErrConflict (mapErr).
func insertToken(ctx context.Context, q querier, t *storage.Token) error {
	_, err := q.Exec(ctx, `INSERT INTO tokens
		(hash, member_id, id, kind, created_at, created_by, expires_at, last_used_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.Hash, t.MemberID, t.ID, t.Kind, t.CreatedAt, t.CreatedBy, nullTime(t.ExpiresAt),
		nullTime(t.LastUsedAt), nullTime(t.RevokedAt))
	return err
}

// RevokeTokens revokes at at the tokens sel selects that are not revoked
// yet, and returns them.
func (s *Store) RevokeTokens(ctx context.Context, sel storage.TokenSelect, at time.Time) (_ []storage.Token, err error) {
	defer wrapErr(&err, "revoke tokens")
	if sel.Empty() {
		return nil, errors.New("the select names no token")
	}
	return revokeTx(ctx, s.pool, sel, "", at)
}

// revokeTx revokes the tokens sel selects that are not revoked yet,
// except the token keep ("" for none), and returns them.
func revokeTx(ctx context.Context, q querier, sel storage.TokenSelect, keep string, at time.Time) ([]storage.Token, error) {
	args := []any{at}
	sql := `UPDATE tokens SET revoked_at = $1 WHERE revoked_at IS NULL`
	add := func(cond, v string) {
		if v != "" {
			args = append(args, v)
			sql += " AND " + cond + " $" + strconv.Itoa(len(args))
		}
	}
	add("id =", sel.ID)
	add("member_id =", sel.MemberID)
	add("kind =", sel.Kind)
	add("id <>", sel.Except)
	add("id <>", keep)
	rows, _ := q.Query(ctx, sql+` RETURNING `+tokenColsBare, args...)
	return collectTokens(rows)
}

// TouchTokens records a use at at of the tokens of ids (one statement),
// leaving those used later alone.
func (s *Store) TouchTokens(ctx context.Context, ids []string, at time.Time) (err error) {
	defer wrapErr(&err, "touch tokens")
	if len(ids) == 0 {
		return nil
	}
	_, err = s.pool.Exec(ctx, `UPDATE tokens SET last_used_at = $2
		WHERE id = ANY($1::text[]) AND (last_used_at IS NULL OR last_used_at < $2)`, ids, at)
	return err
}
