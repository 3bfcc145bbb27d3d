package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/api/cap"
	"github.com/longyou/hub/storage"
)

// CAP import, updates in place and exercises (docs/API.md v1.6, issue 14).

// postCAP posts a CAP document to path (default /api/v1/alerts).
func (e *testEnv) postCAP(path, token string, doc []byte) (int, map[string]any) {
	e.t.Helper()
	if path == "" {
		path = "/api/v1/alerts"
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(doc))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/cap+xml; charset=utf-8")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("POST CAP: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && json.Unmarshal(raw, &out) != nil {
		e.t.Fatalf("POST CAP: answer is not JSON: %s", raw)
	}
	return resp.StatusCode, out
}

// capFixture reads a CAP test message of api/cap/testdata with its
// 2026-06-15/16 dates moved to tomorrow (county time), so that it is
// live on the test's clock.
func capFixture(t *testing.T, e *testEnv, name string) []byte {
	t.Helper()
	doc, err := os.ReadFile("../api/cap/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	tomorrow := e.now().In(time.FixedZone("CST", 8*3600)).Add(24 * time.Hour)
	doc = bytes.ReplaceAll(doc, []byte("2026-06-15"), []byte(tomorrow.Format("2006-01-02")))
	doc = bytes.ReplaceAll(doc, []byte("2026-06-16"), []byte(tomorrow.Add(24*time.Hour).Format("2006-01-02")))
	return doc
}

// oasisFixture is an OASIS example with its 2003 <expires> removed (the
// hub's default of 24 hours applies).
func oasisFixture(t *testing.T, name string) []byte {
	t.Helper()
	doc, err := os.ReadFile("../api/cap/testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return regexp.MustCompile(`\s*<expires>[^<]*</expires>`).ReplaceAll(doc, nil)
}

func alertOf(t *testing.T, out map[string]any) map[string]any {
	t.Helper()
	a, ok := out["alert"].(map[string]any)
	if !ok {
		t.Fatalf("no alert in %v", out)
	}
	return a
}

// codedVillage adds a village with a division code centred at c.
func (e *testEnv) codedVillage(name, code string, c storage.LatLng) storage.Village {
	e.t.Helper()
	v, err := e.h.members.CreateVillageCode(context.Background(), name, "湖镇镇", code, &c, false)
	if err != nil {
		e.t.Fatalf("village %s: %v", code, err)
	}
	return v
}

// TestCAPImportNationalFeed: a weather bureau's CAP alert (zh-CN and en-US
// infos, a 60-point polygon, geocodes) becomes a targeted alert, its update
// changes it in place, its cancel cancels it, and every retry answers with
// the alert already made.
func TestCAPImportNationalFeed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, inTok := e.member(storage.RoleResident, 0, inside)                                   // inside the orange polygon
	_, farTok := e.member(storage.RoleResident, 0, storage.LatLng{Lat: 28.80, Lng: 119.16}) // south of it
	ic, fc := e.dial(inTok), e.dial(farTok)
	ic.welcome()
	fc.welcome()

	orange := capFixture(t, e, "cma-rainstorm-orange.xml")
	code, out := e.postCAP("", e.admin, orange)
	if code != http.StatusCreated {
		t.Fatalf("import: %d %v", code, out)
	}
	al := alertOf(t, out)
	id := al["id"].(string)
	if al["title"] != "龙游县气象台发布暴雨橙色预警[II级/严重]" || al["severity"] != "severe" || al["kind"] != "warning" {
		t.Fatalf("alert: %v", al)
	}
	if !strings.Contains(al["body"].(string), "预计未来3小时内") || !strings.Contains(al["body"].(string), "\n\n1. 政府") {
		t.Errorf("body is description, a blank line, instruction: %q", al["body"])
	}
	var area struct {
		Polygon [][]float64 `json:"polygon"`
	}
	raw, _ := json.Marshal(al["area"])
	_ = json.Unmarshal(raw, &area)
	if len(area.Polygon) < 50 {
		t.Fatalf("area: the 60-point polygon, once (both infos repeat it): %s", raw)
	}
	meta := al["cap"].(map[string]any)
	infos := meta["infos"].([]any)
	if len(infos) != 2 || infos[0].(map[string]any)["language"] != "zh-CN" || infos[1].(map[string]any)["language"] != "en-US" {
		t.Fatalf("infos kept by language: %v", infos)
	}
	zh := infos[0].(map[string]any)
	if zh["event"] != "暴雨" || zh["urgency"] != "Expected" || zh["certainty"] != "Likely" || zh["sender_name"] != "龙游县气象台" ||
		fmt.Sprint(zh["category"]) != "[Met]" || fmt.Sprint(zh["response_type"]) != "[Prepare Avoid]" || zh["area_desc"] != "龙游县湖镇镇、横山镇、塔石镇" {
		t.Errorf("zh info kept: %v", zh)
	}
	if en := infos[1].(map[string]any); !strings.Contains(en["title"].(string), "Rainstorm") {
		t.Errorf("en info's title: %v", en)
	}
	if meta["sender"] != "33082541600000@12379.cn" || meta["status"] != "Actual" || al["exercise"] != nil {
		t.Errorf("meta: %v, exercise %v", meta, al["exercise"])
	}
	if num(out["targeted"]) != 1 {
		t.Errorf("targeted %v: the resident inside only", out["targeted"])
	}
	f, _ := ic.nextOf("alert")
	if got := f["alert"].(map[string]any); got["id"] != id || got["cap"] == nil {
		t.Fatalf("member's alert frame: %v", f)
	}

	// The same message again: the same alert, 200, never a second one.
	code, out = e.postCAP("", e.admin, orange)
	if code != http.StatusOK || alertOf(t, out)["id"] != id || out["duplicate"] != true {
		t.Fatalf("retry: %d %v", code, out)
	}
	code, list := e.call("GET", "/api/v1/alerts", e.admin, nil)
	if code != 200 || len(list["alerts"].([]any)) != 1 {
		t.Fatalf("alerts after a retry: %d %v", code, list)
	}

	// The red update refers to it: new text, severity and area (the union
	// of a polygon and a circle, both around the resident inside), in
	// place: the same alert, the resident gets alert_update.
	code, out = e.postCAP("", e.admin, capFixture(t, e, "cma-rainstorm-red-update.xml"))
	if code != http.StatusOK {
		t.Fatalf("update: %d %v", code, out)
	}
	al = alertOf(t, out)
	if al["id"] != id || al["severity"] != "extreme" || !strings.Contains(al["title"].(string), "红色") || al["updated_by"] == nil || al["update_seq"] == nil {
		t.Fatalf("updated alert: %v", al)
	}
	if u := al["area"].(map[string]any)["union"]; u == nil || len(u.([]any)) != 2 {
		t.Errorf("update's area: the union of its polygon and circle: %v", al["area"])
	}
	uf, _ := ic.nextOf("alert_update")
	if got := uf["alert_update"].(map[string]any); got["id"] != id || got["severity"] != "extreme" || got["in_area"] != nil {
		t.Fatalf("alert_update frame: %v", uf)
	}
	code, out = e.postCAP("", e.admin, capFixture(t, e, "cma-rainstorm-red-update.xml"))
	if code != http.StatusOK || out["duplicate"] != true || out["msg_type"] != "Update" {
		t.Fatalf("update retried: %d %v", code, out)
	}
	ic.quiet(300*time.Millisecond, "alert_update")

	// The cancel refers to both; a retry answers the same.
	code, out = e.postCAP("", e.admin, capFixture(t, e, "cma-rainstorm-cancel.xml"))
	if code != http.StatusOK || alertOf(t, out)["status"] != "cancelled" || alertOf(t, out)["cancelled_by"] == nil {
		t.Fatalf("cancel: %d %v", code, out)
	}
	ic.nextOf("alert_cancel")
	code, out = e.postCAP("", e.admin, capFixture(t, e, "cma-rainstorm-cancel.xml"))
	if code != http.StatusOK || out["duplicate"] != true {
		t.Fatalf("cancel retried: %d %v", code, out)
	}
	fc.quiet(200*time.Millisecond, "alert", "alert_update", "alert_cancel")
}

// TestCAPImportOASISExamples: the examples of the OASIS CAP 1.2
// specification, as far as a county hub can take them.
func TestCAPImportOASISExamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, c := range []struct {
		file string
		code int
		want string // in the error message, or the area kind
	}{
		{"oasis-a1-hsas.xml", 201, "villages"},         // no <area>: the whole county
		{"oasis-a2-thunderstorm.xml", 201, "polygon"},  // far away: nobody targeted
		{"oasis-a3-earthquake.xml", 404, "references"}, // an Update of a message never imported
		{"oasis-a4-amber.xml", 400, "info.area"},       // FIPS codes only: whom to alert is unknown
		{"nonamespace-z-times.xml", 201, "union"},      // Test status: an exercise, Z times, no namespace
		{"cap11-flood-exercise.xml", 201, "union"},     // CAP 1.1, Exercise, two circles
	} {
		doc := oasisFixture(t, c.file)
		if strings.HasPrefix(c.file, "nonamespace") || strings.HasPrefix(c.file, "cap11") {
			doc = capFixture(t, e, c.file)
		}
		code, out := e.postCAP("", e.admin, doc)
		if code != c.code {
			t.Errorf("%s: %d %v, want %d", c.file, code, out, c.code)
			continue
		}
		if code != 201 {
			if msg := fmt.Sprint(out["error"]); !strings.Contains(msg, c.want) {
				t.Errorf("%s: error %s does not name %s", c.file, msg, c.want)
			}
			continue
		}
		al := alertOf(t, out)
		if _, ok := al["area"].(map[string]any)[c.want]; !ok {
			t.Errorf("%s: area %v, want a %s", c.file, al["area"], c.want)
		}
		if ex := strings.Contains(c.file, "exercise") || strings.HasPrefix(c.file, "nonamespace"); ex != (al["exercise"] == true) {
			t.Errorf("%s: exercise %v", c.file, al["exercise"])
		}
	}

	// Geocodes alone: the villages whose division code they prefix.
	hz := e.codedVillage("湖镇村", "330825100201", storage.LatLng{Lat: 29.05, Lng: 119.2})
	other := e.codedVillage("塔石村", "330825104201", storage.LatLng{Lat: 29.06, Lng: 119.25})
	doc := `<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>geo-1</identifier><sender>x@12379.cn</sender>
<sent>2026-06-15T08:00:00+08:00</sent><status>Actual</status><msgType>Alert</msgType><scope>Public</scope>
<info><language>zh-CN</language><category>Geo</category><event>地质灾害</event><urgency>Immediate</urgency>
<severity>Unknown</severity><certainty>Possible</certainty><headline>湖镇镇地质灾害风险预警</headline>
<area><areaDesc>湖镇镇</areaDesc><geocode><valueName>统计用区划代码</valueName><value>330825100000</value></geocode></area></info></alert>`
	doc = strings.ReplaceAll(doc, "2026-06-15", e.now().Add(-time.Hour).Format("2006-01-02"))
	doc = strings.Replace(doc, "T08:00:00+08:00", e.now().Add(-time.Hour).Format("T15:04:05Z07:00"), 1)
	code, out := e.postCAP("", e.admin, []byte(doc))
	if code != 201 {
		t.Fatalf("geocode import: %d %v", code, out)
	}
	al := alertOf(t, out)
	if fmt.Sprint(al["villages"]) != "["+hz.ID+"]" || al["severity"] != "minor" {
		t.Errorf("geocode 330825100000 targets %v (want %s, not %s); severity %v", al["villages"], hz.ID, other.ID, al["severity"])
	}
}

