package server

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/longyou/hub/notify"
	"github.com/longyou/hub/storage"
)

// TestAnswerOnBehalf (issue 12, docs/API.md v1.5): a patrol who checked on
// a resident of its village answers safe for it: the answer is the
// resident's (progress counts it, on_behalf 1, live to the command center),
// the recipients say who answered, the resident's pending SMS is
// cancelled. A patrol of another village and a resident are refused
// (403), a member the alert is not addressed to is 404. The patrol sees
// its village's households without phones or positions. The resident's
// own later answer wins and clears answered_by.
func TestAnswerOnBehalf(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd })
	_, comTok := e.member(storage.RoleCommander, -1, outside)
	patrol, patrolTok := e.member(storage.RolePatrol, 0, outside) // not a target itself
	_, otherPatrolTok := e.member(storage.RolePatrol, 1, outside)
	res, resTok := e.member(storage.RoleResident, 0, inside)
	_, neighbourTok := e.member(storage.RoleResident, 0, inside)
	far, _ := e.member(storage.RoleResident, 0, outside) // of the village, not in the area
	other, _ := e.member(storage.RoleResident, 1, inside)

	// The resident is connected: its SMS waits for the fallback delay.
	rc := e.dial(resTok)
	rc.welcome()
	com := e.dial(comTok)
	com.welcome()
	code, out := e.call("POST", "/api/v1/alerts", comTok, circleAlert(29.03, 119.17, 2000, map[string]any{"sms_fallback_after_s": 600}))
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	id := out["alert"].(map[string]any)["id"].(string)
	rc.nextOf("alert")
	waitFor(t, "the resident's pending SMS", func() bool {
		return messageState(t, e, id, res.ID) == storage.MessagePending
	})

	acks := "/api/v1/alerts/" + id + "/acks"
	for _, c := range []struct {
		name string
		tok  string
		body map[string]any
		want int
	}{
		{"patrol of another village", otherPatrolTok, map[string]any{"member_id": res.ID, "response": "safe"}, 403},
		{"a resident for another", neighbourTok, map[string]any{"member_id": res.ID, "response": "safe"}, 403},
		{"not a target", patrolTok, map[string]any{"member_id": far.ID, "response": "safe"}, 404},
		{"unknown member", patrolTok, map[string]any{"member_id": "m_nobody", "response": "safe"}, 404},
		{"of another village", patrolTok, map[string]any{"member_id": other.ID, "response": "safe"}, 403},
		{"unknown alert", patrolTok, map[string]any{"member_id": res.ID, "response": "safe"}, 404},
		{"a responder's answer", patrolTok, map[string]any{"member_id": res.ID, "response": "coming"}, 400},
		{"no member", patrolTok, map[string]any{"response": "safe"}, 400},
	} {
		path := acks
		if c.name == "unknown alert" {
			path = "/api/v1/alerts/a_nope/acks"
		}
		if code, out := e.call("POST", path, c.tok, c.body); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
	if s := messageState(t, e, id, res.ID); s != storage.MessagePending {
		t.Fatalf("a refused answer changed the SMS: %s", s)
	}

	code, out = e.call("POST", acks, patrolTok, map[string]any{"member_id": res.ID, "response": "safe", "note": "老人在家，平安"})
	if code != 201 {
		t.Fatalf("answer on behalf: %d %v", code, out)
	}
	ack := out["ack"].(map[string]any)
	if by, _ := ack["by"].(map[string]any); ack["member_id"] != res.ID || ack["response"] != "safe" || ack["at"] == nil ||
		by["id"] != patrol.ID || by["name"] != patrol.Name || by["role"] != "patrol" {
		t.Fatalf("ack: %v", ack)
	}
	if s := messageState(t, e, id, res.ID); s != storage.MessageCancelled {
		t.Fatalf("the resident's SMS after the answer on its behalf: %s", s)
	}
	// Live to the command center.
	for {
		f, _ := com.nextOf("alert_progress")
		p := f["progress"].(map[string]any)
		if num(p["on_behalf"]) == 1 && num(p["acked"].(map[string]any)["safe"]) == 1 {
			break
		}
	}
	_, out = e.call("GET", "/api/v1/alerts/"+id, comTok, nil)
	if p := out["progress"].(map[string]any); num(p["on_behalf"]) != 1 || num(p["acked"].(map[string]any)["safe"]) != 1 {
		t.Fatalf("progress: %v", p)
	}
	row := recipientRow(t, e, id, comTok, res.ID)
	if by, _ := row["answered_by"].(map[string]any); by["id"] != patrol.ID || by["role"] != "patrol" || by["name"] != patrol.Name {
		t.Fatalf("recipient answered_by: %v", row)
	}
	if row["note"] != "老人在家，平安" {
		t.Errorf("recipient note: %v", row)
	}

	// The patrol's households: its village's recipients, no phone, no
	// position; the other village's patrol sees its own village only.
	code, out = e.call("GET", "/api/v1/alerts/"+id+"/recipients", patrolTok, nil)
	if code != 200 {
		t.Fatalf("patrol recipients: %d %v", code, out)
	}
	rows := out["recipients"].([]any)
	seen := map[string]bool{}
	for _, r := range rows {
		r := r.(map[string]any)
		seen[r["member_id"].(string)] = true
		for _, k := range []string{"phone", "live", "home", "note", "sms_state", "eta_min_computed"} {
			if _, ok := r[k]; ok {
				t.Errorf("patrol sees %s: %v", k, r)
			}
		}
		for _, k := range []string{"name", "address", "response", "responded_at", "answered_by", "delivered_at"} {
			if _, ok := r[k]; !ok {
				t.Errorf("patrol row without %s: %v", k, r)
			}
		}
		if r["member_id"] == res.ID {
			if by, _ := r["answered_by"].(map[string]any); by["id"] != patrol.ID || r["response"] != "safe" {
				t.Errorf("patrol's row of the resident: %v", r)
			}
		}
	}
	if !seen[res.ID] || seen[other.ID] || len(rows) != 2 { // the resident and its neighbour
		t.Fatalf("patrol households: %v", rows)
	}
	if strings.Contains(fmt.Sprint(rows), res.Phone) {
		t.Fatalf("a phone number in the patrol's view: %v", rows)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+id+"/recipients", otherPatrolTok, nil)
	if rows := out["recipients"].([]any); len(rows) != 1 || rows[0].(map[string]any)["member_id"] != other.ID {
		t.Fatalf("other patrol's households: %v", out)
	}
	// A cadre: the households of a geographic alert (v1 gave it no view
	// of one), and it answers for its village's members too.
	_, cadreTok := e.member(storage.RoleCadre, 0, outside)
	code, out = e.call("GET", "/api/v1/alerts/"+id+"/recipients", cadreTok, nil)
	if rows, _ := out["recipients"].([]any); code != 200 || len(rows) != 2 || strings.Contains(fmt.Sprint(rows), "phone") {
		t.Fatalf("cadre households: %d %v", code, out)
	}
	neighbour := memberID(t, e, neighbourTok)
	code, out = e.call("POST", acks, cadreTok, map[string]any{"member_id": neighbour, "response": "need_help"})
	if by, _ := out["ack"].(map[string]any)["by"].(map[string]any); code != 201 || by["role"] != "cadre" {
		t.Fatalf("cadre answers for a member of its village: %d %v", code, out)
	}
	// A resident still may not read recipients.
	if code, _ := e.call("GET", "/api/v1/alerts/"+id+"/recipients", neighbourTok, nil); code != 403 {
		t.Fatalf("resident recipients: %d", code)
	}

	// The resident's own later answer wins (the same word: it is its own
	// now) and clears answered_by.
	if reply, _ := rc.cmd(map[string]any{"type": "ack", "alert_id": id, "response": "safe"}); reply["ok"] != true {
		t.Fatalf("own ack: %v", reply)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+id, comTok, nil)
	if p := out["progress"].(map[string]any); num(p["on_behalf"]) != 1 || num(p["acked"].(map[string]any)["safe"]) != 1 { // the cadre's answer for the neighbour stays
		t.Fatalf("progress after the own answer: %v", p)
	}
	if row := recipientRow(t, e, id, comTok, res.ID); row["answered_by"] != nil || row["response"] != "safe" {
		t.Fatalf("recipient after the own answer: %v", row)
	}

	// The caller naming itself is its own answer (by null).
	code, out = e.call("POST", acks, neighbourTok, map[string]any{"member_id": neighbour, "response": "need_help"})
	if code != 201 || out["ack"].(map[string]any)["by"] != nil {
		t.Fatalf("own answer through the route: %d %v", code, out)
	}
	_, out = e.call("GET", "/api/v1/alerts/"+id, comTok, nil)
	if p := out["progress"].(map[string]any); num(p["on_behalf"]) != 0 || num(p["acked"].(map[string]any)["need_help"]) != 1 {
		t.Fatalf("progress after every member answered itself: %v", p)
	}
}

