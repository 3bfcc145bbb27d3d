package storetest

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunTokens: the token lifecycle (docs/API.md v1.4): metadata, issue,
// adoption, revocation (one, a member's, a kind), rotation, expiry in
// lists, last use, paging (service/members, the hub's connection checks).
func RunTokens(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, tokenCases, newStore)
}

var tokenCases = []testCase{
	{"TokenLifecycle", testTokenLifecycle},
	{"TokenIssueRevokes", testTokenIssueRevokes},
	{"TokenAdoptAndConflicts", testTokenAdoptAndConflicts},
	{"ListTokensPaging", testListTokensPaging},
}

// tokenIDs are the ids of ts, in order.
func tokenIDs(ts []storage.Token) []string {
	out := []string{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// wantToken compares every metadata field of a token (not its hash).
func wantToken(t testing.TB, got, want storage.Token, what string) {
	t.Helper()
	if got.ID != want.ID || got.MemberID != want.MemberID || got.Kind != want.Kind || got.CreatedBy != want.CreatedBy {
		t.Errorf("%s: got %+v, want %+v", what, got, want)
	}
	wantTime(t, got.CreatedAt, want.CreatedAt, what+" created_at")
	wantTime(t, got.ExpiresAt, want.ExpiresAt, what+" expires_at")
	wantTime(t, got.LastUsedAt, want.LastUsedAt, what+" last_used_at")
	wantTime(t, got.RevokedAt, want.RevokedAt, what+" revoked_at")
}

// issue stores a token of kind for member at created, expiring at expires
// (zero: never), and returns it.
func issue(t testing.TB, s storage.Store, member, secret, kind string, created, expires time.Time) storage.Token {
	t.Helper()
	tok := storage.Token{MemberID: member, Hash: tokenHash(secret), Kind: kind, CreatedAt: created,
		CreatedBy: "m-admin", ExpiresAt: expires}
	_, err := s.IssueToken(t.Context(), &tok, storage.TokenSelect{})
	mustNoErr(t, err, "issue token "+secret)
	return tok
}

func testTokenLifecycle(t *testing.T, s storage.Store) {
	ctx := t.Context()
	boot := &storage.Token{Kind: storage.TokenBootstrap, CreatedAt: at(time.Second), CreatedBy: ""}
	staff := &storage.Token{Kind: storage.TokenMember, CreatedBy: "m-admin", ExpiresAt: at(90 * 24 * time.Hour)}
	mustNoErr(t, s.CreateMembers(ctx, []storage.NewMember{
		{Member: newMember("m1", 1, storage.RoleResident, ""), TokenHash: tokenHash("t1")}, // default metadata
		{Member: newMember("m-admin", 2, storage.RoleAdmin, ""), TokenHash: tokenHash("boot"), Token: boot},
		{Member: newMember("m-cadre", 3, storage.RoleCadre, ""), TokenHash: tokenHash("staff"), Token: staff},
	}), "create members")
	if !strings.HasPrefix(boot.ID, "tk_") || !strings.HasPrefix(staff.ID, "tk_") || boot.ID == staff.ID {
		t.Fatalf("CreateMembers set token ids %q and %q, want distinct tk_ ids", boot.ID, staff.ID)
	}

	// Every read returns the metadata it was created with.
	tk1, m, err := s.TokenByHash(ctx, tokenHash("t1"))
	mustNoErr(t, err, "token by hash t1")
	if m.ID != "m1" || m.Role != storage.RoleResident || !bytes.Equal(tk1.Hash, tokenHash("t1")) ||
		!strings.HasPrefix(tk1.ID, "tk_") {
		t.Errorf("token by hash t1: %+v of %+v", tk1, m)
	}
	// Reading: a member's token without metadata is kind member, created
	// with the member, never expiring.
	wantToken(t, tk1, storage.Token{ID: tk1.ID, MemberID: "m1", Kind: storage.TokenMember, CreatedAt: t0}, "t1")
	got, _, err := s.TokenByHash(ctx, tokenHash("boot"))
	mustNoErr(t, err, "token by hash boot")
	wantToken(t, got, storage.Token{ID: boot.ID, MemberID: "m-admin", Kind: storage.TokenBootstrap, CreatedAt: at(time.Second)}, "boot")
	got, err = s.GetToken(ctx, staff.ID)
	mustNoErr(t, err, "get token staff")
	wantToken(t, got, storage.Token{ID: staff.ID, MemberID: "m-cadre", Kind: storage.TokenMember, CreatedAt: t0,
		CreatedBy: "m-admin", ExpiresAt: at(90 * 24 * time.Hour)}, "staff")
	if len(got.Hash) != 0 {
		t.Errorf("GetToken returned the hash")
	}
	_, err = s.GetToken(ctx, "tk_missing")
	wantErrIs(t, err, storage.ErrNotFound, "get a missing token")
	_, _, err = s.TokenByHash(ctx, tokenHash("nope"))
	wantErrIs(t, err, storage.ErrNotFound, "token by an unknown hash")

	// Issue a second token for m1, expiring in an hour.
	tk2 := issue(t, s, "m1", "t1-phone", storage.TokenIssued, at(time.Minute), at(time.Hour))
	if !strings.HasPrefix(tk2.ID, "tk_") {
		t.Fatalf("issued token id %q", tk2.ID)
	}
	got, err = s.GetToken(ctx, tk2.ID)
	mustNoErr(t, err, "get the issued token")
	wantToken(t, got, storage.Token{ID: tk2.ID, MemberID: "m1", Kind: storage.TokenIssued, CreatedAt: at(time.Minute),
		CreatedBy: "m-admin", ExpiresAt: at(time.Hour)}, "issued")
	mm, err := s.MemberByToken(ctx, tokenHash("t1-phone"))
	mustNoErr(t, err, "member by the issued token")
	if mm.ID != "m1" {
		t.Errorf("issued token signs in as %s", mm.ID)
	}

	ts, err := s.ListTokens(ctx, storage.TokenFilter{MemberID: "m1"})
	mustNoErr(t, err, "list m1's tokens")
	wantEqual(t, tokenIDs(ts), []string{tk1.ID, tk2.ID}, "m1's tokens, oldest first")
	// Reading: an expired token is not active; expiry is exclusive of
	// the instant (a token expiring at T is expired at T).
	ts, err = s.ListTokens(ctx, storage.TokenFilter{MemberID: "m1", ActiveAt: at(time.Hour)})
	mustNoErr(t, err, "list m1's active tokens")
	wantEqual(t, tokenIDs(ts), []string{tk1.ID}, "m1's tokens active after the issued one expired")

	// Last use: set, and never moved back.
	mustNoErr(t, s.TouchTokens(ctx, []string{tk1.ID, staff.ID, "tk_missing"}, at(5*time.Minute)), "touch")
	mustNoErr(t, s.TouchTokens(ctx, []string{tk1.ID}, at(2*time.Minute)), "touch with an older time")
	mustNoErr(t, s.TouchTokens(ctx, nil, at(2*time.Minute)), "touch nothing")
	for _, id := range []string{tk1.ID, staff.ID} {
		got, err := s.GetToken(ctx, id)
		mustNoErr(t, err, "get a touched token")
		wantTime(t, got.LastUsedAt, at(5*time.Minute), "last used of "+id)
	}

	// Revoke one: returned once, then nothing is left to revoke.
	rev, err := s.RevokeTokens(ctx, storage.TokenSelect{ID: tk2.ID}, at(10*time.Minute))
	mustNoErr(t, err, "revoke the issued token")
	if len(rev) != 1 || rev[0].ID != tk2.ID {
		t.Fatalf("revoked %+v, want the issued token", rev)
	}
	wantTime(t, rev[0].RevokedAt, at(10*time.Minute), "revoked_at in the answer")
	rev, err = s.RevokeTokens(ctx, storage.TokenSelect{ID: tk2.ID}, at(20*time.Minute))
	mustNoErr(t, err, "revoke it again")
	if len(rev) != 0 {
		t.Errorf("revoking a revoked token again returned %+v", rev)
	}
	got, _, err = s.TokenByHash(ctx, tokenHash("t1-phone"))
	mustNoErr(t, err, "token by hash of a revoked token")
	wantTime(t, got.RevokedAt, at(10*time.Minute), "revoked_at stays the first")
	_, err = s.MemberByToken(ctx, tokenHash("t1-phone"))
	wantErrIs(t, err, storage.ErrNotFound, "member by a revoked token")
	_, err = s.RevokeTokens(ctx, storage.TokenSelect{}, at(time.Hour))
	if err == nil {
		t.Errorf("revoking with an empty select: no error")
	}
	_, err = s.RevokeTokens(ctx, storage.TokenSelect{Except: tk1.ID}, at(time.Hour))
	if err == nil {
		t.Errorf("revoking with only Except: no error")
	}
	mustNoErr(t, s.Ping(ctx), "ping")
	if _, err := s.MemberByToken(ctx, tokenHash("t1")); err != nil {
		t.Errorf("a select that names nothing revoked t1: %v", err)
	}

	// A member's tokens, all at once (one kept); GetTokens sees the states.
	tk3 := issue(t, s, "m1", "t1-tablet", storage.TokenIssued, at(2*time.Minute), time.Time{})
	rev, err = s.RevokeTokens(ctx, storage.TokenSelect{MemberID: "m1", Except: tk3.ID}, at(30*time.Minute))
	mustNoErr(t, err, "revoke m1's tokens but one")
	wantEqual(t, tokenIDs(rev), []string{tk1.ID}, "revoked (the revoked one is not revoked again)")
	ts, err = s.GetTokens(ctx, []string{tk1.ID, tk2.ID, tk3.ID, staff.ID, "tk_missing"})
	mustNoErr(t, err, "get tokens")
	slices.SortFunc(ts, func(a, b storage.Token) int { return a.CreatedAt.Compare(b.CreatedAt) })
	if len(ts) != 4 {
		t.Fatalf("get tokens: %d, want 4 (%+v)", len(ts), ts)
	}
	active := map[string]bool{}
	for _, tk := range ts {
		active[tk.ID] = tk.Active(at(31 * time.Minute))
	}
	wantEqual(t, active, map[string]bool{tk1.ID: false, tk2.ID: false, tk3.ID: true, staff.ID: true}, "active after revoking")
	ts, err = s.GetTokens(ctx, nil)
	mustNoErr(t, err, "get no tokens")
	if len(ts) != 0 {
		t.Errorf("get no tokens: %+v", ts)
	}
	ts, err = s.ListTokens(ctx, storage.TokenFilter{ActiveAt: at(31 * time.Minute)})
	mustNoErr(t, err, "list every active token")
	wantEqual(t, tokenIDs(ts), []string{staff.ID, boot.ID, tk3.ID}, "active tokens of everyone, oldest first")
}

// testTokenIssueRevokes: issuing and revoking in one transaction (a
// rotation, a new bootstrap or demo token replacing the previous).
func testTokenIssueRevokes(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleCadre, ""), newMember("m-admin", 2, storage.RoleAdmin, ""),
		newMember("m-admin2", 3, storage.RoleAdmin, ""))
	old := issue(t, s, "m1", "old", storage.TokenMember, t0, at(time.Hour))
	other := issue(t, s, "m1", "other", storage.TokenIssued, t0, time.Time{})

	// Rotation: the new token and the old one's revocation together.
	nt := storage.Token{MemberID: "m1", Hash: tokenHash("new"), Kind: storage.TokenRotated, CreatedAt: at(time.Minute),
		CreatedBy: "m1", ExpiresAt: at(2 * time.Hour)}
	rev, err := s.IssueToken(ctx, &nt, storage.TokenSelect{ID: old.ID})
	mustNoErr(t, err, "rotate")
	wantEqual(t, tokenIDs(rev), []string{old.ID}, "rotation revoked")
	if len(rev) == 1 {
		wantTime(t, rev[0].RevokedAt, at(time.Minute), "the old token is revoked when the new one is made")
	}
	// Rotating the same old token again (a race lost): nothing is written.
	again := storage.Token{MemberID: "m1", Hash: tokenHash("new2"), Kind: storage.TokenRotated, CreatedAt: at(2 * time.Minute)}
	_, err = s.IssueToken(ctx, &again, storage.TokenSelect{ID: old.ID})
	wantErrIs(t, err, storage.ErrConflict, "rotate a revoked token")
	_, _, err = s.TokenByHash(ctx, tokenHash("new2"))
	wantErrIs(t, err, storage.ErrNotFound, "the token of a refused rotation")
	_, err = s.IssueToken(ctx, &storage.Token{MemberID: "m1", Hash: tokenHash("new3"), Kind: storage.TokenRotated,
		CreatedAt: at(2 * time.Minute)}, storage.TokenSelect{ID: "tk_missing"})
	wantErrIs(t, err, storage.ErrConflict, "rotate a missing token")
	if got, err := s.GetToken(ctx, other.ID); err != nil || !got.RevokedAt.IsZero() {
		t.Errorf("the member's other token after the rotation: %+v, %v", got, err)
	}

	// A new bootstrap token revokes the previous one, whichever admin held
	// it, and nothing else.
	b1 := issue(t, s, "m-admin", "boot1", storage.TokenBootstrap, t0, time.Time{})
	issue(t, s, "m-admin", "admin-own", storage.TokenIssued, t0, time.Time{})
	b2 := storage.Token{MemberID: "m-admin2", Hash: tokenHash("boot2"), Kind: storage.TokenBootstrap, CreatedAt: at(time.Hour)}
	rev, err = s.IssueToken(ctx, &b2, storage.TokenSelect{Kind: storage.TokenBootstrap})
	mustNoErr(t, err, "a new bootstrap token")
	wantEqual(t, tokenIDs(rev), []string{b1.ID}, "revoked by the new bootstrap token")
	for secret, want := range map[string]bool{"boot1": false, "boot2": true, "admin-own": true, "other": true, "new": true} {
		_, err := s.MemberByToken(ctx, tokenHash(secret))
		if (err == nil) != want {
			t.Errorf("token %s signs in: %v, want %v", secret, err == nil, want)
		}
	}

	// Kind and member together: a demo member's previous demo token.
	d1 := issue(t, s, "m1", "demo1", storage.TokenDemo, t0, time.Time{})
	d2 := storage.Token{MemberID: "m1", Hash: tokenHash("demo2"), Kind: storage.TokenDemo, CreatedAt: at(time.Hour)}
	rev, err = s.IssueToken(ctx, &d2, storage.TokenSelect{MemberID: "m1", Kind: storage.TokenDemo})
	mustNoErr(t, err, "a new demo token")
	wantEqual(t, tokenIDs(rev), []string{d1.ID}, "revoked by the new demo token")
}

