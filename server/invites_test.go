package server

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

var (
	inviteLinkRE = regexp.MustCompile(`/m\?invite=([A-Za-z0-9_-]+)`)
	answerLinkRE = regexp.MustCompile(`/a/([A-Za-z0-9_-]+)$`)
	loginCodeRE  = regexp.MustCompile(`验证码：([0-9]{6})`)
)

// smsTo returns the bodies of the SMS Twilio accepted for phone.
func (e *twilioEnv) smsTo(phone string) []string {
	var out []string
	for _, m := range e.fake.Messages() {
		if m.To == phone {
			out = append(out, m.Body)
		}
	}
	return out
}

// waitSMS waits for the n-th SMS to phone and returns its body.
func (e *twilioEnv) waitSMS(t *testing.T, phone string, n int) string {
	t.Helper()
	waitFor(t, fmt.Sprintf("SMS #%d to %s", n, phone), func() bool { return len(e.smsTo(phone)) >= n })
	return e.smsTo(phone)[n-1]
}

func match(t *testing.T, re *regexp.Regexp, s string) string {
	t.Helper()
	m := re.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%q does not match %s", s, re)
	}
	return m[1]
}

// TestInvitations: an invitation SMS carries a personal link that signs in
// once; a second accept, an expired link and a link replaced by a newer
// invitation are refused with 401; a cadre invites its own village only.
func TestInvitations(t *testing.T) {
	e := newTwilioEnv(t)
	res, _ := e.member(storage.RoleResident, 0, inside)
	other, _ := e.member(storage.RoleResident, 1, inside)
	cadre, cadreTok := e.member(storage.RoleCadre, 1, inside)
	_ = cadre

	code, out := e.call("POST", "/api/v1/invitations", e.admin, map[string]any{"member_ids": []string{res.ID}})
	if code != 202 || num(out["invited"]) != 1 || num(out["skipped_no_phone"]) != 0 {
		t.Fatalf("invite: %d %v", code, out)
	}
	body := e.waitSMS(t, res.Phone, 1)
	if !strings.Contains(body, res.Name) || !strings.Contains(body, "Alpha") || !strings.Contains(body, "7天内有效") {
		t.Errorf("invitation SMS: %q", body)
	}
	if n, _ := notify.Segments(body); n > 2 {
		t.Errorf("invitation SMS of %d segments: %q", n, body)
	}
	secret := match(t, inviteLinkRE, body)

	code, out = e.call("POST", "/api/v1/invitations/accept", "", map[string]any{"invite": secret})
	if code != 200 || out["member"].(map[string]any)["id"] != res.ID {
		t.Fatalf("accept: %d %v", code, out)
	}
	tok := out["token"].(string)
	if code, out := e.call("GET", "/api/v1/me", tok, nil); code != 200 || out["member"].(map[string]any)["id"] != res.ID {
		t.Fatalf("me with the new token: %d %v", code, out)
	}
	if code, out := e.call("GET", "/api/v1/me/token", tok, nil); code != 200 || out["token_info"].(map[string]any)["kind"] != "invite" {
		t.Fatalf("the new token's kind: %d %v", code, out)
	}
	code, out = e.call("POST", "/api/v1/invitations/accept", "", map[string]any{"invite": secret})
	if code != 401 || errCode(out) != "unauthorized" || !strings.Contains(fmt.Sprint(out), "used") {
		t.Fatalf("second accept: %d %v", code, out)
	}
	if strings.Contains(fmt.Sprint(out), res.ID) || strings.Contains(fmt.Sprint(out), res.Name) {
		t.Fatalf("the refusal names the member: %v", out)
	}
	// The token revokes like any other.
	if code, _ := e.call("POST", "/api/v1/members/"+res.ID+"/tokens/revoke", e.admin, nil); code != 200 {
		t.Fatalf("revoke: %d", code)
	}
	if code, _ := e.call("GET", "/api/v1/me", tok, nil); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}

	// Re-invite: the older unused link dies, the newer works.
	e.call("POST", "/api/v1/invitations", e.admin, map[string]any{"member_ids": []string{other.ID}})
	old := match(t, inviteLinkRE, e.waitSMS(t, other.Phone, 1))
	e.call("POST", "/api/v1/invitations", e.admin, map[string]any{"member_ids": []string{other.ID}})
	newer := match(t, inviteLinkRE, e.waitSMS(t, other.Phone, 2))
	if code, _ := e.call("POST", "/api/v1/invitations/accept", "", map[string]any{"invite": old}); code != 401 {
		t.Fatalf("replaced link: %d", code)
	}
	// Expired after -invite-ttl (7 days).
	e.advance(7*24*time.Hour + time.Minute)
	if code, _ := e.call("POST", "/api/v1/invitations/accept", "", map[string]any{"invite": newer}); code != 401 {
		t.Fatalf("expired link: %d", code)
	}
	// Unknown and malformed.
	for _, bad := range []any{map[string]any{"invite": "nope"}, map[string]any{"invite": ""}, map[string]any{}} {
		if code, _ := e.call("POST", "/api/v1/invitations/accept", "", bad); code != 401 {
			t.Fatalf("accept %v: %d", bad, code)
		}
	}
	if code, out := e.call("POST", "/api/v1/invitations/accept", "", "not json"); code != 400 {
		t.Fatalf("bad JSON: %d %v", code, out)
	}

	// Roles: a cadre invites its own village's members only.
	if code, out := e.call("POST", "/api/v1/invitations", cadreTok, map[string]any{"member_ids": []string{res.ID}}); code != 403 {
		t.Fatalf("cadre of another village: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/invitations", cadreTok, map[string]any{"village_id": e.villages[0].ID}); code != 403 {
		t.Fatalf("cadre, another village: %d %v", code, out)
	}
	if code, out := e.call("POST", "/api/v1/invitations", cadreTok, map[string]any{"member_ids": []string{other.ID}}); code != 202 || num(out["invited"]) != 1 {
		t.Fatalf("cadre, own village: %d %v", code, out)
	}
	_, resTok := e.member(storage.RoleResident, 0, inside)
	if code, _ := e.call("POST", "/api/v1/invitations", resTok, map[string]any{"member_ids": []string{res.ID}}); code != 403 {
		t.Fatalf("resident invites: %d", code)
	}
	for _, bad := range []map[string]any{{}, {"member_ids": []string{}}, {"member_ids": []string{res.ID}, "village_id": e.villages[0].ID}} {
		if code, _ := e.call("POST", "/api/v1/invitations", e.admin, bad); code != 400 {
			t.Fatalf("invite %v: %d", bad, code)
		}
	}
	if code, _ := e.call("POST", "/api/v1/invitations", e.admin, map[string]any{"member_ids": []string{"m_nobody"}}); code != 404 {
		t.Fatalf("invite an unknown member: %d", code)
	}
}