// TestAnswerOnBehalfRateLimited: answers on behalf are limited per member
// at the WebSocket command rate (20 a second, burst 40).
func TestAnswerOnBehalfRateLimited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, comTok := e.member(storage.RoleCommander, -1, outside)
	_, patrolTok := e.member(storage.RolePatrol, 0, outside)
	res, _ := e.member(storage.RoleResident, 0, inside)
	_, out := e.call("POST", "/api/v1/alerts", comTok, circleAlert(29.03, 119.17, 2000, nil))
	id := out["alert"].(map[string]any)["id"].(string)
	// 100 at once: the bucket holds 40 and refills 20 a second.
	var wg sync.WaitGroup
	codes := make([]int, 100)
	bodies := make([]map[string]any, 100)
	for i := range codes {
		wg.Go(func() {
			resp := []string{"safe", "need_help"}[i%2]
			codes[i], bodies[i] = e.call("POST", "/api/v1/alerts/"+id+"/acks", patrolTok, map[string]any{"member_id": res.ID, "response": resp})
		})
	}
	wg.Wait()
	limited := 0
	for i, code := range codes {
		switch {
		case code == 429 && errCode(bodies[i]) == "rate_limited":
			limited++
		case code != 201:
			t.Fatalf("answer %d: %d %v", i, code, bodies[i])
		}
	}
	if limited == 0 {
		t.Fatalf("100 answers at once were not limited")
	}
}

