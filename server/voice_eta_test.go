package server

import (
	"net/http"
	"testing"

	"github.com/longyou/hub/storage"
)

// The preview says when an alert's calls would be placed: voice_after_s
// after the SMS, plus the calls at -voice-rate behind the calls queued;
// null when the alert makes none.
func TestVoiceETAPreview(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.VoiceRate = 0.5 })
	_, comTok := e.member(storage.RoleCommander, -1, outside)
	for range 10 {
		e.member(storage.RoleResident, 0, inside) // offline: SMS at once
	}
	alert := func(severity string, extra map[string]any) map[string]any {
		m := map[string]any{"kind": "warning", "severity": severity, "title": "山洪", "body": "转移",
			"area": map[string]any{"villages": []string{e.villages[0].ID}}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	for _, c := range []struct {
		name     string
		body     map[string]any
		calls    bool
		messages int64
		eta      int64
	}{
		{"extreme with SMS: the default 300 s", alert("extreme", map[string]any{"sms_fallback_after_s": 0}), true, 10, 320}, // 300 + ceil(10 / 0.5)
		{"severe with calls after 60 s", alert("severe", map[string]any{"sms_fallback_after_s": 0, "voice_after_s": 60}), true, 10, 80},
		{"extreme, calls off", alert("extreme", map[string]any{"sms_fallback_after_s": 0, "voice_after_s": -1}), false, 0, 0},
		{"minor without calls", alert("minor", map[string]any{"sms_fallback_after_s": 0}), false, 0, 0},
	} {
		code, out := e.call("POST", "/api/v1/alerts/preview", comTok, c.body)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %v", c.name, code, out)
		}
		v, ok := out["voice"].(map[string]any)
		if ok != c.calls {
			t.Errorf("%s: voice %v, want calls %v", c.name, out["voice"], c.calls)
			continue
		}
		if ok && (num(v["messages"]) != c.messages || num(v["eta_s"]) != c.eta) {
			t.Errorf("%s: voice %v, want messages %d, eta_s %d", c.name, v, c.messages, c.eta)
		}
	}
	// The progress carries the calls' eta_s (0: none due yet).
	code, out := e.call("POST", "/api/v1/alerts", comTok, alert("extreme", map[string]any{"sms_fallback_after_s": 0}))
	if code != http.StatusCreated {
		t.Fatalf("send: %d %v", code, out)
	}
	id := out["alert"].(map[string]any)["id"].(string)
	_, out = e.call("GET", "/api/v1/alerts/"+id, comTok, nil)
	v := out["progress"].(map[string]any)["voice"].(map[string]any)
	if _, ok := v["eta_s"]; !ok || num(v["queued"]) != 10 {
		t.Errorf("progress voice %v: want 10 queued calls and an eta_s", v)
	}
}