// TestInviteNotSignedIn: signed_in shows on staff views and filters the
// member list; inviting the not signed in of a village skips members who
// signed in and those without a phone.
func TestInviteNotSignedIn(t *testing.T) {
	e := newTwilioEnv(t)
	a, aTok := e.member(storage.RoleResident, 0, inside)
	b, _ := e.member(storage.RoleResident, 0, inside)
	e.member(storage.RoleResident, 1, inside)
	if code, _ := e.call("GET", "/api/v1/me", aTok, nil); code != 200 { // a signs in
		t.Fatal(code)
	}
	// The last use is written within a second or so (RunTokens).
	waitFor(t, "a signed in", func() bool {
		_, out := e.call("GET", "/api/v1/members/"+a.ID, e.admin, nil)
		return out["member"].(map[string]any)["signed_in"] == true
	})
	_, out := e.call("GET", "/api/v1/members?role=resident&village_id="+e.villages[0].ID+"&signed_in=false", e.admin, nil)
	ms := out["members"].([]any)
	if len(ms) != 1 || ms[0].(map[string]any)["id"] != b.ID || ms[0].(map[string]any)["signed_in"] != false {
		t.Fatalf("not signed in: %v", out)
	}
	if _, out := e.call("GET", "/api/v1/me", aTok, nil); out["member"].(map[string]any)["signed_in"] != nil {
		t.Fatalf("own view shows signed_in: %v", out)
	}
	if code, _ := e.call("GET", "/api/v1/members?role=resident&signed_in=maybe", e.admin, nil); code != 400 {
		t.Fatalf("bad signed_in: %d", code)
	}
	code, out := e.call("POST", "/api/v1/invitations", e.admin, map[string]any{"not_signed_in": true, "village_id": e.villages[0].ID})
	// b, and the admin-less village 0 has no other not signed in member
	// with a phone.
	if code != 202 || num(out["invited"]) != 1 {
		t.Fatalf("invite not signed in: %d %v", code, out)
	}
	e.waitSMS(t, b.Phone, 1)
	if n := len(e.smsTo(a.Phone)); n != 0 {
		t.Fatalf("a signed-in member got %d invitations", n)
	}
}

