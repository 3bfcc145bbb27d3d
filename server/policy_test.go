package server

import (
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// TestPolicyMessages pins the answers the rules give with the default
// policy, word for word as they were when the rules were hard-coded: the
// lists in the messages now come from the policy.
func TestPolicyMessages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)
	far := e.now().Add(8 * 24 * time.Hour).UTC().Format(time.RFC3339)
	cases := []struct {
		name, method, path, token string
		body                      any
		status                    int
		message                   string
	}{
		{"report kind", "POST", "/api/v1/reports", tok, map[string]any{"kind": "storm", "lat": 29, "lng": 119}, 400,
			"kind must be one of flood, fire, landslide, freeze, road, water, sanitation, dispute, other"},
		{"report status filter", "GET", "/api/v1/reports?status=done", cadreTok, nil, 400,
			"status must be new, accepted, in_progress, resolved or rejected"},
		{"bulletin category", "POST", "/api/v1/bulletins", e.admin, map[string]any{"category": "news", "title": "t"}, 400,
			"category must be one of village_affairs, party_affairs, finance, jobs, notice, other"},
		{"alert kind", "POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 500, map[string]any{"kind": "drill"}), 400,
			"kind must be warning, mobilization or all_clear"},
		{"alert severity", "POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 500, map[string]any{"severity": "high"}), 400,
			"severity must be extreme, severe, moderate or minor"},
		{"alert expiry", "POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 500, map[string]any{"expires_at": far}), 400,
			"expires_at must be at most 7 days ahead"},
		{"sms fallback", "POST", "/api/v1/alerts/preview", e.admin, circleAlert(29.03, 119.17, 500, map[string]any{"sms_fallback_after_s": 86401}), 400,
			"sms_fallback_after_s must be between 0 and 86400"},
	}
	for _, c := range cases {
		code, out := e.call(c.method, c.path, c.token, c.body)
		msg, _ := out["error"].(map[string]any)["message"].(string)
		if code != c.status || msg != c.message {
			t.Errorf("%s: %d %q, want %d %q", c.name, code, msg, c.status, c.message)
		}
	}

	// The state machine: forward only, 409 with the same message.
	code, out := e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": "road", "lat": 29, "lng": 119})
	if code != 201 {
		t.Fatalf("report: %d %v", code, out)
	}
	id := out["report"].(map[string]any)["id"].(string)
	if code, out := e.call("PATCH", "/api/v1/reports/"+id, cadreTok, map[string]any{"status": "resolved"}); code != 200 {
		t.Fatalf("resolve: %d %v", code, out)
	}
	code, out = e.call("PATCH", "/api/v1/reports/"+id, cadreTok, map[string]any{"status": "new"})
	if msg, _ := out["error"].(map[string]any)["message"].(string); code != 409 || msg != "a resolved report cannot become new" {
		t.Errorf("resolved -> new: %d %v", code, out)
	}
	// Staying in a final status to change the feedback is allowed.
	if code, out := e.call("PATCH", "/api/v1/reports/"+id, cadreTok, map[string]any{"status": "resolved", "feedback": "ok"}); code != 200 {
		t.Errorf("resolved -> resolved with feedback: %d %v", code, out)
	}
}
