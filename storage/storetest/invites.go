package storetest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// RunInvites: settings, invitations, login codes, "signed in" and the
// alert by seq (storage/invites.go; service/invites).
func RunInvites(t *testing.T, newStore func(t *testing.T) storage.Store) {
	runCases(t, inviteCases, newStore)
}

var inviteCases = []testCase{
	{"SettingOrInsert", testSettingOrInsert},
	{"Invitations", testInvitations},
	{"AcceptOnceConcurrently", testAcceptOnce},
	{"LoginCodes", testLoginCodes},
	{"SignedIn", testSignedIn},
	{"AlertBySeq", testAlertBySeq},
}

// testSettingOrInsert: the first value stays, whoever inserts later.
func testSettingOrInsert(t *testing.T, s storage.Store) {
	ctx := context.Background()
	got, err := s.SettingOrInsert(ctx, "k", []byte("first"))
	mustNoErr(t, err, "insert")
	wantEqual(t, string(got), "first", "first value")
	got, err = s.SettingOrInsert(ctx, "k", []byte("second"))
	mustNoErr(t, err, "insert again")
	wantEqual(t, string(got), "first", "value kept")
}

func invitation(id, member string, c time.Time) storage.Invitation {
	return storage.Invitation{ID: id, MemberID: member, Hash: []byte("hash-" + id), CreatedBy: "cmd",
		CreatedAt: c, ExpiresAt: c.Add(7 * 24 * time.Hour)}
}

func inviteMsg(inv storage.Invitation) storage.Message {
	return storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefInvite, ID: inv.ID},
		MemberID: inv.MemberID, Kind: storage.MessageInvite, DueAt: inv.CreatedAt}
}

// testInvitations: an invitation and its SMS are stored together; a newer
// one revokes the member's open ones; accept works once, not after expiry
// or revocation, and stores the token.
func testInvitations(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("a", 1, storage.RoleResident, "v1"), newMember("b", 2, storage.RoleResident, "v1"))
	i1, i2 := invitation("i1", "a", t0), invitation("i2", "b", t0)
	mustNoErr(t, s.CreateInvitations(ctx, []storage.Invitation{i1, i2}, []storage.Message{inviteMsg(i1), inviteMsg(i2)}), "create")
	msgs, err := s.ListMessages(ctx, storage.Ref{Type: storage.RefInvite, ID: "i1"})
	mustNoErr(t, err, "list messages")
	if len(msgs) != 1 || msgs[0].Kind != storage.MessageInvite || msgs[0].State != storage.MessagePending {
		t.Fatalf("messages of i1: %+v", msgs)
	}
	// Re-invite a: i1 is revoked.
	i3 := invitation("i3", "a", at(time.Hour))
	mustNoErr(t, s.CreateInvitations(ctx, []storage.Invitation{i3}, []storage.Message{inviteMsg(i3)}), "re-invite")
	got, err := s.GetInvitation(ctx, "i1")
	mustNoErr(t, err, "get i1")
	wantTime(t, got.RevokedAt, at(time.Hour), "i1 revoked")
	tok := storage.Token{Hash: []byte("tok-1"), Kind: storage.TokenInvite, CreatedAt: at(2 * time.Hour)}
	_, _, err = s.AcceptInvitation(ctx, i1.Hash, &tok, nil)
	wantErrIs(t, err, storage.ErrNotFound, "accept a revoked invitation")
	inv, m, err := s.AcceptInvitation(ctx, i3.Hash, &tok, nil)
	mustNoErr(t, err, "accept i3")
	if m.ID != "a" || inv.ID != "i3" || tok.ID == "" || inv.TokenID != tok.ID {
		t.Fatalf("accept: %+v %+v %+v", inv, m, tok)
	}
	held, hm, err := s.TokenByHash(ctx, []byte("tok-1"))
	mustNoErr(t, err, "token by hash")
	if hm.ID != "a" || held.Kind != storage.TokenInvite {
		t.Fatalf("token: %+v of %s", held, hm.ID)
	}
	tok2 := storage.Token{Hash: []byte("tok-2"), Kind: storage.TokenInvite, CreatedAt: at(3 * time.Hour)}
	_, _, err = s.AcceptInvitation(ctx, i3.Hash, &tok2, nil)
	wantErrIs(t, err, storage.ErrNotFound, "second accept")
	// Expired: i2 after 7 days.
	tok3 := storage.Token{Hash: []byte("tok-3"), Kind: storage.TokenInvite, CreatedAt: at(7 * 24 * time.Hour)}
	_, _, err = s.AcceptInvitation(ctx, i2.Hash, &tok3, nil)
	wantErrIs(t, err, storage.ErrNotFound, "accept an expired invitation")
	if _, _, err := s.TokenByHash(ctx, []byte("tok-3")); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a refused accept stored its token: %v", err)
	}
	// An unknown member writes nothing.
	bad := invitation("i4", "nobody", t0)
	wantErrIs(t, s.CreateInvitations(ctx, []storage.Invitation{bad}, []storage.Message{inviteMsg(bad)}), storage.ErrNotFound, "unknown member")
	if _, err := s.GetInvitation(ctx, "i4"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("invitation of an unknown member stored: %v", err)
	}
}