// TestCAPImportRefused: bad documents are 400 naming what is wrong (413
// over 1 MiB) and change nothing; a resident may not import.
func TestCAPImportRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, resTok := e.member(storage.RoleResident, 0, inside)
	good := string(capFixture(t, e, "cma-rainstorm-orange.xml"))
	for _, c := range []struct {
		name, doc string
		code      int
		want      string
	}{
		{"not XML", "hello", 400, "not XML"},
		{"not CAP", `<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"/>`, 400, "not a CAP"},
		{"DOCTYPE", `<?xml version="1.0"?><!DOCTYPE alert [<!ENTITY x SYSTEM "file:///etc/passwd">]>` + good[strings.Index(good, "<alert"):], 400, "DOCTYPE"},
		{"System", strings.Replace(good, "<status>Actual</status>", "<status>System</status>", 1), 400, "status"},
		{"Draft", strings.Replace(good, "<status>Actual</status>", "<status>Draft</status>", 1), 400, "status"},
		{"Ack", strings.Replace(good, "<msgType>Alert</msgType>", "<msgType>Ack</msgType>", 1), 400, "msgType"},
		{"Error", strings.Replace(good, "<msgType>Alert</msgType>", "<msgType>Error</msgType>", 1), 400, "msgType"},
		{"no identifier", regexp.MustCompile(`<identifier>[^<]*</identifier>`).ReplaceAllString(good, ""), 400, "identifier"},
		{"bad polygon", strings.Replace(good, "<polygon>29.0300,119.2988 ", "<polygon>99.0300,119.2988 ", 1), 400, "polygon"},
		{"Update without references", strings.Replace(good, "<msgType>Alert</msgType>", "<msgType>Update</msgType>", 1), 400, "references"},
		{"too large", good[:strings.Index(good, "<info>")] + "<note>" + strings.Repeat("x", cap.MaxSize) + "</note>" + good[strings.Index(good, "<info>"):], 413, ""},
	} {
		code, out := e.postCAP("", e.admin, []byte(c.doc))
		if code != c.code || !strings.Contains(fmt.Sprint(out["error"]), c.want) {
			t.Errorf("%s: %d %v, want %d naming %q", c.name, code, out, c.code, c.want)
		}
	}
	if code, out := e.postCAP("", resTok, []byte(good)); code != http.StatusForbidden {
		t.Errorf("a resident imports: %d %v", code, out)
	}
	code, list := e.call("GET", "/api/v1/alerts", e.admin, nil)
	if code != 200 || len(list["alerts"].([]any)) != 0 {
		t.Fatalf("alerts after refused imports: %v", list)
	}
}

