package main

import (
	"fmt"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/longyou/hub/notify/twiliofake"
)

// TestSMSExactlyOnceAcrossKill9: hubd is killed while its request to
// Twilio is in flight (Twilio accepted the message, the answer never came
// back). After the restart the in-doubt row is reconciled through Twilio's
// message list: every due member has exactly one SMS, none twice.
func TestSMSExactlyOnceAcrossKill9(t *testing.T) {
	const sid, token = "AC00000000000000000000000000000002", "0123456789abcdef0123456789abcdef"
	fake := twiliofake.New(sid, token)
	fsrv := httptest.NewServer(fake)
	defer fsrv.Close()
	defer fake.Close()

	dir := t.TempDir()
	addr := freeAddr(t)
	env := []string{"TWILIO_ACCOUNT_SID=" + sid, "TWILIO_AUTH_TOKEN=" + token, "TWILIO_FROM=+15005550006",
		"TWILIO_API_URL=" + fsrv.URL, "TWILIO_MESSAGING_SERVICE_SID="}
	const admin = "test-admin-token-0123456789abcdef"
	args := []string{"-data", dir, "-admin-token", admin, "-sms-rate", "50", "-node-id", "node-a"}
	p := startEnv(t, addr, env, args...)

	vid := p.village(admin, "塘头村", "溪口镇")
	var phones []string
	for i := range 5 {
		phone := fmt.Sprintf("+861380000%04d", i)
		phones = append(phones, phone)
		if code, out := p.call("POST", "/api/v1/members", admin, map[string]any{"name": fmt.Sprint("村民", i), "phone": phone,
			"role": "resident", "village_id": vid, "home": map[string]any{"lat": 29.031, "lng": 119.171}}); code != 201 {
			t.Fatalf("member: %d %v", code, out)
		}
	}
	held, release := fake.Hold()
	code, out := p.call("POST", "/api/v1/alerts", admin, map[string]any{"kind": "warning", "severity": "extreme", "title": "水库泄洪", "body": "请远离河道",
		"area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.17, "radius_m": 2000}}, "sms_fallback_after_s": 0})
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	select {
	case <-held: // Twilio has the message; its answer is held back
	case <-time.After(20 * time.Second):
		t.Fatalf("no SMS request reached Twilio\n%s", p.logs)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
	release()
	if n := len(fake.Messages()); n != 1 {
		t.Fatalf("Twilio accepted %d messages before the kill, want 1", n)
	}

	p2 := startEnv(t, addr, env, args...)
	deadline := time.Now().Add(30 * time.Second)
	for len(fake.Messages()) < len(phones) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d SMS after the restart\n%s", len(fake.Messages()), len(phones), p2.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a duplicate would show up now
	count := map[string]int{}
	for _, m := range fake.Messages() {
		count[m.To]++
	}
	for _, ph := range phones {
		if count[ph] != 1 {
			t.Fatalf("%s got %d SMS, want exactly 1 (all: %v)", ph, count[ph], count)
		}
	}
	if st := fake.Stats(); st.Lists == 0 {
		t.Fatalf("the in-doubt row was not reconciled through Twilio's list (stats %+v)", st)
	}
}