// TestLoginCode: a code asked for an unknown number is answered as for a
// member and sends nothing; a member's code signs in once; five wrong
// codes burn it; a second code within a minute is 429.
func TestLoginCode(t *testing.T) {
	e := newTwilioEnv(t)
	m, _ := e.member(storage.RoleResident, 0, inside)

	code, out := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": "+8613999999999"})
	if code != 202 || out["sent"] != true {
		t.Fatalf("unknown number: %d %v", code, out)
	}
	code, out2 := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": m.Phone})
	if code != 202 || fmt.Sprint(out2) != fmt.Sprint(out) {
		t.Fatalf("member's number: %d %v (unknown: %v)", code, out2, out)
	}
	body := e.waitSMS(t, m.Phone, 1)
	c := match(t, loginCodeRE, body)
	time.Sleep(300 * time.Millisecond)
	if n := len(e.smsTo("+8613999999999")); n != 0 {
		t.Fatalf("an unknown number got %d SMS", n)
	}
	// Rate limits apply to both numbers alike.
	for _, phone := range []string{m.Phone, "+8613999999999"} {
		if code, out := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": phone}); code != 429 || errCode(out) != "rate_limited" {
			t.Fatalf("second code within a minute for %s: %d %v", phone, code, out)
		}
	}
	// A wrong code, then the right one; then it is spent.
	wrong := "000000"
	if c == wrong {
		wrong = "111111"
	}
	if code, _ := e.call("POST", "/api/v1/login/verify", "", map[string]any{"phone": m.Phone, "code": wrong}); code != 401 {
		t.Fatalf("wrong code: %d", code)
	}
	// The number as people type it (no +86) finds the same code.
	local := strings.TrimPrefix(m.Phone, "+86")
	code, out = e.call("POST", "/api/v1/login/verify", "", map[string]any{"phone": local, "code": c})
	if code != 200 || out["member"].(map[string]any)["id"] != m.ID {
		t.Fatalf("verify: %d %v", code, out)
	}
	if code, _ := e.call("GET", "/api/v1/me", out["token"].(string), nil); code != 200 {
		t.Fatalf("me with the login token: %d", code)
	}
	if code, _ := e.call("POST", "/api/v1/login/verify", "", map[string]any{"phone": m.Phone, "code": c}); code != 401 {
		t.Fatalf("second verify: %d", code)
	}
	// A new code a minute later: five wrong tries burn it.
	e.advance(61 * time.Second)
	if code, _ := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": m.Phone}); code != 202 {
		t.Fatalf("code after a minute: %d", code)
	}
	c2 := match(t, loginCodeRE, e.waitSMS(t, m.Phone, 2))
	wrong = "000000"
	if c2 == wrong {
		wrong = "111111"
	}
	for range 5 {
		if code, _ := e.call("POST", "/api/v1/login/verify", "", map[string]any{"phone": m.Phone, "code": wrong}); code != 401 {
			t.Fatalf("wrong code: %d", code)
		}
	}
	if code, _ := e.call("POST", "/api/v1/login/verify", "", map[string]any{"phone": m.Phone, "code": c2}); code != 401 {
		t.Fatalf("the right code after 5 wrong ones: %d", code)
	}
	if code, _ := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": "12"}); code != 400 {
		t.Fatalf("a bad number: %d", code)
	}
	if code, _ := e.call("POST", "/api/v1/login/verify", "", map[string]any{"phone": m.Phone, "code": "12ab"}); code != 400 {
		t.Fatalf("a bad code: %d", code)
	}
}

// TestLoginCodeHourLimit: five codes an hour per number, then 429 until
// the hour has passed.
func TestLoginCodeHourLimit(t *testing.T) {
	e := newEnv(t)
	for i := range 5 {
		if code, out := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": "+8613900000001"}); code != 202 {
			t.Fatalf("code %d: %d %v", i, code, out)
		}
		e.advance(61 * time.Second)
	}
	if code, _ := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": "+8613900000001"}); code != 429 {
		t.Fatalf("sixth code in the hour: %d", code)
	}
	e.advance(time.Hour)
	if code, _ := e.call("POST", "/api/v1/login/code", "", map[string]any{"phone": "+8613900000001"}); code != 202 {
		t.Fatalf("code after the hour: %d", code)
	}
}

