package server

import (
	"fmt"
	"testing"

	h3 "github.com/uber/h3-go/v4"

	"github.com/longyou/hub/storage"
)

// The cadre's scope (docs/API.md v1.4, issue 13 item 4): a cadre sees its
// own village's people, and elsewhere only counts that cannot pin a person.

// cellAt is the H3 cell the density map counts p in at res (4 to 9): the
// ancestor of its resolution-9 cell (geo.CountCells).
func cellAt(p storage.LatLng, res int) string {
	return h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, 9).Parent(res).String()
}

// density reads GET /api/v1/density?res= as tok.
func (e *testEnv) density(tok string, res int) (cells, others map[string]any, out map[string]any) {
	e.t.Helper()
	code, out := e.call("GET", fmt.Sprintf("/api/v1/density?res=%d", res), tok, nil)
	if code != 200 {
		e.t.Fatalf("density res %d: %d %v", res, code, out)
	}
	cells, _ = out["cells"].(map[string]any)
	if o, ok := out["others"].(map[string]any); ok {
		others, _ = o["cells"].(map[string]any)
	}
	return cells, others, out
}

// TestDensityCadreScope: a cadre's density map shows its own village at
// the requested resolution (live positions included) and other villages
// only at resolution 7 or coarser, without cells of fewer than 5 of their
// members: a member of another village living alone, or sharing its
// position live, never appears for the cadre at any resolution, while the
// commander still sees the whole county at resolution 9.
func TestDensityCadreScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cadreTok := e.member(storage.RoleCadre, 0, inside)
	_, comTok := e.member(storage.RoleCommander, -1, inside)

	// Far from everyone else (about 150 km): a lone resident of village 1
	// at home, and a patrol of village 1 sharing its live position.
	// Every group below is 100 km or more from the others and from the
	// villages, so that even a resolution-4 cell (about 45 km across)
	// holds one group only.
	lone := storage.LatLng{Lat: 30.4, Lng: 120.6}
	e.member(storage.RoleResident, 1, lone)
	livePos := storage.LatLng{Lat: 30.1, Lng: 118.2}
	_, patTok := e.member(storage.RolePatrol, 1, storage.LatLng{Lat: 29.13, Lng: 119.17})
	pc := e.dial(patTok)
	pc.welcome()
	if reply, _ := pc.cmd(map[string]any{"type": "locate", "lat": livePos.Lat, "lng": livePos.Lng}); reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}
	// A group of 5 of village 1 (shown coarse to the cadre), a group of 4
	// of village 1 beside 3 of village 0 (the 4 are too few; the cadre's
	// own 3 are no cover for them).
	five := storage.LatLng{Lat: 28.0, Lng: 118.0}
	mixed := storage.LatLng{Lat: 28.0, Lng: 120.4}
	for range 5 {
		e.member(storage.RoleResident, 1, five)
	}
	for range 4 {
		e.member(storage.RoleResident, 1, mixed)
	}
	for range 3 {
		e.member(storage.RoleResident, 0, mixed)
	}
	// The cadre's own patrol, live far from home: the cadre sees it.
	ownLive := storage.LatLng{Lat: 31.0, Lng: 119.5}
	_, ownPatTok := e.member(storage.RolePatrol, 0, inside)
	oc := e.dial(ownPatTok)
	oc.welcome()
	if reply, _ := oc.cmd(map[string]any{"type": "locate", "lat": ownLive.Lat, "lng": ownLive.Lng}); reply["ok"] != true {
		t.Fatalf("locate: %v", reply)
	}

	// The commander: the whole county at resolution 9, the lone members
	// in cells of their own.
	cells, others, out := e.density(comTok, 9)
	if cells[cellAt(lone, 9)] != 1.0 || cells[cellAt(livePos, 9)] != 1.0 || others != nil || out["village_id"] != nil {
		t.Fatalf("commander's density at res 9: %v", out)
	}

	for res := 4; res <= 9; res++ {
		cells, others, out := e.density(cadreTok, res)
		if out["village_id"] != e.villages[0].ID || out["res"] != float64(res) {
			t.Fatalf("res %d: %v", res, out)
		}
		o := out["others"].(map[string]any)
		ores := min(res, 7)
		if o["res"] != float64(ores) || o["min_count"] != 5.0 {
			t.Fatalf("res %d: others %v", res, o)
		}
		// Own village at res: the patrol where it is live, the 3 at
		// mixed, the cadre at home.
		if cells[cellAt(ownLive, res)] != 1.0 || cells[cellAt(mixed, res)] != 3.0 || cells[cellAt(inside, res)] != 1.0 {
			t.Errorf("res %d: own village cells %v", res, cells)
		}
		for c := range cells {
			if c != cellAt(ownLive, res) && c != cellAt(mixed, res) && c != cellAt(inside, res) {
				t.Errorf("res %d: own cells show %s, which holds none of the village", res, c)
			}
		}
		// Nobody of another village alone, or in fewer than 5.
		for _, p := range []storage.LatLng{lone, livePos, mixed} {
			if n, ok := others[cellAt(p, ores)]; ok {
				t.Errorf("res %d: others show cell %s (%v members) around %v", res, cellAt(p, ores), n, p)
			}
			if n, ok := cells[cellAt(p, res)]; ok && p != mixed {
				t.Errorf("res %d: own cells show %s (%v) around %v", res, cellAt(p, res), n, p)
			}
		}
		if others[cellAt(five, ores)] != 5.0 {
			t.Errorf("res %d: others %v, want the group of 5 in %s", res, others, cellAt(five, ores))
		}
		for c, n := range others {
			if n.(float64) < 5 {
				t.Errorf("res %d: others cell %s holds %v < 5", res, c, n)
			}
			if h3.Cell(h3.IndexFromString(c)).Resolution() != ores {
				t.Errorf("res %d: others cell %s is not at resolution %d", res, c, ores)
			}
		}
	}
	if code, out := e.call("GET", "/api/v1/density?res=10", cadreTok, nil); code != 400 {
		t.Errorf("res 10: %d %v", code, out)
	}
}

