package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/policy"
	"github.com/longyou/hub/storage"
)

// waitClosed reads w's frames until the connection ends and returns them
// and why it ended, failing after 10 seconds.
func waitClosed(t testing.TB, w *wsClient) ([]map[string]any, error) {
	t.Helper()
	var frames []map[string]any
	deadline := time.After(10 * time.Second)
	for {
		select {
		case f, ok := <-w.frames:
			if !ok {
				return frames, <-w.closed
			}
			frames = append(frames, f)
		case <-deadline:
			t.Fatalf("connection still open after 10s")
		}
	}
}

func wantClose(t testing.TB, err error, code websocket.StatusCode, reason string) {
	t.Helper()
	var ce websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || ce.Reason != reason {
		t.Fatalf("connection ended with %v, want close %d %q", err, code, reason)
	}
}

// TestMemberConnCap: with the defaults, a member's sixth WebSocket closes
// its first with 1008 "replaced by a newer connection"; the five newest
// work.
func TestMemberConnCap(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	var ws []*wsClient
	for range 6 {
		w := e.dial(tok)
		w.welcome()
		ws = append(ws, w)
	}
	_, err := waitClosed(t, ws[0])
	wantClose(t, err, websocket.StatusPolicyViolation, "replaced by a newer connection")
	for i, w := range ws[1:] {
		if r, _ := w.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
			t.Fatalf("connection %d: ping %v", i+2, r)
		}
	}
}

// TestCommandRateThen1008: past its burst a connection's commands get
// error replies rate_limited (with their ids) and are not run; a client
// that keeps on is closed with 1008 "too many commands". Other connections
// of the member are not touched.
func TestCommandRateThen1008(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowPolicy(nil)) // 40 commands, then none for an hour
	_, tok := e.member(storage.RoleResident, 0, inside)
	calm := e.dial(tok)
	calm.welcome()
	w := e.dial(tok)
	w.welcome()
	for i := range 40 {
		if r, _ := w.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
			t.Fatalf("ping %d of the burst: %v", i+1, r)
		}
	}
	r, _ := w.cmd(map[string]any{"type": "locate", "lat": 29.03, "lng": 119.17})
	if r["ok"] != false || r["error"].(map[string]any)["code"] != "rate_limited" {
		t.Fatalf("command past the burst: %v, want rate_limited", r)
	}
	// Keep on: 100 more refused commands (hub.Config.CommandStrikes) close
	// the connection.
	for i := range 150 {
		data, _ := json.Marshal(map[string]any{"type": "ping", "id": fmt.Sprint("f", i)})
		if err := w.c.Write(t.Context(), websocket.MessageText, data); err != nil {
			break // closed under us
		}
	}
	frames, err := waitClosed(t, w)
	wantClose(t, err, websocket.StatusPolicyViolation, "too many commands")
	for _, f := range frames {
		if f["type"] == "reply" && f["ok"] == true {
			t.Fatalf("a command past the rate was run: %v", f)
		}
	}
	if r, _ := calm.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
		t.Fatalf("the member's other connection: %v", r)
	}
}

// TestResumeRate: resume is limited more strictly than other commands (3,
// then one every 5 s by default).
func TestResumeRate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, slowPolicy(func(p *policy.Policy) {
		p.Limits[policy.ActionCommand] = policy.Rate{Every: policy.Duration(time.Millisecond), Burst: 1000}
	}))
	_, tok := e.member(storage.RoleResident, 0, inside)
	w := e.dial(tok)
	w.welcome()
	for i := range 3 {
		if r, _ := w.cmd(map[string]any{"type": "resume", "since": 0}); r["ok"] != true {
			t.Fatalf("resume %d: %v", i+1, r)
		}
	}
	r, _ := w.cmd(map[string]any{"type": "resume", "since": 0})
	if r["ok"] != false || r["error"].(map[string]any)["code"] != "rate_limited" {
		t.Fatalf("fourth resume: %v, want rate_limited", r)
	}
	if r, _ := w.cmd(map[string]any{"type": "ping"}); r["ok"] != true {
		t.Fatalf("ping after a refused resume: %v", r)
	}
}

// TestAckFloodStoresBoundedHistory: one connection repeating an answer
// stores it once; flipping it keeps only the newest 20 in the history,
// and the latest answer wins.
func TestAckFloodStoresBoundedHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		p := policy.Default()
		delete(p.Limits, policy.ActionCommand) // the store's bound, not the rate, is under test
		c.Policy = &p
	})
	m, tok := e.member(storage.RoleResident, 0, inside)
	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	w := e.dial(tok)
	w.welcome()
	// Sent without waiting for the replies, as a looping client does, so
	// that many land in one batch of the store.
	send := func(n int, resp func(i int) string) {
		for i := range n {
			data, _ := json.Marshal(map[string]any{"type": "ack", "id": fmt.Sprint("a", i), "alert_id": alertID, "response": resp(i)})
			w.sendRaw(string(data))
		}
		for got := 0; got < n; {
			if f := w.next(); f["type"] == "reply" {
				if f["ok"] != true {
					t.Fatalf("ack: %v", f)
				}
				got++
			}
		}
	}
	send(300, func(int) string { return storage.RespSafe })
	store := e.store.(storage.Store)
	h, err := store.AckHistory(t.Context(), alertID, m.ID)
	if err != nil || len(h) != 1 || h[0].Response != storage.RespSafe {
		t.Fatalf("history after 300 equal answers: %d answers (%v), want one safe", len(h), err)
	}
	flip := func(i int) string {
		if i%2 == 0 {
			return storage.RespNeedHelp
		}
		return storage.RespSafe
	}
	send(301, flip)
	h, err = store.AckHistory(t.Context(), alertID, m.ID)
	if err != nil || len(h) != storage.AckHistoryMax || h[len(h)-1].Response != storage.RespNeedHelp {
		t.Fatalf("history after 301 flips: %d answers (%v), want %d ending need_help", len(h), err, storage.AckHistoryMax)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+alertID, e.admin, nil)
	acked := out["progress"].(map[string]any)["acked"].(map[string]any)
	if num(acked["need_help"]) != 1 || num(acked["safe"]) != 0 {
		t.Fatalf("acked %v, want the latest answer need_help", acked)
	}
}