// memberID is the id of the member holding tok.
func memberID(t *testing.T, e *testEnv, tok string) string {
	t.Helper()
	_, out := e.call("GET", "/api/v1/me", tok, nil)
	return out["member"].(map[string]any)["id"].(string)
}

// recipientRow is the recipients row of member in alert id, read with tok.
func recipientRow(t *testing.T, e *testEnv, id, tok, member string) map[string]any {
	t.Helper()
	code, out := e.call("GET", "/api/v1/alerts/"+id+"/recipients", tok, nil)
	if code != 200 {
		t.Fatalf("recipients: %d %v", code, out)
	}
	for _, r := range out["recipients"].([]any) {
		if r := r.(map[string]any); r["member_id"] == member {
			return r
		}
	}
	t.Fatalf("no recipient %s in %v", member, out)
	return nil
}

// messageState is the state of the alert SMS row of member ("" when none).
func messageState(t *testing.T, e *testEnv, alertID, member string) string {
	t.Helper()
	ms, err := e.store.ListMessages(context.Background(), storage.AlertRef(alertID))
	if err != nil {
		t.Fatalf("list messages: %v", err)
	}
	for _, m := range ms {
		if m.MemberID == member && m.Kind == storage.MessageAlert {
			return m.State
		}
	}
	return ""
}

// blockingSender accepts nothing until ctx ends: the dispatcher holds its
// claimed batch (one row sending, the rest claimed), so the outbox stays
// as the test built it.
type blockingSender struct {
	once    sync.Once
	started chan struct{}
}

