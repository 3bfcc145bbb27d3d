package server

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

// gatedSender records the SMS it is asked to send; the gate-th alert SMS
// stays at the "provider" (its Send does not return) until release is
// closed, as a request in flight when a cancel comes.
type gatedSender struct {
	gate    int
	blocked chan struct{} // closed when the gate-th alert SMS is in flight
	release chan struct{}

	mu     sync.Mutex
	msgs   []notify.Message
	alerts int
}

func newGatedSender(gate int) *gatedSender {
	return &gatedSender{gate: gate, blocked: make(chan struct{}), release: make(chan struct{})}
}

func (s *gatedSender) Send(ctx context.Context, m notify.Message) (notify.Result, error) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	if _, kind := keyParts(m.Key); kind == storage.MessageAlert {
		s.alerts++
		if s.alerts == s.gate {
			close(s.blocked)
			s.mu.Unlock()
			select {
			case <-s.release:
			case <-ctx.Done():
				return notify.Result{}, ctx.Err()
			}
			s.mu.Lock()
		}
	}
	s.mu.Unlock()
	return notify.Result{ProviderID: "SM" + m.Key, Status: "queued", Segments: 1}, nil
}

func (s *gatedSender) messages() []notify.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// keyParts splits an outbox key (storage.MessageKey.String:
// channel/ref type/ref id/member/kind) into its member and kind.
func keyParts(key string) (member, kind string) {
	p := strings.Split(key, "/")
	if len(p) != 5 {
		return "", ""
	}
	return p[3], p[4]
}

// TestCancelStopsAlertSMS (issue 12): 100 offline members get the alert
// by SMS at 20 per second; the cancel comes while the 30th is in flight at
// the provider. No alert SMS whose send had not started when the cancel
// answered may leave after it (the dispatcher holds a claimed batch), and
// exactly the members who were sent the alert SMS, the one in flight
// included, get the all-clear, once.
func TestCancelStopsAlertSMS(t *testing.T) {
	t.Parallel()
	const n, gate = 100, 30
	snd := newGatedSender(gate)
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.SMSRate = 20 })
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	e.residents(n)
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 60}))
	if code != 201 || num(out["targeted"]) != n {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	select {
	case <-snd.blocked:
	case <-time.After(60 * time.Second):
		t.Fatalf("the %dth alert SMS was never sent", gate)
	}

	if code, out := e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", cmdTok, nil); code != 200 {
		t.Fatalf("cancel: %d %v", code, out)
	}
	// The alert SMS whose send had started when the cancel answered.
	ctx := context.Background()
	rows, err := e.store.ListMessages(ctx, storage.AlertRef(alertID))
	if err != nil {
		t.Fatal(err)
	}
	started := map[string]bool{}
	for _, r := range rows {
		if r.Kind == storage.MessageAlert && !slices.Contains([]string{storage.MessagePending, storage.MessageClaimed, storage.MessageCancelled}, r.State) {
			started[r.MemberID] = true
		}
	}
	close(snd.release)

	// Wait until nothing is left to send or in doubt.
	deadline := time.Now().Add(60 * time.Second)
	for {
		rows, err := e.store.ListMessages(ctx, storage.AlertRef(alertID))
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, r := range rows {
			if slices.Contains([]string{storage.MessagePending, storage.MessageClaimed, storage.MessageSending}, r.State) {
				open++
			}
		}
		if open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d outbox rows still open a minute after the cancel: %+v", open, rows)
		}
		time.Sleep(50 * time.Millisecond)
	}

	alertSMS, allClear := map[string]int{}, map[string]int{}
	for _, m := range snd.messages() {
		switch member, kind := keyParts(m.Key); kind {
		case storage.MessageAlert:
			alertSMS[member]++
		case storage.MessageAllClear:
			allClear[member]++
		default:
			t.Errorf("unexpected message %s", m.Key)
		}
	}
	if len(alertSMS) < gate || len(alertSMS) >= n {
		t.Fatalf("%d members got the alert SMS; want the cancel to come mid-way (at least %d, fewer than %d)", len(alertSMS), gate, n)
	}
	var late, noAllClear []string
	for m, k := range alertSMS {
		if k != 1 {
			t.Errorf("%s got the alert SMS %d times", m, k)
		}
		if !started[m] {
			late = append(late, m)
		}
		if allClear[m] == 0 {
			noAllClear = append(noAllClear, m)
		}
	}
	if len(late) > 0 {
		t.Errorf("%d alert SMS left after the cancel answered (their send had not started then): %v", len(late), late)
	}
	if len(noAllClear) > 0 {
		t.Errorf("%d members got the alert SMS but no all-clear: %v", len(noAllClear), noAllClear)
	}
	for m, k := range allClear {
		if alertSMS[m] == 0 {
			t.Errorf("%s got an all-clear without the alert SMS", m)
		}
		if k != 1 {
			t.Errorf("%s got the all-clear %d times", m, k)
		}
	}
}
