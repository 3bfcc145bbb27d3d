package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

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