func (s *blockingSender) Send(ctx context.Context, _ notify.Message) (notify.Result, error) {
	s.once.Do(func() { close(s.started) })
	<-ctx.Done()
	return notify.Result{}, ctx.Err()
}

// TestSMSETA: the preview's sms block and the progress' sms.eta_s are the
// formula's numbers for a known rate and backlog (docs/API.md v1.5): at 2
// SMS a second, with the dispatcher holding 2 rows in flight (its batch at
// that rate) and a minor alert's 8 more pending, n new SMS of equal
// priority take ceil((2 + 8 + n) / 2) s and of a higher one ceil((2 + n)
// / 2) s.
func TestSMSETA(t *testing.T) {
	t.Parallel()
	snd := &blockingSender{started: make(chan struct{})}
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.SMSRate = 2 })
	_, comTok := e.member(storage.RoleCommander, -1, outside)
	for range 10 {
		e.member(storage.RoleResident, 0, inside) // offline: SMS at once
	}
	for range 4 {
		e.member(storage.RoleResident, 1, inside)
	}
	_, onlineTok := e.member(storage.RoleResident, 1, inside)
	e.dial(onlineTok).welcome()

	villageAlert := func(v int, severity string, extra map[string]any) map[string]any {
		m := map[string]any{"kind": "warning", "severity": severity, "title": "山洪", "body": "转移",
			"area": map[string]any{"villages": []string{e.villages[v].ID}}}
		for k, x := range extra {
			m[k] = x
		}
		return m
	}
	code, out := e.call("POST", "/api/v1/alerts/preview", comTok, villageAlert(0, "minor", map[string]any{"sms_fallback_after_s": 60}))
	if sms := out["sms"].(map[string]any); code != 200 || num(sms["messages"]) != 10 || num(sms["later"]) != 0 || num(sms["eta_s"]) != 5 {
		t.Fatalf("preview on an empty queue: %d %v", code, out)
	}
	code, out = e.call("POST", "/api/v1/alerts", comTok, villageAlert(0, "minor", map[string]any{"sms_fallback_after_s": 60}))
	if code != 201 {
		t.Fatalf("minor alert: %d %v", code, out)
	}
	minor := out["alert"].(map[string]any)["id"].(string)
	select {
	case <-snd.started:
	case <-time.After(10 * time.Second):
		t.Fatalf("the dispatcher never started sending")
	}
	// One row sending, one claimed (the batch of a 2/s channel): 2 in
	// flight, 8 pending.
	waitFor(t, "the dispatcher's batch", func() bool {
		ms, _ := e.store.ListMessages(context.Background(), storage.AlertRef(minor))
		n := 0
		for _, m := range ms {
			if m.State == storage.MessageSending || m.State == storage.MessageClaimed {
				n++
			}
		}
		return n == 2
	})
	etaOf := func(id string) int64 {
		t.Helper()
		_, out := e.call("GET", "/api/v1/alerts/"+id, comTok, nil)
		return num(out["progress"].(map[string]any)["sms"].(map[string]any)["eta_s"])
	}
	if got := etaOf(minor); got != 5 { // ceil(10 / 2)
		t.Fatalf("minor eta_s = %d, want 5", got)
	}

	for _, c := range []struct {
		severity string
		extra    map[string]any
		messages int64
		later    int64
		eta      int64
	}{
		{"minor", map[string]any{"sms_fallback_after_s": 60}, 4, 1, 7},   // ceil((10 + 4) / 2)
		{"extreme", map[string]any{"sms_fallback_after_s": 60}, 4, 1, 3}, // ceil((2 + 4) / 2)
		{"extreme", map[string]any{"sms_fallback_after_s": 0}, 5, 0, 4},  // every one at once: ceil((2 + 5) / 2)
		{"extreme", nil, 0, 0, 0}, // no SMS asked
	} {
		code, out := e.call("POST", "/api/v1/alerts/preview", comTok, villageAlert(1, c.severity, c.extra))
		sms, _ := out["sms"].(map[string]any)
		if code != 200 || num(sms["messages"]) != c.messages || num(sms["later"]) != c.later || num(sms["eta_s"]) != c.eta {
			t.Errorf("preview %s %v: %d %v, want messages %d later %d eta_s %d", c.severity, c.extra, code, sms, c.messages, c.later, c.eta)
		}
	}

	// An extreme alert goes ahead of the minor one's pending rows.
	code, out = e.call("POST", "/api/v1/alerts", comTok, villageAlert(1, "extreme", map[string]any{"sms_fallback_after_s": 60}))
	if code != 201 {
		t.Fatalf("extreme alert: %d %v", code, out)
	}
	extreme := out["alert"].(map[string]any)["id"].(string)
	if got := etaOf(extreme); got != 3 { // ceil((2 + 4) / 2)
		t.Errorf("extreme eta_s = %d, want 3", got)
	}
	if got := etaOf(minor); got != 7 { // ceil((2 + 4 + 8) / 2)
		t.Errorf("minor eta_s behind the extreme = %d, want 7", got)
	}
	// Ended: nothing more to send.
	e.call("POST", "/api/v1/alerts/"+minor+"/cancel", comTok, nil)
	if got := etaOf(minor); got != 0 {
		t.Errorf("cancelled alert eta_s = %d, want 0", got)
	}
}