// testAcceptOnce: of concurrent accepts of one link, exactly one wins.
func testAcceptOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("a", 1, storage.RoleResident, "v1"))
	i1 := invitation("i1", "a", t0)
	mustNoErr(t, s.CreateInvitations(ctx, []storage.Invitation{i1}, nil), "create")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for n := range 8 {
		wg.Go(func() {
			tok := storage.Token{Hash: []byte{byte(n), 'x'}, Kind: storage.TokenInvite, CreatedAt: at(time.Minute)}
			if _, _, err := s.AcceptInvitation(ctx, i1.Hash, &tok, nil); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, storage.ErrNotFound) {
				t.Errorf("accept: %v", err)
			}
		})
	}
	wg.Wait()
	wantEqual(t, wins, 1, "accepts that won")
}

// testLoginCodes: the rate limits hold per number (members or not); a
// wrong code counts a try, maxTries burn the code; the right one issues
// the token once; an expired one is refused; a number no member has
// never signs in.
func testLoginCodes(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("a", 1, storage.RoleResident, "v1"))
	m, err := s.MemberByPhone(ctx, phoneOf(1))
	mustNoErr(t, err, "member by phone")
	wantEqual(t, m.ID, "a", "member by phone")
	_, err = s.MemberByPhone(ctx, phoneOf(99))
	wantErrIs(t, err, storage.ErrNotFound, "unknown phone")

	lim := func(now time.Time) storage.LoginLimits {
		return storage.LoginLimits{WindowStart: now.Add(-time.Hour), PerWindow: 2, MinGap: time.Minute}
	}
	code := func(id, phone, member string, c time.Time, hash string) *storage.LoginCode {
		return &storage.LoginCode{ID: id, Phone: phone, MemberID: member, Hash: []byte(hash), CreatedAt: c, ExpiresAt: c.Add(10 * time.Minute)}
	}
	msg := &storage.Message{Channel: storage.ChannelSMS, Ref: storage.Ref{Type: storage.RefLogin, ID: "c1"},
		MemberID: "a", Kind: storage.MessageLoginCode, DueAt: t0}
	mustNoErr(t, s.CreateLoginCode(ctx, code("c1", phoneOf(1), "a", t0, "h1"), lim(t0), msg), "first code")
	wantErrIs(t, s.CreateLoginCode(ctx, code("c2", phoneOf(1), "a", at(30*time.Second), "h2"), lim(at(30*time.Second)), nil),
		storage.ErrRateLimited, "a second code within a minute")
	msgs, err := s.ListMessages(ctx, storage.Ref{Type: storage.RefLogin, ID: "c1"})
	mustNoErr(t, err, "messages")
	wantEqual(t, len(msgs), 1, "login code messages")
	// Unknown numbers are limited too, and never sign in.
	mustNoErr(t, s.CreateLoginCode(ctx, code("u1", phoneOf(99), "", t0, "hu"), lim(t0), nil), "unknown number")
	wantErrIs(t, s.CreateLoginCode(ctx, code("u2", phoneOf(99), "", at(time.Second), "hu"), lim(at(time.Second)), nil),
		storage.ErrRateLimited, "unknown number again")
	tok := storage.Token{Hash: []byte("tu"), Kind: storage.TokenLogin, CreatedAt: at(time.Minute)}
	_, err = s.UseLoginCode(ctx, phoneOf(99), []byte("hu"), 5, &tok, nil)
	wantErrIs(t, err, storage.ErrNotFound, "code of an unknown number")

	// Wrong codes burn it after maxTries.
	for i := range 3 {
		tok := storage.Token{Hash: []byte{'w', byte(i)}, Kind: storage.TokenLogin, CreatedAt: at(time.Minute)}
		_, err := s.UseLoginCode(ctx, phoneOf(1), []byte("wrong"), 3, &tok, nil)
		wantErrIs(t, err, storage.ErrNotFound, "wrong code")
	}
	tok = storage.Token{Hash: []byte("t1"), Kind: storage.TokenLogin, CreatedAt: at(time.Minute)}
	_, err = s.UseLoginCode(ctx, phoneOf(1), []byte("h1"), 3, &tok, nil)
	wantErrIs(t, err, storage.ErrNotFound, "right code after it burned")

	// A new code (after the gap) works once.
	c3 := at(2 * time.Minute)
	mustNoErr(t, s.CreateLoginCode(ctx, code("c3", phoneOf(1), "a", c3, "h3"), lim(c3), nil), "third code")
	tok = storage.Token{Hash: []byte("t3"), Kind: storage.TokenLogin, CreatedAt: c3.Add(time.Minute)}
	m, err = s.UseLoginCode(ctx, phoneOf(1), []byte("h3"), 3, &tok, nil)
	mustNoErr(t, err, "right code")
	if m.ID != "a" || tok.ID == "" || tok.MemberID != "a" {
		t.Fatalf("use: %+v %+v", m, tok)
	}
	tok2 := storage.Token{Hash: []byte("t3b"), Kind: storage.TokenLogin, CreatedAt: c3.Add(2 * time.Minute)}
	_, err = s.UseLoginCode(ctx, phoneOf(1), []byte("h3"), 3, &tok2, nil)
	wantErrIs(t, err, storage.ErrNotFound, "used code")
	// The window: a fourth code within the hour is refused.
	c4 := at(4 * time.Minute)
	wantErrIs(t, s.CreateLoginCode(ctx, code("c4", phoneOf(1), "a", c4, "h4"), lim(c4), nil), storage.ErrRateLimited, "third in the hour")
	// Expired.
	c5 := at(2 * time.Hour)
	mustNoErr(t, s.CreateLoginCode(ctx, code("c5", phoneOf(1), "a", c5, "h5"), lim(c5), nil), "code after the window")
	tok = storage.Token{Hash: []byte("t5"), Kind: storage.TokenLogin, CreatedAt: c5.Add(10 * time.Minute)}
	_, err = s.UseLoginCode(ctx, phoneOf(1), []byte("h5"), 3, &tok, nil)
	wantErrIs(t, err, storage.ErrNotFound, "expired code")

	// Pruning: everything made before c5 goes (c1, c3, u1), c5 stays.
	n, err := s.PruneLoginCodes(ctx, c5)
	mustNoErr(t, err, "prune")
	wantEqual(t, n, 3, "pruned codes")
	mustNoErr(t, s.CreateLoginCode(ctx, code("u3", phoneOf(99), "", at(time.Hour), "hu"), lim(at(time.Hour)), nil), "unknown number after the prune")
}