// TestAnswerLink: the alert SMS carries a personal answer link within two
// segments (long Chinese body); the link shows the alert and records an
// answer as the member's own (progress, recipients); a forged code is
// 404; after a cancel the link shows the end and answers are 409.
func TestAnswerLink(t *testing.T) {
	e := newTwilioEnv(t)
	m, _ := e.member(storage.RoleResident, 0, inside)
	long := strings.Repeat("请立即转移到村委会二楼避险，带好身份证和药品。", 10)
	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000,
		map[string]any{"sms_fallback_after_s": 0, "body": long, "kind": "mobilization"}))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	body := e.waitSMS(t, m.Phone, 1)
	if n, _ := notify.Segments(body); n > 2 {
		t.Errorf("alert SMS of %d segments: %q", n, body)
	}
	if !strings.Contains(body, e.srv.URL+"/a/") {
		t.Fatalf("alert SMS without the answer link: %q", body)
	}
	c := match(t, answerLinkRE, body)

	code, out = e.call("GET", "/api/v1/answer/"+c, "", nil)
	al, _ := out["alert"].(map[string]any)
	if code != 200 || al["id"] != alertID || al["status"] != "active" || out["response"] != "" || al["kind"] != "mobilization" {
		t.Fatalf("answer page: %d %v", code, out)
	}
	if name := out["name"].(string); []rune(name)[0] != []rune(m.Name)[0] || !strings.Contains(name, "*") {
		t.Errorf("name %q is not masked", name)
	}
	if strings.Contains(fmt.Sprint(out), m.Phone) {
		t.Errorf("the answer page shows the phone: %v", out)
	}
	code, out = e.call("POST", "/api/v1/answer/"+c, "", map[string]any{"response": "need_help", "note": "腿受伤"})
	if code != 200 || out["ack"].(map[string]any)["response"] != "need_help" {
		t.Fatalf("answer: %d %v", code, out)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+alertID, e.admin, nil)
	if acked := out["progress"].(map[string]any)["acked"].(map[string]any); num(acked["need_help"]) != 1 {
		t.Fatalf("progress: %v", out["progress"])
	}
	_, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients", e.admin, nil)
	found := false
	for _, r := range out["recipients"].([]any) {
		r := r.(map[string]any)
		if r["member_id"] == m.ID {
			found = r["response"] == "need_help" && r["note"] == "腿受伤"
		}
	}
	if !found {
		t.Fatalf("recipients: %v", out)
	}
	if _, out := e.call("GET", "/api/v1/answer/"+c, "", nil); out["response"] != "need_help" {
		t.Fatalf("answer page after the answer: %v", out)
	}
	// Bad input and forged codes.
	if code, _ := e.call("POST", "/api/v1/answer/"+c, "", map[string]any{"response": "maybe"}); code != 400 {
		t.Fatalf("bad response: %d", code)
	}
	forged := []byte(c)
	forged[len(forged)-1] ^= 1
	if forged[len(forged)-1] == '-' || forged[len(forged)-1] == '_' {
		forged[len(forged)-1] = 'A'
	}
	for _, bad := range []string{string(forged), "x", url.PathEscape("../../me"), strings.Repeat("A", 600)} {
		if code, out := e.call("GET", "/api/v1/answer/"+bad, "", nil); code != 404 || errCode(out) != "not_found" {
			t.Fatalf("GET %q: %d %v", bad, code, out)
		}
		if code, _ := e.call("POST", "/api/v1/answer/"+bad, "", map[string]any{"response": "safe"}); code != 404 {
			t.Fatalf("POST %q: %d", bad, code)
		}
	}
	// Cancelled: GET says so, POST is 409; the all-clear keeps /m.
	if code, _ := e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", e.admin, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	if _, out := e.call("GET", "/api/v1/answer/"+c, "", nil); out["alert"].(map[string]any)["status"] != "cancelled" {
		t.Fatalf("answer page after the cancel: %v", out)
	}
	code, out = e.call("POST", "/api/v1/answer/"+c, "", map[string]any{"response": "safe"})
	if code != 409 || errCode(out) != "conflict" || !strings.Contains(fmt.Sprint(out), "alert has ended") {
		t.Fatalf("answer after the cancel: %d %v", code, out)
	}
	allClear := e.waitSMS(t, m.Phone, 2)
	if !strings.HasSuffix(allClear, e.srv.URL+"/m") {
		t.Fatalf("all-clear SMS: %q", allClear)
	}
	// The page itself is served (503 "not built" without web/build.sh).
	if code, raw := e.callRaw("GET", "/a/"+c, "", nil); (code != 200 && code != 503) || !strings.Contains(string(raw), "<html") {
		t.Fatalf("GET /a/: %d %.200s", code, raw)
	}
}
