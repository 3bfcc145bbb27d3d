package main

import (
	"fmt"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/longyou/hub/notify/twiliofake"
)

// TestCallsExactlyOnceAcrossKill9 (issue 12): hubd is killed while its
// request to place an alert call is in flight (Twilio has the call, the
// answer never came back) and other calls are claimed behind it. After the
// restart the in-doubt call is reconciled through Twilio's call list:
// every due member is called exactly once, none twice.
func TestCallsExactlyOnceAcrossKill9(t *testing.T) {
	const sid, token = "AC00000000000000000000000000000004", "0123456789abcdef0123456789abcdef"
	fake := twiliofake.New(sid, token)
	fsrv := httptest.NewServer(fake)
	defer fsrv.Close()
	defer fake.Close()

	dir := t.TempDir()
	addr := freeAddr(t)
	env := []string{"TWILIO_ACCOUNT_SID=" + sid, "TWILIO_AUTH_TOKEN=" + token, "TWILIO_FROM=+15005550006",
		"TWILIO_API_URL=" + fsrv.URL, "TWILIO_MESSAGING_SERVICE_SID=", "TWILIO_VOICE_FROM=+15005550009"}
	const admin = "test-admin-token-0123456789abcdef"
	args := []string{"-data", dir, "-admin-token", admin, "-sms-rate", "50", "-voice-rate", "50", "-node-id", "node-a",
		"-public-url", "http://" + addr}
	p := startEnv(t, addr, env, args...)

	vid := p.village(admin, "塘头村", "溪口镇")
	var phones []string
	for i := range 6 {
		phone := fmt.Sprintf("+861380002%04d", i)
		phones = append(phones, phone)
		if code, out := p.call("POST", "/api/v1/members", admin, map[string]any{"name": fmt.Sprint("村民", i), "phone": phone,
			"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}}); code != 201 {
			t.Fatalf("member: %d %v", code, out)
		}
	}
	_, release := fake.Hold()
	code, out := p.call("POST", "/api/v1/alerts", admin, map[string]any{"kind": "warning", "severity": "extreme",
		"title": "水库泄洪", "body": "请远离河道", "sms_fallback_after_s": 0, "voice_after_s": 0,
		"area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 2000}}})
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(fake.Calls()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no call request reached Twilio\n%s", p.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	release()
	if n := len(fake.Calls()); n != 1 {
		t.Fatalf("Twilio accepted %d calls before the kill, want 1 (one in flight)", n)
	}

	p2 := startEnv(t, addr, env, args...)
	deadline = time.Now().Add(30 * time.Second)
	for len(fake.Calls()) < len(phones) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d calls after the restart\n%s", len(fake.Calls()), len(phones), p2.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would show up now
	count := map[string]int{}
	for _, c := range fake.Calls() {
		count[c.To]++
		if c.From != "+15005550009" {
			t.Errorf("call from %s, want TWILIO_VOICE_FROM", c.From)
		}
	}
	for _, ph := range phones {
		if count[ph] != 1 {
			t.Fatalf("%s was called %d times, want exactly once (all: %v)", ph, count[ph], count)
		}
	}
	if st := fake.Stats(); st.CallLists == 0 {
		t.Fatalf("the in-doubt call was not reconciled through Twilio's call list (stats %+v)", st)
	}
}