// TestCAPRoundTrip: import -> export (valid against the OASIS schema) ->
// import gives the same alert; an updated alert exports as an Update
// referring to the alert.
func TestCAPRoundTrip(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.PublicURL = "https://hub.longyou.example" })
	for _, file := range []string{"cma-rainstorm-orange.xml", "cap11-flood-exercise.xml"} {
		code, out := e.postCAP("", e.admin, capFixture(t, e, file))
		if code != http.StatusCreated {
			t.Fatalf("%s: import: %d %v", file, code, out)
		}
		first := alertOf(t, out)
		id := first["id"].(string)
		doc := mustCAP(t, e, id)
		m := validCAP(t, doc)
		if m.Identifier != id || len(m.Infos) != len(first["cap"].(map[string]any)["infos"].([]any)) {
			t.Fatalf("%s: export: %s", file, doc)
		}
		// The export is another agency's message now: import it back.
		code, out = e.postCAP("", e.admin, doc)
		if code != http.StatusCreated {
			t.Fatalf("%s: import of the export: %d %v\n%s", file, code, out, doc)
		}
		second := alertOf(t, out)
		for _, k := range []string{"kind", "severity", "title", "body", "area", "exercise", "roles"} {
			if a, b := fmt.Sprint(first[k]), fmt.Sprint(second[k]); a != b {
				t.Errorf("%s: %s differs after the round trip:\n %s\n %s", file, k, a, b)
			}
		}
		i1, i2 := first["cap"].(map[string]any)["infos"].([]any), second["cap"].(map[string]any)["infos"].([]any)
		for i := range i1 {
			a, b := i1[i].(map[string]any), i2[i].(map[string]any)
			for _, k := range []string{"language", "event", "category", "urgency", "severity", "certainty", "response_type",
				"headline", "description", "instruction", "area_desc", "title", "body", "sender_name", "web"} {
				if fmt.Sprint(a[k]) != fmt.Sprint(b[k]) {
					t.Errorf("%s: info %d %s: %v, then %v", file, i, k, a[k], b[k])
				}
			}
		}
		// Exported again, the second alert says what the first said.
		m2 := validCAP(t, mustCAP(t, e, second["id"].(string)))
		if m.Status != m2.Status || len(m.Infos) != len(m2.Infos) || m.Infos[0].Headline != m2.Infos[0].Headline {
			t.Errorf("%s: exports differ: %+v\n%+v", file, m, m2)
		}
	}

	// An alert updated in place exports as an Update referring to it.
	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000, nil))
	if code != 201 {
		t.Fatalf("send: %d %v", code, out)
	}
	id := alertOf(t, out)["id"].(string)
	code, out = e.call("POST", "/api/v1/alerts/"+id+"/update", e.admin, map[string]any{"title": "更新后的标题", "severity": "extreme"})
	if code != 200 {
		t.Fatalf("update: %d %v", code, out)
	}
	m := validCAP(t, mustCAP(t, e, id))
	if m.MsgType != cap.MsgUpdate || len(m.References) != 1 || m.References[0].Identifier != id || m.Infos[0].Headline != "更新后的标题" ||
		m.Infos[0].Severity != cap.SeverityExtreme || !strings.HasPrefix(m.Identifier, id+".update.") {
		t.Errorf("update export: %+v", m)
	}
	// Imported into another hub, the Update finds its alert by the reference.
	code, out = e.postCAP("", e.admin, mustCAP(t, e, id))
	if code != http.StatusOK || alertOf(t, out)["id"] != id {
		t.Errorf("re-import of the hub's own Update: %d %v", code, out)
	}
}

