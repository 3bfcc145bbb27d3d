package server

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

// recordingSender is a notify.Sender that remembers what it was asked to
// send (the SMS policy is under test here, not a provider).
type recordingSender struct {
	mu   sync.Mutex
	msgs []notify.Message
}

func (s *recordingSender) Send(_ context.Context, m notify.Message) (notify.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	n, _ := notify.Segments(m.Body)
	return notify.Result{ProviderID: "SM" + m.Key, Status: "queued", Segments: n}, nil
}

func (s *recordingSender) to(phone string) []notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []notify.Message
	for _, m := range s.msgs {
		if m.To == phone {
			out = append(out, m)
		}
	}
	return out
}

// waitFor polls cond until it holds, failing after 30 s: a bound for a
// test that would otherwise hang, not a speed check (a loaded 2-core
// machine under -race sends 300 SMS through the fake in 7-20 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSMSFallbackPolicy: offline members get an SMS at once; connected
// ones after sms_fallback_after_s unless they answered; cancelling sends
// the all-clear to those who got the alert by SMS.
func TestSMSFallbackPolicy(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.PublicURL = "https://hub.example" })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	offline, _ := e.member(storage.RoleResident, 0, inside)
	silent, silentTok := e.member(storage.RoleResident, 0, inside)
	answers, answersTok := e.member(storage.RoleResident, 0, inside)
	far, _ := e.member(storage.RoleResident, 0, outside)

	sc, ac := e.dial(silentTok), e.dial(answersTok)
	sc.welcome()
	ac.welcome()
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 120}))
	if code != 201 || num(out["targeted"]) != 3 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	f, _ := ac.nextOf("alert")
	if reply, _ := ac.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "safe"}); reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	_ = f

	waitFor(t, "the offline member's SMS", func() bool { return len(snd.to(offline.Phone)) == 1 })
	m := snd.to(offline.Phone)[0]
	if !strings.Contains(m.Body, "山洪预警") || !strings.Contains(m.Body, "https://hub.example/a/") {
		t.Fatalf("SMS text: %q", m.Body)
	}
	if n, _ := notify.Segments(m.Body); n > 2 {
		t.Fatalf("SMS has %d segments", n)
	}
	time.Sleep(1500 * time.Millisecond) // a dispatcher pass or two
	if len(snd.to(silent.Phone)) != 0 || len(snd.to(answers.Phone)) != 0 || len(snd.to(far.Phone)) != 0 {
		t.Fatalf("connected members got an SMS before the delay: %v", snd.msgs)
	}
	// After the delay the connected member who did not answer gets one,
	// the one who answered does not.
	e.advance(121 * time.Second)
	waitFor(t, "the silent member's SMS", func() bool { return len(snd.to(silent.Phone)) == 1 })
	time.Sleep(1500 * time.Millisecond)
	if len(snd.to(answers.Phone)) != 0 {
		t.Fatalf("a member who answered got an SMS")
	}
	waitFor(t, "SMS counts in progress", func() bool {
		_, out := e.call("GET", "/api/v1/alerts/"+alertID, cmdTok, nil)
		sms := out["progress"].(map[string]any)["sms"].(map[string]any)
		return num(sms["sent"]) == 2 && num(sms["queued"]) == 0
	})
	// The cancel sends the all-clear to the two who got the SMS, once.
	e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", cmdTok, nil)
	waitFor(t, "all-clear SMS", func() bool { return len(snd.to(offline.Phone)) == 2 && len(snd.to(silent.Phone)) == 2 })
	if b := snd.to(offline.Phone)[1].Body; !strings.Contains(b, "解除") {
		t.Fatalf("all-clear text: %q", b)
	}
	time.Sleep(1500 * time.Millisecond)
	if len(snd.to(offline.Phone)) != 2 || len(snd.to(answers.Phone)) != 0 {
		t.Fatalf("duplicate or stray SMS: %v", snd.msgs)
	}
}

// TestNoSMSWithoutFallback: without sms_fallback_after_s nobody gets one.
func TestNoSMSWithoutFallback(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	e.member(storage.RoleResident, 0, inside)
	if code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, nil)); code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	time.Sleep(1500 * time.Millisecond)
	if len(snd.msgs) != 0 {
		t.Fatalf("SMS sent without fallback: %v", snd.msgs)
	}
}