// TestRecipientsCadreScope: a cadre reading an alert that names its
// village and another sees its own village's recipients whole and the
// other village's without who they are (no id, name, phone, address,
// position, note), their answers still there; the progress counts stay
// whole. The commander sees everyone whole.
func TestRecipientsCadreScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cadre, cadreTok := e.member(storage.RoleCadre, 0, inside)
	_, comTok := e.member(storage.RoleCommander, -1, inside)
	own, ownTok := e.member(storage.RoleResident, 0, inside)
	other, otherTok := e.member(storage.RoleResident, 1, storage.LatLng{Lat: 29.131, Lng: 119.171})
	_, other2Tok := e.member(storage.RoleResident, 1, storage.LatLng{Lat: 29.132, Lng: 119.172})

	code, out := e.call("POST", "/api/v1/alerts", comTok, map[string]any{"kind": "warning", "severity": "severe",
		"title": "山洪", "area": map[string]any{"villages": []string{e.villages[0].ID, e.villages[1].ID}}})
	if code != 201 {
		t.Fatalf("alert: %d %v", code, out)
	}
	id := out["alert"].(map[string]any)["id"].(string)
	for _, a := range []struct{ tok, resp, note string }{
		{ownTok, "need_help", "腿受伤"}, {otherTok, "need_help", "住在村东三组 12 号"}, {other2Tok, "safe", ""},
	} {
		c := e.dial(a.tok)
		c.welcome()
		if reply, _ := c.cmd(map[string]any{"type": "ack", "alert_id": id, "response": a.resp, "note": a.note}); reply["ok"] != true {
			t.Fatalf("ack: %v", reply)
		}
	}

	rows := func(tok, q string) []map[string]any {
		t.Helper()
		code, out := e.call("GET", "/api/v1/alerts/"+id+"/recipients"+q, tok, nil)
		if code != 200 {
			t.Fatalf("recipients%s: %d %v", q, code, out)
		}
		var rs []map[string]any
		for _, r := range out["recipients"].([]any) {
			rs = append(rs, r.(map[string]any))
		}
		return rs
	}
	cadreRows := rows(cadreTok, "")
	if len(cadreRows) != 4 { // the cadre and own of village 0, other and other2 of village 1
		t.Fatalf("cadre sees %d rows: %v", len(cadreRows), cadreRows)
	}
	byVillage := map[string][]map[string]any{}
	for _, r := range cadreRows {
		byVillage[r["village_id"].(string)] = append(byVillage[r["village_id"].(string)], r)
	}
	for _, r := range byVillage[e.villages[0].ID] {
		if r["redacted"] != nil || r["name"] == "" || r["member_id"] == "" {
			t.Errorf("own village row redacted: %v", r)
		}
		if r["member_id"] == own.ID && (r["phone"] != own.Phone || r["note"] != "腿受伤" || r["home"] == nil) {
			t.Errorf("own village resident: %v", r)
		}
	}
	if len(byVillage[e.villages[1].ID]) != 2 {
		t.Fatalf("other village rows: %v", cadreRows)
	}
	responses := map[string]bool{}
	for i, r := range byVillage[e.villages[1].ID] {
		if r["redacted"] != true || r["member_id"] != "" || r["name"] != "" || r["phone"] != "" {
			t.Errorf("other village row shows who: %v", r)
		}
		for _, k := range []string{"home", "live", "note", "address", "eta_min", "travel_mode"} {
			if _, ok := r[k]; ok {
				t.Errorf("other village row has %s: %v", k, r)
			}
		}
		if r["role"] != "resident" || r["village_name"] != "Beta" || r["responded_at"] == nil {
			t.Errorf("other village row lacks its state: %v", r)
		}
		responses[r["response"].(string)] = true
		// The redacted rows come after the cadre's own village's.
		if idx := len(cadreRows) - 2 + i; cadreRows[idx]["redacted"] != true {
			t.Errorf("row %d is not redacted: redacted rows must come last: %v", idx, cadreRows)
		}
	}
	if !responses["need_help"] || !responses["safe"] {
		t.Errorf("other village answers: %v", responses)
	}
	// need_help: the cadre's own one whole, the other village's redacted.
	nh := rows(cadreTok, "?response=need_help")
	if len(nh) != 2 || nh[0]["member_id"] != own.ID || nh[1]["redacted"] != true || nh[1]["note"] != nil {
		t.Errorf("need_help for the cadre: %v", nh)
	}
	// The progress counts stay whole.
	code, out = e.call("GET", "/api/v1/alerts/"+id, cadreTok, nil)
	p := out["progress"].(map[string]any)
	if code != 200 || p["acked"].(map[string]any)["need_help"] != 2.0 || p["targeted"].(float64) != float64(len(cadreRows)) {
		t.Errorf("progress for the cadre: %d %v", code, out)
	}
	// The commander sees everyone whole.
	for _, r := range rows(comTok, "") {
		if r["redacted"] != nil || r["name"] == "" {
			t.Errorf("commander row: %v", r)
		}
		if r["member_id"] == other.ID && (r["phone"] != other.Phone || r["note"] != "住在村东三组 12 号") {
			t.Errorf("commander's view of the other village: %v", r)
		}
	}
	// The cadre's own row is whole whatever its village.
	found := false
	for _, r := range cadreRows {
		found = found || r["member_id"] == cadre.ID
	}
	if !found {
		t.Errorf("the cadre's own row: %v", cadreRows)
	}
}

