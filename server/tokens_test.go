package server

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/storage"
)

// The tokens of docs/API.md v1.4: revocation (one, all of a member's),
// rotation, staff expiry, who may manage whose tokens, who holds a token,
// the bootstrap token. Deadlines are generous (10 s): other suites share
// the machine.

// closedWithin drains w until its connection ends, and returns the close
// error; the test fails if it is still open after d.
func closedWithin(t *testing.T, w *wsClient, d time.Duration) error {
	t.Helper()
	deadline := time.After(d)
	for {
		select {
		case _, ok := <-w.frames:
			if !ok {
				return <-w.closed
			}
		case <-deadline:
			t.Fatalf("the WebSocket is still open after %v", d)
		}
	}
}

// wantPolicyClose checks a close error is 1008 with the reason.
func wantPolicyClose(t *testing.T, err error, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || ce.Reason != reason {
		t.Fatalf("closed with %v, want 1008 %q", err, reason)
	}
}

// wantUnauthorized checks a call is 401 unauthorized with a message
// containing word.
func wantUnauthorized(t *testing.T, code int, out map[string]any, word string) {
	t.Helper()
	msg, _ := out["error"].(map[string]any)["message"].(string)
	if code != 401 || errCode(out) != "unauthorized" || !strings.Contains(msg, word) {
		t.Fatalf("got %d %v, want 401 unauthorized saying %q", code, out, word)
	}
}

// tokenOf is the id of the token the caller signs in with.
func (e *testEnv) tokenOf(tok string) string {
	e.t.Helper()
	code, out := e.call("GET", "/api/v1/me/token", tok, nil)
	if code != 200 {
		e.t.Fatalf("GET /me/token: %d %v", code, out)
	}
	return out["token_info"].(map[string]any)["id"].(string)
}

// TestRevokedTokenRefusedAndClosed: a revoked token is refused on HTTP
// (401, saying it was revoked) and its open WebSocket is closed with 1008
// "token revoked": at once when revoked through this node's API, and
// within the check interval when revoked elsewhere (another node: here,
// straight in the store). The member's other token is untouched.
func TestRevokedTokenRefusedAndClosed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	m, tok := e.member(storage.RoleResident, 0, inside)
	code, out := e.call("POST", "/api/v1/members/"+m.ID+"/tokens", e.admin, nil)
	if code != 201 {
		t.Fatalf("issue a second token: %d %v", code, out)
	}
	tok2 := out["token"].(string)
	tok2ID := out["token_info"].(map[string]any)["id"].(string)

	ws := e.dial(tok)
	ws.welcome()
	ws2 := e.dial(tok2)
	ws2.welcome()

	code, out = e.call("DELETE", "/api/v1/tokens/"+e.tokenOf(tok), e.admin, nil)
	if code != 200 || out["token_info"].(map[string]any)["revoked_at"] == nil || out["token_info"].(map[string]any)["active"] != false {
		t.Fatalf("revoke: %d %v", code, out)
	}
	wantPolicyClose(t, closedWithin(t, ws, 10*time.Second), "token revoked")
	code, out = e.call("GET", "/api/v1/me", tok, nil)
	wantUnauthorized(t, code, out, "revoked")
	if _, err := e.dialErr(tok); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a WebSocket with the revoked token: %v, want 401", err)
	}
	if r, _ := ws2.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
		t.Fatalf("the member's other connection: %v", r)
	}
	if code, _ := e.call("GET", "/api/v1/me", tok2, nil); code != 200 {
		t.Fatalf("the member's other token: %d", code)
	}

	// Revoked behind this node's back, as another node would.
	if _, err := e.store.RevokeTokens(context.Background(), storage.TokenSelect{ID: tok2ID}, time.Now()); err != nil {
		t.Fatal(err)
	}
	wantPolicyClose(t, closedWithin(t, ws2, 10*time.Second), "token revoked")
	code, out = e.call("GET", "/api/v1/me", tok2, nil)
	wantUnauthorized(t, code, out, "revoked")
}