// TestExerciseNeverReachesResidents: a CAP Exercise and a JSON
// "exercise": true go to staff only, marked 演练 in their SMS.
func TestExerciseNeverReachesResidents(t *testing.T) {
	t.Parallel()
	snd := &recordingSender{}
	e := newEnv(t, func(c *Config) { c.Sender = snd; c.PublicURL = "https://hub.example" })
	res, resTok := e.member(storage.RoleResident, 0, inside)
	_, patTok := e.member(storage.RolePatrol, 0, inside)
	offRes, _ := e.member(storage.RoleResident, 0, inside)
	offPat, _ := e.member(storage.RolePatrol, 0, inside)
	rc, pc := e.dial(resTok), e.dial(patTok)
	rc.welcome()
	pc.welcome()
	_ = res

	code, out := e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000,
		map[string]any{"exercise": true, "sms_fallback_after_s": 60}))
	if code != 201 || num(out["targeted"]) != 2 {
		t.Fatalf("JSON exercise: %d %v", code, out)
	}
	al := alertOf(t, out)
	if al["exercise"] != true || fmt.Sprint(al["roles"]) != "[patrol cadre commander admin]" {
		t.Errorf("exercise alert: %v", al)
	}
	f, _ := pc.nextOf("alert")
	if f["alert"].(map[string]any)["exercise"] != true {
		t.Errorf("patrol's frame lacks exercise: %v", f)
	}
	waitFor(t, "the offline patrol's SMS", func() bool { return len(snd.to(offPat.Phone)) == 1 })
	if body := snd.to(offPat.Phone)[0].Body; !strings.HasPrefix(body, "【演练】") {
		t.Errorf("exercise SMS: %q", body)
	}

	code, out = e.postCAP("/api/v1/alerts?sms_fallback_after_s=0", e.admin, capFixture(t, e, "cap11-flood-exercise.xml"))
	if code != 201 || alertOf(t, out)["exercise"] != true {
		t.Fatalf("CAP exercise: %d %v", code, out)
	}
	// Residents only: refused.
	code, out = e.call("POST", "/api/v1/alerts", e.admin, circleAlert(29.03, 119.17, 2000,
		map[string]any{"exercise": true, "roles": []string{"resident"}}))
	if code != 400 || !strings.Contains(fmt.Sprint(out["error"]), "staff") {
		t.Errorf("an exercise for residents: %d %v", code, out)
	}
	rc.quiet(500*time.Millisecond, "alert")
	time.Sleep(300 * time.Millisecond)
	if n := len(snd.to(offRes.Phone)) + len(snd.to(res.Phone)); n != 0 {
		t.Errorf("residents got %d SMS of exercises", n)
	}
	reply, before := rc.cmd(map[string]any{"type": "resume", "since": 0})
	if reply["ok"] != true {
		t.Fatalf("resume: %v", reply)
	}
	for _, f := range before {
		if f["type"] == "alert" || f["type"] == "alert_update" {
			t.Errorf("a resident resumed an exercise: %v", f)
		}
	}
}