// TestSMSSeverityFirst: the outbox sends the highest severity first across
// alerts. With a minor alert's 40 SMS queued at 10 a second, an extreme
// alert sent later has its SMS sent before the minor ones left: only the
// minor SMS already claimed when it was stored (one batch, 10 at this
// rate) may go before its last one. The order is the sender's, not the
// clock's.
func TestSMSSeverityFirst(t *testing.T) {
	t.Parallel()
	const minorN, extremeN, batch = 40, 3, 10
	snd := &recordingSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.SMSRate = batch })
	_, comTok := e.member(storage.RoleCommander, -1, outside)
	for range minorN {
		e.member(storage.RoleResident, 0, inside)
	}
	for range extremeN {
		e.member(storage.RoleResident, 1, inside)
	}
	alert := func(v int, severity string) string {
		t.Helper()
		code, out := e.call("POST", "/api/v1/alerts", comTok, map[string]any{"kind": "warning", "severity": severity,
			"title": "山洪", "area": map[string]any{"villages": []string{e.villages[v].ID}}, "sms_fallback_after_s": 60})
		if code != 201 {
			t.Fatalf("alert: %d %v", code, out)
		}
		return out["alert"].(map[string]any)["id"].(string)
	}
	sent := func() []notify.Message {
		snd.mu.Lock()
		defer snd.mu.Unlock()
		return append([]notify.Message(nil), snd.msgs...)
	}
	minor := alert(0, "minor")
	waitFor(t, "the first minor SMS", func() bool { return len(sent()) > 0 })
	extreme := alert(1, "extreme")
	k := len(sent()) // minor SMS sent before the extreme alert was stored, or fewer
	if k > minorN-batch-extremeN {
		t.Fatalf("%d of %d minor SMS were sent before the extreme alert: no backlog left to overtake", k, minorN)
	}
	for deadline := time.Now().Add(60 * time.Second); len(sent()) < minorN+extremeN; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) { // 4.3 s at the rate; a loaded machine is slower
			t.Fatalf("%d of %d SMS sent", len(sent()), minorN+extremeN)
		}
	}
	msgs := sent()
	minorBefore, extremeSeen := 0, 0
	for _, m := range msgs {
		switch {
		case strings.Contains(m.Key, "/"+extreme+"/"):
			extremeSeen++
		case strings.Contains(m.Key, "/"+minor+"/"):
			if extremeSeen < extremeN {
				minorBefore++
			}
		default:
			t.Fatalf("a message of neither alert: %s", m.Key)
		}
	}
	if extremeSeen != extremeN {
		t.Fatalf("%d extreme SMS, want %d", extremeSeen, extremeN)
	}
	if minorBefore > k+batch {
		t.Fatalf("%d minor SMS went before the last extreme one; at most %d (sent %d + one claimed batch %d) may", minorBefore, k+batch, k, batch)
	}
}
