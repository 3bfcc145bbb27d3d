package server

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/longyou/hub/storage"
)

// TestPatrolMonth scripts a month of a village's patrols with the
// injected clock: rounds whose tracks are the live positions sent while
// they are open (thinned), reports made during a round linked to it,
// watched households due and overdue by their watch kind's frequency,
// visits resetting them, and the tallies of an alert and an emergency
// period equal to what the script did; with the scopes.
func TestPatrolMonth(t *testing.T) {
	e := newEnv(t)
	v0, v1 := e.villages[0].ID, e.villages[1].ID
	pat, patTok := e.member(storage.RolePatrol, 0, inside)
	_, pat1Tok := e.member(storage.RolePatrol, 1, inside)
	_, cadTok := e.member(storage.RoleCadre, 0, inside)
	_, cad1Tok := e.member(storage.RoleCadre, 1, inside)
	r0, resTok := e.member(storage.RoleResident, 0, inside)
	r1, _ := e.member(storage.RoleResident, 0, inside)
	r2, _ := e.member(storage.RoleResident, 1, inside)
	_, comTok := e.member(storage.RoleCommander, -1, inside)

	mustCall := func(want int, method, path, tok string, body any) map[string]any {
		t.Helper()
		code, out := e.call(method, path, tok, body)
		if code != want {
			t.Fatalf("%s %s: %d %v, want %d", method, path, code, out, want)
		}
		return out
	}
	household := func(tok, v, name, watch string, ids ...string) string {
		t.Helper()
		out := mustCall(201, "POST", "/api/v1/households", tok, map[string]any{"village_id": v, "name": name, "member_ids": ids, "watch": watch})
		return out["household"].(map[string]any)["id"].(string)
	}
	hControl := household(cadTok, v0, "王家", "control", r0.ID)
	hService := household(cadTok, v0, "李家", "service", r1.ID)
	hBackbone := household(cadTok, v0, "张家", "backbone")
	household(cadTok, v0, "赵家", "") // not watched: never due
	hOther := household(comTok, v1, "陈家", "control", r2.ID)

	dueIDs := func(path, tok string) []string {
		t.Helper()
		out := mustCall(200, "GET", path, tok, nil)
		var ids []string
		for _, d := range out["due"].([]any) {
			ids = append(ids, d.(map[string]any)["household"].(map[string]any)["id"].(string))
		}
		return ids
	}
	// Day 0: every watched household is due (never visited), the one
	// visited most often first; none is overdue.
	if got, want := dueIDs("/api/v1/visits/due", patTok), []string{hControl, hService, hBackbone}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("day 0 due: %v, want %v", got, want)
	}
	if got := dueIDs("/api/v1/visits/due", pat1Tok); fmt.Sprint(got) != fmt.Sprint([]string{hOther}) {
		t.Errorf("patrol of v1 due: %v", got)
	}
	if got := dueIDs("/api/v1/visits/overdue", cadTok); len(got) != 0 {
		t.Errorf("day 0 overdue: %v", got)
	}

	// The scopes.
	for _, c := range []struct {
		name, method, path, tok string
		body                    any
		want                    int
	}{
		{"patrol reads another village's due list", "GET", "/api/v1/visits/due?village_id=" + v1, patTok, nil, 403},
		{"resident reads a due list", "GET", "/api/v1/visits/due", resTok, nil, 403},
		{"patrol reads the overdue list", "GET", "/api/v1/visits/overdue", patTok, nil, 403},
		{"cadre reads another village's overdue list", "GET", "/api/v1/visits/overdue?village_id=" + v1, cadTok, nil, 403},
		{"resident starts a round", "POST", "/api/v1/rounds", resTok, map[string]any{"kind": "fire"}, 403},
		{"commander starts a round", "POST", "/api/v1/rounds", comTok, map[string]any{"kind": "fire"}, 403},
		{"bad round kind", "POST", "/api/v1/rounds", patTok, map[string]any{"kind": "picnic"}, 400},
		{"resident records a visit", "POST", "/api/v1/visits", resTok, map[string]any{"household_id": hControl}, 404},
		{"patrol visits another village's household", "POST", "/api/v1/visits", patTok, map[string]any{"household_id": hOther}, 404},
		{"visit without household", "POST", "/api/v1/visits", patTok, map[string]any{"note": "x"}, 400},
		{"visit with another's photo", "POST", "/api/v1/visits", patTok, map[string]any{"household_id": hControl, "photos": []string{"md_x"}}, 400},
		{"resident reads visits", "GET", "/api/v1/visits?household_id=" + hControl, resTok, nil, 404},
		{"cadre names an emergency", "POST", "/api/v1/emergencies", cadTok, map[string]any{"name": "x", "from": "2026-01-01", "to": "2026-01-02"}, 403},
		{"resident reads tallies", "GET", "/api/v1/tallies?from=2026-01-01&to=2026-01-02", resTok, nil, 403},
		{"patrol reads tallies", "GET", "/api/v1/tallies?from=2026-01-01&to=2026-01-02", patTok, nil, 403},
		{"cadre reads another village's tallies", "GET", "/api/v1/tallies?from=2026-01-01&to=2026-01-02&village_id=" + v1, cadTok, nil, 403},
		{"tallies without a span", "GET", "/api/v1/tallies", comTok, nil, 400},
		{"tallies with two spans", "GET", "/api/v1/tallies?from=2026-01-01&to=2026-01-02&emergency_id=em_x", comTok, nil, 400},
		{"tallies backwards", "GET", "/api/v1/tallies?from=2026-01-02&to=2026-01-01", comTok, nil, 400},
		{"tallies bad date", "GET", "/api/v1/tallies?from=2026-13-01&to=2026-01-01", comTok, nil, 400},
		{"tallies of no emergency", "GET", "/api/v1/tallies?emergency_id=em_x", comTok, nil, 404},
	} {
		if code, out := e.call(c.method, c.path, c.tok, c.body); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}

	// The emergency period and an alert start now.
	start := e.now()
	em := mustCall(201, "POST", "/api/v1/emergencies", comTok, map[string]any{"name": "冰冻灾害",
		"from": start.Add(-time.Minute).Format(time.RFC3339), "to": start.Add(20 * 24 * time.Hour).Format(time.RFC3339)})
	emID := em["emergency"].(map[string]any)["id"].(string)
	if out := mustCall(200, "GET", "/api/v1/emergencies", cadTok, nil); len(out["emergencies"].([]any)) != 1 {
		t.Errorf("emergencies: %v", out)
	}
	al := mustCall(201, "POST", "/api/v1/alerts", comTok, circleAlert(29.03, 119.17, 3000, nil))
	alertID := al["alert"].(map[string]any)["id"].(string)
	mustCall(201, "POST", "/api/v1/bulletins", cadTok, map[string]any{"village_id": v0, "category": "notice", "title": "注意防冻"})

	ws := e.dial(patTok)
	cadWS, resWS := e.dial(cadTok), e.dial(resTok)
	locate := func(lat, lng float64) {
		t.Helper()
		if reply, _ := ws.cmd(map[string]any{"type": "locate", "lat": lat, "lng": lng}); reply["ok"] != true {
			t.Fatalf("locate: %v", reply)
		}
	}
	locate(29.020, 119.17) // no round open: not recorded

	e.advance(time.Minute)
	rd := mustCall(201, "POST", "/api/v1/rounds", patTok, map[string]any{"kind": "fire"})["round"].(map[string]any)
	roundID := rd["id"].(string)
	if rd["ended_at"] != nil || rd["kind"] != "fire" || rd["village_id"] != v0 {
		t.Errorf("started round: %v", rd)
	}
	mustCall(409, "POST", "/api/v1/rounds", patTok, map[string]any{"kind": "flood"})
	if out := mustCall(200, "GET", "/api/v1/rounds/open", patTok, nil); out["round"].(map[string]any)["id"] != roundID {
		t.Errorf("open round: %v", out)
	}
	for _, p := range [][2]float64{{29.030, 119.17}, {29.031, 119.17}, {29.03101, 119.17}, {29.032, 119.17}} {
		e.advance(30 * time.Second)
		locate(p[0], p[1]) // the third is ~1 m from the second: thinned
	}
	e.advance(5 * time.Second)
	locate(29.0325, 119.17) // 55 m on, but 5 s after the last point: thinned
	// A hazard found becomes a report by the normal route, linked to
	// the round; and a visit on the way.
	rep := mustCall(201, "POST", "/api/v1/reports", patTok, map[string]any{"kind": "fire", "text": "柴堆靠近电线", "lat": 29.031, "lng": 119.17})
	repID := rep["report"].(map[string]any)["id"].(string)
	code, media := e.callMedia(patTok, "image/png", pngBytes)
	if code != 201 {
		t.Fatalf("upload: %d %v", code, media)
	}
	mediaID := media["media"].(map[string]any)["id"].(string)
	vis := mustCall(201, "POST", "/api/v1/visits", patTok, map[string]any{"household_id": hControl, "note": "炉具安全", "photos": []string{mediaID}})
	if v := vis["visit"].(map[string]any); v["round_id"] != roundID || v["note"] != "炉具安全" {
		t.Errorf("visit: %v", v)
	}
	// The village's cadre reads the visit's photo; another village's not.
	if code, _ := e.callRaw("GET", "/api/v1/media/"+mediaID, cadTok, nil); code != 200 {
		t.Errorf("cadre reads the visit photo: %d", code)
	}
	if code, _ := e.callRaw("GET", "/api/v1/media/"+mediaID, cad1Tok, nil); code != 404 {
		t.Errorf("cadre of v1 reads the visit photo: %d, want 404", code)
	}
	if out := mustCall(200, "GET", "/api/v1/rounds/"+roundID, patTok, nil); out["round"].(map[string]any)["reports"] != 1.0 {
		t.Errorf("open round counts its report: %v", out["round"])
	}

	e.advance(20 * time.Minute)
	end := mustCall(200, "POST", "/api/v1/rounds/"+roundID+"/end", patTok, map[string]any{"summary": "发现一处隐患"})["round"].(map[string]any)
	if end["points"] != 3.0 || end["reports"] != 1.0 || end["summary"] != "发现一处隐患" || end["ended_at"] == nil {
		t.Errorf("ended round: %v", end)
	}
	if d := end["distance_m"].(float64); d < 200 || d > 250 {
		t.Errorf("distance %v, want ~222 m", d)
	}
	if d := end["duration_s"].(float64); d < 22*60 || d > 23*60 {
		t.Errorf("duration %v s, want 22 min", d)
	}
	mustCall(409, "POST", "/api/v1/rounds/"+roundID+"/end", patTok, map[string]any{"summary": "again"})
	// The village's cadre follows the round and the visit live (addressed
	// events); a resident does not.
	if f, _ := cadWS.nextOf("round"); f["round"].(map[string]any)["id"] != roundID || f["round"].(map[string]any)["ended_at"] != nil {
		t.Errorf("round start event: %v", f)
	}
	if f, _ := cadWS.nextOf("visit"); f["visit"].(map[string]any)["household_id"] != hControl {
		t.Errorf("visit event: %v", f)
	}
	if f, _ := cadWS.nextOf("round"); f["round"].(map[string]any)["ended_at"] == nil || f["round"].(map[string]any)["reports"] != 1.0 ||
		f["round"].(map[string]any)["points"] != 3.0 {
		t.Errorf("round end event: %v", f)
	}
	resWS.quiet(300*time.Millisecond, "round", "visit")
	e.advance(time.Minute)
	locate(29.05, 119.17) // after the round: not recorded
	got := mustCall(200, "GET", "/api/v1/rounds/"+roundID, cadTok, nil)
	coords := got["track"].(map[string]any)["geometry"].(map[string]any)["coordinates"].([]any)
	if len(coords) != 3 || coords[0].([]any)[1] != 29.030 || coords[2].([]any)[1] != 29.032 {
		t.Errorf("track: %v", coords)
	}
	if ids := got["report_ids"].([]any); len(ids) != 1 || ids[0] != repID {
		t.Errorf("round reports: %v", ids)
	}
	for _, c := range []struct {
		name, tok string
		want      int
	}{{"patrol of v1", pat1Tok, 404}, {"resident", resTok, 404}, {"cadre of v1", cad1Tok, 404}, {"commander", comTok, 200}} {
		if code, _ := e.call("GET", "/api/v1/rounds/"+roundID, c.tok, nil); code != c.want {
			t.Errorf("%s reads the round: %d, want %d", c.name, code, c.want)
		}
	}
	if code, _ := e.call("POST", "/api/v1/rounds/"+roundID+"/end", resTok, map[string]any{}); code != 404 {
		t.Errorf("resident ends the round: %d", code)
	}

	// The alert ends; a second round (patrol of v1) and a report come
	// after it, inside the emergency.
	e.advance(time.Hour)
	mustCall(200, "POST", "/api/v1/alerts/"+alertID+"/cancel", comTok, nil)
	e.advance(time.Hour)
	rd1 := mustCall(201, "POST", "/api/v1/rounds", pat1Tok, map[string]any{"kind": "flood"})["round"].(map[string]any)
	mustCall(201, "POST", "/api/v1/reports", resTok, map[string]any{"kind": "road", "text": "路面结冰", "lat": 29.03, "lng": 119.17})
	e.advance(time.Hour)
	mustCall(200, "POST", "/api/v1/rounds/"+rd1["id"].(string)+"/end", pat1Tok, map[string]any{"summary": ""})

	// Rounds lists: the patrol its own, the cadre its village's, command
	// any (filtered by village).
	listIDs := func(path, tok string) []any {
		t.Helper()
		out := mustCall(200, "GET", path, tok, nil)
		var ids []any
		for _, r := range out["rounds"].([]any) {
			ids = append(ids, r.(map[string]any)["id"])
		}
		return ids
	}
	if ids := listIDs("/api/v1/rounds", patTok); len(ids) != 1 || ids[0] != roundID {
		t.Errorf("patrol's rounds: %v", ids)
	}
	if ids := listIDs("/api/v1/rounds", cadTok); len(ids) != 1 || ids[0] != roundID {
		t.Errorf("cadre's rounds: %v", ids)
	}
	if ids := listIDs("/api/v1/rounds", comTok); len(ids) != 2 {
		t.Errorf("commander's rounds: %v", ids)
	}
	if ids := listIDs("/api/v1/rounds?village_id="+v1+"&kind=flood", comTok); len(ids) != 1 || ids[0] != rd1["id"] {
		t.Errorf("commander's rounds of v1: %v", ids)
	}
	if code, _ := e.call("GET", "/api/v1/rounds?village_id="+v1, cadTok, nil); code != 403 {
		t.Errorf("cadre lists v1's rounds: %d", code)
	}
	if code, _ := e.call("GET", "/api/v1/rounds?member_id="+pat.ID, pat1Tok, nil); code != 403 {
		t.Errorf("patrol lists another patrol's rounds: %d", code)
	}

	// Day 8: the control household (visited on day 0, every 7 days) is
	// overdue, listed first; the service one is due (never visited).
	e.advance(8 * 24 * time.Hour)
	if got := dueIDs("/api/v1/visits/overdue", cadTok); fmt.Sprint(got) != fmt.Sprint([]string{hControl}) {
		t.Errorf("day 8 overdue: %v", got)
	}
	due := mustCall(200, "GET", "/api/v1/visits/due", patTok, nil)["due"].([]any)
	if len(due) != 3 {
		t.Fatalf("day 8 due: %v", due)
	}
	first := due[0].(map[string]any)
	if first["household"].(map[string]any)["id"] != hControl || first["overdue"] != true || first["last_visit"] == nil ||
		first["every_s"] != float64(7*24*3600) {
		t.Errorf("day 8 first due: %v", first)
	}
	if got := dueIDs("/api/v1/visits/overdue?village_id="+v1, comTok); fmt.Sprint(got) != fmt.Sprint([]string{hOther}) {
		t.Errorf("day 8 overdue in v1 (never visited, created 8 days ago): %v", got)
	}
	// A visit resets it (no round open now).
	v2 := mustCall(201, "POST", "/api/v1/visits", cadTok, map[string]any{"household_id": hControl, "note": "复查"})
	if v2["visit"].(map[string]any)["round_id"] != "" {
		t.Errorf("visit outside a round: %v", v2)
	}
	if got := dueIDs("/api/v1/visits/overdue", cadTok); len(got) != 0 {
		t.Errorf("overdue after the visit: %v", got)
	}
	if got := dueIDs("/api/v1/visits/due", patTok); fmt.Sprint(got) != fmt.Sprint([]string{hService, hBackbone}) {
		t.Errorf("due after the visit: %v", got)
	}
	hist := mustCall(200, "GET", "/api/v1/visits?household_id="+hControl, patTok, nil)["visits"].([]any)
	if len(hist) != 2 || hist[0].(map[string]any)["note"] != "复查" {
		t.Errorf("visit history: %v", hist)
	}
	// Day 14.6: the service household is overdue too (14 days), the
	// control one (visited day 8) not yet.
	e.advance(156 * time.Hour)
	if got := dueIDs("/api/v1/visits/overdue", cadTok); fmt.Sprint(got) != fmt.Sprint([]string{hService}) {
		t.Errorf("day 15 overdue: %v", got)
	}

	// Resume replays the village's patrol events to its cadre exactly
	// once: the round's start and end, the two visits.
	rc := e.dial(cadTok)
	rc.welcome()
	reply, frames := rc.cmd(map[string]any{"type": "resume", "since": 0})
	if reply["ok"] != true {
		t.Fatalf("resume: %v", reply)
	}
	count := map[any]int{}
	for _, f := range frames {
		count[f["type"]]++
	}
	if count["round"] != 2 || count["visit"] != 2 {
		t.Errorf("resumed patrol events: %v", count)
	}
	if reply, frames := rc.cmd(map[string]any{"type": "resume", "since": 0}); reply["ok"] != true || len(frames) != 0 {
		t.Errorf("a second resume sent %d frames again", len(frames))
	}

	// The tallies. The alert's span: v0's first round, report, visit and
	// notice. The emergency: both rounds, both v0 reports, both visits.
	type row struct{ reports, notices, rounds, visits float64 }
	rowsOf := func(path, tok string) map[string]row {
		t.Helper()
		out := mustCall(200, "GET", path, tok, nil)
		rows := map[string]row{}
		for _, r := range out["villages"].([]any) {
			m := r.(map[string]any)
			rows[m["village_id"].(string)] = row{m["reports"].(float64), m["notices"].(float64), m["rounds"].(float64), m["visits"].(float64)}
			// The report figures come from the report service: the
			// script never handles its reports, and a month passes, so
			// every one is overdue, none on time or solved.
			if _, ok := m["on_time"]; !ok {
				t.Errorf("tallies without the report figures: %v", m)
			} else if m["overdue"] != m["reports"] || m["on_time"].(float64) != 0 || m["solved_in_village"].(float64) != 0 {
				t.Errorf("report figures %v: want every report overdue, none on time or solved", m)
			}
		}
		tot := out["total"].(map[string]any)
		rows["total"] = row{tot["reports"].(float64), tot["notices"].(float64), tot["rounds"].(float64), tot["visits"].(float64)}
		return rows
	}
	byAlert := rowsOf("/api/v1/tallies?alert_id="+alertID, comTok)
	if byAlert[v0] != (row{1, 1, 1, 1}) || byAlert[v1] != (row{}) || byAlert["total"] != (row{1, 1, 1, 1}) {
		t.Errorf("tallies of the alert: %v", byAlert)
	}
	byEm := rowsOf("/api/v1/tallies?emergency_id="+emID, comTok)
	if byEm[v0] != (row{2, 1, 1, 2}) || byEm[v1] != (row{0, 0, 1, 0}) || byEm["total"] != (row{2, 1, 2, 2}) {
		t.Errorf("tallies of the emergency: %v", byEm)
	}
	cad := rowsOf("/api/v1/tallies?emergency_id="+emID, cadTok)
	if len(cad) != 2 || cad[v0] != byEm[v0] {
		t.Errorf("cadre's tallies: %v", cad)
	}
	// A township cadre reads its township's villages (both are in "T").
	twp, twpTok := e.member(storage.RoleCadre, 0, inside)
	mustCall(200, "PUT", "/api/v1/members/"+twp.ID+"/township", comTok, map[string]any{"township": "T"})
	if tw := rowsOf("/api/v1/tallies?emergency_id="+emID, twpTok); len(tw) != 3 || tw[v1] != byEm[v1] || tw["total"] != byEm["total"] {
		t.Errorf("township cadre's tallies: %v", tw)
	}
	if got := dueIDs("/api/v1/visits/overdue?village_id="+v1, twpTok); len(got) != 1 {
		t.Errorf("township cadre's overdue list of v1: %v", got)
	}
	from, to := start.UTC().Format(time.RFC3339), start.Add(24*time.Hour).UTC().Format(time.RFC3339)
	span := rowsOf("/api/v1/tallies?from="+from+"&to="+to+"&village_id="+v0, comTok)
	if len(span) != 2 || span[v0] != (row{2, 1, 1, 1}) {
		t.Errorf("tallies of the first day: %v", span)
	}
	days := mustCall(200, "GET", "/api/v1/tallies?emergency_id="+emID, comTok, nil)["days"].([]any)
	var nr, nv float64
	for _, d := range days {
		nr += d.(map[string]any)["rounds"].(float64)
		nv += d.(map[string]any)["visits"].(float64)
	}
	if nr != 2 || nv != 2 {
		t.Errorf("per-day counts: %v", days)
	}

	code, raw := e.callRaw("GET", "/api/v1/tallies.csv?emergency_id="+emID, comTok, nil)
	if code != 200 || !bytes.HasPrefix(raw, []byte("\uFEFF")) {
		t.Fatalf("csv: %d %q", code, raw)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(raw, []byte("\uFEFF")))).ReadAll()
	if err != nil || len(recs) != 4 || recs[0][1] != "村庄" || !strings.Contains(strings.Join(recs[0], ","), "巡查轮次") {
		t.Fatalf("csv records: %v %v", recs, err)
	}
	if last := recs[3]; last[1] != "合计" || last[3] != "2" || last[5] != "2" || last[6] != "2" {
		t.Errorf("csv total: %v", last)
	}

	// The patrol's data export carries its rounds with their tracks.
	ex := mustCall(200, "GET", "/api/v1/members/"+pat.ID+"/export", e.admin, nil)
	if rs, _ := ex["rounds"].([]any); len(rs) != 1 || len(rs[0].(map[string]any)["track"].([]any)) != 3 || rs[0].(map[string]any)["id"] != roundID {
		t.Errorf("export rounds: %v", ex["rounds"])
	}
	// Erasing the patrol (v1.4) deletes its tracks' positions; the round
	// and its counts stay in the tallies.
	er := mustCall(200, "DELETE", "/api/v1/members/"+pat.ID, e.admin, nil)["erased"].(map[string]any)
	if er["tracks"] != 3.0 {
		t.Errorf("erased: %v, want 3 track points", er)
	}
	got = mustCall(200, "GET", "/api/v1/rounds/"+roundID, comTok, nil)
	if c := got["track"].(map[string]any)["geometry"].(map[string]any)["coordinates"].([]any); len(c) != 0 || got["round"].(map[string]any)["points"] != 3.0 {
		t.Errorf("round after the erasure: %v", got)
	}
}
