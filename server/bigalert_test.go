package server

import (
	"testing"

	"github.com/longyou/hub/storage"
)

// TestBigAlertReadableAtOnce: an alert to more members than the embedded
// store writes inline (its delivery and SMS rows follow the accepting
// transaction) reads, the moment the 201 is out, exactly as if they had
// been written with it: progress, recipients, the member's active alerts
// on connect, an answer.
func TestBigAlertReadableAtOnce(t *testing.T) {
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	const n = 800
	ms := e.residents(n)
	for round := range 3 {
		code, out := e.call("POST", "/api/v1/alerts", cmdTok,
			circleAlert(inside.Lat, inside.Lng, 500, map[string]any{"sms_fallback_after_s": 600}))
		if code != 201 || num(out["targeted"]) != n {
			t.Fatalf("round %d: alert: %d %v", round, code, out)
		}
		id := out["alert"].(map[string]any)["id"].(string)

		code, out = e.call("GET", "/api/v1/alerts/"+id, cmdTok, nil)
		if code != 200 {
			t.Fatalf("progress: %d %v", code, out)
		}
		p := out["progress"].(map[string]any)
		sms := p["sms"].(map[string]any)
		if num(p["targeted"]) != n || num(sms["queued"])+num(sms["sent"])+num(sms["delivered"]) != n {
			t.Fatalf("round %d: progress right after the 201 = %v, want %d targeted and %d SMS", round, p, n, n)
		}
		code, out = e.call("GET", "/api/v1/alerts/"+id+"/recipients", cmdTok, nil)
		if rs, _ := out["recipients"].([]any); code != 200 || len(rs) != n {
			t.Fatalf("round %d: recipients right after the 201: %d, %d rows", round, code, len(rs))
		}

		// A member connecting now gets it among its active alerts, and
		// its answer is taken.
		c := e.dial(ms[round].Token)
		c.welcome()
		// (The alerts of the earlier rounds are still active: one each.)
		var got []any
		for range round + 1 {
			f, _ := c.nextOf("alert")
			got = append(got, f["alert"].(map[string]any)["id"])
		}
		if got[round] != id {
			t.Fatalf("round %d: the connecting member got alerts %v, want %s last", round, got, id)
		}
		reply, _ := c.cmd(map[string]any{"type": "ack", "id": "a1", "alert_id": id, "response": "safe"})
		if reply["ok"] != true {
			t.Fatalf("round %d: ack reply %v", round, reply)
		}
		_ = c.c.CloseNow()
	}
}
