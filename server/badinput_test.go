package server

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/longyou/hub/service"
	"github.com/longyou/hub/storage"
)

func TestBadHTTPInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, com := e.member(storage.RoleCommander, -1, outside)
	_, res := e.member(storage.RoleResident, 0, inside)
	_, out := e.call("POST", "/api/v1/reports", res, map[string]any{"kind": "road", "lat": 29.03, "lng": 119.17})
	reportID := out["report"].(map[string]any)["id"].(string)

	alert := func(mod func(m map[string]any)) map[string]any {
		m := circleAlert(29.03, 119.17, 1000, nil)
		mod(m)
		return m
	}
	area := func(a any) map[string]any { return alert(func(m map[string]any) { m["area"] = a }) }
	circle := func(lat, lng, r any) map[string]any {
		return area(map[string]any{"circle": map[string]any{"lat": lat, "lng": lng, "radius_m": r}})
	}
	cases := []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		code         string
	}{
		{"no token", "GET", "/api/v1/villages", "", nil, 401, service.CodeUnauthorized},
		{"bad token", "GET", "/api/v1/villages", "nope", nil, 401, service.CodeUnauthorized},
		{"unknown endpoint", "GET", "/api/v1/nothing", com, nil, 404, service.CodeNotFound},
		{"not JSON", "POST", "/api/v1/alerts", com, "{", 400, service.CodeBadRequest},
		{"JSON array", "POST", "/api/v1/alerts", com, "[]", 400, service.CodeBadRequest},
		{"trailing data", "POST", "/api/v1/alerts", com, `{"kind":"warning"} {}`, 400, service.CodeBadRequest},
		{"wrong type", "POST", "/api/v1/alerts", com, `{"kind":5}`, 400, service.CodeBadRequest},
		{"too large", "POST", "/api/v1/alerts", com, `{"title":"` + strings.Repeat("x", 2<<20) + `"}`, 413, service.CodeTooLarge},
		{"bad kind", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["kind"] = "panic" }), 400, service.CodeBadRequest},
		{"bad severity", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["severity"] = "huge" }), 400, service.CodeBadRequest},
		{"no title", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { delete(m, "title") }), 400, service.CodeBadRequest},
		{"long title", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["title"] = strings.Repeat("洪", 201) }), 400, service.CodeBadRequest},
		{"no area", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { delete(m, "area") }), 400, service.CodeBadRequest},
		{"empty area", "POST", "/api/v1/alerts", com, area(map[string]any{}), 400, service.CodeBadRequest},
		{"two areas", "POST", "/api/v1/alerts", com, area(map[string]any{"circle": map[string]any{"lat": 29, "lng": 119, "radius_m": 10}, "villages": []string{"x"}}), 400, service.CodeBadRequest},
		{"radius zero", "POST", "/api/v1/alerts", com, circle(29, 119, 0), 400, service.CodeBadRequest},
		{"radius too big", "POST", "/api/v1/alerts", com, circle(29, 119, 100001), 400, service.CodeBadRequest},
		{"lat out of range", "POST", "/api/v1/alerts", com, circle(91, 119, 10), 400, service.CodeBadRequest},
		{"lng out of range", "POST", "/api/v1/alerts", com, circle(29, -181, 10), 400, service.CodeBadRequest},
		{"polygon two points", "POST", "/api/v1/alerts", com, area(map[string]any{"polygon": [][]float64{{29, 119}, {29.1, 119}}}), 400, service.CodeBadRequest},
		{"polygon bow tie", "POST", "/api/v1/alerts", com, area(map[string]any{"polygon": [][]float64{{29, 119}, {29.1, 119.1}, {29, 119.1}, {29.1, 119}}}), 400, service.CodeBadRequest},
		{"polygon point of 3", "POST", "/api/v1/alerts", com, area(map[string]any{"polygon": [][]float64{{29, 119, 1}, {29.1, 119}, {29, 119.1}}}), 400, service.CodeBadRequest},
		{"reach bad mode", "POST", "/api/v1/alerts", com, area(map[string]any{"reach": map[string]any{"lat": 29, "lng": 119, "mode": "fly"}}), 400, service.CodeBadRequest},
		{"unknown village", "POST", "/api/v1/alerts", com, area(map[string]any{"villages": []string{"v_nope"}}), 400, service.CodeBadRequest},
		{"empty roles", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["roles"] = []string{} }), 400, service.CodeBadRequest},
		{"unknown role", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["roles"] = []string{"mayor"} }), 400, service.CodeBadRequest},
		{"expired", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["expires_at"] = "2020-01-01T00:00:00Z" }), 400, service.CodeBadRequest},
		{"expires too late", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["expires_at"] = time.Now().Add(8 * 24 * time.Hour).Format(time.RFC3339) }), 400, service.CodeBadRequest},
		{"expires not a time", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["expires_at"] = "tomorrow" }), 400, service.CodeBadRequest},
		{"negative fallback", "POST", "/api/v1/alerts", com, alert(func(m map[string]any) { m["sms_fallback_after_s"] = -1 }), 400, service.CodeBadRequest},
		{"preview bad area", "POST", "/api/v1/alerts/preview", com, circle(29, 119, -5), 400, service.CodeBadRequest},
		{"unknown alert", "GET", "/api/v1/alerts/a_nope", com, nil, 404, service.CodeNotFound},
		{"cancel unknown", "POST", "/api/v1/alerts/a_nope/cancel", com, nil, 404, service.CodeNotFound},
		{"bad status filter", "GET", "/api/v1/alerts?status=maybe", com, nil, 400, service.CodeBadRequest},
		{"bad response filter", "GET", "/api/v1/alerts/a_nope/recipients?response=maybe", com, nil, 400, service.CodeBadRequest},
		{"report bad kind", "POST", "/api/v1/reports", res, map[string]any{"kind": "ufo", "lat": 29, "lng": 119}, 400, service.CodeBadRequest},
		{"report no position", "POST", "/api/v1/reports", res, map[string]any{"kind": "fire"}, 400, service.CodeBadRequest},
		{"report unknown photo", "POST", "/api/v1/reports", res, map[string]any{"kind": "fire", "lat": 29, "lng": 119, "photos": []string{"md_x"}}, 400, service.CodeBadRequest},
		{"report bad status", "PATCH", "/api/v1/reports/" + reportID, com, map[string]any{"status": "done"}, 400, service.CodeBadRequest},
		{"report empty patch", "PATCH", "/api/v1/reports/" + reportID, com, map[string]any{}, 400, service.CodeBadRequest},
		{"unknown report", "PATCH", "/api/v1/reports/r_nope", com, map[string]any{"status": "accepted"}, 404, service.CodeNotFound},
		{"member bad phone", "POST", "/api/v1/members", com, map[string]any{"name": "n", "phone": "13800000000", "role": "resident", "village_id": e.villages[0].ID}, 400, service.CodeBadRequest},
		{"member bad role", "POST", "/api/v1/members", com, map[string]any{"name": "n", "phone": "+8613900000001", "role": "king", "village_id": e.villages[0].ID}, 400, service.CodeBadRequest},
		{"member unknown village", "POST", "/api/v1/members", com, map[string]any{"name": "n", "phone": "+8613900000002", "role": "resident", "village_id": "v_x"}, 400, service.CodeBadRequest},
		{"member bad home", "POST", "/api/v1/members", com, map[string]any{"name": "n", "phone": "+8613900000003", "role": "resident", "village_id": e.villages[0].ID, "home": map[string]any{"lat": 100, "lng": 0}}, 400, service.CodeBadRequest},
		{"village no center", "POST", "/api/v1/villages", com, map[string]any{"name": "n"}, 400, service.CodeBadRequest},
		{"bulletin bad category", "POST", "/api/v1/bulletins", com, map[string]any{"category": "gossip", "title": "t"}, 400, service.CodeBadRequest},
		{"bulletin unknown village", "POST", "/api/v1/bulletins", com, map[string]any{"village_id": "v_x", "category": "notice", "title": "t"}, 400, service.CodeBadRequest},
		{"density bad res", "GET", "/api/v1/density?res=99", com, nil, 400, service.CodeBadRequest},
	}
	for _, c := range cases {
		code, out := e.call(c.method, c.path, c.token, c.body)
		if code != c.status || errCode(out) != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, code, out, c.status, c.code)
		}
		if msg, _ := out["error"].(map[string]any)["message"].(string); msg == "" {
			t.Errorf("%s: no error message", c.name)
		}
	}
	// A report's status cannot go back.
	e.call("PATCH", "/api/v1/reports/"+reportID, com, map[string]any{"status": "resolved"})
	if code, out := e.call("PATCH", "/api/v1/reports/"+reportID, com, map[string]any{"status": "new"}); code != 409 {
		t.Errorf("resolved -> new: %d %v", code, out)
	}
	// A duplicate phone is a conflict.
	body := map[string]any{"name": "n", "phone": "+8613911112222", "role": "resident", "village_id": e.villages[0].ID}
	e.call("POST", "/api/v1/members", com, body)
	if code, out := e.call("POST", "/api/v1/members", com, body); code != 409 {
		t.Errorf("duplicate phone: %d %v", code, out)
	}
	// Media: wrong type, bytes that lie, too large.
	if code, out := e.callMedia(res, "text/html", []byte("<html>")); code != 400 {
		t.Errorf("html media: %d %v", code, out)
	}
	if code, out := e.callMedia(res, "image/png", []byte("<html><script>")); code != 400 {
		t.Errorf("lying media: %d %v", code, out)
	}
	if code, out := e.callMedia(res, "image/png", append(append([]byte{}, pngBytes...), make([]byte, 5<<20)...)); code != 413 {
		t.Errorf("large media: %d %v", code, out)
	}
	// Nothing of the above changed anything.
	_, out = e.call("GET", "/api/v1/alerts", com, nil)
	if as := out["alerts"].([]any); len(as) != 0 {
		t.Errorf("bad input created alerts: %v", as)
	}
	_, out = e.call("GET", "/api/v1/reports", com, nil)
	if rs := out["reports"].([]any); len(rs) != 1 {
		t.Errorf("bad input created reports: %v", rs)
	}
	_, out = e.call("GET", "/api/v1/villages", com, nil)
	if vs := out["villages"].([]any); len(vs) != 2 {
		t.Errorf("bad input created villages: %v", vs)
	}
}

func TestBadWebSocketInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, tok := e.member(storage.RoleResident, 0, inside)
	if _, err := e.dialErr("wrong"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token dial: %v", err)
	}
	c := e.dial(tok)
	c.welcome()
	cases := []struct {
		name  string
		frame string
		id    any
	}{
		{"not JSON", `{"type":`, nil},
		{"not an object", `[1,2]`, nil},
		{"id not a string", `{"type":"ping","id":5}`, nil},
		{"no type", `{"id":"a"}`, "a"},
		{"unknown type", `{"type":"dance","id":"b"}`, "b"},
		{"resume without since", `{"type":"resume","id":"c"}`, "c"},
		{"resume negative", `{"type":"resume","id":"d","since":-1}`, "d"},
		{"resume too big", `{"type":"resume","id":"d2","since":9007199254740992}`, "d2"},
		{"locate out of range", `{"type":"locate","id":"e","lat":95,"lng":0}`, "e"},
		{"locate missing lng", `{"type":"locate","id":"f","lat":29}`, "f"},
		{"locate wrong type", `{"type":"locate","id":"g","lat":"29","lng":119}`, "g"},
		{"ack no alert", `{"type":"ack","id":"h","response":"safe"}`, "h"},
		{"ack bad response", `{"type":"ack","id":"i","alert_id":"a_x","response":"ok"}`, "i"},
		{"ack bad eta", `{"type":"ack","id":"j","alert_id":"a_x","response":"coming","eta_min":-3}`, "j"},
		{"ack unknown alert", `{"type":"ack","id":"k","alert_id":"a_x","response":"safe"}`, "k"},
		{"report bad kind", `{"type":"report","id":"l","kind":"x","lat":29,"lng":119}`, "l"},
	}
	for _, tc := range cases {
		c.sendRaw(tc.frame)
		f := c.next()
		if f["type"] != "reply" || f["ok"] != false || f["id"] != tc.id {
			t.Errorf("%s: %v", tc.name, f)
			continue
		}
		code := f["error"].(map[string]any)["code"]
		want := service.CodeBadRequest
		if tc.name == "ack unknown alert" {
			want = service.CodeNotFound
		}
		if code != want {
			t.Errorf("%s: code %v, want %s", tc.name, code, want)
		}
	}
	// Binary frames are refused, the connection stays open.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageBinary, []byte{1, 2}); err != nil {
		t.Fatal(err)
	}
	if f := c.next(); f["ok"] != false {
		t.Fatalf("binary frame: %v", f)
	}
	reply, _ := c.cmd(map[string]any{"type": "ping"})
	if reply["ok"] != true {
		t.Fatalf("connection unusable after bad input: %v", reply)
	}
	// Over 64 KiB closes with 1009.
	big, _ := json.Marshal(map[string]any{"type": "report", "kind": "other", "text": strings.Repeat("x", 70<<10)})
	_ = c.c.Write(ctx, websocket.MessageText, big)
	for range c.frames {
	}
	if err := <-c.closed; websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("oversized frame closed with %v, want 1009", err)
	}
}
