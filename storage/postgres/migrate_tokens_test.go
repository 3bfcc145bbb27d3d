package postgres

import (
	"crypto/sha256"
	"strings"
	"testing"
	"time"
)

// TestUpgradeTokens: tokens stored before migration 5 keep signing in,
// as kind legacy with an id and their member's creation time; rolling
// the step back deletes the revoked tokens rather than let them sign in
// again under the old schema.
func TestUpgradeTokens(t *testing.T) {
	ctx := t.Context()
	db, p, u := atVersion(t, 4)
	created := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec(`INSERT INTO members (id, name, phone, role, created_at) VALUES ('m1', 'm1', '', 'admin', $1)`, created)
	exec(`INSERT INTO tokens (hash, member_id) VALUES ($1, 'm1'), ($2, 'm1')`, hash("old"), hash("older"))
	if _, err := p.UpTo(ctx, 5); err != nil {
		t.Fatalf("migrate to version 5: %v", err)
	}
	exec(`UPDATE tokens SET revoked_at = now() WHERE hash = $1`, hash("older"))
	if _, err := p.DownTo(ctx, 4); err != nil {
		t.Fatalf("roll back to version 4: %v", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM tokens`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("tokens after the rollback: %d (%v), want 1 (the revoked one deleted)", n, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, u, nil)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	tk, m, err := s.TokenByHash(ctx, hash("old"))
	if err != nil {
		t.Fatalf("token by hash after the upgrade: %v", err)
	}
	if m.ID != "m1" || tk.Kind != "legacy" || !strings.HasPrefix(tk.ID, "tk_") || !tk.CreatedAt.Equal(created) ||
		!tk.ExpiresAt.IsZero() || !tk.RevokedAt.IsZero() {
		t.Errorf("legacy token after the upgrade: %+v of %s", tk, m.ID)
	}
	if _, err := s.MemberByToken(ctx, hash("older")); err == nil {
		t.Errorf("the token revoked before the rollback signs in")
	}
}