// TestRevokeAllOfAMember: every token of the member at once (its open
// WebSockets closed), or every one but the caller's own (keep_current).
func TestRevokeAllOfAMember(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, inside)
	m, tok := e.member(storage.RolePatrol, 0, inside)
	var others []string
	for range 2 {
		code, out := e.call("POST", "/api/v1/members/"+m.ID+"/tokens", cmdTok, nil)
		if code != 201 {
			t.Fatalf("issue: %d %v", code, out)
		}
		others = append(others, out["token"].(string))
	}
	ws := e.dial(others[0])
	ws.welcome()

	// The member signs out its other devices.
	code, out := e.call("POST", "/api/v1/members/"+m.ID+"/tokens/revoke", tok, map[string]any{"keep_current": true})
	if code != 200 || num(out["revoked"]) != 2 {
		t.Fatalf("revoke the others: %d %v", code, out)
	}
	wantPolicyClose(t, closedWithin(t, ws, 10*time.Second), "token revoked")
	for _, o := range others {
		code, out := e.call("GET", "/api/v1/me", o, nil)
		wantUnauthorized(t, code, out, "revoked")
	}
	if code, _ := e.call("GET", "/api/v1/me", tok, nil); code != 200 {
		t.Fatalf("the kept token: %d", code)
	}
	ws = e.dial(tok)
	ws.welcome()

	// A commander takes everything back (a lost phone).
	code, out = e.call("POST", "/api/v1/members/"+m.ID+"/tokens/revoke", cmdTok, nil)
	if code != 200 || num(out["revoked"]) != 1 {
		t.Fatalf("revoke all: %d %v", code, out)
	}
	wantPolicyClose(t, closedWithin(t, ws, 10*time.Second), "token revoked")
	code, out = e.call("GET", "/api/v1/me", tok, nil)
	wantUnauthorized(t, code, out, "revoked")
	code, out = e.call("GET", "/api/v1/members/"+m.ID+"/tokens?active=1", cmdTok, nil)
	if code != 200 || len(out["tokens"].([]any)) != 0 {
		t.Fatalf("active tokens after revoking all: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/members/"+m.ID+"/tokens", cmdTok, nil)
	if code != 200 || len(out["tokens"].([]any)) != 3 {
		t.Fatalf("the member's token history: %d %v", code, out)
	}
}

// TestExpiredStaffTokenRefused: a cadre's token expires after the staff
// TTL (a resident's does not): refused on HTTP (401, saying it expired)
// and its open WebSocket closed with 1008 "token expired".
func TestExpiredStaffTokenRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StaffTokenTTL = time.Hour })
	_, cadTok := e.member(storage.RoleCadre, 0, inside)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	code, out := e.call("GET", "/api/v1/me/token", cadTok, nil)
	info := out["token_info"].(map[string]any)
	exp, err := time.Parse(time.RFC3339, fmt.Sprint(info["expires_at"]))
	if code != 200 || err != nil || info["kind"] != "member" || info["current"] != true {
		t.Fatalf("the cadre's token: %d %v", code, out)
	}
	if d := time.Until(exp); d < 50*time.Minute || d > 70*time.Minute {
		t.Fatalf("the cadre's token expires in %v, want about an hour", d)
	}
	if _, out := e.call("GET", "/api/v1/me/token", resTok, nil); out["token_info"].(map[string]any)["expires_at"] != nil {
		t.Fatalf("a resident's token expires: %v", out)
	}
	ws := e.dial(cadTok)
	ws.welcome()

	e.advance(61 * time.Minute)
	code, out = e.call("GET", "/api/v1/me", cadTok, nil)
	wantUnauthorized(t, code, out, "expired")
	wantPolicyClose(t, closedWithin(t, ws, 10*time.Second), "token expired")
	if code, _ := e.call("GET", "/api/v1/me", resTok, nil); code != 200 {
		t.Fatalf("the resident's token after an hour: %d", code)
	}
	// The admin's one-time bootstrap token does not expire.
	if code, _ := e.call("GET", "/api/v1/me", e.admin, nil); code != 200 {
		t.Fatalf("the bootstrap token after an hour: %d", code)
	}
}