// testTokenAdoptAndConflicts: a hash the member holds is adopted (no second
// row); a hash another member holds, or a revoked one, never is.
func testTokenAdoptAndConflicts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m-admin", 1, storage.RoleAdmin, ""), newMember("m2", 2, storage.RoleResident, ""))
	mustNoErr(t, s.AddToken(ctx, "m-admin", tokenHash("given")), "add a token (as before v1.4)")
	before, _, err := s.TokenByHash(ctx, tokenHash("given"))
	mustNoErr(t, err, "token by hash")
	if before.Kind != storage.TokenMember || !strings.HasPrefix(before.ID, "tk_") {
		t.Errorf("an added token: %+v", before)
	}

	// The same secret given as the bootstrap token: the row is adopted.
	tk := storage.Token{MemberID: "m-admin", Hash: tokenHash("given"), Kind: storage.TokenBootstrap, CreatedAt: at(time.Hour)}
	_, err = s.IssueToken(ctx, &tk, storage.TokenSelect{Kind: storage.TokenBootstrap})
	mustNoErr(t, err, "adopt")
	if tk.ID != before.ID || tk.Kind != storage.TokenBootstrap {
		t.Errorf("adopted token %+v, want id %s of kind bootstrap", tk, before.ID)
	}
	wantTime(t, tk.CreatedAt, before.CreatedAt, "an adopted token keeps its creation time")
	ts, err := s.ListTokens(ctx, storage.TokenFilter{MemberID: "m-admin"})
	mustNoErr(t, err, "list")
	if len(ts) != 1 || ts[0].Kind != storage.TokenBootstrap || !ts[0].RevokedAt.IsZero() {
		t.Errorf("after the adoption: %+v, want the one token, kind bootstrap, not revoked", ts)
	}

	tk = storage.Token{MemberID: "m2", Hash: tokenHash("given"), Kind: storage.TokenIssued, CreatedAt: at(time.Hour)}
	_, err = s.IssueToken(ctx, &tk, storage.TokenSelect{})
	wantErrIs(t, err, storage.ErrConflict, "issue another member's token")
	_, err = s.IssueToken(ctx, &storage.Token{MemberID: "m-missing", Hash: tokenHash("x"), Kind: storage.TokenIssued,
		CreatedAt: t0}, storage.TokenSelect{})
	wantErrIs(t, err, storage.ErrNotFound, "issue a token to a missing member")

	_, err = s.RevokeTokens(ctx, storage.TokenSelect{MemberID: "m-admin"}, at(2*time.Hour))
	mustNoErr(t, err, "revoke")
	tk = storage.Token{MemberID: "m-admin", Hash: tokenHash("given"), Kind: storage.TokenBootstrap, CreatedAt: at(3 * time.Hour)}
	_, err = s.IssueToken(ctx, &tk, storage.TokenSelect{})
	wantErrIs(t, err, storage.ErrConflict, "issue a revoked secret again")
	wantErrIs(t, s.AddToken(ctx, "m-admin", tokenHash("given")), storage.ErrConflict, "add a revoked secret again")
	_, err = s.MemberByToken(ctx, tokenHash("given"))
	wantErrIs(t, err, storage.ErrNotFound, "a revoked secret after it was given again")
	err = s.CreateMembers(ctx, []storage.NewMember{{Member: newMember("m3", 3, storage.RoleResident, ""), TokenHash: tokenHash("given")}})
	wantErrIs(t, err, storage.ErrConflict, "create a member with a revoked secret")
}