// TestAlertUpdateMovesRecipients: an update in place over JSON moves the
// area: members now inside get the alert, those left out an alert_update
// with in_area false (once, also on resume), those inside still keep their
// answers and get the alert_update.
func TestAlertUpdateMovesRecipients(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cmd, cmdTok := e.member(storage.RoleCommander, -1, outside)
	west := storage.LatLng{Lat: 29.03, Lng: 119.15}
	east := storage.LatLng{Lat: 29.03, Lng: 119.19}
	mid := storage.LatLng{Lat: 29.03, Lng: 119.17}
	_, wTok := e.member(storage.RoleResident, 0, west)
	eastM, eTok := e.member(storage.RoleResident, 0, east)
	midM, mTok := e.member(storage.RoleResident, 0, mid)
	wc, ec, mc := e.dial(wTok), e.dial(eTok), e.dial(mTok)
	wc.welcome()
	ec.welcome()
	mc.welcome()
	code, out := e.call("POST", "/api/v1/alerts", cmdTok, circleAlert(29.03, 119.16, 1500, nil))
	if code != 201 || num(out["targeted"]) != 2 {
		t.Fatalf("send: %d %v", code, out)
	}
	id := alertOf(t, out)["id"].(string)
	wc.nextOf("alert")
	mc.nextOf("alert")
	if reply, _ := mc.cmd(map[string]any{"type": "ack", "alert_id": id, "response": "safe"}); reply["ok"] != true {
		t.Fatalf("ack: %v", reply)
	}
	waitFor(t, "the answer stored", func() bool {
		_, g := e.call("GET", "/api/v1/alerts/"+id, cmdTok, nil)
		return num(g["progress"].(map[string]any)["acked"].(map[string]any)["safe"]) == 1
	})

	// Move the circle east: west out, east in, mid stays (with its answer).
	code, out = e.call("POST", "/api/v1/alerts/"+id+"/update", cmdTok, map[string]any{
		"title": "范围调整", "area": map[string]any{"circle": map[string]any{"lat": 29.03, "lng": 119.18, "radius_m": 1500}}})
	if code != 200 || num(out["added"]) != 1 || num(out["removed"]) != 1 || num(out["targeted"]) != 2 {
		t.Fatalf("update: %d %v", code, out)
	}
	if al := alertOf(t, out); al["updated_by"] != cmd.ID || al["title"] != "范围调整" {
		t.Errorf("updated alert: %v", al)
	}
	wf, _ := wc.nextOf("alert_update")
	if u := wf["alert_update"].(map[string]any); u["in_area"] != false || u["id"] != id {
		t.Errorf("west's alert_update: %v", wf)
	}
	ef, _ := ec.nextOf("alert")
	if a := ef["alert"].(map[string]any); a["title"] != "范围调整" {
		t.Errorf("east's alert: %v", ef)
	}
	mf, _ := mc.nextOf("alert_update")
	if u := mf["alert_update"].(map[string]any); u["in_area"] != nil || u["title"] != "范围调整" {
		t.Errorf("mid's alert_update: %v", mf)
	}
	code, rs := e.call("GET", "/api/v1/alerts/"+id+"/recipients", cmdTok, nil)
	if code != 200 {
		t.Fatalf("recipients: %d %v", code, rs)
	}
	got := map[string]string{}
	for _, r := range rs["recipients"].([]any) {
		r := r.(map[string]any)
		got[r["member_id"].(string)] = r["response"].(string)
	}
	if len(got) != 2 || got[midM.ID] != "safe" || got[eastM.ID] != "" {
		t.Errorf("recipients after the update: %v", got)
	}
	// Resume from 0 on a new connection: west reads the alert_update
	// taking it out, once (no longer a recipient, it is not sent the alert
	// again, nor as active).
	w2 := e.dial(wTok)
	w2.welcome()
	reply, before := w2.cmd(map[string]any{"type": "resume", "since": 0})
	if reply["ok"] != true {
		t.Fatalf("resume: %v", reply)
	}
	var types []string
	for _, f := range before {
		types = append(types, fmt.Sprint(f["type"]))
	}
	if fmt.Sprint(types) != "[alert_update]" {
		t.Errorf("west's resume: %v", types)
	}
	// East's new connection gets the alert and its update as active.
	e2 := e.dial(eTok)
	e2.welcome()
	f1, _ := e2.nextOf("alert")
	f2, _ := e2.nextOf("alert_update")
	if f1["alert"].(map[string]any)["id"] != id || f2["alert_update"].(map[string]any)["title"] != "范围调整" {
		t.Errorf("east's active alert on connect: %v %v", f1, f2)
	}
	// A cancel records who cancelled.
	code, out = e.call("POST", "/api/v1/alerts/"+id+"/cancel", cmdTok, nil)
	if code != 200 || alertOf(t, out)["cancelled_by"] != cmd.ID {
		t.Errorf("cancel: %d %v", code, out)
	}
	code, out = e.call("POST", "/api/v1/alerts/"+id+"/update", cmdTok, map[string]any{"title": "x"})
	if code != 409 {
		t.Errorf("update of a cancelled alert: %d %v", code, out)
	}
	_, resTok := e.member(storage.RoleResident, 0, inside)
	if code, out := e.call("POST", "/api/v1/alerts/"+id+"/update", resTok, map[string]any{"title": "x"}); code != 403 {
		t.Errorf("a resident updates: %d %v", code, out)
	}
}