// TestMediaCadreScope: a cadre reads the photos of its own village's
// reports and its own uploads, not another village's photos nor an
// upload attached to no report; commanders read any; owners their own.
func TestMediaCadreScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, cadre0 := e.member(storage.RoleCadre, 0, inside)
	_, cadre1 := e.member(storage.RoleCadre, 1, inside)
	_, com := e.member(storage.RoleCommander, -1, inside)
	_, res0 := e.member(storage.RoleResident, 0, inside)
	_, res1 := e.member(storage.RoleResident, 1, inside)

	upload := func(tok string) string {
		t.Helper()
		code, out := e.callMedia(tok, "image/png", pngBytes)
		if code != 201 {
			t.Fatalf("upload: %d %v", code, out)
		}
		return out["media"].(map[string]any)["id"].(string)
	}
	report := func(tok string, photos ...string) {
		t.Helper()
		lat := 29.03 // in village 0; village 1's resident reports in village 1 (v1.6: by position)
		if tok == res1 {
			lat = 29.13
		}
		code, out := e.call("POST", "/api/v1/reports", tok, map[string]any{"kind": "road", "text": "路面塌陷",
			"lat": lat, "lng": 119.17, "photos": photos})
		if code != 201 {
			t.Fatalf("report: %d %v", code, out)
		}
	}
	photo0, photo1, loose0, own := upload(res0), upload(res1), upload(res0), upload(cadre0)
	report(res0, photo0)
	report(res1, photo1)
	report(cadre0, own)

	for _, c := range []struct {
		who, tok, media string
		want            int
	}{
		{"cadre 0, its village's photo", cadre0, photo0, 200},
		{"cadre 0, village 1's photo", cadre0, photo1, 404},
		{"cadre 0, a loose upload of its village", cadre0, loose0, 404},
		{"cadre 0, its own upload", cadre0, own, 200},
		{"cadre 1, its village's photo", cadre1, photo1, 200},
		{"cadre 1, village 0's photo", cadre1, photo0, 404},
		{"cadre 1, village 0's cadre's photo", cadre1, own, 404},
		{"commander, village 0", com, photo0, 200},
		{"commander, village 1", com, photo1, 200},
		{"commander, loose", com, loose0, 200},
		{"owner, loose", res0, loose0, 200},
		{"resident 1, village 0's photo", res1, photo0, 404},
		{"admin", e.admin, photo1, 200},
	} {
		if code, _ := e.callRaw("GET", "/api/v1/media/"+c.media, c.tok, nil); code != c.want {
			t.Errorf("%s: %d, want %d", c.who, code, c.want)
		}
	}
}