func testListTokensPaging(t *testing.T, s storage.Store) {
	ctx := t.Context()
	members(t, s, newMember("m1", 1, storage.RoleResident, ""), newMember("m2", 2, storage.RoleResident, ""))
	for i := range 5 {
		m := []string{"m1", "m2"}[i%2]
		// Tokens share creation times in pairs: the id breaks the tie.
		issue(t, s, m, "p"+string(rune('a'+i)), storage.TokenIssued, at(time.Duration(i/2)*time.Minute), time.Time{})
	}
	all, err := s.ListTokens(ctx, storage.TokenFilter{})
	mustNoErr(t, err, "list all")
	if len(all) != 5 {
		t.Fatalf("list all: %d tokens, want 5", len(all))
	}
	for i := 1; i < len(all); i++ {
		a, b := all[i-1], all[i]
		if a.CreatedAt.After(b.CreatedAt) || (a.CreatedAt.Equal(b.CreatedAt) && a.ID >= b.ID) {
			t.Errorf("list order: %s (%v) before %s (%v)", a.ID, a.CreatedAt, b.ID, b.CreatedAt)
		}
	}
	var paged []string
	after := ""
	for range 10 {
		page, err := s.ListTokens(ctx, storage.TokenFilter{After: after, Limit: 2})
		mustNoErr(t, err, "list a page")
		if len(page) > 2 {
			t.Fatalf("a page of %d, limit 2", len(page))
		}
		if len(page) == 0 {
			break
		}
		paged = append(paged, tokenIDs(page)...)
		after = page[len(page)-1].ID
	}
	wantEqual(t, paged, tokenIDs(all), "paged through")
	page, err := s.ListTokens(ctx, storage.TokenFilter{After: "tk_missing"})
	mustNoErr(t, err, "list after a missing id")
	if len(page) != 0 {
		t.Errorf("list after a missing id: %d tokens, want none", len(page))
	}
	page, err = s.ListTokens(ctx, storage.TokenFilter{MemberID: "m2", Limit: 1})
	mustNoErr(t, err, "list m2's first")
	if len(page) != 1 || page[0].MemberID != "m2" {
		t.Errorf("m2's first token: %+v", page)
	}
}
