package server

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

// home positions around village 0 (29.03, 119.17).
var (
	inside  = storage.LatLng{Lat: 29.031, Lng: 119.171} // ~150 m from the centre
	outside = storage.LatLng{Lat: 29.30, Lng: 119.17}   // ~30 km north
)

func TestAlertAckProgressCancel(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	res, resTok := e.member(storage.RoleResident, 0, inside)
	_, farTok := e.member(storage.RoleResident, 0, outside)
	patrol, patTok := e.member(storage.RolePatrol, 0, inside)

	cmd := e.dial(cmdTok)
	cmd.welcome()
	rc := e.dial(resTok)
	rc.welcome()
	far := e.dial(farTok)
	far.welcome()
	pc := e.dial(patTok)
	pc.welcome()

	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 3000, map[string]any{"sms_fallback_after_s": 60}))
	if code != http.StatusCreated {
		t.Fatalf("create alert: %d %v", code, out)
	}
	if num(out["targeted"]) != 2 || num(out["connected"]) != 2 {
		t.Fatalf("targeted/connected = %v/%v, want 2/2", out["targeted"], out["connected"])
	}
	alertID := out["alert"].(map[string]any)["id"].(string)

	for _, c := range []*wsClient{rc, pc} {
		f, _ := c.nextOf("alert")
		a := f["alert"].(map[string]any)
		if a["id"] != alertID || num(f["seq"]) <= 0 || a["title"] != "山洪预警" {
			t.Fatalf("alert frame: %v", f)
		}
	}
	far.quiet(300*time.Millisecond, "alert")

	// Answers: need_help, then the patrol says coming with an ETA.
	reply, _ := rc.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "received"})
	if reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	reply, _ = rc.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "need_help", "note": "腿受伤"})
	if reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	reply, _ = pc.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "coming", "eta_min": 12})
	if reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	// The far resident is not addressed: forbidden, nothing stored.
	reply, _ = far.cmd(map[string]any{"type": "ack", "alert_id": alertID, "response": "safe"})
	if reply["ok"] != false || reply["error"].(map[string]any)["code"] != service.CodeForbidden {
		t.Fatalf("ack by non-recipient: %v", reply)
	}

	// The commander watches progress live: the latest state arrives.
	deadline := time.Now().Add(10 * time.Second)
	for {
		f, _ := cmd.nextOf("alert_progress")
		p := f["progress"].(map[string]any)
		acked := p["acked"].(map[string]any)
		if f["alert_id"] == alertID && num(acked["need_help"]) == 1 && num(acked["coming"]) == 1 &&
			num(acked["received"]) == 0 && num(p["delivered"]) == 2 && num(p["targeted"]) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("progress never reached the expected state; last %v", f)
		}
	}

	code, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients?response=need_help", cmdTok, nil)
	rs, _ := out["recipients"].([]any)
	if code != 200 || len(rs) != 1 {
		t.Fatalf("recipients: %d %v", code, out)
	}
	r0 := rs[0].(map[string]any)
	if r0["member_id"] != res.ID || r0["phone"] != res.Phone || r0["response"] != "need_help" || r0["delivered_at"] == nil {
		t.Fatalf("recipient row: %v", r0)
	}
	code, out = e.call("GET", "/api/v1/alerts/"+alertID+"/recipients?response=coming", cmdTok, nil)
	if rs, _ := out["recipients"].([]any); code != 200 || len(rs) != 1 || rs[0].(map[string]any)["member_id"] != patrol.ID {
		t.Fatalf("coming recipients: %d %v", code, out)
	}

	code, out = e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", cmdTok, nil)
	if code != 200 || out["alert"].(map[string]any)["status"] != "cancelled" {
		t.Fatalf("cancel: %d %v", code, out)
	}
	// The commander's live view learns of the cancel from alert_progress.
	for {
		f, _ := cmd.nextOf("alert_progress")
		if f["alert_id"] == alertID && f["status"] == "cancelled" {
			break
		}
	}
	for _, c := range []*wsClient{rc, pc} {
		f, _ := c.nextOf("alert_cancel")
		if f["alert_id"] != alertID || num(f["seq"]) <= 0 {
			t.Fatalf("cancel frame: %v", f)
		}
	}
	far.quiet(200*time.Millisecond, "alert_cancel")
	if code, out = e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", cmdTok, nil); code != 409 || errCode(out) != service.CodeConflict {
		t.Fatalf("second cancel: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/alerts?status=active", cmdTok, nil)
	if as, _ := out["alerts"].([]any); code != 200 || len(as) != 0 {
		t.Fatalf("active alerts after cancel: %v", out)
	}
}

func TestResumeGivesExactlyTheMissedEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, resTok := e.member(storage.RoleResident, 0, inside)

	c := e.dial(resTok)
	since := num(c.welcome()["seq"])
	c.c.CloseNow()

	// While it is away: events for it, and events that are not.
	var want []int64
	post := func(path string, body map[string]any, forMe bool) {
		code, out := e.call("POST", path, cmdTok, body)
		if code != 201 {
			t.Fatalf("POST %s: %d %v", path, code, out)
		}
		for _, k := range []string{"bulletin", "alert"} {
			if obj, ok := out[k].(map[string]any); ok && forMe {
				want = append(want, num(obj["seq"]))
			}
		}
	}
	post("/api/v1/bulletins", map[string]any{"village_id": e.villages[0].ID, "category": "notice", "title": "停水通知", "body": "明日停水"}, true)
	post("/api/v1/bulletins", map[string]any{"village_id": e.villages[1].ID, "category": "jobs", "title": "招工", "body": "x"}, false)
	post("/api/v1/bulletins", map[string]any{"category": "notice", "title": "全县通知", "body": "y"}, true)
	post("/api/v1/alerts", circleAlert(29.03, 119.17, 2000, nil), true)
	post("/api/v1/alerts", circleAlert(29.30, 119.17, 2000, nil), false)

	c = e.dial(resTok)
	c.welcome()
	reply, before := c.cmd(map[string]any{"type": "resume", "since": since})
	if reply["ok"] != true {
		t.Fatalf("resume: %v", reply)
	}
	var got []int64
	for _, f := range before {
		if s := num(f["seq"]); s > 0 {
			got = append(got, s)
		}
	}
	// The active alert may come first (pushed at connect); resume then
	// sends the rest, in order, and never the alert twice.
	if fmt.Sprint(sorted(got)) != fmt.Sprint(want) || len(got) != len(want) {
		t.Fatalf("got seqs %v, want %v", got, want)
	}
	if num(reply["data"].(map[string]any)["seq"]) < want[len(want)-1] {
		t.Fatalf("resume reply seq %v < newest %d", reply, want[len(want)-1])
	}
	// A second resume on the same connection sends nothing again.
	reply, before = c.cmd(map[string]any{"type": "resume", "since": 0})
	if reply["ok"] != true || len(before) != 0 {
		t.Fatalf("second resume sent %v (reply %v)", before, reply)
	}
	// A new connection resuming from 0 gets them all in seq order.
	c2 := e.dial(resTok)
	c2.welcome()
	_, before = c2.cmd(map[string]any{"type": "resume", "since": since})
	got = got[:0]
	for _, f := range before {
		got = append(got, num(f["seq"]))
	}
	if len(got) != len(want) {
		t.Fatalf("new connection got %v, want %v", got, want)
	}
}

func sorted(s []int64) []int64 {
	out := append([]int64(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestResumeReplaysInSeqOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, resTok := e.member(storage.RoleResident, 0, outside)
	for i := range 30 {
		if code, out := e.call("POST", "/api/v1/bulletins", cmdTok, map[string]any{"category": "notice", "title": fmt.Sprint(i), "body": "b"}); code != 201 {
			t.Fatalf("bulletin: %d %v", code, out)
		}
	}
	c := e.dial(resTok)
	c.welcome()
	_, before := c.cmd(map[string]any{"type": "resume", "since": 0})
	if len(before) != 30 {
		t.Fatalf("resume sent %d events, want 30", len(before))
	}
	for i, f := range before {
		if f["type"] != "bulletin" || f["bulletin"].(map[string]any)["title"] != fmt.Sprint(i) {
			t.Fatalf("event %d out of order: %v", i, f)
		}
		if i > 0 && num(f["seq"]) <= num(before[i-1]["seq"]) {
			t.Fatalf("seq not increasing at %d", i)
		}
	}
}

func TestActiveAlertReachesMemberOnConnectAndMoveIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, offlineTok := e.member(storage.RoleResident, 0, inside)
	mover, moverTok := e.member(storage.RolePatrol, 0, outside)

	mc := e.dial(moverTok)
	mc.welcome()
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.17, 1000, map[string]any{"kind": "mobilization"}))
	if code != 201 || num(out["targeted"]) != 1 || num(out["connected"]) != 0 {
		t.Fatalf("alert: %d %v", code, out)
	}
	alertID := out["alert"].(map[string]any)["id"].(string)
	mc.quiet(200*time.Millisecond, "alert")

	// Sent before it connected: it arrives right after the welcome.
	oc := e.dial(offlineTok)
	oc.welcome()
	if f := oc.next(); f["type"] != "alert" || f["alert"].(map[string]any)["id"] != alertID {
		t.Fatalf("after welcome: %v", f)
	}

	// The patrol walks into the area: the alert is pushed at once and it
	// now counts as targeted.
	reply, before := mc.cmd(map[string]any{"type": "locate", "lat": 29.0305, "lng": 119.1702, "accuracy_m": 8})
	if reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}
	found := false
	for _, f := range before {
		found = found || (f["type"] == "alert" && f["alert"].(map[string]any)["id"] == alertID)
	}
	if !found {
		f, _ := mc.nextOf("alert")
		found = f["alert"].(map[string]any)["id"] == alertID
	}
	if !found {
		t.Fatalf("mover did not get the alert")
	}
	_, out = e.call("GET", "/api/v1/alerts/"+alertID, cmdTok, nil)
	if p := out["progress"].(map[string]any); num(p["targeted"]) != 2 {
		t.Fatalf("targeted after move-in = %v, want 2", p["targeted"])
	}
	// Moving again inside does not send it twice.
	mc.cmd(map[string]any{"type": "locate", "lat": 29.0306, "lng": 119.1702})
	mc.quiet(200*time.Millisecond, "alert")
	// And the cancel reaches the mover.
	e.call("POST", "/api/v1/alerts/"+alertID+"/cancel", cmdTok, nil)
	if f, _ := mc.nextOf("alert_cancel"); f["alert_id"] != alertID {
		t.Fatalf("cancel: %v", f)
	}
	_ = mover
}