// TestRotateToken: a member replaces its token: the new one works, the
// old one is revoked (its WebSocket closed with "token rotated") and
// cannot rotate again; a staff member's new token gets a fresh expiry.
func TestRotateToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StaffTokenTTL = time.Hour })
	m, old := e.member(storage.RoleCommander, -1, inside)
	ws := e.dial(old)
	ws.welcome()
	oldID := e.tokenOf(old)
	e.advance(30 * time.Minute)

	code, out := e.call("POST", "/api/v1/me/token/rotate", old, nil)
	if code != 201 {
		t.Fatalf("rotate: %d %v", code, out)
	}
	tok := out["token"].(string)
	info := out["token_info"].(map[string]any)
	if tok == "" || tok == old || info["kind"] != "rotated" || info["member_id"] != m.ID || info["created_by"] != m.ID ||
		info["current"] != true || info["id"] == oldID {
		t.Fatalf("rotated token: %v", out)
	}
	exp, _ := time.Parse(time.RFC3339, fmt.Sprint(info["expires_at"]))
	if d := exp.Sub(e.now()); d < 50*time.Minute {
		t.Fatalf("the rotated staff token expires in %v, want a fresh hour", d)
	}
	wantPolicyClose(t, closedWithin(t, ws, 10*time.Second), "token rotated")
	code, out = e.call("GET", "/api/v1/me", old, nil)
	wantUnauthorized(t, code, out, "revoked")
	code, out = e.call("POST", "/api/v1/me/token/rotate", old, nil)
	wantUnauthorized(t, code, out, "revoked")
	if code, out := e.call("GET", "/api/v1/me", tok, nil); code != 200 || out["member"].(map[string]any)["id"] != m.ID {
		t.Fatalf("the new token: %d %v", code, out)
	}
	// Rotating keeps working for every role (a resident here).
	_, res := e.member(storage.RoleResident, 0, inside)
	code, out = e.call("POST", "/api/v1/me/token/rotate", res, nil)
	if code != 201 || out["token_info"].(map[string]any)["expires_at"] != nil {
		t.Fatalf("a resident rotates: %d %v", code, out)
	}
}

// TestTokenRoutesRoles: who may list, issue and revoke whose tokens, and
// list every token holder (docs/API.md v1.4's role table).
func TestTokenRoutesRoles(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	res, pat, cad, cad1, com := e.roleCast()
	code, out := e.call("POST", "/api/v1/members", e.admin, map[string]any{"name": "admin2", "role": "admin"})
	if code != 201 {
		t.Fatalf("second admin: %d %v", code, out)
	}
	adm2 := who{"admin2", out["token"].(string), storage.Member{ID: out["member"].(map[string]any)["id"].(string)}}
	adm := who{"admin", e.admin, storage.Member{}}
	all := []who{res, pat, cad, cad1, com, adm, adm2}

	cases := []struct {
		action string
		method string
		path   func() string // evaluated per caller: revocations need a fresh token
		allow  map[string]int
		deny   map[string]int // role name -> status when not allowed (absent: 404)
	}{
		{"list a resident's tokens", "GET", func() string { return "/api/v1/members/" + res.m.ID + "/tokens" },
			map[string]int{"resident": 200, "commander": 200, "admin": 200, "admin2": 200}, map[string]int{"cadre": 403}},
		{"list an admin's tokens", "GET", func() string { return "/api/v1/members/" + adm2.m.ID + "/tokens" },
			map[string]int{"admin": 200, "admin2": 200}, map[string]int{"commander": 403}},
		{"issue a resident a token", "POST", func() string { return "/api/v1/members/" + res.m.ID + "/tokens" },
			map[string]int{"commander": 201, "admin": 201, "admin2": 201}, map[string]int{"resident": 403, "cadre": 403}},
		{"issue an admin a token", "POST", func() string { return "/api/v1/members/" + adm2.m.ID + "/tokens" },
			map[string]int{"admin": 201, "admin2": 201}, map[string]int{"commander": 403}},
		{"issue a commander a token", "POST", func() string { return "/api/v1/members/" + com.m.ID + "/tokens" },
			map[string]int{"commander": 201, "admin": 201, "admin2": 201}, nil},
		{"revoke one of a patrol's tokens", "DELETE", func() string {
			_, out := e.call("POST", "/api/v1/members/"+pat.m.ID+"/tokens", e.admin, nil)
			return "/api/v1/tokens/" + out["token_info"].(map[string]any)["id"].(string)
		}, map[string]int{"patrol": 200, "commander": 200, "admin": 200, "admin2": 200}, map[string]int{"cadre": 403}},
		{"revoke one of an admin's tokens", "DELETE", func() string {
			_, out := e.call("POST", "/api/v1/members/"+adm2.m.ID+"/tokens", e.admin, nil)
			return "/api/v1/tokens/" + out["token_info"].(map[string]any)["id"].(string)
		}, map[string]int{"admin": 200, "admin2": 200}, map[string]int{"commander": 403}},
		{"who holds a token", "GET", func() string { return "/api/v1/tokens?active=1" },
			map[string]int{"admin": 200, "admin2": 200}, map[string]int{"resident": 403, "patrol": 403, "cadre": 403,
				"cadre-other-village": 403, "commander": 403}},
	}
	for _, c := range cases {
		for _, w := range all {
			want, ok := c.allow[w.name]
			if !ok {
				want = 404
				if d, ok := c.deny[w.name]; ok {
					want = d
				}
			}
			code, out := e.call(c.method, c.path(), w.tok, nil)
			if code != want {
				t.Errorf("%s as %s: %d %v, want %d", c.action, w.name, code, out, want)
			}
		}
	}
	code, _ = e.call("DELETE", "/api/v1/tokens/tk_nosuchtoken", e.admin, nil)
	if code != 404 {
		t.Errorf("revoke a token that does not exist: %d, want 404", code)
	}
	// Revoking twice answers the same revocation.
	_, out = e.call("POST", "/api/v1/members/"+res.m.ID+"/tokens", e.admin, nil)
	id := out["token_info"].(map[string]any)["id"].(string)
	_, first := e.call("DELETE", "/api/v1/tokens/"+id, e.admin, nil)
	code, again := e.call("DELETE", "/api/v1/tokens/"+id, e.admin, nil)
	if code != 200 || first["token_info"].(map[string]any)["revoked_at"] != again["token_info"].(map[string]any)["revoked_at"] {
		t.Errorf("revoke twice: %d %v, then %v", code, first, again)
	}
}