// testSignedIn: a member is signed in once one of its tokens was used.
func testSignedIn(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	village(t, s, "v2")
	ma, mb, mc := newMember("a", 1, storage.RoleResident, "v1"), newMember("b", 2, storage.RoleResident, "v1"), newMember("c", 3, storage.RoleResident, "v2")
	nms := []storage.NewMember{{Member: ma, TokenHash: []byte("ta")}, {Member: mb, TokenHash: []byte("tb")}, {Member: mc, TokenHash: []byte("tc")}}
	mustNoErr(t, s.CreateMembers(ctx, nms), "create")
	ta, _, err := s.TokenByHash(ctx, []byte("ta"))
	mustNoErr(t, err, "token a")
	mustNoErr(t, s.TouchTokens(ctx, []string{ta.ID}, at(time.Minute)), "touch")
	got, err := s.SignedIn(ctx, []string{"a", "b", "c", "nobody"})
	mustNoErr(t, err, "signed in")
	wantEqual(t, got, map[string]bool{"a": true}, "signed in")
	ms, err := s.InviteTargets(ctx, storage.InviteTargetFilter{NotSignedIn: true})
	mustNoErr(t, err, "not signed in")
	ids := func(ms []storage.Member) []string {
		out := []string{}
		for _, m := range ms {
			out = append(out, m.ID)
		}
		return out
	}
	wantEqual(t, ids(ms), []string{"b", "c"}, "not signed in")
	ms, err = s.InviteTargets(ctx, storage.InviteTargetFilter{NotSignedIn: true, VillageID: "v1"})
	mustNoErr(t, err, "not signed in of v1")
	wantEqual(t, ids(ms), []string{"b"}, "not signed in of v1")
	ms, err = s.InviteTargets(ctx, storage.InviteTargetFilter{VillageID: "v1", After: "a", Limit: 1})
	mustNoErr(t, err, "page")
	wantEqual(t, ids(ms), []string{"b"}, "page of v1 after a")
}

// testAlertBySeq: the alert of an event seq.
func testAlertBySeq(t *testing.T, s storage.Store) {
	ctx := context.Background()
	village(t, s, "v1")
	members(t, s, newMember("a", 1, storage.RoleResident, "v1"))
	a := createAlert(t, s, "al1", t0, "a")
	got, err := s.AlertBySeq(ctx, a.Seq)
	mustNoErr(t, err, "alert by seq")
	if got.ID != "al1" || !bytes.Equal([]byte(got.Title), []byte(a.Title)) {
		t.Errorf("alert by seq: %+v", got)
	}
	_, err = s.AlertBySeq(ctx, a.Seq+1000)
	wantErrIs(t, err, storage.ErrNotFound, "unknown seq")
}
