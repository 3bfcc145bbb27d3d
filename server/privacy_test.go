package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

// lockedBuffer is a log sink several goroutines write to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// failingSender fails every SMS with an error that quotes the number, as
// Twilio's error messages do, leaving the outcome unknown.
type failingSender struct{}

func (failingSender) Send(_ context.Context, m notify.Message) (notify.Result, error) {
	return notify.Result{}, errors.New("connection reset while sending to " + m.To)
}

// TestPhonesMaskedInLog: the default log sender, and an error that a
// provider built from the number, never put a phone number in the log,
// at any level; the masked form is there.
func TestPhonesMaskedInLog(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		sender notify.Sender
		want   string // a message the log must have
	}{
		{"log sender", nil, `"msg":"sms"`},
		{"provider error", failingSender{}, "message outcome unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var logs lockedBuffer
			log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			e := newEnv(t, func(cfg *Config) { cfg.Logger = log; cfg.Sender = c.sender })
			_, cmdTok := e.member(storage.RoleCommander, -1, outside)
			res, _ := e.member(storage.RoleResident, 0, inside)
			code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 60}))
			if code != 201 {
				t.Fatalf("alert: %d %v", code, out)
			}
			waitFor(t, "the SMS log line", func() bool { return strings.Contains(logs.String(), c.want) })
			masked := res.Phone[:6] + "****" + res.Phone[len(res.Phone)-4:]
			if s := logs.String(); strings.Contains(s, res.Phone) || !strings.Contains(s, masked) {
				t.Fatalf("log has the number %s or lacks %s:\n%s", res.Phone, masked, s)
			}
		})
	}
}

// TestStaleLiveNotReturned: a live position older than the LiveTTL (30
// minutes) is in no answer: the member record (GET /members/{id}, /me,
// PATCH), the patrol list, an alert's recipients.
func TestStaleLiveNotReturned(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	p, pTok := e.member(storage.RolePatrol, 0, outside)
	pc := e.dial(pTok)
	pc.welcome()
	if reply, _ := pc.cmd(map[string]any{"type": "locate", "lat": inside.Lat, "lng": inside.Lng}); reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 || num(out["targeted"]) != 1 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	lives := func() map[string]bool {
		got := map[string]bool{}
		_, out := e.call("GET", "/api/v1/members/"+p.ID, cmdTok, nil)
		got["member"] = out["member"].(map[string]any)["live"] != nil
		_, out = e.call("GET", "/api/v1/me", pTok, nil)
		got["me"] = out["member"].(map[string]any)["live"] != nil
		_, out = e.call("PATCH", "/api/v1/members/"+p.ID, cmdTok, map[string]any{"address": "3 组"})
		got["patch"] = out["member"].(map[string]any)["live"] != nil
		_, out = e.call("GET", "/api/v1/members?role=patrol", cmdTok, nil)
		got["list"] = out["members"].([]any)[0].(map[string]any)["live"] != nil
		_, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients", cmdTok, nil)
		got["recipients"] = out["recipients"].([]any)[0].(map[string]any)["live"] != nil
		return got
	}
	for k, v := range lives() {
		if !v {
			t.Errorf("%s: no live position while fresh", k)
		}
	}
	e.advance(31 * time.Minute)
	for k, v := range lives() {
		if v {
			t.Errorf("%s: a live position 31 minutes old is returned", k)
		}
	}
}