// TestIssueTokenExpiry: an issued token carries who issued it and the
// expiry asked for; a staff token may not outlast the staff TTL; bad
// expiries are refused.
func TestIssueTokenExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.StaffTokenTTL = 24 * time.Hour })
	com, comTok := e.member(storage.RoleCommander, -1, inside)
	res, _ := e.member(storage.RoleResident, 0, inside)
	cad, _ := e.member(storage.RoleCadre, 0, inside)

	code, out := e.call("POST", "/api/v1/members/"+res.ID+"/tokens", comTok, map[string]any{"expires_in_s": 3600})
	if code != 201 {
		t.Fatalf("issue: %d %v", code, out)
	}
	info := out["token_info"].(map[string]any)
	exp, _ := time.Parse(time.RFC3339, fmt.Sprint(info["expires_at"]))
	if info["kind"] != "issued" || info["created_by"] != com.ID || info["member_id"] != res.ID || info["current"] != false ||
		exp.Sub(e.now()) < 50*time.Minute || exp.Sub(e.now()) > 70*time.Minute {
		t.Fatalf("issued token: %v", out)
	}
	if code, _ := e.call("GET", "/api/v1/me", out["token"].(string), nil); code != 200 {
		t.Fatalf("the issued token: %d", code)
	}
	code, out = e.call("POST", "/api/v1/members/"+cad.ID+"/tokens", comTok, nil)
	if code != 201 || out["token_info"].(map[string]any)["expires_at"] == nil {
		t.Fatalf("a cadre's token without an expiry asked: %d %v", code, out)
	}
	for _, body := range []any{
		map[string]any{"expires_in_s": 0}, map[string]any{"expires_in_s": -5}, map[string]any{"expires_in_s": 30},
		map[string]any{"expires_in_s": "3600"}, map[string]any{"expires_in_s": 400 * 365 * 24 * 3600},
	} {
		if code, out := e.call("POST", "/api/v1/members/"+res.ID+"/tokens", comTok, body); code != 400 {
			t.Errorf("issue with %v: %d %v, want 400", body, code, out)
		}
	}
	if code, out := e.call("POST", "/api/v1/members/"+cad.ID+"/tokens", comTok, map[string]any{"expires_in_s": 48 * 3600}); code != 400 {
		t.Errorf("a cadre's token past the staff TTL: %d %v, want 400", code, out)
	}
}

// TestWhoHoldsATokenListsNoSecrets: the admin's list of token holders
// pages, names each holder and never carries a secret or a hash.
func TestWhoHoldsATokenListsNoSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var secrets []string
	for range 3 {
		_, tok := e.member(storage.RoleResident, 0, inside)
		secrets = append(secrets, tok)
	}
	m, revoked := e.member(storage.RoleResident, 0, inside)
	secrets = append(secrets, revoked, e.admin)
	if code, _ := e.call("POST", "/api/v1/members/"+m.ID+"/tokens/revoke", e.admin, nil); code != 200 {
		t.Fatal("revoke")
	}
	var ids []string
	after := ""
	for range 10 {
		code, raw := e.callRaw("GET", "/api/v1/tokens?active=1&limit=2&after="+after, e.admin, nil)
		if code != 200 {
			t.Fatalf("list: %d %s", code, raw)
		}
		for _, s := range secrets {
			if strings.Contains(string(raw), s) {
				t.Fatalf("the list carries a secret: %s", raw)
			}
		}
		if strings.Contains(string(raw), "hash") {
			t.Fatalf("the list carries a hash: %s", raw)
		}
		_, out := e.call("GET", "/api/v1/tokens?active=1&limit=2&after="+after, e.admin, nil)
		for _, x := range out["tokens"].([]any) {
			tk := x.(map[string]any)
			holder := tk["member"].(map[string]any)
			if tk["active"] != true || holder["id"] != tk["member_id"] || holder["name"] == "" || holder["role"] == "" {
				t.Fatalf("a listed token: %v", tk)
			}
			if tk["member_id"] == m.ID {
				t.Fatalf("a revoked token listed as active: %v", tk)
			}
			ids = append(ids, tk["id"].(string))
		}
		if out["next"] == nil {
			break
		}
		after = out["next"].(string)
	}
	if len(ids) != 4 { // three residents and the admin
		t.Fatalf("%d active tokens listed, want 4: %v", len(ids), ids)
	}
	_, out := e.call("GET", "/api/v1/tokens", e.admin, nil)
	if n := len(out["tokens"].([]any)); n != 5 {
		t.Fatalf("%d tokens in all, want 5 (the revoked one too)", n)
	}
	for _, bad := range []string{"?limit=0", "?limit=1001", "?limit=x", "?active=maybe"} {
		if code, _ := e.call("GET", "/api/v1/tokens"+bad, e.admin, nil); code != 400 {
			t.Errorf("GET /api/v1/tokens%s: %d, want 400", bad, code)
		}
	}
}