func TestLivePositionExpiresBackToHome(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, patTok := e.member(storage.RolePatrol, 0, outside)
	pc := e.dial(patTok)
	pc.welcome()
	pc.cmd(map[string]any{"type": "locate", "lat": inside.Lat, "lng": inside.Lng})
	preview := func() int64 {
		code, out := e.call("POST", "/api/v1/alerts/preview", cmdTok, circleAlert(29.03, 119.17, 1000, nil))
		if code != 200 {
			t.Fatalf("preview: %d %v", code, out)
		}
		if cells, _ := out["cells"].([]any); len(cells) == 0 {
			t.Fatalf("preview has no cells: %v", out)
		}
		return num(out["targeted"])
	}
	if n := preview(); n != 1 {
		t.Fatalf("live position inside: targeted %d, want 1", n)
	}
	e.advance(31 * time.Minute)
	if n := preview(); n != 0 {
		t.Fatalf("after 31 minutes the home (outside) counts: targeted %d, want 0", n)
	}
}

func TestReportAndBulletinAudiences(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cmdTok := e.member(storage.RoleCommander, -1, outside)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	_, otherTok := e.member(storage.RoleResident, 0, inside)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)
	_, cadre1Tok := e.member(storage.RoleCadre, 1, inside)
	_, v1Tok := e.member(storage.RoleResident, 1, inside)

	cc, rc, oc, kc, k1, v1 := e.dial(cmdTok), e.dial(resTok), e.dial(otherTok), e.dial(cadreTok), e.dial(cadre1Tok), e.dial(v1Tok)
	for _, c := range []*wsClient{cc, rc, oc, kc, k1, v1} {
		c.welcome()
	}
	// A photo, then the report over the WebSocket.
	code, raw := e.callMedia(resTok, "image/png", pngBytes)
	if code != 201 {
		t.Fatalf("media: %d %s", code, raw)
	}
	mediaID := raw["media"].(map[string]any)["id"].(string)
	reply, before := rc.cmd(map[string]any{"type": "report", "kind": "landslide", "text": "后山滑坡", "lat": 29.0312, "lng": 119.1705, "photos": []string{mediaID}})
	if reply["ok"] != true {
		t.Fatalf("report: %v", reply)
	}
	rep := reply["data"].(map[string]any)["report"].(map[string]any)
	repID := rep["id"].(string)
	if rep["status"] != "new" || rep["due_at"] == nil || len(rep["photos"].([]any)) != 1 {
		t.Fatalf("report: %v", rep)
	}
	// The reporter's own event comes before or after its reply.
	if len(before) == 0 {
		before = append(before, rc.next())
	}
	if f := before[0]; f["type"] != "report" || f["report"].(map[string]any)["id"] != repID {
		t.Fatalf("report event to reporter: %v", f)
	}
	for _, c := range []*wsClient{cc, kc} {
		if f, _ := c.nextOf("report"); f["report"].(map[string]any)["id"] != repID {
			t.Fatalf("report event: %v", f)
		}
	}
	for _, c := range []*wsClient{oc, k1, v1} {
		c.quiet(200*time.Millisecond, "report")
	}
	// The village cadre accepts it with feedback; the reporter sees it.
	code, out := e.call("PATCH", "/api/v1/reports/"+repID, cadreTok, map[string]any{"status": "accepted", "feedback": "已派人查看"})
	if code != 200 {
		t.Fatalf("patch: %d %v", code, out)
	}
	f, _ := rc.nextOf("report")
	if r := f["report"].(map[string]any); r["status"] != "accepted" || r["feedback"] != "已派人查看" {
		t.Fatalf("status event to reporter: %v", f)
	}
	// The other village's cadre may not touch it (403: API.md's answer for
	// an object the role may not act on); the reporter neither.
	if code, out := e.call("PATCH", "/api/v1/reports/"+repID, cadre1Tok, map[string]any{"status": "resolved"}); code != 403 {
		t.Fatalf("other cadre patch: %d %v", code, out)
	}
	if code, out := e.call("PATCH", "/api/v1/reports/"+repID, resTok, map[string]any{"status": "resolved"}); code != 403 {
		t.Fatalf("reporter patch: %d %v", code, out)
	}
	// Photos: the cadre may see it, the other resident may not.
	if code, _ := e.callRaw("GET", "/api/v1/media/"+mediaID, cadreTok, nil); code != 200 {
		t.Fatalf("cadre photo: %d", code)
	}
	if code, _ := e.callRaw("GET", "/api/v1/media/"+mediaID, otherTok, nil); code != 404 {
		t.Fatalf("other resident photo: %d", code)
	}

	// A village bulletin reaches that village only.
	code, out = e.call("POST", "/api/v1/bulletins", cadreTok, map[string]any{"village_id": e.villages[0].ID, "category": "finance", "title": "村务公开", "body": "收支明细"})
	if code != 201 {
		t.Fatalf("bulletin: %d %v", code, out)
	}
	for _, c := range []*wsClient{rc, oc, kc} {
		if f, _ := c.nextOf("bulletin"); f["bulletin"].(map[string]any)["title"] != "村务公开" {
			t.Fatalf("bulletin: %v", f)
		}
	}
	v1.quiet(200*time.Millisecond, "bulletin")
	k1.quiet(10*time.Millisecond, "bulletin")
	code, out = e.call("GET", "/api/v1/bulletins", resTok, nil)
	if bs, _ := out["bulletins"].([]any); code != 200 || len(bs) != 1 {
		t.Fatalf("list bulletins: %d %v", code, out)
	}
	code, out = e.call("GET", "/api/v1/bulletins", v1Tok, nil)
	if bs, _ := out["bulletins"].([]any); code != 200 || len(bs) != 0 {
		t.Fatalf("other village lists: %d %v", code, out)
	}
}