// TestTokenLastUsed: a token's last use is recorded (at most once a
// minute, written in the background).
func TestTokenLastUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.TokenCheckInterval = 100 * time.Millisecond })
	m, tok := e.member(storage.RoleResident, 0, inside)
	if code, _ := e.call("GET", "/api/v1/me", tok, nil); code != 200 {
		t.Fatal("me")
	}
	for i := 0; ; i++ {
		_, out := e.call("GET", "/api/v1/members/"+m.ID+"/tokens", e.admin, nil)
		if out["tokens"].([]any)[0].(map[string]any)["last_used_at"] != nil {
			break
		}
		if i > 100 {
			t.Fatalf("last_used_at not recorded: %v", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBootstrapTokenReplaced: -admin-token (EnsureAdmin) must be long; a
// new one revokes the previous bootstrap token (the printed one too),
// and a revoked one is refused at start rather than brought back.
func TestBootstrapTokenReplaced(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.h.EnsureAdmin(ctx, "short-admin-token"); err == nil || !strings.Contains(err.Error(), "32") {
		t.Fatalf("a short admin token: %v, want refused", err)
	}
	a := strings.Repeat("a", 32)
	b := strings.Repeat("b", 40)
	if _, err := e.h.EnsureAdmin(ctx, a); err != nil {
		t.Fatal(err)
	}
	code, out := e.call("GET", "/api/v1/me", e.admin, nil)
	wantUnauthorized(t, code, out, "revoked") // the printed one-time token
	code, out = e.call("GET", "/api/v1/me/token", a, nil)
	if code != 200 || out["token_info"].(map[string]any)["kind"] != "bootstrap" || out["token_info"].(map[string]any)["expires_at"] != nil {
		t.Fatalf("the bootstrap token: %d %v", code, out)
	}
	if _, err := e.h.EnsureAdmin(ctx, a); err != nil { // a restart with the same one
		t.Fatal(err)
	}
	if code, _ := e.call("GET", "/api/v1/me", a, nil); code != 200 {
		t.Fatalf("the bootstrap token after a restart with it: %d", code)
	}
	ws := e.dial(a)
	ws.welcome()
	if _, err := e.h.EnsureAdmin(ctx, b); err != nil {
		t.Fatal(err)
	}
	code, out = e.call("GET", "/api/v1/me", a, nil)
	wantUnauthorized(t, code, out, "revoked")
	wantPolicyClose(t, closedWithin(t, ws, 10*time.Second), "token revoked")
	if code, _ := e.call("GET", "/api/v1/me", b, nil); code != 200 {
		t.Fatalf("the new bootstrap token: %d", code)
	}
	if _, err := e.h.EnsureAdmin(ctx, a); err == nil || !strings.Contains(err.Error(), "revoked") {
		t.Fatalf("the revoked admin token given again: %v, want refused", err)
	}
	_, res := e.member(storage.RoleResident, 0, inside)
	if _, err := e.h.EnsureAdmin(ctx, res); err == nil || !strings.Contains(err.Error(), "not an admin") {
		t.Fatalf("a resident's token given as the admin token: %v, want refused", err)
	}
	n, err := e.store.CountMembers(ctx, storage.RoleAdmin)
	if err != nil || n != 1 {
		t.Fatalf("%d admins (%v), want still the one", n, err)
	}
}