func TestPingAndUnknownCommands(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	c := e.dial(tok)
	c.welcome()
	reply, _ := c.cmd(map[string]any{"type": "ping"})
	if reply["ok"] != true {
		t.Fatalf("ping: %v", reply)
	}
	// Without an id, a good command gets no reply; a bad one gets id null.
	c.sendRaw(`{"type":"ping"}`)
	c.sendRaw(`{"type":"nope"}`)
	f := c.next()
	if f["type"] != "reply" || f["id"] != nil || f["ok"] != false {
		t.Fatalf("unknown type without id: %v", f)
	}
}

func (e *testEnv) callMedia(token, ct string, data []byte) (int, map[string]any) {
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/media", bytesReader(data))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("media: %v", err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = jsonDecode(resp.Body, &out)
	return resp.StatusCode, out
}

// TestReportRetryIsIdempotent: a report sent again with the same client_id
// (its answer was lost) returns the stored report; nothing is stored twice.
func TestReportRetryIsIdempotent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	body := map[string]any{"kind": "flood", "text": "桥被淹", "lat": 29.03, "lng": 119.17, "client_id": "l1732780000abc"}
	code1, out1 := e.call("POST", "/api/v1/reports", tok, body)
	code2, out2 := e.call("POST", "/api/v1/reports", tok, body)
	if code1 != 201 || code2 != 201 {
		t.Fatalf("reports: %d %v / %d %v", code1, out1, code2, out2)
	}
	id1, id2 := out1["report"].(map[string]any)["id"], out2["report"].(map[string]any)["id"]
	if id1 != id2 {
		t.Fatalf("retry stored a second report: %v and %v", id1, id2)
	}
	c := e.dial(tok)
	c.welcome()
	reply, _ := c.cmd(map[string]any{"type": "report", "kind": "flood", "text": "桥被淹", "lat": 29.03, "lng": 119.17, "client_id": "l1732780000abc"})
	if reply["ok"] != true || reply["data"].(map[string]any)["report"].(map[string]any)["id"] != id1 {
		t.Fatalf("WebSocket retry: %v", reply)
	}
	_, out := e.call("GET", "/api/v1/reports", tok, nil)
	if rs := out["reports"].([]any); len(rs) != 1 {
		t.Fatalf("%d reports stored, want 1", len(rs))
	}
}
